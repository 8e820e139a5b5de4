#!/usr/bin/python3
"""Exactly-once under kills (issue 15, acceptance 2): a consume-transform-
produce copier (eos_copier.py: librdkafka, transactions, offsets committed
in the transaction) copies a 6-partition topic to another while, round
after round, the copier process is SIGKILLed and restarted and a node — the
transaction coordinator's or a partition leader's, alternately — is
SIGKILLed and restarted. Always on a cluster of its own.

  tests/interop/scenario_eos_copier.py [BUILD_DIR]
  STRATA_EOS_ROUNDS=12 tests/interop/scenario_eos_copier.py   # the fault run
  STRATA_EOS_COPIER=cpp tests/interop/scenario_eos_copier.py  # Strata's client

STRATA_EOS_COPIER=cpp runs <BUILD_DIR>/tests/interop/eos_copier_cpp (the same
copier written with Strata's own C++ client, eos_copier.cc, over the
cluster's gRPC listeners) in place of eos_copier.py; kills and checks are
the same.

The input arrives in chunks, one before each round, so the kills find the
copier at work. Afterwards a read_committed consumer of the output sees every input record
exactly once ("copy:<value>", in its input partition), and the group's
committed offsets are the input's ends.
"""
import os
import random
import signal
import struct
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strata_interop as si  # noqa: E402

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402

PARTITIONS = 6
RECORDS = 6000


def find_txn_coordinator(cluster, txn_id):
    """The node coordinating `txn_id` (FindCoordinator v1, key type 1, over
    the Kafka protocol), or None."""
    client_id = b"strata-interop"
    key = txn_id.encode()
    body = (struct.pack(">hhih", 10, 1, 11, len(client_id)) + client_id +
            struct.pack(">h", len(key)) + key + struct.pack(">b", 1))
    for n in cluster.nodes:
        if not cluster.running(n):
            continue
        try:
            with socket.create_connection(("127.0.0.1", cluster.kafka_port[n]), timeout=3) as s:
                s.settimeout(3)
                s.sendall(struct.pack(">i", len(body)) + body)
                size = struct.unpack(">i", si._recv_exactly(s, 4))[0]
                resp = si._recv_exactly(s, size)
            pos = 4 + 4  # correlation id, throttle
            (error,) = struct.unpack_from(">h", resp, pos)
            pos += 2
            (mlen,) = struct.unpack_from(">h", resp, pos)
            pos += 2 + max(mlen, 0)
            (node,) = struct.unpack_from(">i", resp, pos)
            if error == 0 and node in cluster.nodes:
                return node
        except (OSError, struct.error, ConnectionError):
            continue
    return None


def leader_of(env, topic, partition):
    for n in env.cluster.nodes:
        if not env.cluster.running(n):
            continue
        meta = si.kafka_metadata_topic("127.0.0.1", env.cluster.kafka_port[n], topic)
        if meta:
            for p, leader in meta.items():
                if p == partition and leader in env.cluster.nodes:
                    return leader
    return None


def copier_command(env, checks, args):
    """The copier's command line: eos_copier.py (librdkafka, over the Kafka
    listeners) by default, eos_copier_cpp (Strata's client, over gRPC) with
    STRATA_EOS_COPIER=cpp; None when that is not built."""
    if os.environ.get("STRATA_EOS_COPIER", "librdkafka") != "cpp":
        return [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                             "eos_copier.py"),
                env.kafka_bootstrap] + args
    tool = os.path.join(env.build_dir, "tests", "interop", "eos_copier_cpp")
    if not checks.check("eos_copier_cpp is built", os.access(tool, os.X_OK), tool):
        return None
    checks.note("the copier is eos_copier_cpp (Strata's C++ client, gRPC)")
    return [tool, env.grpc_bootstrap] + args


