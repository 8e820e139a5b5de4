#!/usr/bin/python3
"""confluent_kafka (librdkafka) against a three-node Strata cluster.

  tests/interop/scenario_confluent_kafka.py [BUILD_DIR]

  - Producer (acks=all, keys, headers, explicit timestamps) and a Consumer
    with assign(): every field comes back equal; ListOffsets by time and
    for the watermarks; a fetch past the end resets to earliest;
  - enable.idempotence=true (InitProducerId, sequenced batches): 500
    records delivered once each, at offsets 0-499 in send order;
  - a group of two consumers, first with partition.assignment.strategy=range
    (eager), then with cooperative-sticky: they split a 4-partition topic,
    consume and commit synchronously; one leaves (close: LeaveGroup), the
    other takes its partitions and resumes at the committed offsets (not at
    auto.offset.reset=earliest); under cooperative-sticky the survivor never
    has its own partitions revoked;
  - a member in another process is SIGKILLed (no LeaveGroup): the coordinator
    expels it after session.timeout.ms and the survivor resumes its
    partitions at the victim's commits;
  - AdminClient: create_topics (with a config; again: TOPIC_ALREADY_EXISTS),
    create_partitions, describe_configs (topic and broker), alter_configs,
    list_groups, delete_topics.
"""
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strata_interop as si  # noqa: E402

from confluent_kafka import (Consumer, KafkaError, Producer,  # noqa: E402
                             TopicPartition, TIMESTAMP_CREATE_TIME)
from confluent_kafka.admin import (AdminClient, ConfigResource, NewPartitions,  # noqa: E402
                                   NewTopic)


def produce(env, topic, records, extra=None):
    """records: [(partition, key, value, headers, timestamp)]; returns
    [(partition, offset)] or raises with the first delivery error."""
    conf = {"bootstrap.servers": env.kafka_bootstrap, "acks": "all", "linger.ms": 5,
            "message.timeout.ms": 20000}
    conf.update(extra or {})
    p = Producer(conf)
    reports, errors = [], []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err)
        else:
            reports.append((msg.partition(), msg.offset()))

    for partition, key, value, headers, ts in records:
        kwargs = {"key": key, "value": value}
        if partition is not None:
            kwargs["partition"] = partition
        if headers:
            kwargs["headers"] = headers
        if ts is not None:
            kwargs["timestamp"] = ts
        p.produce(topic, on_delivery=on_delivery, **kwargs)
        p.poll(0)
    left = p.flush(25)
    if errors or left:
        raise RuntimeError(f"delivery errors {errors[:3]}, {left} undelivered")
    return reports


