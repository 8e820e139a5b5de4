#!/usr/bin/python3
"""ApiVersions and Metadata through three unmodified clients (absorbs the
one-node kafka_metadata_interop.py of issue 14, step 2).

  tests/interop/scenario_metadata.py [BUILD_DIR]

A topic created over gRPC must show through every node's KAFKA listener:
  - kcat -L lists the three brokers at their KAFKA addresses and the topic;
  - kafka-python with no api_version set detects a broker version (its
    check_version pipelines ApiVersions v0 and Metadata v0) and lists the
    topic through KafkaConsumer and KafkaAdminClient;
  - confluent_kafka's AdminClient.list_topics sees the three brokers, a
    controller among them, and the topic with a leader per partition.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strata_interop as si  # noqa: E402


def run(env, checks):
    topic = env.name("interop-metadata")
    env.create_topic(topic, partitions=3, replication_factor=3)
    brokers = sorted(env.kafka_bootstrap.split(","))

    for bootstrap in env.kafka_bootstrap.split(","):
        def kcat_list():
            r = si.run(["kcat", "-L", "-b", bootstrap, "-m", "10"], timeout=20)
            listed = sorted(f"127.0.0.1:{p}" for p in re.findall(
                r"broker \d+ at 127\.0\.0\.1:(\d+)", r.stdout or ""))
            ok = (r.returncode == 0 and listed == brokers and
                  f'topic "{topic}" with 3 partitions' in r.stdout)
            return ok, r
        # Bounded retry: a node on a loaded machine may answer a moment late.
        ok, r = si.retry(f"kcat -L via {bootstrap}", kcat_list, good=lambda x: x[0])
        checks.check(f"kcat -L via {bootstrap}: 3 brokers and the topic", ok,
                     (r.stdout or "") + (r.stderr or ""))

    from kafka import KafkaAdminClient, KafkaClient, KafkaConsumer
    with checks.step("kafka-python check_version"):
        kc = KafkaClient(bootstrap_servers=env.kafka_bootstrap, request_timeout_ms=10000)
        try:
            version = kc.check_version(timeout=5)
            checks.check("kafka-python check_version (no api_version set)", bool(version),
                         str(version))
            checks.note(f"kafka-python detected broker version {version}")
        finally:
            kc.close()
    with checks.step("kafka-python KafkaConsumer metadata"):
        consumer = KafkaConsumer(bootstrap_servers=env.kafka_bootstrap, request_timeout_ms=10000)
        try:
            checks.check("kafka-python KafkaConsumer.topics", topic in consumer.topics())
            parts = consumer.partitions_for_topic(topic)
            checks.check("kafka-python partitions_for_topic", parts == {0, 1, 2}, str(parts))
        finally:
            consumer.close()
    with checks.step("kafka-python KafkaAdminClient.list_topics"):
        admin = KafkaAdminClient(bootstrap_servers=env.kafka_bootstrap, request_timeout_ms=10000)
        try:
            checks.check("kafka-python KafkaAdminClient.list_topics", topic in admin.list_topics())
        finally:
            admin.close()

    from confluent_kafka.admin import AdminClient
    with checks.step("confluent_kafka list_topics"):
        md = AdminClient({"bootstrap.servers": env.kafka_bootstrap}).list_topics(timeout=10)
        listed = sorted(f"{b.host}:{b.port}" for b in md.brokers.values())
        t = md.topics.get(topic)
        checks.check("confluent_kafka list_topics: brokers, controller, topic, leaders",
                     listed == brokers and md.controller_id in md.brokers and t is not None
                     and t.error is None and len(t.partitions) == 3
                     and all(p.leader in md.brokers and len(p.replicas) == 3
                             for p in t.partitions.values()),
                     f"{listed} controller={md.controller_id} {t and t.partitions}")


if __name__ == "__main__":
    sys.exit(si.scenario_main(run, budget_s=90))
