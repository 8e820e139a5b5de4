#!/usr/bin/python3
"""The web console in a real browser (issue 17, acceptance 2): headless
Chromium (Debian's) loads node 1's console of a three-node cluster.

  tests/interop/scenario_console.py [BUILD_DIR]

  - the page shows the topic and a consumer group with its lag (a group
    that committed 100 of 300 records: total lag 200, and each
    partition's row);
  - after a SIGKILL of node 3, the page marks broker 3 down within 15 s;
  - screenshots before and after go to BUILD_DIR/console/ (console.png,
    console-node3-killed.png).
"""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strata_interop as si  # noqa: E402

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--virtual-time-budget=10000"]


def chromium(args, timeout=60):
    return subprocess.run([CHROMIUM] + FLAGS + args, capture_output=True, text=True,
                          timeout=timeout)


def dump(url):
    return chromium(["--dump-dom", url]).stdout


def rows(dom, attrs):
    """The attribute dicts of the <tr> elements having every attribute in
    `attrs` (a name, or name=value)."""
    out = []
    for tag in re.findall(r"<tr\b[^>]*>", dom):
        a = dict(re.findall(r'([a-z-]+)="([^"]*)"', tag))
        if all((k.split("=")[0] in a) if "=" not in k else a.get(k.split("=")[0]) == k.split("=")[1]
               for k in attrs):
            out.append(a)
    return out


def run(env, checks):
    cluster = env.cluster
    shots = os.path.join(env.build_dir, "console")
    os.makedirs(shots, exist_ok=True)
    url = f"http://127.0.0.1:{cluster.http_port[1]}/"
    topic = env.name("console")
    group = env.name("console-group")
    env.create_topic(topic, partitions=3, replication_factor=3)
    env.wait_topic_leaders(topic, 3)

    with checks.step("a group with lag"):
        p = Producer({"bootstrap.servers": env.kafka_bootstrap, "acks": "all", "linger.ms": 5})
        for partition in range(3):
            for i in range(100):
                p.produce(topic, value=f"r{i}".encode(), partition=partition)
        checks.check("300 records acknowledged", p.flush(30) == 0)
        c = Consumer({"bootstrap.servers": env.kafka_bootstrap, "group.id": group,
                      "enable.auto.commit": False})
        try:
            committed = c.commit(offsets=[TopicPartition(topic, 0, 50),
                                          TopicPartition(topic, 1, 30),
                                          TopicPartition(topic, 2, 20)], asynchronous=False)
            checks.check("the group commits 50 + 30 + 20",
                         all(tp.error is None for tp in committed), committed)
        finally:
            c.close()

    with checks.step("the page shows the cluster"):
        dom = si.retry("the console's first view", lambda: dump(url),
                       good=lambda d: rows(d, [f"data-group={group}", "data-total-lag"]),
                       timeout_s=30, interval_s=1)
        checks.check("the page finished a refresh", 'data-ready="true"' in dom, dom[:500])
        checks.check(f"the topic {topic} is listed",
                     bool(rows(dom, [f"data-topic={topic}", "data-partitions=3"])), dom[-2000:])
        groups = rows(dom, [f"data-group={group}", "data-total-lag"])
        checks.check(f"the group {group} shows a total lag of 200",
                     len(groups) == 1 and groups[0]["data-total-lag"] == "200", groups)
        lags = sorted((r["data-partition"], r["data-lag"])
                      for r in rows(dom, [f"data-group={group}", f"data-topic={topic}",
                                          "data-partition"]))
        checks.check("each partition's lag: 50, 70, 80",
                     lags == [("0", "50"), ("1", "70"), ("2", "80")], lags)
        brokers = {r["data-broker-id"]: r["data-state"] for r in rows(dom, ["data-broker-id"])}
        checks.check("three brokers, all up", brokers == {"1": "up", "2": "up", "3": "up"},
                     brokers)
        shot = os.path.join(shots, "console.png")
        chromium(["--window-size=1280,1600", f"--screenshot={shot}", url])
        checks.check(f"a screenshot saved ({shot})", os.path.getsize(shot) > 10000)

    with checks.step("a broker killed"):
        cluster.kill(3)
        killed = time.monotonic()
        state, elapsed = None, None
        while time.monotonic() - killed < 30:
            dom = dump(url)
            brokers = {r["data-broker-id"]: r["data-state"] for r in rows(dom, ["data-broker-id"])}
            state = brokers.get("3")
            if state == "down":
                elapsed = time.monotonic() - killed
                break
            time.sleep(0.5)
        checks.note(f"broker 3 shown {state} {elapsed if elapsed is None else round(elapsed, 1)} s "
                    "after its SIGKILL")
        checks.check("the page marks broker 3 down within 15 s of its kill -9",
                     state == "down" and elapsed <= 15, (state, elapsed))
        shot = os.path.join(shots, "console-node3-killed.png")
        chromium(["--window-size=1280,1600", f"--screenshot={shot}", url])
        checks.check(f"a screenshot saved ({shot})", os.path.getsize(shot) > 10000)
        cluster.restart(3)


if __name__ == "__main__":
    build_dir = sys.argv[1] if len(sys.argv) > 1 else None
    sys.exit(si.scenario_main(run, budget_s=170, build_dir=build_dir, own_cluster=True))