def produce_consume(env, checks):
    topic = env.name("cfk-basic")
    env.create_topic(topic, partitions=2, replication_factor=3)
    # Increasing timestamps, a second apart, starting a minute ago: a
    # ListOffsets by time then has a middle offset as its answer.
    base = int(time.time() * 1000) - 60_000
    records = [(i % 2, f"key-{i}".encode(), f"value-{i}".encode() * (i + 1),
                [("h1", f"v{i}".encode()), ("h2", b"\x00\xffbin")], base + 1000 * i)
               for i in range(20)]
    with checks.step("Producer acks=all with keys, headers, timestamps"):
        reports = produce(env, topic, records)
        checks.check("Producer acks=all: 20 delivery reports with offsets",
                     sorted(reports) == sorted([(0, o) for o in range(10)] +
                                               [(1, o) for o in range(10)]), reports)
    with checks.step("Consumer.assign from the beginning"):
        c = Consumer({"bootstrap.servers": env.kafka_bootstrap, "group.id": env.name("cfk-unused"),
                      "enable.auto.commit": False})
        try:
            c.assign([TopicPartition(topic, 0, 0), TopicPartition(topic, 1, 0)])
            got = []
            deadline = time.monotonic() + 20
            while len(got) < 20 and time.monotonic() < deadline:
                m = c.poll(0.5)
                if m is None:
                    continue
                if m.error():
                    checks.check("Consumer.poll without error", False, m.error())
                    break
                got.append(m)
            want = {r[1]: r for r in records}
            bad = []
            for m in got:
                r = want.get(m.key())
                if (r is None or m.partition() != r[0] or m.value() != r[2]
                        or m.headers() != r[3] or m.timestamp() != (TIMESTAMP_CREATE_TIME, r[4])):
                    bad.append((m.key(), m.partition(), m.offset(), m.value()[:20], m.headers(),
                                m.timestamp()))
            checks.check("Consumer: 20 records with equal key, value, headers, CreateTime",
                         len(got) == 20 and not bad and
                         len({m.key() for m in got}) == 20, f"{len(got)} records; bad {bad[:3]}")
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
            checks.check("Consumer.get_watermark_offsets (ListOffsets)", (lo, hi) == (0, 10),
                         (lo, hi))
            # Partition 0 holds i = 0, 2, ..., 18 at offsets 0..9 (one
            # producer, in order), timestamps base + 1000 i. The first record
            # at or after base + 9500 is i = 10, offset 5; at exactly
            # base + 12000 it is i = 12, offset 6; after the last (i = 18)
            # there is none, and Kafka answers offset -1 (OFFSET_END).
            at = {m.offset(): m.key() for m in got if m.partition() == 0}
            checks.check("partition 0 holds key-0, key-2, ... key-18 at offsets 0..9",
                         at == {o: f"key-{2 * o}".encode() for o in range(10)}, at)
            for target, want in ((base + 9500, 5), (base + 12000, 6), (base - 1, 0),
                                 (base + 18001, -1)):
                offs = c.offsets_for_times([TopicPartition(topic, 0, target)], timeout=10)
                checks.check(f"Consumer.offsets_for_times(base + {target - base} ms): "
                             f"offset {want}",
                             len(offs) == 1 and offs[0].error is None and offs[0].offset == want,
                             offs)
        finally:
            c.close()
    with checks.step("Consumer from an offset past the end (OFFSET_OUT_OF_RANGE)"):
        # Fetch answers OFFSET_OUT_OF_RANGE; librdkafka then asks ListOffsets
        # for auto.offset.reset=earliest and starts over at 0.
        c = Consumer({"bootstrap.servers": env.kafka_bootstrap, "group.id": env.name("cfk-oor"),
                      "enable.auto.commit": False, "auto.offset.reset": "earliest"})
        try:
            c.assign([TopicPartition(topic, 1, 1000)])
            m = si.wait_until(lambda: (lambda m: m if m is not None and not m.error() else None)(
                c.poll(0.5)), 20, 0)
            checks.check("offset 1000 of a 10-record partition: reset to earliest, offset 0",
                         m is not None and m.offset() == 0, m and m.offset())
        finally:
            c.close()


def idempotent_producer(env, checks):
    """librdkafka's idempotent producer (InitProducerId v4, sequenced
    batches): every record delivered once, at consecutive offsets."""
    topic = env.name("cfk-idempotent")
    env.create_topic(topic, partitions=1, replication_factor=3)
    p = Producer({"bootstrap.servers": env.kafka_bootstrap, "enable.idempotence": True,
                  "linger.ms": 2, "batch.num.messages": 20, "message.timeout.ms": 30000})
    delivered = []
    for i in range(500):
        p.produce(topic, str(i).encode(),
                  on_delivery=lambda err, msg: delivered.append(
                      (err, msg.value(), msg.offset())))
        p.poll(0)
    left = p.flush(30)
    errors = [d for d in delivered if d[0] is not None]
    offsets = {int(v): off for err, v, off in delivered if err is None}
    checks.check("enable.idempotence=true: 500 records delivered without error",
                 left == 0 and len(delivered) == 500 and not errors,
                 f"left {left}, delivered {len(delivered)}, errors {errors[:3]}")
    checks.check("idempotent records at offsets 0-499 in send order",
                 offsets == {i: i for i in range(500)},
                 sorted(offsets.items())[:5])
    c = Consumer({"bootstrap.servers": env.kafka_bootstrap, "group.id": env.name("cfk-idem"),
                  "enable.auto.commit": False})
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        values = []
        deadline = time.monotonic() + 20
        while len(values) < 500 and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error():
                values.append(int(m.value()))
        checks.check("the log holds each idempotent record once, in order",
                     values == list(range(500)), f"{len(values)} read: {values[:5]}...")
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        checks.check("log end offset 500 (no duplicate appended)", hi == 500, hi)
    finally:
        c.close()


