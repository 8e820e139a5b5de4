#!/usr/bin/python3
"""The same records through both doors: Strata's gRPC (the strata CLI, which
uses Strata's own client) and Kafka's binary protocol (kcat, librdkafka).

  tests/interop/scenario_cross_protocol.py [BUILD_DIR]

  - gRPC -> Kafka: `strata console-producer --property parse.key=true`, once
    per --compression-codec (none, gzip, snappy, lz4, zstd), then `kcat -C`:
    keys and values byte-equal (UTF-8 included), no headers, and each
    record's CreateTime equal to what `strata console-consumer
    --property print.timestamp=true` reads over gRPC;
  - gRPC -> Kafka with headers: interop_grpc_producer (Strata's client; the
    console producer cannot set headers or timestamps) sends binary keys and
    values, null ones, headers (null, empty, repeated) and explicit
    timestamps; librdkafka reads every byte back equal;
  - gRPC -> kcat: interop_grpc_producer sends text keys (a null and an
    empty one), values (a null one), headers (repeated, empty value) and
    explicit 2023 timestamps; `kcat -C -f '%T %K %k %S %s %h'` and `strata
    console-consumer` read each exactly as sent;
  - Kafka -> gRPC: `kcat -P -K: -H a=1 -H b=...` and a confluent_kafka
    producer with explicit timestamps and several headers, then `strata
    console-consumer` prints keys, values, headers (in order) and
    timestamps equal to what was produced and to what kcat -C reads.
"""
import ctypes
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strata_interop as si  # noqa: E402

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
KCAT_FORMAT = r"%k\t%h\t%T\t%p\t%o\t%s\n"
SEP = "\t"
NULL = "<NULL>"  # strata console-consumer's null.literal here


def kcat_read(env, topic):
    r = si.run(["kcat", "-C", "-b", env.kafka_bootstrap, "-t", topic, "-o", "beginning", "-e",
                "-q", "-f", KCAT_FORMAT], timeout=30)
    rows = {}
    for line in (r.stdout or "").splitlines():
        f = line.split("\t")
        if len(f) == 6:
            key, headers, ts, part, off, value = f
            rows[(int(part), int(off))] = {"key": key, "headers": headers, "ts": int(ts),
                                           "value": value}
    return r, rows


def strata_read(env, topic, expect):
    """`strata console-consumer` over gRPC, all fields; {(partition, offset): row}."""
    props = ["print.timestamp=true", "print.partition=true", "print.offset=true",
             "print.headers=true", "print.key=true", "key.separator=" + SEP,
             "null.literal=" + NULL]
    args = ["console-consumer", "--topic", topic, "--from-beginning",
            "--max-messages", str(expect), "--timeout-ms", "10000"]
    for p in props:
        args += ["--property", p]
    r = env.cli(args, timeout=40)
    rows = {}
    for line in (r.stdout or "").splitlines():
        f = line.split(SEP)
        if len(f) != 6:
            continue
        ts, part, off, headers, key, value = f
        m = re.fullmatch(r"(CreateTime|LogAppendTime):(-?\d+)", ts)
        rows[(int(part.split(":")[1]), int(off.split(":")[1]))] = {
            "key": key, "headers": headers, "ts": int(m.group(2)) if m else None,
            "ts_type": m.group(1) if m else None, "value": value}
    return r, rows


