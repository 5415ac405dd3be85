"""The broker the suite runs against is a real Kafka broker over TCP."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

pytestmark = pytest.mark.kafka


async def test_produce_and_consume_back(kafka_bootstrap: str, topic_factory: Callable[..., str]) -> None:
    topic = topic_factory("roundtrip", partitions=3)
    sent = {f"key-{i}".encode(): f"value-{i}".encode() for i in range(30)}
    async with AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True) as producer:
        await asyncio.gather(*[await producer.send(topic, value, key=key) for key, value in sent.items()])

    received: dict[bytes, bytes] = {}
    async with AIOKafkaConsumer(
        topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    ) as consumer:
        while len(received) < len(sent):
            batch = await asyncio.wait_for(consumer.getmany(timeout_ms=1000), timeout=30)
            for records in batch.values():
                for record in records:
                    assert record.key is not None
                    assert record.value is not None
                    received[record.key] = record.value
    assert received == sent


async def test_cluster_metadata_lists_one_broker(kafka_bootstrap: str) -> None:
    from aiokafka.client import AIOKafkaClient

    client = AIOKafkaClient(bootstrap_servers=kafka_bootstrap)
    await client.bootstrap()
    try:
        brokers = client.cluster.brokers()
        assert len(brokers) >= 1
        assert all(b.port > 0 for b in brokers)
    finally:
        await client.close()
