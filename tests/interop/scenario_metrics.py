#!/usr/bin/python3
"""Prometheus metrics on real processes (issue 17, acceptance 1): a
three-node cluster with an HTTP listener per node.

  tests/interop/scenario_metrics.py [BUILD_DIR]

  - every node's /metrics passes `promtool check metrics` (Debian's
    prometheus package);
  - a Kafka client (librdkafka) produces 1,000 records to a 3-partition
    topic (400, 300 and 300 per partition), and a group commits 600 of them
    (240, 180, 180): the group's strata_consumer_group_lag series, summed
    over the three nodes' /metrics, come to 400 - one per partition, from
    the group's coordinator alone;
  - a group that commits in transactions (send_offsets_to_transaction)
    reads read_committed: its lag counts from the last stable offset, so
    an open transaction's records are not lag yet, while a plain group's
    lag (from the high watermark) counts them;
  - the hot paths' families move: the topic's bytes and records in, its
    bytes out once the records are consumed, and Produce and Fetch requests
    on the Kafka listener in the latency histogram;
  - the state families are there: partitions, leaders, the active
    controller (exactly one node says 1), Raft, log sizes, process;
  - bad requests get 4xx answers and the broker keeps serving.
"""
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strata_interop as si  # noqa: E402

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$')


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read().decode()


def samples(text, name):
    """(labels dict, value) of every sample of `name`."""
    out = []
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if not m or m.group(1) != name:
            continue
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"',
                                 m.group(2) or ""))
        out.append((labels, float(m.group(3))))
    return out