def group_case(env, checks, strategy):
    topic = env.name(f"cfk-group-{strategy}")
    group = env.name(f"cfk-{strategy}")
    env.create_topic(topic, partitions=4, replication_factor=3)
    tps = [TopicPartition(topic, p) for p in range(4)]
    revoked = {"c1": [], "c2": []}

    def consumer(name):
        c = Consumer({"bootstrap.servers": env.kafka_bootstrap, "group.id": group,
                      "client.id": name, "auto.offset.reset": "earliest",
                      "enable.auto.commit": False,
                      "partition.assignment.strategy": strategy,
                      "session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
                      "max.poll.interval.ms": 30000})
        c.subscribe([topic], on_revoke=lambda cons, parts: revoked[name].extend(
            p.partition for p in parts))
        return c

    def owned(c):
        return {tp.partition for tp in c.assignment()}

    c1, c2 = consumer("c1"), consumer("c2")
    closed = set()
    try:
        stable_since = [None]

        def split():
            c1.poll(0.1)
            c2.poll(0.1)
            a, b = owned(c1), owned(c2)
            good = a and b and not (a & b) and (a | b) == {0, 1, 2, 3}
            if not good:
                stable_since[0] = None
                return False
            stable_since[0] = stable_since[0] or time.monotonic()
            return time.monotonic() - stable_since[0] > 1.0
        ok = si.wait_until(split, 45, 0)
        a1, a2 = owned(c1), owned(c2)
        if not checks.check(f"{strategy}: two consumers split 4 partitions", ok,
                            f"c1={a1} c2={a2}"):
            return
        checks.note(f"{strategy}: c1={sorted(a1)} c2={sorted(a2)}")
        if strategy == "range":
            checks.check("range: contiguous halves", sorted([sorted(a1), sorted(a2)]) ==
                         [[0, 1], [2, 3]], f"c1={a1} c2={a2}")
        revoked["c1"].clear()
        revoked["c2"].clear()

        produce(env, topic, [(p, f"k{p}-{i}".encode(), f"a{i}".encode(), None, None)
                             for p in range(4) for i in range(5)])
        seen = {"c1": [], "c2": []}

        def consume_phase(cs, want):
            def done():
                for name, c in cs.items():
                    m = c.poll(0.1)
                    if m is None or m.error():
                        continue
                    seen[name].append((m.partition(), m.offset()))
                    c.commit(message=m, asynchronous=False)
                return sum(len(v) for v in seen.values()) >= want
            return si.wait_until(done, 30, 0)

        ok = consume_phase({"c1": c1, "c2": c2}, 20)
        checks.check(f"{strategy}: each consumer reads only its partitions, 20 records once",
                     ok and {p for p, _ in seen["c1"]} <= a1 and {p for p, _ in seen["c2"]} <= a2
                     and sorted(seen["c1"] + seen["c2"]) ==
                     [(p, o) for p in range(4) for o in range(5)], seen)
        committed = c1.committed(tps, timeout=10)
        checks.check(f"{strategy}: committed offsets 5 on every partition (OffsetFetch)",
                     [tp.offset for tp in committed] == [5, 5, 5, 5],
                     [(tp.partition, tp.offset, tp.error) for tp in committed])

        c2.close()  # LeaveGroup
        closed.add("c2")
        ok = si.wait_until(lambda: c1.poll(0.1) is None and owned(c1) == {0, 1, 2, 3}, 30, 0)
        checks.check(f"{strategy}: after c2 leaves, c1 owns all 4 partitions", ok, owned(c1))
        if strategy == "cooperative-sticky":
            checks.check("cooperative-sticky: c1 kept its own partitions (no revocation)",
                         not (set(revoked["c1"]) & a1), revoked["c1"])
        produce(env, topic, [(p, f"k{p}-{i}".encode(), f"b{i}".encode(), None, None)
                             for p in range(4) for i in range(5, 10)])
        seen = {"c1": [], "c2": []}
        ok = consume_phase({"c1": c1}, 20)
        first = {}
        for p, o in seen["c1"]:
            first.setdefault(p, o)
        checks.check(f"{strategy}: c1 resumes c2's partitions at the committed offset 5",
                     ok and all(first.get(p) == 5 for p in a2), f"first offsets {first}")
        checks.check(f"{strategy}: c1 reads offsets 5-9 of every partition once",
                     sorted(seen["c1"]) == [(p, o) for p in range(4) for o in range(5, 10)],
                     seen["c1"])
        committed = c1.committed(tps, timeout=10)
        checks.check(f"{strategy}: committed offsets 10 on every partition",
                     [tp.offset for tp in committed] == [10] * 4,
                     [(tp.partition, tp.offset) for tp in committed])
    finally:
        c1.close()
        if "c2" not in closed:
            c2.close()
    return group


