#!/usr/bin/python3
"""A consume-transform-produce copier inside transactions (librdkafka), the
process scenario_eos_copier.py SIGKILLs and restarts.

  eos_copier.py BOOTSTRAP INPUT OUTPUT GROUP TRANSACTIONAL_ID

Reads INPUT as the group's static member (read_committed), and for each
poll's records writes "copy:<value>" to the same partition of OUTPUT and
commits the consumed offsets in the same transaction
(send_offsets_to_transaction). A transaction that fails is aborted and the
consumer rewound to the committed offsets; a fatal error (fenced) exits 3.
Runs until killed.
"""
import sys

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition


def main():
    bootstrap, src, dst, group, txn_id = sys.argv[1:6]
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                         "group.instance.id": txn_id, "enable.auto.commit": False,
                         "isolation.level": "read_committed", "auto.offset.reset": "earliest",
                         "session.timeout.ms": 6000, "heartbeat.interval.ms": 500})
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id,
                         "transaction.timeout.ms": 10000, "message.timeout.ms": 9000,
                         "linger.ms": 5})
    producer.init_transactions(60)
    consumer.subscribe([src])

    def rewind():
        assignment = consumer.assignment()
        if not assignment:
            return
        for tp in consumer.committed(assignment, timeout=30):
            consumer.seek(TopicPartition(tp.topic, tp.partition,
                                         tp.offset if tp.offset >= 0 else 0))

    while True:
        msgs = [m for m in consumer.consume(200, 0.5) if not m.error()]
        if not msgs:
            continue
        try:
            producer.begin_transaction()
            for m in msgs:
                producer.produce(dst, value=b"copy:" + m.value(), partition=m.partition())
            producer.send_offsets_to_transaction(
                consumer.position(consumer.assignment()), consumer.consumer_group_metadata(), 30)
            producer.commit_transaction(30)
        except KafkaException as e:
            err = e.args[0]
            if err.fatal():
                print(f"fatal: {err}", file=sys.stderr, flush=True)
                sys.exit(3)
            print(f"aborting: {err}", file=sys.stderr, flush=True)
            try:
                producer.abort_transaction(30)
            except KafkaException as e2:
                if e2.args[0].fatal():
                    sys.exit(3)
            rewind()


if __name__ == "__main__":
    main()