def run(env, checks):
    cluster = env.cluster
    ports = [cluster.http_port[n] for n in cluster.nodes]

    with checks.step("promtool check metrics"):
        for n in cluster.nodes:
            status, ctype, text = scrape(cluster.http_port[n])
            checks.check(f"node {n}: /metrics answers 200 in the text format ({ctype})",
                         status == 200 and ctype.startswith("text/plain"))
            r = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                               capture_output=True, timeout=30)
            checks.check(f"node {n}: promtool check metrics passes",
                         r.returncode == 0, (r.stdout + r.stderr)[:2000])

    topic = env.name("lag")
    group = env.name("lag-group")
    env.create_topic(topic, partitions=3, replication_factor=3)
    env.wait_topic_leaders(topic, 3)
    with checks.step("produce 1000 records, commit 600"):
        p = Producer({"bootstrap.servers": env.kafka_bootstrap, "acks": "all",
                      "linger.ms": 5})
        per_partition = {0: 400, 1: 300, 2: 300}
        for partition, count in per_partition.items():
            for i in range(count):
                p.produce(topic, value=f"v{partition}-{i}".encode() * 10, partition=partition)
        left = p.flush(30)
        checks.check("1000 records acknowledged", left == 0, f"{left} left")
        c = Consumer({"bootstrap.servers": env.kafka_bootstrap, "group.id": group,
                      "enable.auto.commit": False, "auto.offset.reset": "earliest"})
        try:
            # Read them all (bytes out), then commit 600.
            c.assign([TopicPartition(topic, i, 0) for i in range(3)])
            got = 0
            deadline = si.time.monotonic() + 30
            while got < 1000 and si.time.monotonic() < deadline:
                m = c.poll(1.0)
                if m is not None and not m.error():
                    got += 1
            checks.check("the consumer reads the 1000 records", got == 1000, got)
            committed = c.commit(offsets=[TopicPartition(topic, 0, 240),
                                          TopicPartition(topic, 1, 180),
                                          TopicPartition(topic, 2, 180)], asynchronous=False)
            checks.check("the group commits 240 + 180 + 180",
                         all(tp.error is None for tp in committed), committed)
        finally:
            c.close()

    with checks.step("lag summed over the nodes"):
        def lag_series():
            series = []
            for n in cluster.nodes:
                _, _, text = scrape(cluster.http_port[n])
                for labels, value in samples(text, "strata_consumer_group_lag"):
                    if labels.get("group") == group:
                        series.append((n, labels.get("topic"), labels.get("partition"), value))
            return series
        series = si.retry("the group's lag series", lag_series,
                          good=lambda s: sum(v for *_, v in s) == 400 and len(s) == 3,
                          timeout_s=20)
        total = sum(v for *_, v in series)
        checks.note(f"lag series: {series}")
        checks.check(f"strata_consumer_group_lag of {group} sums to 400 over the nodes ({total})",
                     total == 400, series)
        checks.check("one series per partition, all from one node (the coordinator)",
                     len(series) == 3 and len({n for n, *_ in series}) == 1, series)
        checks.check("each partition's lag: 160, 120, 120",
                     sorted((p, v) for _, _, p, v in series) ==
                     [("0", 160.0), ("1", 120.0), ("2", 120.0)], series)

    with checks.step("lag of a transactional group counts from the last stable offset"):
        lso_topic = env.name("lso")
        txn_group = env.name("lso-txn-group")
        plain_group = env.name("lso-plain-group")
        env.create_topic(lso_topic, partitions=1, replication_factor=3)
        env.wait_topic_leaders(lso_topic, 1)
        p = Producer({"bootstrap.servers": env.kafka_bootstrap, "acks": "all"})
        for i in range(100):
            p.produce(lso_topic, value=b"committed", partition=0)
        checks.check("100 plain records acknowledged", p.flush(30) == 0)
        # An open transaction: 50 records the high watermark counts and the
        # last stable offset (100) does not.
        open_txn = Producer({"bootstrap.servers": env.kafka_bootstrap,
                             "transactional.id": env.name("open-txn")})
        open_txn.init_transactions(30)
        open_txn.begin_transaction()
        for i in range(50):
            open_txn.produce(lso_topic, value=b"open", partition=0)
        checks.check("the open transaction's 50 records written", open_txn.flush(30) == 0)
        # The transactional group commits 100 inside a transaction of its own.
        meta_consumer = Consumer({"bootstrap.servers": env.kafka_bootstrap,
                                  "group.id": txn_group, "enable.auto.commit": False})
        copier = Producer({"bootstrap.servers": env.kafka_bootstrap,
                           "transactional.id": env.name("copier-txn")})
        try:
            copier.init_transactions(30)
            copier.begin_transaction()
            copier.send_offsets_to_transaction([TopicPartition(lso_topic, 0, 100)],
                                               meta_consumer.consumer_group_metadata(), 30)
            copier.commit_transaction(30)
        finally:
            meta_consumer.close()
        plain = Consumer({"bootstrap.servers": env.kafka_bootstrap, "group.id": plain_group,
                          "enable.auto.commit": False})
        try:
            plain.commit(offsets=[TopicPartition(lso_topic, 0, 100)], asynchronous=False)
        finally:
            plain.close()

        def lags():
            out = {}
            for n in cluster.nodes:
                _, _, text = scrape(cluster.http_port[n])
                for labels, value in samples(text, "strata_consumer_group_lag"):
                    if labels.get("topic") == lso_topic:
                        out[labels.get("group")] = value
            return out
        got = si.retry("both groups' lag", lags,
                       good=lambda l: l.get(txn_group) == 0 and l.get(plain_group) == 50,
                       timeout_s=20)
        checks.note(f"with a transaction open: {got}")
        checks.check("the transactional group's lag is 0 (last stable offset 100 - 100)",
                     got.get(txn_group) == 0, got)
        checks.check("the plain group's lag is 50 (high watermark 150 - 100)",
                     got.get(plain_group) == 50, got)
        open_txn.commit_transaction(30)
        # Committed: the 50 records and the marker are stable (151).
        got = si.retry("both groups' lag after the commit", lags,
                       good=lambda l: l.get(txn_group) == 51 and l.get(plain_group) == 51,
                       timeout_s=20)
        checks.note(f"after the transaction commits: {got}")
        checks.check("once the transaction commits both lags are 51 (50 records + marker)",
                     got.get(txn_group) == 51 and got.get(plain_group) == 51, got)

    with checks.step("hot-path and state families"):
        texts = {n: scrape(cluster.http_port[n])[2] for n in cluster.nodes}

        def total(name, **want):
            return sum(v for text in texts.values() for labels, v in samples(text, name)
                       if all(labels.get(k) == w for k, w in want.items()))
        bytes_in = total("strata_topic_bytes_in_total", topic=topic)
        records_in = total("strata_topic_records_in_total", topic=topic)
        bytes_out = total("strata_topic_bytes_out_total", topic=topic)
        records_out = total("strata_topic_records_out_total", topic=topic)
        checks.note(f"{topic}: in {records_in:.0f} records / {bytes_in:.0f} B, "
                    f"out {records_out:.0f} records / {bytes_out:.0f} B")
        checks.check("records in, summed over the leaders: 1000", records_in == 1000, records_in)
        checks.check("bytes in counted", bytes_in > 1000 * 20, bytes_in)
        checks.check("records out: the 1000 consumed (at least)", records_out >= 1000, records_out)
        checks.check("bytes out counted", bytes_out > 0, bytes_out)
        produces = total("strata_request_duration_seconds_count", api="Produce", listener="kafka")
        fetches = total("strata_request_duration_seconds_count", api="Fetch", listener="kafka")
        checks.check(f"Produce requests on the Kafka listener timed ({produces:.0f})", produces > 0)
        checks.check(f"Fetch requests on the Kafka listener timed ({fetches:.0f})", fetches > 0)
        controllers = total("strata_active_controller")
        checks.check("exactly one active controller", controllers == 1, controllers)
        leaders = total("strata_leader_partitions")
        partitions = total("strata_partitions")
        checks.note(f"leaders {leaders:.0f}, replicas {partitions:.0f}")
        checks.check("every partition of the topic has a leader counted (>= 3 + offsets)",
                     leaders >= 3, leaders)
        checks.check("replicas: three per leader at RF 3", partitions == 3 * leaders,
                     (partitions, leaders))
        checks.check("nothing under-replicated or offline",
                     total("strata_under_replicated_partitions") == 0 and
                     total("strata_offline_partitions") == 0)
        sizes = total("strata_log_size_bytes", topic=topic)
        checks.check("the topic's logs have a size on every replica", sizes >= 3 * bytes_in / 2,
                     (sizes, bytes_in))
        terms = {samples(t, "strata_raft_term")[0][1] for t in texts.values()}
        checks.check("every voter exports the same Raft term", len(terms) == 1, terms)
        checks.check("process families", all(samples(t, "process_resident_memory_bytes") and
                                              samples(t, "process_open_fds")
                                              for t in texts.values()))

    with checks.step("bad HTTP requests"):
        port = ports[0]

        def status_of(req):
            try:
                with urllib.request.urlopen(req, timeout=5) as r:
                    return r.status
            except urllib.error.HTTPError as e:
                return e.code
        checks.check("an unknown path is 404",
                     status_of(f"http://127.0.0.1:{port}/no/such/path") == 404)
        checks.check("POST is 405", status_of(urllib.request.Request(
            f"http://127.0.0.1:{port}/metrics", data=b"x", method="POST")) == 405)
        huge = urllib.request.Request(f"http://127.0.0.1:{port}/metrics",
                                      headers={"X-Big": "a" * 200000})
        try:
            code = status_of(huge)
        except (urllib.error.URLError, ConnectionError) as e:
            code = f"closed ({e})"
        checks.check(f"a request with 200 kB of headers is refused ({code})",
                     code != 200 and (not isinstance(code, int) or 400 <= code < 500))
        checks.check("/metrics still answers", scrape(port)[0] == 200)


if __name__ == "__main__":
    build_dir = sys.argv[1] if len(sys.argv) > 1 else None
    sys.exit(si.scenario_main(run, budget_s=150, build_dir=build_dir, own_cluster=True))