def run(env, checks):
    cluster = env.cluster
    rounds = int(os.environ.get("STRATA_EOS_ROUNDS", "3"))
    src, dst = env.name("eos-in"), env.name("eos-out")
    group, txn_id = env.name("eos-group"), env.name("eos-copier")
    copier_cmd = copier_command(env, checks, [src, dst, group, txn_id])
    if copier_cmd is None:
        return
    for t in (src, dst):
        env.create_topic(t, partitions=PARTITIONS, replication_factor=3,
                         configs=["min.insync.replicas=2"])
    plain = Producer({"bootstrap.servers": env.kafka_bootstrap, "acks": "all",
                      "enable.idempotence": True, "message.timeout.ms": 60000})
    produced = [0]

    def produce_input(upto):
        """The input, in chunks: one before each round, so the copier is
        copying when the kills come."""
        for i in range(produced[0], upto):
            plain.produce(src, value=f"r{i}".encode(), partition=i % PARTITIONS)
            if i % 500 == 0:
                plain.poll(0)
        produced[0] = upto

    copier_log = open(os.path.join(cluster.dir, "copier.log"), "ab")

    def start_copier():
        return si.popen(copier_cmd, stdout=copier_log, stderr=subprocess.STDOUT)

    copier = start_copier()
    rng = random.Random(15)
    killed_nodes = []
    try:
        for r in range(rounds):
            produce_input(RECORDS * (r + 1) // rounds)
            time.sleep(rng.uniform(1.0, 2.5))
            # The copier, mid-transaction most likely.
            os.kill(copier.pid, signal.SIGKILL)
            copier.wait()
            copier = start_copier()
            time.sleep(rng.uniform(0.5, 1.5))
            # A node: the coordinator's on even rounds, a leader's on odd.
            victim = (find_txn_coordinator(cluster, txn_id) if r % 2 == 0
                      else leader_of(env, dst, rng.randrange(PARTITIONS)))
            if victim is None:
                victim = rng.choice(cluster.nodes)
            killed_nodes.append(victim)
            cluster.kill(victim)
            time.sleep(rng.uniform(1.0, 2.0))
            cluster.restart(victim)
            if copier.poll() is not None:
                copier = start_copier()
        checks.check(f"{rounds} rounds of copier and node kills "
                     f"(nodes killed: {killed_nodes})", len(killed_nodes) == rounds)
        checks.check(f"{RECORDS} input records produced", plain.flush(60) == 0)

        # Let the copier finish: the group's offsets reach the input's ends.
        watcher = Consumer({"bootstrap.servers": env.kafka_bootstrap, "group.id": group,
                            "enable.auto.commit": False})
        tps = [TopicPartition(src, p) for p in range(PARTITIONS)]
        ends = [RECORDS // PARTITIONS] * PARTITIONS

        def committed():
            try:
                return [tp.offset for tp in watcher.committed(tps, timeout=10)]
            except Exception:  # noqa: BLE001 (a coordinator moving)
                return None
        done = si.wait_until(lambda: committed() == ends, 120, 1.0)
        last = committed()
        watcher.close()
        checks.check("the group's committed offsets reach the input's ends", done, last)
    finally:
        if copier.poll() is None:
            os.kill(copier.pid, signal.SIGKILL)
            copier.wait()
        copier_log.close()

    # Every input record exactly once in the output, read_committed.
    reader = Consumer({"bootstrap.servers": env.kafka_bootstrap, "group.id": env.name("check"),
                       "enable.auto.commit": False, "isolation.level": "read_committed",
                       "auto.offset.reset": "earliest"})
    reader.assign([TopicPartition(dst, p, 0) for p in range(PARTITIONS)])
    seen = {}
    wrong_partition = []
    deadline = time.monotonic() + 60
    quiet = 0
    while time.monotonic() < deadline and quiet < 6:
        msgs = reader.consume(1000, 0.5)
        if not msgs:
            quiet += 1 if len(seen) >= RECORDS else 0
            continue
        quiet = 0
        for m in msgs:
            if m.error():
                continue
            v = m.value().decode()
            seen[v] = seen.get(v, 0) + 1
            i = int(v.split(":r")[1])
            if i % PARTITIONS != m.partition():
                wrong_partition.append((v, m.partition()))
    reader.close()
    want = {f"copy:r{i}" for i in range(RECORDS)}
    missing = sorted(want - set(seen))
    dups = sorted(v for v, c in seen.items() if c > 1)
    extra = sorted(set(seen) - want)
    checks.check(f"read_committed output: {len(seen)} distinct records, missing "
                 f"{len(missing)}, duplicates {len(dups)}, unexpected {len(extra)}",
                 not missing and not dups and not extra,
                 (missing[:5], dups[:5], extra[:5]))
    checks.check("each copy in its input's partition", not wrong_partition, wrong_partition[:5])
    with open(os.path.join(cluster.dir, "copier.log"), errors="replace") as f:
        log = f.read()
    checks.note(f"the copier aborted {log.count('aborting:')} transactions and was fenced "
                f"{log.count('fatal:')} times")


if __name__ == "__main__":
    budget = 170 + 40 * int(os.environ.get("STRATA_EOS_ROUNDS", "3"))
    sys.exit(si.scenario_main(run, budget_s=budget, own_cluster=True))