VICTIM = r"""
import json, sys
from confluent_kafka import Consumer
boot, topic, group = sys.argv[1:4]
c = Consumer({"bootstrap.servers": boot, "group.id": group, "client.id": "victim",
              "auto.offset.reset": "earliest", "enable.auto.commit": False,
              "partition.assignment.strategy": "range", "session.timeout.ms": 6000,
              "heartbeat.interval.ms": 500, "max.poll.interval.ms": 30000})
c.subscribe([topic])
last = None
while True:
    m = c.poll(0.1)
    now = sorted(tp.partition for tp in c.assignment())
    if now != last:
        print("ASSIGNED", json.dumps(now, separators=(",", ":")), flush=True)
        last = now
    if m is None or m.error():
        continue
    c.commit(message=m, asynchronous=False)
    print("GOT", m.partition(), m.offset(), flush=True)
"""


def killed_member_case(env, checks):
    """A member SIGKILLed (no LeaveGroup): the coordinator expels it when its
    session times out, and the survivor resumes at its commits."""
    topic = env.name("cfk-group-killed")
    group = env.name("cfk-killed")
    env.create_topic(topic, partitions=4, replication_factor=3)
    tps = [TopicPartition(topic, p) for p in range(4)]
    c1 = Consumer({"bootstrap.servers": env.kafka_bootstrap, "group.id": group,
                   "client.id": "survivor", "auto.offset.reset": "earliest",
                   "enable.auto.commit": False, "partition.assignment.strategy": "range",
                   "session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
                   "max.poll.interval.ms": 30000})
    c1.subscribe([topic])
    victim = si.popen([sys.executable, "-c", VICTIM, env.kafka_bootstrap, topic, group],
                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                      stdin=subprocess.DEVNULL, text=True)
    lines = []
    threading.Thread(target=lambda: [lines.append(l.split()) for l in victim.stdout],
                     daemon=True).start()
    seen = []

    def poll():
        m = c1.poll(0.1)
        if m is not None and not m.error():
            seen.append((m.partition(), m.offset()))
            c1.commit(message=m, asynchronous=False)

    def victim_owns():
        owned = [json.loads(l[1]) for l in list(lines) if l[0] == "ASSIGNED"]
        return set(owned[-1]) if owned else set()

    def victim_got():
        return [(int(l[1]), int(l[2])) for l in list(lines) if l[0] == "GOT"]

    try:
        stable = [None]

        def split():
            poll()
            a, b = {tp.partition for tp in c1.assignment()}, victim_owns()
            if not (a and b and not a & b and a | b == {0, 1, 2, 3}):
                stable[0] = None
                return victim.poll() is not None
            stable[0] = stable[0] or time.monotonic()
            return time.monotonic() - stable[0] > 1.0
        si.wait_until(split, 45, 0)
        mine, theirs = {tp.partition for tp in c1.assignment()}, victim_owns()
        if not checks.check("killed member: survivor and victim (another process) split 4 "
                            "partitions", mine and theirs and mine | theirs == {0, 1, 2, 3}
                            and not mine & theirs,
                            f"survivor={mine} victim={theirs} exit={victim.poll()}"):
            return
        produce(env, topic, [(p, None, f"a{i}".encode(), None, None)
                             for p in range(4) for i in range(5)])
        si.wait_until(lambda: (poll(), len(seen) + len(victim_got()) >= 20)[1], 30, 0)
        checks.check("killed member: 20 records read once, each by its partition's owner",
                     sorted(seen + victim_got()) == [(p, o) for p in range(4) for o in range(5)]
                     and {p for p, _ in victim_got()} <= theirs,
                     f"survivor {seen} victim {victim_got()}")
        victim.kill()  # SIGKILL: no LeaveGroup, no final commit
        victim.wait()
        killed_at = time.monotonic()
        ok = si.wait_until(lambda: (poll(), len(c1.assignment()) == 4)[1], 30, 0)
        took = time.monotonic() - killed_at
        checks.check("killed member: expelled after session.timeout.ms=6000, survivor owns all "
                     "4 partitions", ok and took > 4, f"after {took:.1f} s: {c1.assignment()}")
        before = len(seen)
        produce(env, topic, [(p, None, f"b{i}".encode(), None, None)
                             for p in range(4) for i in range(5, 10)])
        si.wait_until(lambda: (poll(), len(seen) - before >= 20)[1], 30, 0)
        after = seen[before:]
        first = {}
        for p, o in after:
            first.setdefault(p, o)
        checks.check("killed member: survivor resumes the victim's partitions at its commits (5)",
                     all(first.get(p) == 5 for p in theirs)
                     and sorted(after) == [(p, o) for p in range(4) for o in range(5, 10)],
                     f"first {first}; {after}")
        committed = c1.committed(tps, timeout=10)
        checks.check("killed member: committed offsets 10 on every partition",
                     [tp.offset for tp in committed] == [10] * 4,
                     [(tp.partition, tp.offset) for tp in committed])
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.wait()
        c1.close()


