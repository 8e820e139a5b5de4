#!/usr/bin/python3
"""Client quotas on real processes (issue 16, acceptance 4): librdkafka
clients against a three-node cluster's KAFKA listeners.

  tests/interop/scenario_quotas.py [BUILD_DIR] [--seconds N]

  - `strata configs --entity-type clients --entity-name quota-limited
    --alter --add-config producer_byte_rate=5242880` (5 MiB/s);
  - a confluent_kafka producer with client.id=quota-limited writes 8 KiB
    records to a one-partition topic as fast as it can (quotas are per
    broker, so one partition keeps all of it on one leader); its
    acknowledged bytes are counted over --seconds (30) after a warm-up, and
    must come within 20 % of the quota; librdkafka's throttle_cb must have
    seen throttle_time_ms > 0 from the leader;
  - at the same time a producer with client.id=quota-free, paced at
    12 MiB/s, must get its pace (>= 90 %) and never a throttle time;
  - a consumer with client.id=quota-reader limited by consumer_byte_rate
    (5 MiB/s) reads the topic: its rate over 20 s after a warm-up is within
    20 %.

Why a warm-up: as Kafka's, a client starting from nothing may send
(quota.window.num - 1) x quota.window.size.seconds (10 s) worth of its
quota before it is first held (broker/security/quota.h). After that
burst the quota holds over any span (the throttle is a leaky bucket, not
Kafka's saw-toothing windowed rate), and that is what is measured; the
whole run's rate is printed as well.
"""
import argparse
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strata_interop as si  # noqa: E402

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402

MIB = 1024 * 1024
QUOTA = 5 * MIB
FREE_PACE = 12 * MIB
VALUE = bytes(range(256)) * 32  # 8 KiB
WARMUP_S = 12.0
BOOT = None  # the KAFKA listeners, set by run()


class Meter:
    """Acknowledged (or consumed) bytes with their times, and the throttle
    times a client's throttle_cb saw."""

    def __init__(self):
        self.lock = threading.Lock()
        self.samples = []  # (monotonic time, bytes)
        self.throttles = []  # ms, from throttle_cb
        self.errors = []

    def add(self, n):
        with self.lock:
            self.samples.append((time.monotonic(), n))

    def on_delivery(self, err, msg):
        if err is not None:
            with self.lock:
                self.errors.append(str(err))
        else:
            self.add(len(msg.value()))

    def on_throttle(self, event):
        with self.lock:
            self.throttles.append(event.throttle_time * 1000.0)

    def rate(self, start, end):
        with self.lock:
            n = sum(b for t, b in self.samples if start <= t < end)
        return n / (end - start)


def producer(client_id, meter):
    return Producer({
        "bootstrap.servers": BOOT,
        "client.id": client_id,
        "acks": "all",
        "linger.ms": 5,
        "batch.num.messages": 1000,
        "queue.buffering.max.kbytes": 8192,
        "message.timeout.ms": 120000,
        "throttle_cb": meter.on_throttle,
    })


def produce_flat_out(p, topic, meter, stop):
    while not stop.is_set():
        try:
            p.produce(topic, VALUE, on_delivery=meter.on_delivery)
        except BufferError:
            p.poll(0.02)
            continue
        p.poll(0)
    p.flush(30)


def produce_paced(p, topic, meter, stop, pace):
    started = time.monotonic()
    sent = 0
    while not stop.is_set():
        due = started + sent / pace
        now = time.monotonic()
        if now < due:
            p.poll(min(0.01, due - now))
            continue
        try:
            p.produce(topic, VALUE, on_delivery=meter.on_delivery)
            sent += len(VALUE)
        except BufferError:
            p.poll(0.01)
        p.poll(0)
    p.flush(30)


def alter_quota(env, checks, entity, key, value):
    r = env.cli(["configs", "--alter", "--entity-type", "clients", "--entity-name", entity,
                 "--add-config", f"{key}={value}"])
    checks.check(f"strata configs: {key}={value} for client {entity}", r.returncode == 0,
                 r.stdout + r.stderr)
    # Every node applies quotas from its metadata image: wait until the
    # describe (answered from a node's image) shows it, then a moment for
    # the others.
    r = si.retry("describe the quota", lambda: env.cli(
        ["configs", "--describe", "--entity-type", "clients", "--entity-name", entity]),
        good=lambda r: key in r.stdout)
    checks.check(f"the quota is described: {r.stdout.strip()}", key in r.stdout, r.stderr)
    time.sleep(1.0)


