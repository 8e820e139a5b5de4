#!/usr/bin/python3
"""Transactions with librdkafka (confluent_kafka) against a three-node Strata
cluster, through the Kafka listener.

  tests/interop/scenario_transactions.py [BUILD_DIR]

  - a transactional producer (init_transactions, begin/abort, begin/commit):
    an aborted and a committed transaction of 10 records each;
    isolation.level=read_committed sees exactly the 10 committed,
    read_uncommitted all 20, neither a control record;
  - consume-transform-produce: a read_committed group consumer and a
    transactional producer copy a 3-partition topic to another, committing
    the consumed offsets with send_offsets_to_transaction; the output holds
    every input record exactly once and the group's committed offsets are
    the input's ends;
  - zombie fencing: a second producer with the same transactional.id fences
    the first, whose commit then fails fatally, and nothing it wrote after
    the second one's init_transactions becomes visible.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strata_interop as si  # noqa: E402

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition  # noqa: E402


def txn_producer(env, txn_id, extra=None):
    conf = {"bootstrap.servers": env.kafka_bootstrap, "transactional.id": txn_id,
            "transaction.timeout.ms": 30000, "message.timeout.ms": 25000,
            "linger.ms": 5}
    conf.update(extra or {})
    p = Producer(conf)
    p.init_transactions(30)
    return p


def read_all(env, topic, partitions, isolation, expected=None, timeout_s=20):
    """The values of every record of `topic` a consumer at `isolation` reads
    from the beginning, polling until `expected` were read (or the time is
    up)."""
    c = Consumer({"bootstrap.servers": env.kafka_bootstrap, "group.id": env.name("reader"),
                  "enable.auto.commit": False, "isolation.level": isolation,
                  "auto.offset.reset": "earliest"})
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    values = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                if expected is not None and len(values) >= expected:
                    # One more quiet poll round: nothing beyond.
                    break
                continue
            if m.error():
                continue
            values.append(m.value().decode())
    finally:
        c.close()
    return values


def visibility(env, checks):
    topic = env.name("txn-visibility")
    env.create_topic(topic, partitions=2, replication_factor=3)
    p = txn_producer(env, env.name("visibility"))
    p.begin_transaction()
    for i in range(10):
        p.produce(topic, value=f"aborted-{i}".encode(), partition=i % 2)
    p.flush(20)
    p.abort_transaction(30)
    p.begin_transaction()
    for i in range(10):
        p.produce(topic, value=f"committed-{i}".encode(), partition=i % 2)
    p.commit_transaction(30)
    committed = read_all(env, topic, 2, "read_committed", expected=10)
    checks.check("read_committed sees exactly the 10 committed records",
                 sorted(committed) == sorted(f"committed-{i}" for i in range(10)), committed)
    everything = read_all(env, topic, 2, "read_uncommitted", expected=20)
    checks.check("read_uncommitted sees all 20 records, no control record",
                 sorted(everything) == sorted([f"committed-{i}" for i in range(10)] +
                                              [f"aborted-{i}" for i in range(10)]),
                 everything)


def copier(env, checks):
    src, dst = env.name("txn-in"), env.name("txn-out")
    env.create_topic(src, partitions=3, replication_factor=3)
    env.create_topic(dst, partitions=3, replication_factor=3)
    plain = Producer({"bootstrap.servers": env.kafka_bootstrap, "acks": "all"})
    for i in range(60):
        plain.produce(src, value=f"in-{i}".encode(), partition=i % 3)
    checks.check("input produced", plain.flush(20) == 0)
    group = env.name("copier")
    c = Consumer({"bootstrap.servers": env.kafka_bootstrap, "group.id": group,
                  "enable.auto.commit": False, "isolation.level": "read_committed",
                  "auto.offset.reset": "earliest"})
    c.subscribe([src])
    p = txn_producer(env, env.name("copier"))
    copied = 0
    deadline = time.monotonic() + 60
    while copied < 60 and time.monotonic() < deadline:
        msgs = c.consume(20, 1.0)
        msgs = [m for m in msgs if not m.error()]
        if not msgs:
            continue
        p.begin_transaction()
        for m in msgs:
            p.produce(dst, value=m.value().replace(b"in-", b"out-"), partition=m.partition())
        p.send_offsets_to_transaction(c.position(c.assignment()), c.consumer_group_metadata(),
                                      30)
        p.commit_transaction(30)
        copied += len(msgs)
    checks.check("the copier copied 60 records in transactions", copied == 60, copied)
    committed = c.committed([TopicPartition(src, q) for q in range(3)], timeout=20)
    c.close()
    checks.check("the group's committed offsets are the input's ends (20 each)",
                 sorted(tp.offset for tp in committed) == [20, 20, 20],
                 [(tp.partition, tp.offset) for tp in committed])
    out = read_all(env, dst, 3, "read_committed", expected=60)
    checks.check("the output holds every input record exactly once",
                 sorted(out) == sorted(f"out-{i}" for i in range(60)),
                 (len(out), sorted(set(out))[:5]))


def fencing(env, checks):
    topic = env.name("txn-fencing")
    env.create_topic(topic, partitions=1, replication_factor=3)
    txn_id = env.name("fenced")
    zombie = txn_producer(env, txn_id)
    zombie.begin_transaction()
    zombie.produce(topic, value=b"zombie-before")
    zombie.flush(20)
    fresh = txn_producer(env, txn_id)
    fatal = None
    try:
        zombie.produce(topic, value=b"zombie-after")
        zombie.commit_transaction(20)
    except KafkaException as e:
        fatal = e.args[0]
    checks.check("the zombie's commit fails fatally (fenced)",
                 fatal is not None and (fatal.fatal() or "fenced" in str(fatal).lower()),
                 fatal)
    fresh.begin_transaction()
    fresh.produce(topic, value=b"fresh")
    fresh.commit_transaction(30)
    seen = read_all(env, topic, 1, "read_committed", expected=1)
    checks.check("read_committed sees only the new producer's record", seen == ["fresh"], seen)


def run(env, checks):
    with checks.step("visibility"):
        visibility(env, checks)
    with checks.step("consume-transform-produce with send_offsets_to_transaction"):
        copier(env, checks)
    with checks.step("zombie fencing"):
        fencing(env, checks)


if __name__ == "__main__":
    sys.exit(si.scenario_main(run, budget_s=200))
