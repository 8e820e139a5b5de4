#!/usr/bin/python3
"""kafka-python 2.0.2 against a three-node Strata cluster, with NO
api_version set: every client first runs check_version (ApiVersions v0 and
Metadata v0, pipelined) and then picks its request versions from our
ApiVersions answer.

  tests/interop/scenario_kafka_python.py [BUILD_DIR]

  - KafkaProducer (acks=all, gzip, keys, headers, timestamps), read back by
    an assigned KafkaConsumer: every field equal;
  - a 2-member consumer group (one thread per member, as kafka-python's
    consumers are not thread-safe) splits a 4-partition topic and commits;
    one member closes (LeaveGroup), the other takes its partitions and
    resumes at the committed offsets;
  - KafkaAdminClient: create_topics (and TOPIC_ALREADY_EXISTS), create_partitions,
    describe_configs (topic, broker), alter_configs, list_consumer_groups,
    describe_consumer_groups (members and assignments while the group is
    live), list_consumer_group_offsets, delete_consumer_groups, delete_topics.
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strata_interop as si  # noqa: E402

from kafka import KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.errors import TopicAlreadyExistsError  # noqa: E402
from kafka.admin import (ConfigResource, ConfigResourceType, KafkaAdminClient,  # noqa: E402
                         NewPartitions, NewTopic)

COMMON = {"request_timeout_ms": 30000}


def produce(env, topic, records, **extra):
    """records: [(partition, key, value, headers, timestamp_ms)] -> [(partition, offset)]."""
    p = KafkaProducer(bootstrap_servers=env.kafka_bootstrap, acks="all", linger_ms=5,
                      **COMMON, **extra)
    try:
        futures = [p.send(topic, key=k, value=v, partition=part, headers=h or [],
                          timestamp_ms=ts) for part, k, v, h, ts in records]
        p.flush(timeout=25)
        out = []
        for f in futures:
            md = f.get(timeout=25)
            out.append((md.partition, md.offset))
        return out
    finally:
        p.close(timeout=10)


def produce_consume(env, checks):
    topic = env.name("kpy-basic")
    env.create_topic(topic, partitions=2, replication_factor=3)
    # Increasing timestamps, a second apart, starting a minute ago: a
    # ListOffsets by time then has a middle offset as its answer.
    base = int(time.time() * 1000) - 60_000
    records = [(i % 2, f"key-{i}".encode(), f"value-{i}".encode() * (i + 1),
                [("h1", f"v{i}".encode()), ("h2", b"\x00\xff")], base + 1000 * i)
               for i in range(20)]
    with checks.step("KafkaProducer acks=all gzip"):
        offsets = produce(env, topic, records, compression_type="gzip")
        checks.check("KafkaProducer acks=all gzip: 20 records acknowledged with offsets",
                     sorted(offsets) == sorted([(0, o) for o in range(10)] +
                                               [(1, o) for o in range(10)]), offsets)
    with checks.step("KafkaConsumer assign"):
        c = KafkaConsumer(bootstrap_servers=env.kafka_bootstrap, enable_auto_commit=False,
                          auto_offset_reset="earliest", consumer_timeout_ms=10000, **COMMON)
        try:
            c.assign([TopicPartition(topic, 0), TopicPartition(topic, 1)])
            c.seek_to_beginning()
            got = []
            deadline = time.monotonic() + 20
            while len(got) < 20 and time.monotonic() < deadline:
                for recs in c.poll(timeout_ms=500).values():
                    got.extend(recs)
            want = {r[1]: r for r in records}
            bad = [(m.key, m.partition, m.offset, m.headers, m.timestamp, m.timestamp_type)
                   for m in got if m.key not in want or m.value != want[m.key][2]
                   or m.headers != want[m.key][3] or m.timestamp != want[m.key][4]
                   or m.timestamp_type != 0 or m.partition != want[m.key][0]]
            checks.check("KafkaConsumer: 20 records with equal key, value, headers, CreateTime",
                         len(got) == 20 and not bad, f"{len(got)} records; bad {bad[:3]}")
            end = c.end_offsets([TopicPartition(topic, 0)])
            checks.check("KafkaConsumer.end_offsets (ListOffsets)",
                         end == {TopicPartition(topic, 0): 10}, end)
            # Partition 1 holds i = 1, 3, ..., 19 at offsets 0..9 (acks in
            # order), timestamps base + 1000 i. The first at or after
            # base + 6500 is i = 7, offset 3; at exactly base + 13000, i = 13,
            # offset 6; after the last (i = 19) there is none: kafka-python
            # gives None, as against Kafka.
            tp1 = TopicPartition(topic, 1)
            at = {m.offset: m.key for m in got if m.partition == 1}
            checks.check("partition 1 holds key-1, key-3, ... key-19 at offsets 0..9",
                         at == {o: f"key-{2 * o + 1}".encode() for o in range(10)}, at)
            for target, want in ((base + 6500, 3), (base + 13000, 6), (base - 1, 0)):
                found = c.offsets_for_times({tp1: target})
                got_ts = found.get(tp1)
                checks.check(f"KafkaConsumer.offsets_for_times(base + {target - base} ms): "
                             f"offset {want}, that record's timestamp",
                             got_ts is not None and got_ts.offset == want
                             and got_ts.timestamp == base + 1000 * (2 * want + 1), found)
            found = c.offsets_for_times({tp1: base + 19001})
            checks.check("KafkaConsumer.offsets_for_times past the last record: None",
                         tp1 in found and found[tp1] is None, found)
        finally:
            c.close()


class Member(threading.Thread):
    """One group member polling in its own thread; commits after each batch."""

    def __init__(self, env, topic, group, name):
        super().__init__(daemon=True, name=name)
        self.env, self.topic, self.group = env, topic, group
        self.stop_event = threading.Event()
        self.assigned = set()
        self.seen = []
        self.error = None
        self.consumer = None

    def run(self):
        try:
            self.consumer = KafkaConsumer(
                self.topic, bootstrap_servers=self.env.kafka_bootstrap, group_id=self.group,
                client_id=self.name, auto_offset_reset="earliest", enable_auto_commit=False,
                session_timeout_ms=6000, heartbeat_interval_ms=500, max_poll_interval_ms=20000,
                **COMMON)
            while not self.stop_event.is_set():
                batch = self.consumer.poll(timeout_ms=200)
                self.assigned = {tp.partition for tp in self.consumer.assignment()}
                got = [(m.partition, m.offset) for recs in batch.values() for m in recs]
                if got:
                    self.consumer.commit()
                    self.seen.extend(got)
        except Exception as e:  # noqa: BLE001 - reported by the main thread
            self.error = e
        finally:
            if self.consumer is not None:
                self.consumer.close()  # LeaveGroup

    def leave(self, timeout_s=20):
        self.stop_event.set()
        self.join(timeout_s)


def group_case(env, checks, admin):
    topic = env.name("kpy-group")
    group = env.name("kpy-group")
    env.create_topic(topic, partitions=4, replication_factor=3)
    m1, m2 = Member(env, topic, group, "m1"), Member(env, topic, group, "m2")
    m1.start()
    m2.start()
    try:
        stable = [None]

        def split():
            if m1.error or m2.error:
                return True
            a, b = m1.assigned, m2.assigned
            if not (a and b and not a & b and a | b == {0, 1, 2, 3}):
                stable[0] = None
                return False
            stable[0] = stable[0] or time.monotonic()
            return time.monotonic() - stable[0] > 1.0
        si.wait_until(split, 45, 0.1)
        a1, a2 = set(m1.assigned), set(m2.assigned)
        if not checks.check("group of 2: members split 4 partitions",
                            a1 and a2 and not a1 & a2 and a1 | a2 == {0, 1, 2, 3},
                            f"m1={a1} m2={a2} errors={m1.error} {m2.error}"):
            return group
        produce(env, topic, [(p, f"k{p}-{i}".encode(), b"a", None, None)
                             for p in range(4) for i in range(5)])
        si.wait_until(lambda: len(m1.seen) + len(m2.seen) >= 20, 30, 0.1)
        checks.check("group of 2: each reads only its partitions, 20 records once",
                     {p for p, _ in m1.seen} <= a1 and {p for p, _ in m2.seen} <= a2 and
                     sorted(m1.seen + m2.seen) == [(p, o) for p in range(4) for o in range(5)],
                     f"m1={m1.seen} m2={m2.seen}")

        with checks.step("describe_consumer_groups (live group)"):
            info = admin.describe_consumer_groups([group])[0]
            members = {m.client_id: m for m in info.members}
            assigned = {}
            for m in info.members:
                for t, parts in (m.member_assignment.assignment if m.member_assignment else []):
                    assigned[m.client_id] = set(parts)
            checks.check("describe_consumer_groups: Stable, consumer, members m1 and m2 with "
                         "their partitions",
                         info.state == "Stable" and info.protocol_type == "consumer"
                         and set(members) == {"m1", "m2"} and assigned == {"m1": a1, "m2": a2},
                         f"{info.state} {info.protocol_type} {set(members)} {assigned}")
        with checks.step("list_consumer_group_offsets"):
            si.wait_until(lambda: all(
                o.offset == 5 for o in admin.list_consumer_group_offsets(group).values()), 10)
            offs = admin.list_consumer_group_offsets(group)
            checks.check("list_consumer_group_offsets: 5 on every partition",
                         {tp.partition: o.offset for tp, o in offs.items()} ==
                         {p: 5 for p in range(4)}, offs)

        m2.leave()
        checks.check("m2 closed (LeaveGroup) cleanly", not m2.is_alive() and m2.error is None,
                     m2.error)
        ok = si.wait_until(lambda: m1.assigned == {0, 1, 2, 3}, 30, 0.1)
        checks.check("after m2 leaves, m1 owns all 4 partitions", ok, m1.assigned)
        before = len(m1.seen)
        produce(env, topic, [(p, f"k{p}-{i}".encode(), b"b", None, None)
                             for p in range(4) for i in range(5, 10)])
        si.wait_until(lambda: len(m1.seen) - before >= 20, 30, 0.1)
        after = m1.seen[before:]
        first = {}
        for p, o in after:
            first.setdefault(p, o)
        checks.check("m1 resumes m2's partitions at the committed offset 5",
                     all(first.get(p) == 5 for p in a2), first)
        checks.check("m1 reads offsets 5-9 of every partition once",
                     sorted(after) == [(p, o) for p in range(4) for o in range(5, 10)], after)
    finally:
        m1.leave()
        m2.leave()
    checks.check("group members ran without error", m1.error is None and m2.error is None,
                 f"{m1.error!r} {m2.error!r}")
    return group


def admin_case(env, checks, admin, group):
    topic = env.name("kpy-admin")

    def partitions(t):
        c = KafkaConsumer(bootstrap_servers=env.kafka_bootstrap, **COMMON)
        try:
            return c.partitions_for_topic(t)
        finally:
            c.close()

    with checks.step("KafkaAdminClient.create_topics"):
        r = admin.create_topics([NewTopic(topic, 2, 3, topic_configs={"retention.ms": "3600000"})],
                                timeout_ms=15000)
        errs = [(t, e) for t, e, *_ in r.topic_errors if e != 0]
        checks.check("create_topics (2 partitions, RF 3, retention.ms)",
                     not errs and si.wait_until(lambda: partitions(topic) == {0, 1}, 15),
                     f"{r} {partitions(topic)}")
        # kafka-python raises the error of the controller's answer.
        try:
            r = admin.create_topics([NewTopic(topic, 2, 3)], timeout_ms=15000)
            checks.check("create_topics of an existing topic: TopicAlreadyExistsError (36)",
                         False, r)
        except TopicAlreadyExistsError as e:
            checks.check("create_topics of an existing topic: TopicAlreadyExistsError (36)",
                         e.errno == 36, repr(e))
    with checks.step("KafkaAdminClient.create_partitions"):
        r = admin.create_partitions({topic: NewPartitions(total_count=4)}, timeout_ms=15000)
        checks.check("create_partitions 2 -> 4",
                     all(e == 0 for _, e, *_ in r.topic_errors)
                     and si.wait_until(lambda: partitions(topic) == {0, 1, 2, 3}, 15),
                     f"{r} {partitions(topic)}")

    def topic_config():
        resp = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        res = resp[0].resources[0]
        return res[0], {e[0]: e for e in res[4]}

    with checks.step("KafkaAdminClient.describe_configs"):
        # The answering node may learn of the new topic's config a moment late.
        err, entries = si.retry("describe_configs topic", topic_config, good=lambda x: (
            x[0] == 0 and x[1].get("retention.ms", [None, None])[1] == "3600000"))
        checks.check("describe_configs topic: retention.ms=3600000 and the defaults",
                     err == 0 and entries.get("retention.ms", [None, None])[1] == "3600000"
                     and "cleanup.policy" in entries, (err, sorted(entries)[:10]))
        resp = admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, "1")])
        res = resp[0].resources[0]
        checks.check("describe_configs broker 1: no error, broker configs listed",
                     res[0] == 0 and len(res[4]) > 5, res[:4])
    with checks.step("KafkaAdminClient.alter_configs"):
        r = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic,
                                                configs={"retention.ms": "7200000"})])
        # The node that answers DescribeConfigs (any node, each time) may
        # learn of the change a little later than the one that made it (as
        # Kafka's brokers): the check is on the answer the retry ended with.
        err, entries = si.retry("describe_configs after alter_configs", topic_config,
                                good=lambda x: x[0] == 0 and x[1].get(
                                    "retention.ms", [None, None])[1] == "7200000")
        checks.check("alter_configs: retention.ms=7200000",
                     all(x[0] == 0 for x in r.resources)
                     and entries["retention.ms"][1] == "7200000", (r, entries.get("retention.ms")))
        r = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic,
                                                configs={"retention.ms": "not-a-number"})])
        checks.check("alter_configs with a bad value: INVALID_CONFIG (40)",
                     [x[0] for x in r.resources] == [40], r)
    with checks.step("KafkaAdminClient.list_consumer_groups"):
        listed = admin.list_consumer_groups()
        checks.check("list_consumer_groups: the group, protocol type consumer",
                     (group, "consumer") in listed, listed)
    with checks.step("KafkaAdminClient.describe_consumer_groups (empty group)"):
        info = admin.describe_consumer_groups([group])[0]
        checks.check("describe_consumer_groups after every member left: Empty, no members",
                     info.state == "Empty" and not info.members, info)
        offs = admin.list_consumer_group_offsets(group)
        checks.check("list_consumer_group_offsets: 10 on every partition",
                     {tp.partition: o.offset for tp, o in offs.items()} ==
                     {p: 10 for p in range(4)}, offs)
    with checks.step("KafkaAdminClient.delete_consumer_groups"):
        r = admin.delete_consumer_groups([group])
        checks.check("delete_consumer_groups: no error", [e.errno for _, e in r] == [0], r)
        listed = admin.list_consumer_groups()
        checks.check("delete_consumer_groups: gone from list_consumer_groups",
                     group not in [g for g, _ in listed], listed)
        r = admin.delete_consumer_groups([group])
        checks.check("delete_consumer_groups again: GROUP_ID_NOT_FOUND (69)",
                     [e.errno for _, e in r] == [69], r)
    with checks.step("KafkaAdminClient.delete_topics"):
        r = admin.delete_topics([topic], timeout_ms=15000)
        checks.check("delete_topics: no error, gone from Metadata",
                     all(e == 0 for _, e, *_ in r.topic_error_codes)
                     and si.wait_until(lambda: partitions(topic) is None, 15), r)


def run(env, checks):
    produce_consume(env, checks)
    admin = KafkaAdminClient(bootstrap_servers=env.kafka_bootstrap, **COMMON)
    try:
        group = None
        with checks.step("consumer group of 2"):
            group = group_case(env, checks, admin)
        if group:
            admin_case(env, checks, admin, group)
    finally:
        admin.close()


if __name__ == "__main__":
    sys.exit(si.scenario_main(run, budget_s=180))