def run(env, checks, seconds):
    global BOOT
    BOOT = env.kafka_bootstrap
    topic = env.name("quota")
    env.create_topic(topic, partitions=1, replication_factor=3)
    alter_quota(env, checks, "quota-limited", "producer_byte_rate", QUOTA)

    limited, free = Meter(), Meter()
    stop = threading.Event()
    p_limited, p_free = producer("quota-limited", limited), producer("quota-free", free)
    threads = [threading.Thread(target=produce_flat_out, args=(p_limited, topic, limited, stop)),
               threading.Thread(target=produce_paced,
                                args=(p_free, topic, free, stop, FREE_PACE))]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    measure_from = t0 + WARMUP_S
    measure_to = measure_from + seconds
    try:
        while time.monotonic() < measure_to:
            time.sleep(0.2)
    finally:
        stop.set()
        for t in threads:
            t.join(60)

    rate = limited.rate(measure_from, measure_to)
    whole = limited.rate(t0, measure_to)
    free_rate = free.rate(measure_from, measure_to)
    checks.note(f"quota-limited: {rate / MIB:.2f} MiB/s over {seconds:.0f} s after a "
                f"{WARMUP_S:.0f} s warm-up ({whole / MIB:.2f} MiB/s from the start); quota "
                f"{QUOTA / MIB:.2f} MiB/s; {len(limited.throttles)} throttle reports, max "
                f"{max(limited.throttles, default=0):.0f} ms")
    checks.note(f"quota-free (paced at {FREE_PACE / MIB:.0f} MiB/s): {free_rate / MIB:.2f} "
                f"MiB/s, {len(free.throttles)} throttle reports")
    checks.check("the limited producer's rate is within 20 % of producer_byte_rate",
                 0.8 * QUOTA <= rate <= 1.2 * QUOTA, f"{rate / MIB:.2f} MiB/s")
    checks.check("librdkafka's throttle_cb saw throttle_time_ms > 0 for the limited producer",
                 any(t > 0 for t in limited.throttles), limited.throttles[:10])
    checks.check("the unthrottled producer kept its pace (>= 90 %)", free_rate >= 0.9 * FREE_PACE,
                 f"{free_rate / MIB:.2f} MiB/s")
    checks.check("the unthrottled producer was never throttled",
                 not any(t > 0 for t in free.throttles), free.throttles[:10])
    checks.check("no delivery failed", not limited.errors and not free.errors,
                 (limited.errors + free.errors)[:5])

    # Consumer quota: read the topic back (it holds far more than the
    # window needs) as a limited client.
    alter_quota(env, checks, "quota-reader", "consumer_byte_rate", QUOTA)
    reader = Meter()
    c = Consumer({
        "bootstrap.servers": BOOT,
        "client.id": "quota-reader",
        "group.id": env.name("quota-readers"),
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        # A prefetch queue (16 MiB) well under what the warm-up lets
        # through, so what the application reads after it is what the
        # broker lets through; and well over one fetch (1 MiB), so that
        # librdkafka never waits for room before fetching again.
        "fetch.max.bytes": MIB,
        "queued.max.messages.kbytes": 16384,
        "throttle_cb": reader.on_throttle,
    })
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        read_seconds = min(seconds, 20.0)
        t0 = time.monotonic()
        end = t0 + WARMUP_S + read_seconds
        while time.monotonic() < end:
            for m in c.consume(500, 0.2):
                if m.error() is None:
                    reader.add(len(m.value()))
    finally:
        c.close()
    read_rate = reader.rate(t0 + WARMUP_S, end)
    checks.note(f"quota-reader: {read_rate / MIB:.2f} MiB/s over {read_seconds:.0f} s after the "
                f"warm-up ({reader.rate(t0, end) / MIB:.2f} MiB/s from the start); "
                f"{len(reader.throttles)} throttle reports")
    checks.check("the limited consumer's rate is within 20 % of consumer_byte_rate",
                 0.8 * QUOTA <= read_rate <= 1.2 * QUOTA, f"{read_rate / MIB:.2f} MiB/s")
    checks.check("the limited consumer saw throttle_time_ms > 0",
                 any(t > 0 for t in reader.throttles), reader.throttles[:10])


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("build_dir", nargs="?")
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    sys.argv = sys.argv[:1] + ([args.build_dir] if args.build_dir else [])
    sys.exit(si.scenario_main(lambda env, checks: run(env, checks, args.seconds),
                              budget_s=200, build_dir=args.build_dir))
