#!/usr/bin/python3
"""Unmodified Kafka clients against a one-node Strata's Kafka listener
(issue 14, step 2: ApiVersions and Metadata only).

  tests/interop/kafka_metadata_interop.py [BUILD_DIR]     (default: ./build)

Starts one strata-server on loopback ports in a temporary directory, creates
a topic over gRPC with the `strata` CLI, then checks:
  - kcat -L lists the broker at its KAFKA address and the topic;
  - kafka-python with no api_version set detects a broker version (its
    check_version pipelines ApiVersions v0 and Metadata v0) and lists topics
    through KafkaConsumer and KafkaAdminClient;
  - confluent_kafka's AdminClient.list_topics sees the broker and the topic.
Every step is bounded in time; the server is stopped by its PID whatever
happens, and the directory removed. Needs Debian's kcat, python3-kafka and
python3-confluent-kafka (run with /usr/bin/python3). Exit 0 = all passed.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

TOPIC = "interop-metadata"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check(what, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + what + (": " + detail if detail and not ok else ""))
    return ok


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
    server = os.path.join(build, "broker", "strata-server")
    cli = os.path.join(build, "tools", "strata")
    tmp = tempfile.mkdtemp(prefix="strata-interop-")
    client, peer, kafka = free_port(), free_port(), free_port()
    props = os.path.join(tmp, "node1.properties")
    with open(props, "w") as f:
        f.write(f"""node.id=1
process.roles=broker,controller
listeners=PLAINTEXT://127.0.0.1:{client},CONTROLLER://127.0.0.1:{peer},KAFKA://127.0.0.1:{kafka}
controller.quorum.voters=1@127.0.0.1:{peer}
log.dirs={tmp}/logs
metadata.log.dir={tmp}/metadata
offsets.topic.replication.factor=1
""")
    log = open(os.path.join(tmp, "node1.log"), "w")
    proc = subprocess.Popen([server, props], stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    results = []
    try:
        deadline = time.time() + 30
        created = False
        while time.time() < deadline and not created:
            r = subprocess.run([cli, "topics", "--bootstrap-server", f"127.0.0.1:{client}",
                                "--create", "--topic", TOPIC, "--partitions", "3",
                                "--replication-factor", "1"],
                               capture_output=True, text=True, timeout=15)
            created = r.returncode == 0
            if not created:
                time.sleep(0.5)
        if not check("topic created over gRPC", created):
            return 1
        bootstrap = f"127.0.0.1:{kafka}"

        r = subprocess.run(["kcat", "-L", "-b", bootstrap, "-m", "10"],
                           capture_output=True, text=True, timeout=20)
        results.append(check("kcat -L", r.returncode == 0 and
                             f"broker 1 at 127.0.0.1:{kafka}" in r.stdout and
                             f'topic "{TOPIC}" with 3 partitions' in r.stdout,
                             r.stdout + r.stderr))

        from kafka import KafkaAdminClient, KafkaClient, KafkaConsumer
        kc = KafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
        try:
            version = kc.check_version(timeout=5)
            results.append(check("kafka-python check_version", bool(version), str(version)))
        finally:
            kc.close()
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, request_timeout_ms=10000)
        try:
            results.append(check("kafka-python KafkaConsumer.topics", TOPIC in consumer.topics()))
            parts = consumer.partitions_for_topic(TOPIC)
            results.append(check("kafka-python partitions_for_topic", parts == {0, 1, 2},
                                 str(parts)))
        finally:
            consumer.close()
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
        try:
            results.append(check("kafka-python KafkaAdminClient.list_topics",
                                 TOPIC in admin.list_topics()))
        finally:
            admin.close()

        from confluent_kafka.admin import AdminClient
        md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10)
        brokers = {b.id: (b.host, b.port) for b in md.brokers.values()}
        results.append(check("confluent_kafka list_topics",
                             brokers == {1: ("127.0.0.1", kafka)} and TOPIC in md.topics and
                             len(md.topics[TOPIC].partitions) == 3,
                             f"{brokers} {list(md.topics)}"))
        results.append(check("server still running", proc.poll() is None))
        return 0 if all(results) else 1
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()
        if all(results) and results:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("logs kept in " + tmp)


if __name__ == "__main__":
    sys.exit(main())
