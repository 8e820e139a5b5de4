#!/usr/bin/python3
"""One consumer group, two protocols: a librdkafka consumer (Kafka's binary
protocol) and `strata console-consumer --group G` (Strata's gRPC client)
share a 4-partition topic.

  tests/interop/scenario_mixed_group.py [BUILD_DIR]

  - twice: with librdkafka offering range, then cooperative-sticky (Strata's
    client offers both by default, so the group settles on librdkafka's);
  - both join group G and split the partitions: the librdkafka member owns
    a proper subset, and the two together read each of the 20 records
    exactly once;
  - `strata consumer-groups --describe --group G --members` lists both
    members (client ids rdk-member and strata-member), and `--describe`
    shows CURRENT-OFFSET 5 (LAG 0) on every partition: the commits of both
    clients (OffsetCommit over Kafka, auto-commit over gRPC);
  - confluent_kafka's AdminClient.list_groups sees the same two members;
  - the strata console-consumer is stopped (SIGTERM: it closes and leaves);
    the librdkafka member takes all 4 partitions and resumes the ones it
    did not own at the committed offset 5.
"""
import os
import re
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strata_interop as si  # noqa: E402

from confluent_kafka import Consumer, Producer  # noqa: E402
from confluent_kafka.admin import AdminClient  # noqa: E402


def produce(env, topic, lo, hi):
    p = Producer({"bootstrap.servers": env.kafka_bootstrap, "acks": "all", "linger.ms": 5})
    errors = []
    for part in range(4):
        for i in range(lo, hi):
            p.produce(topic, key=f"k{part}-{i}".encode(), value=f"v{i}".encode(), partition=part,
                      on_delivery=lambda err, msg: err and errors.append(err))
    left = p.flush(20)
    if errors or left:
        raise RuntimeError(f"produce failed: {errors[:3]} {left} left")