def admin(env, checks, groups):
    a = AdminClient({"bootstrap.servers": env.kafka_bootstrap})
    topic = env.name("cfk-admin")

    def topic_partitions(t):
        md = a.list_topics(timeout=10)
        t = md.topics.get(t)
        return None if t is None or t.error is not None else len(t.partitions)

    with checks.step("AdminClient.create_topics"):
        fs = a.create_topics([NewTopic(topic, num_partitions=2, replication_factor=3,
                                       config={"retention.ms": "3600000"})],
                             operation_timeout=15, request_timeout=20)
        fs[topic].result(timeout=25)
        checks.check("AdminClient.create_topics (2 partitions, RF 3, retention.ms)",
                     si.wait_until(lambda: topic_partitions(topic) == 2, 15),
                     topic_partitions(topic))
    with checks.step("AdminClient.create_topics again"):
        fs = a.create_topics([NewTopic(topic, num_partitions=2, replication_factor=3)],
                             request_timeout=20)
        try:
            fs[topic].result(timeout=25)
            checks.check("create_topics of an existing topic: TOPIC_ALREADY_EXISTS", False,
                         "succeeded")
        except Exception as e:  # noqa: BLE001
            code = e.args[0].code() if e.args and hasattr(e.args[0], "code") else None
            checks.check("create_topics of an existing topic: TOPIC_ALREADY_EXISTS",
                         code == KafkaError.TOPIC_ALREADY_EXISTS, repr(e))
    with checks.step("AdminClient.create_partitions"):
        fs = a.create_partitions([NewPartitions(topic, 4)], request_timeout=20)
        fs[topic].result(timeout=25)
        checks.check("AdminClient.create_partitions 2 -> 4",
                     si.wait_until(lambda: topic_partitions(topic) == 4, 15),
                     topic_partitions(topic))
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    with checks.step("AdminClient.describe_configs (topic)"):
        # The answering node may learn of the new topic's config a moment late.
        entries = si.retry(
            "describe_configs topic",
            lambda: a.describe_configs([res], request_timeout=20)[res].result(timeout=25),
            good=lambda es: es.get("retention.ms") is not None
            and es["retention.ms"].value == "3600000")
        e = entries.get("retention.ms")
        checks.check("describe_configs: retention.ms=3600000, a dynamic topic config",
                     e is not None and e.value == "3600000" and
                     e.source == 1,  # CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG
                     e and (e.value, e.source))
        checks.check("describe_configs: the topic's defaults listed too (cleanup.policy)",
                     "cleanup.policy" in entries and entries["cleanup.policy"].value == "delete",
                     sorted(entries)[:20])
    with checks.step("AdminClient.describe_configs (broker)"):
        bres = ConfigResource(ConfigResource.Type.BROKER, "1")
        entries = a.describe_configs([bres], request_timeout=20)[bres].result(timeout=25)
        checks.check("describe_configs broker 1: lists broker configs", len(entries) > 5,
                     sorted(entries)[:20])
    with checks.step("AdminClient.alter_configs"):
        res = ConfigResource(ConfigResource.Type.TOPIC, topic,
                             set_config={"retention.ms": "7200000", "cleanup.policy": "compact"})
        a.alter_configs([res], request_timeout=20)[res].result(timeout=25)

        def described():
            return a.describe_configs([res], request_timeout=20)[res].result(timeout=25)
        # The node that answers DescribeConfigs (any node, each time) may
        # learn of the change a little later than the one that made it (as
        # Kafka's brokers): the check is on the answer the retry ended with.
        entries = si.retry("describe_configs after alter_configs", described,
                           good=lambda es: es["retention.ms"].value == "7200000"
                           and es["cleanup.policy"].value == "compact")
        checks.check("alter_configs: retention.ms=7200000, cleanup.policy=compact",
                     entries["retention.ms"].value == "7200000"
                     and entries["cleanup.policy"].value == "compact",
                     (entries["retention.ms"].value, entries["cleanup.policy"].value))
        r = si.retry("strata configs --describe after alter_configs", lambda: env.cli(
            ["configs", "--describe", "--entity-type", "topics", "--entity-name", topic]),
            good=lambda r: "retention.ms=7200000" in (r.stdout or "")
            and "cleanup.policy=compact" in (r.stdout or ""))
        checks.check("alter_configs: the strata CLI (gRPC) sees the change",
                     "retention.ms=7200000" in (r.stdout or "") and
                     "cleanup.policy=compact" in (r.stdout or ""), r.stdout + r.stderr)
    with checks.step("AdminClient.list_groups"):
        def listed():
            return {g.id: g for g in a.list_groups(timeout=15)}

        def both(ids):
            return all(g in ids and ids[g].protocol_type == "consumer" for g in groups)
        ids = si.retry("AdminClient.list_groups", listed, good=both)
        checks.check(f"AdminClient.list_groups: both groups {groups}, protocol type consumer",
                     len(groups) == 2 and both(ids), sorted(ids))
    with checks.step("AdminClient.delete_topics"):
        a.delete_topics([topic], operation_timeout=15, request_timeout=20)[topic].result(
            timeout=25)
        checks.check("AdminClient.delete_topics: gone from Metadata",
                     si.wait_until(lambda: topic_partitions(topic) is None, 15))


def run(env, checks):
    produce_consume(env, checks)
    with checks.step("idempotent producer"):
        idempotent_producer(env, checks)
    # The groups list_groups must show, named here: a group_case that failed
    # early must not leave list_groups a vacuous check.
    groups = []
    for strategy in ("range", "cooperative-sticky"):
        groups.append(env.name(f"cfk-{strategy}"))
        with checks.step(f"{strategy} group"):
            group_case(env, checks, strategy)
    with checks.step("killed member"):
        killed_member_case(env, checks)
    admin(env, checks, groups)


if __name__ == "__main__":
    sys.exit(si.scenario_main(run, budget_s=180))
