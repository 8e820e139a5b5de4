#!/usr/bin/python3
"""Kafka clients through a broker crash: librdkafka keeps producing (acks=all)
and a consumer group keeps consuming while the leader of a partition is
SIGKILLed, and the node comes back. Always on a cluster of its own.

  tests/interop/scenario_failover.py [BUILD_DIR]

  - a confluent_kafka idempotent producer (enable.idempotence=true, so
    acks=all) sends keyed records for ~6 s; ~1.5 s in, the node leading
    partition 0 is killed; every record is acknowledged
    (NOT_LEADER_OR_FOLLOWER and broken connections are retried after a
    Metadata refresh);
  - every acknowledged record is at its acknowledged offset with its key
    and value, and the log holds nothing else: no retry wrote a record
    twice (issue 15);
  - a 1-member group subscribed throughout reads every acknowledged record
    and its commits reach the end offsets, though the group's coordinator
    may have been on the killed node;
  - the killed node restarts, every partition's ISR is whole again, and its
    KAFKA listener answers Metadata with three brokers.
"""
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strata_interop as si  # noqa: E402

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition  # noqa: E402


def leaders(env, topic):
    r = env.cli(["topics", "--describe", "--topic", topic], timeout=10)
    out = {}
    line = r"Partition: (\d+)\tLeader: (\S+)\tReplicas: \S+\tIsr: (\S*)"
    for part, leader, isr in re.findall(line, r.stdout or ""):
        out[int(part)] = (leader, isr)
    return out


def run(env, checks):
    cluster = env.cluster
    topic = env.name("failover")
    group = env.name("failover-group")
    env.create_topic(topic, partitions=3, replication_factor=3,
                     configs=["min.insync.replicas=2"])

    # The group member polls in its own thread from the start.
    consumed = []
    stop = threading.Event()
    consumer_errors = []

    def consume():
        c = Consumer({"bootstrap.servers": env.kafka_bootstrap, "group.id": group,
                      "auto.offset.reset": "earliest", "enable.auto.commit": True,
                      "auto.commit.interval.ms": 200, "session.timeout.ms": 6000,
                      "heartbeat.interval.ms": 500})
        c.subscribe([topic])
        try:
            while not stop.is_set():
                m = c.poll(0.2)
                if m is None:
                    continue
                if m.error():
                    consumer_errors.append(str(m.error()))
                    continue
                consumed.append((m.partition(), m.offset(), m.key(), m.value()))
        finally:
            try:
                c.commit(asynchronous=False)  # what auto-commit has not sent yet
            except KafkaException:
                pass  # nothing new to commit
            c.close()
    t = threading.Thread(target=consume, daemon=True)
    t.start()

    p = Producer({"bootstrap.servers": env.kafka_bootstrap, "linger.ms": 5,
                  "message.timeout.ms": 30000, "enable.idempotence": True})
    acked, errors = {}, []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            acked[msg.key()] = (msg.partition(), msg.offset(), msg.value())

    victim = None
    start = time.monotonic()
    i = 0
    while time.monotonic() - start < 6:
        key = f"k{i}".encode()
        p.produce(topic, key=key, value=f"value {i}".encode(), on_delivery=on_delivery)
        p.poll(0)
        i += 1
        if victim is None and time.monotonic() - start > 1.5:
            leader = leaders(env, topic).get(0, ("none", ""))[0]
            if leader.isdigit():
                victim = int(leader)
                cluster.kill(victim)
                checks.note(f"killed node {victim} (leader of partition 0) after {i} records")
        time.sleep(0.01)
    left = p.flush(40)
    checks.check("a node was killed mid-produce", victim is not None)
    checks.check(f"producer acks=all: all {i} records acknowledged across the crash",
                 not errors and not left and len(acked) == i,
                 f"{len(acked)} acked, {left} unflushed, errors {errors[:3]}")

    # Every acknowledged record is where its acknowledgement says.
    c = Consumer({"bootstrap.servers": env.kafka_bootstrap, "group.id": env.name("fo-check"),
                  "enable.auto.commit": False})
    stored = {}
    try:
        c.assign([TopicPartition(topic, part, 0) for part in range(3)])
        ends = {}
        for part in range(3):
            ends[part] = c.get_watermark_offsets(TopicPartition(topic, part), timeout=10)[1]
        want = sum(ends.values())
        deadline = time.monotonic() + 30
        while len(stored) < want and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error():
                stored[(m.partition(), m.offset())] = (m.key(), m.value())
    finally:
        c.close()
    missing = [(k, v) for k, v in acked.items() if stored.get(v[:2]) != (k, v[2])]
    checks.check("every acknowledged record is stored at its offset with its key and value",
                 not missing, f"{len(missing)} missing, e.g. {missing[:3]}")
    keys = [k for k, _ in stored.values()]
    checks.check("idempotence: the log holds each record once (no duplicate from a retry)",
                 len(stored) == len(acked) and len(set(keys)) == len(keys),
                 f"{len(stored)} stored, {len(acked)} acknowledged, "
                 f"{len(keys) - len(set(keys))} duplicate key(s)")

    # The group read everything and committed up to the ends.
    si.wait_until(lambda: {(p_, o) for p_, o, _, _ in consumed} >= set(stored), 40)
    got = {(p_, o) for p_, o, _, _ in consumed}
    checks.check("the group member read every stored record through the crash",
                 got >= set(stored), f"{len(set(stored) - got)} of {len(stored)} not read; "
                 f"errors {consumer_errors[:3]}")
    stop.set()
    t.join(20)
    probe = Consumer({"bootstrap.servers": env.kafka_bootstrap, "group.id": group,
                      "enable.auto.commit": False})
    try:
        def committed_to_end():
            got = probe.committed([TopicPartition(topic, part) for part in range(3)], timeout=10)
            return {tp.partition: tp.offset for tp in got} == ends
        ok = si.wait_until(committed_to_end, 20, 0.5)
        got = probe.committed([TopicPartition(topic, part) for part in range(3)], timeout=10)
        checks.check("the group's commits reached the end offsets", ok,
                     f"committed {[(tp.partition, tp.offset) for tp in got]} ends {ends}")
    finally:
        probe.close()

    if victim is not None:
        cluster.restart(victim)
        ok = si.wait_until(lambda: all(len(isr.split(",")) == 3
                                       for _, isr in leaders(env, topic).values()), 60, 0.5)
        checks.check(f"node {victim} restarts and rejoins every ISR", ok, leaders(env, topic))
        want = sorted((n, "127.0.0.1", cluster.kafka_port[n]) for n in cluster.nodes)
        ok = si.wait_until(lambda: si.kafka_metadata_brokers(
            "127.0.0.1", cluster.kafka_port[victim]) == want, 30)
        checks.check(f"node {victim}'s KAFKA listener answers Metadata with 3 brokers", ok,
                     si.kafka_metadata_brokers("127.0.0.1", cluster.kafka_port[victim]))


if __name__ == "__main__":
    sys.exit(si.scenario_main(run, budget_s=180, own_cluster=True))