def grpc_to_kafka(env, checks):
    topic = env.name("xp-grpc-to-kafka")
    env.create_topic(topic, partitions=2, replication_factor=3)
    sent = {}
    windows = {}
    for codec in CODECS:
        lines = [f"{codec}-{i}:{codec} värde {i} ✓ " + "y" * (i * 41) for i in range(8)]
        before = int(time.time() * 1000)
        r = env.cli(["console-producer", "--topic", topic, "--compression-codec", codec,
                     "--timeout", "5", "--property", "parse.key=true",
                     "--property", "key.separator=:"], input="\n".join(lines) + "\n", timeout=30)
        after = int(time.time() * 1000)
        checks.check(f"strata console-producer --compression-codec {codec} (gRPC)",
                     r.returncode == 0, f"rc={r.returncode} {r.stdout}{r.stderr}")
        for line in lines:
            k, v = line.split(":", 1)
            sent[k] = v
            windows[k] = (before, after)
    r, kc = kcat_read(env, topic)
    checks.check("kcat -C reads every gRPC-produced record", len(kc) == len(sent),
                 f"{len(kc)} of {len(sent)}; {r.stderr}")
    by_key = {row["key"]: row for row in kc.values()}
    checks.check("gRPC -> kcat: keys and values byte-equal (UTF-8 included)",
                 all(by_key.get(k, {}).get("value") == v for k, v in sent.items()),
                 [(k, by_key.get(k, {}).get("value", "")[:30]) for k, v in sent.items()
                  if by_key.get(k, {}).get("value") != v][:5])
    checks.check("gRPC -> kcat: no headers", all(row["headers"] == "" for row in kc.values()),
                 {row["headers"] for row in kc.values()})
    checks.check("gRPC -> kcat: CreateTime within the produce window",
                 all(windows[row["key"]][0] - 5 <= row["ts"] <= windows[row["key"]][1] + 5
                     for row in kc.values() if row["key"] in windows),
                 [(row["key"], row["ts"], windows.get(row["key"])) for row in kc.values()][:3])
    r, sc = strata_read(env, topic, len(sent))
    checks.check("strata console-consumer (gRPC) and kcat (Kafka) read the same records: "
                 "keys, values, timestamps, offsets",
                 sc and {k: (v["key"], v["value"], v["ts"]) for k, v in sc.items()} ==
                 {k: (v["key"], v["value"], v["ts"]) for k, v in kc.items()},
                 f"strata {len(sc)} kcat {len(kc)} {r.stderr[-500:]}")
    checks.note("strata console-producer has no parse.headers (Kafka 3.2's console "
                "producer has): gRPC-produced headers go through interop_grpc_producer")


def grpc_records_to_kafka(env, checks):
    """Binary keys, values and headers (null and repeated ones included) with
    explicit timestamps, produced over gRPC by Strata's client
    (interop_grpc_producer), read back over Kafka by librdkafka."""
    tool = os.path.join(env.build_dir, "tests", "interop", "interop_grpc_producer")
    if not checks.check("interop_grpc_producer is built", os.access(tool, os.X_OK), tool):
        return
    topic = env.name("xp-grpc-headers")
    env.create_topic(topic, partitions=2, replication_factor=3)
    base = 1_500_000_000_000
    records = []
    for i in range(12):
        key = None if i == 3 else bytes([i, 0, 255, 10]) + f"k{i}".encode()
        value = None if i == 5 else b"\x00\x01 binary \xff\xfe " + bytes(range(i * 20 % 256))
        headers = [] if i == 7 else [("trace", f"t{i}".encode()), ("bin", b"\x00\n\xff"),
                                     ("empty", b""), ("null", None), ("trace", b"again")]
        records.append((i % 2, base + i * 1001, key, value, headers))

    def hx(b):
        return "-" if b is None else b.hex()
    lines = []
    for part, ts, key, value, headers in records:
        h = ",".join(f"{k.encode().hex()}={hx(v)}" for k, v in headers) or "-"
        lines.append(f"{part} {ts} {hx(key)} {hx(value)} {h}")
    r = si.run([tool, env.grpc_bootstrap, topic, "gzip"], input="\n".join(lines) + "\n",
               timeout=30)
    acked = [tuple(map(int, line.split())) for line in (r.stdout or "").splitlines()]
    checks.check("interop_grpc_producer (gRPC, gzip): 12 records acknowledged",
                 r.returncode == 0 and len(acked) == 12, f"rc={r.returncode} {r.stderr[-1000:]}")

    from confluent_kafka import Consumer, TopicPartition, TIMESTAMP_CREATE_TIME
    c = Consumer({"bootstrap.servers": env.kafka_bootstrap, "group.id": env.name("xp-unused"),
                  "enable.auto.commit": False})
    got = {}
    try:
        c.assign([TopicPartition(topic, 0, 0), TopicPartition(topic, 1, 0)])
        deadline = time.monotonic() + 20
        while len(got) < 12 and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error():
                got[(m.partition(), m.offset())] = m
    finally:
        c.close()
    bad = []
    for (part, ts, key, value, headers), (apart, aoff, _) in zip(records, acked):
        m = got.get((apart, aoff))
        if (m is None or apart != part or m.key() != key or m.value() != value
                or (m.headers() or []) != headers
                or m.timestamp() != (TIMESTAMP_CREATE_TIME, ts)):
            bad.append(((part, ts, key, value, headers),
                        m and (m.key(), m.value(), m.headers(), m.timestamp())))
    checks.check("gRPC -> librdkafka: binary keys/values, null key and value, headers (null, "
                 "empty, repeated, in order) and explicit timestamps byte-equal",
                 len(got) == 12 and not bad, f"{len(got)} read; first bad {bad[:1]}")
    # confluent-kafka-python 1.7 (Debian 12) drops a reference to None it
    # never took for each null header value it converts (Message.headers()),
    # so the interpreter aborts at exit ("none_dealloc") once nothing else
    # holds enough references to None. Give back what it took (an extra
    # reference to None is harmless).
    nulls = sum(1 for m in got.values() for _, v in (m.headers() or []) if v is None)
    for _ in range(2 * nulls):
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(None))