class StrataMember:
    """`strata console-consumer --group` in the background; its stdout lines
    (Partition:P<TAB>Offset:O<TAB>key<TAB>value) are collected by a thread."""

    def __init__(self, env, topic, group):
        args = [env.cli_path, "console-consumer", "--bootstrap-server", env.grpc_bootstrap,
                "--topic", topic, "--group", group, "--from-beginning",
                "--property", "print.partition=true", "--property", "print.offset=true",
                "--property", "print.key=true", "--property", "key.separator=\t",
                "--consumer-property", "client.id=strata-member",
                "--consumer-property", "auto.commit.interval.ms=500",
                "--consumer-property", "session.timeout.ms=6000",
                "--consumer-property", "heartbeat.interval.ms=500"]
        self.proc = si.popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, text=True)
        self.seen = []
        self.stderr = []
        threading.Thread(target=self._read, args=(self.proc.stdout, self.seen), daemon=True).start()
        threading.Thread(target=self._read, args=(self.proc.stderr, self.stderr),
                         daemon=True).start()

    @staticmethod
    def _read(stream, out):
        for line in stream:
            out.append(line.rstrip("\n"))

    def records(self):
        out = []
        for line in list(self.seen):
            m = re.match(r"Partition:(\d+)\tOffset:(\d+)\t", line)
            if m:
                out.append((int(m.group(1)), int(m.group(2))))
        return out

    def stop(self, timeout_s=20):
        """SIGTERM (the console consumer closes: final commit, LeaveGroup),
        SIGKILL if it has not exited in timeout_s. Returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def describe(env, group, *extra):
    r = env.cli(["consumer-groups", "--describe", "--group", group] + list(extra), timeout=20)
    return r, [line.split() for line in (r.stdout or "").splitlines()
               if line.split() and line.split()[0] == group]


def mixed_case(env, checks, strategy):
    topic = env.name(f"mixed-{strategy}")
    group = env.name(f"mixed-group-{strategy}")

    def check(what, ok, detail=""):
        return checks.check(f"{strategy}: {what}", ok, detail)
    env.create_topic(topic, partitions=4, replication_factor=3)
    c = Consumer({"bootstrap.servers": env.kafka_bootstrap, "group.id": group,
                  "client.id": "rdk-member", "auto.offset.reset": "earliest",
                  "enable.auto.commit": False, "partition.assignment.strategy": strategy,
                  "session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
                  "max.poll.interval.ms": 30000})
    c.subscribe([topic])
    member = None
    rdk_seen = []

    def poll_once():
        m = c.poll(0.1)
        if m is not None and not m.error():
            rdk_seen.append((m.partition(), m.offset()))
            c.commit(message=m, asynchronous=False)

    try:
        ok = si.wait_until(lambda: (poll_once(), c.assignment())[1], 30, 0)
        check("librdkafka member joins alone: gets partitions", ok, c.assignment())
        member = StrataMember(env, topic, group)
        stable = [None]

        def split():
            poll_once()
            mine = {tp.partition for tp in c.assignment()}
            if member.proc.poll() is not None or not (0 < len(mine) < 4):
                stable[0] = None
                return member.proc.poll() is not None
            stable[0] = stable[0] or time.monotonic()
            return time.monotonic() - stable[0] > 1.5
        si.wait_until(split, 45, 0)
        mine = {tp.partition for tp in c.assignment()}
        if not check("strata console-consumer joins: librdkafka keeps a proper subset",
                            member.proc.poll() is None and 0 < len(mine) < 4,
                            f"librdkafka owns {mine}; strata exit={member.proc.poll()} "
                            f"{member.stderr[-5:]}"):
            return
        checks.note(f"{strategy}: librdkafka member owns {sorted(mine)}")

        r, rows = describe(env, group, "--members", "--verbose")
        check("consumer-groups --describe --members: two members, rdk-member and "
                     "strata-member",
                     r.returncode == 0 and len(rows) == 2 and
                     any("rdk-member" in " ".join(row) for row in rows) and
                     any("strata-member" in " ".join(row) for row in rows),
                     (r.stdout or "") + (r.stderr or ""))

        produce(env, topic, 0, 5)
        si.wait_until(lambda: (poll_once(), len(rdk_seen) + len(member.records()) >= 20)[1],
                      30, 0)
        theirs = member.records()
        check("each member reads only its partitions; together all 20 records once",
                     {p for p, _ in rdk_seen} <= mine and not ({p for p, _ in theirs} & mine)
                     and sorted(rdk_seen + theirs) ==
                     [(p, o) for p in range(4) for o in range(5)],
                     f"librdkafka {rdk_seen} strata {theirs}")

        def offsets_committed():
            poll_once()
            r, rows = describe(env, group)
            # GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID
            got = {int(row[2]): (row[3], row[5]) for row in rows if len(row) >= 6 and
                   row[1] == topic}
            return got == {p: ("5", "0") for p in range(4)} and (r, rows)
        found = si.wait_until(offsets_committed, 15, 0.3)
        r, rows = found if found else describe(env, group)
        check("consumer-groups --describe: CURRENT-OFFSET 5, LAG 0 on all 4 partitions",
                     bool(found), (r.stdout or "") + (r.stderr or ""))
        if found:
            owners = {row[-1] for row in rows if len(row) >= 9}
            check("consumer-groups --describe: partitions owned by both clients",
                         owners == {"rdk-member", "strata-member"}, r.stdout)

        groups = {g.id: g for g in AdminClient({"bootstrap.servers": env.kafka_bootstrap})
                  .list_groups(group=group, timeout=15)}
        g = groups.get(group)
        check(f"confluent_kafka list_groups(G): 2 members, Stable, protocol {strategy}",
                     g is not None and len(g.members) == 2 and g.state == "Stable"
                     and g.protocol == strategy,
                     g and (g.state, g.protocol, [m.client_id for m in g.members]))

        status = member.stop()
        check("strata console-consumer stops on SIGTERM with status 0", status == 0,
                     f"status {status}; {member.stderr[-5:]}")
        ok = si.wait_until(lambda: (poll_once(), len(c.assignment()) == 4)[1], 30, 0)
        check("after it leaves, the librdkafka member owns all 4 partitions", ok,
                     c.assignment())
        before = len(rdk_seen)
        produce(env, topic, 5, 10)
        si.wait_until(lambda: (poll_once(), len(rdk_seen) - before >= 20)[1], 30, 0)
        after = rdk_seen[before:]
        first = {}
        for p, o in after:
            first.setdefault(p, o)
        check("librdkafka resumes the gRPC member's partitions at its committed offset 5",
                     all(first.get(p) == 5 for p in set(range(4)) - mine), first)
        check("librdkafka reads offsets 5-9 of every partition once",
                     sorted(after) == [(p, o) for p in range(4) for o in range(5, 10)], after)
    finally:
        if member is not None:
            member.stop()
        c.close()


def run(env, checks):
    # librdkafka offers one strategy; Strata's client offers its default
    # "range,cooperative-sticky", so the group must settle on the one both
    # name: range (eager), then cooperative-sticky (KIP-429 on both sides).
    for strategy in ("range", "cooperative-sticky"):
        with checks.step(f"{strategy} mixed group"):
            mixed_case(env, checks, strategy)


if __name__ == "__main__":
    sys.exit(si.scenario_main(run, budget_s=150))