def grpc_text_records_to_kcat(env, checks):
    """Records with text keys, values and headers and explicit timestamps,
    produced over gRPC by Strata's client (interop_grpc_producer), read by
    kcat -C -f with %k %K %h %T %s %S: every key (null and empty ones
    included), header (repeated, empty value, in order) and timestamp exact.
    The timestamps are in 2023, so a broker that stamped its own clock
    (LogAppendTime) fails. strata console-consumer (gRPC) must read the
    same."""
    tool = os.path.join(env.build_dir, "tests", "interop", "interop_grpc_producer")
    if not checks.check("interop_grpc_producer is built", os.access(tool, os.X_OK), tool):
        return
    topic = env.name("xp-grpc-kcat")
    env.create_topic(topic, partitions=2, replication_factor=3)
    base = 1_700_000_000_000
    records = []  # (partition, ts, key, value, [(name, value)])
    for i in range(10):
        key = None if i == 3 else ("" if i == 8 else f"gk{i} ключ")
        value = None if i == 5 else f"grpc text {i} värde ✓ " + "w" * (i * 9)
        headers = [] if i == 2 else [("trace", f"t{i}"), ("lang", "sv-värde"), ("empty", ""),
                                     ("trace", "again")]
        records.append((i % 2, base + i * 7777, key, value, headers))

    def hx(text):
        return "-" if text is None else text.encode().hex()
    lines = []
    for part, ts, key, value, headers in records:
        h = ",".join(f"{hx(k)}={hx(v)}" for k, v in headers) or "-"
        lines.append(f"{part} {ts} {hx(key)} {hx(value)} {h}")
    r = si.run([tool, env.grpc_bootstrap, topic, "lz4"], input="\n".join(lines) + "\n",
               timeout=30)
    acked = [tuple(map(int, line.split())) for line in (r.stdout or "").splitlines()]
    if not checks.check("interop_grpc_producer (gRPC, lz4): 10 text records acknowledged",
                        r.returncode == 0 and len(acked) == 10 and
                        [a[0] for a in acked] == [rec[0] for rec in records],
                        f"rc={r.returncode} {acked} {r.stderr[-1000:]}"):
        return

    def blen(text):
        return -1 if text is None else len(text.encode())
    want_kcat = {}
    want_strata = {}
    for (part, ts, key, value, headers), (apart, aoff, _) in zip(records, acked):
        want_kcat[(apart, aoff)] = (ts, blen(key), key or "", blen(value), value or "",
                                    ",".join(f"{k}={v}" for k, v in headers))
        want_strata[(apart, aoff)] = {
            "ts_type": "CreateTime", "ts": ts, "key": NULL if key is None else key,
            "value": NULL if value is None else value,
            "headers": ",".join(f"{k}:{v}" for k, v in headers) or "NO_HEADERS"}

    def kcat_rows():
        r = si.run(["kcat", "-C", "-b", env.kafka_bootstrap, "-t", topic, "-o", "beginning",
                    "-e", "-q", "-f", r"%p\t%o\t%T\t%K\t%k\t%S\t%h\t%s\n"], timeout=30)
        rows = {}
        for line in (r.stdout or "").splitlines():
            f = line.split("\t", 7)
            if len(f) == 8:
                part, off, ts, klen, key, vlen, headers, value = f
                rows[(int(part), int(off))] = (int(ts), int(klen), key, int(vlen), value,
                                               headers)
        return r, rows
    r, got = si.retry("kcat -C of the gRPC text records", kcat_rows,
                      good=lambda x: len(x[1]) >= len(want_kcat))
    differ = [(pos, want_kcat.get(pos), got.get(pos)) for pos in sorted(set(want_kcat) | set(got))
              if want_kcat.get(pos) != got.get(pos)]
    checks.check("gRPC -> kcat -C -f '%T %K %k %S %s %h': every key (null, empty), value "
                 "(null), header (repeated, empty, in order) and explicit timestamp exact",
                 got == want_kcat,
                 f"kcat read {len(got)} of {len(want_kcat)}; differences {differ[:3]}; "
                 f"{r.stderr[-500:]}")

    r, sc = strata_read(env, topic, len(want_strata))
    view = {pos: {k: row[k] for k in ("ts_type", "ts", "key", "value", "headers")}
            for pos, row in sc.items()}
    differ = [(pos, want_strata.get(pos), view.get(pos))
              for pos in sorted(set(want_strata) | set(view))
              if want_strata.get(pos) != view.get(pos)]
    checks.check("gRPC -> strata console-consumer: the same keys, values, headers, "
                 "CreateTime timestamps exact",
                 view == want_strata,
                 f"read {len(view)} of {len(want_strata)}; differences {differ[:3]}; "
                 f"{r.stderr[-500:]}")


def kafka_to_grpc(env, checks):
    topic = env.name("xp-kafka-to-grpc")
    env.create_topic(topic, partitions=2, replication_factor=3)
    lines = [f"kk{i}:v {i} ünïcode ✓ " + "z" * (i * 13) for i in range(10)]
    before = int(time.time() * 1000)
    r = si.run(["kcat", "-P", "-b", env.kafka_bootstrap, "-t", topic, "-K:", "-H", "a=1",
                "-H", "b=two words", "-X", "compression.codec=lz4", "-X", "acks=all"],
               input="\n".join(lines) + "\n", timeout=30)
    after = int(time.time() * 1000)
    checks.check("kcat -P -K: -H a=1 -H 'b=two words' (Kafka)", r.returncode == 0, r.stderr)

    # Explicit timestamps and three headers (one repeated key), through
    # librdkafka's producer API.
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": env.kafka_bootstrap, "acks": "all", "linger.ms": 5,
                  "compression.type": "zstd"})
    explicit = {}
    base = 1_600_000_000_000
    errors = []
    for i in range(10):
        key = f"ts{i}"
        explicit[key] = base + i * 1111
        p.produce(topic, key=key.encode(), value=f"explicit {i}".encode(), timestamp=explicit[key],
                  headers=[("x", b"1"), ("y", f"h{i}".encode()), ("x", b"2")],
                  on_delivery=lambda err, msg: err and errors.append(err))
    left = p.flush(20)
    checks.check("confluent_kafka Producer with explicit timestamps and headers",
                 not errors and not left, f"{errors} {left}")

    r, sc = strata_read(env, topic, 20)
    checks.check("strata console-consumer (gRPC) reads all 20 Kafka-produced records",
                 len(sc) == 20, f"{len(sc)}; {r.stdout[-500:]} {r.stderr[-500:]}")
    by_key = {row["key"]: row for row in sc.values()}
    bad = []
    for line in lines:
        k, v = line.split(":", 1)
        row = by_key.get(k)
        if (row is None or row["value"] != v or row["headers"] != "a:1,b:two words"
                or row["ts_type"] != "CreateTime" or not before - 5 <= row["ts"] <= after + 5):
            bad.append((k, row))
    checks.check("kcat -> gRPC: keys, values, headers a:1,b:two words, CreateTime in window",
                 not bad, bad[:3])
    bad = [(k, by_key.get(k)) for k, ts in explicit.items()
           if by_key.get(k) is None or by_key[k]["ts"] != ts
           or by_key[k]["ts_type"] != "CreateTime"
           or by_key[k]["headers"] != f"x:1,y:h{k[2:]},x:2"
           or by_key[k]["value"] != f"explicit {k[2:]}"]
    checks.check("librdkafka -> gRPC: explicit timestamps exact, repeated headers in order",
                 not bad, bad[:3])
    r, kc = kcat_read(env, topic)
    kc_view = {pos: (row["key"], row["value"], row["ts"], row["headers"].replace("=", ":"))
               for pos, row in kc.items()}
    sc_view = {pos: (row["key"], row["value"], row["ts"], row["headers"])
               for pos, row in sc.items()}
    differ = [(pos, kc_view.get(pos), sc_view.get(pos)) for pos in set(kc_view) | set(sc_view)
              if kc_view.get(pos) != sc_view.get(pos)]
    checks.check("kcat -C (Kafka) and strata console-consumer (gRPC) agree on every record",
                 kc_view == sc_view,
                 f"kcat {len(kc_view)} strata {len(sc_view)}; differences {differ[:3]}")


def run(env, checks):
    with checks.step("gRPC -> Kafka"):
        grpc_to_kafka(env, checks)
    with checks.step("gRPC records with headers -> Kafka"):
        grpc_records_to_kafka(env, checks)
    with checks.step("gRPC text records -> kcat"):
        grpc_text_records_to_kcat(env, checks)
    with checks.step("Kafka -> gRPC"):
        kafka_to_grpc(env, checks)


if __name__ == "__main__":
    sys.exit(si.scenario_main(run, budget_s=150))
