"""Group-less consumers that read whole topics (themes, alerts, the demo's watch)."""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from streams.admin import admin_client


class MissingTopic(LookupError):
    """The topic does not exist on the cluster."""


async def topic_partitions(bootstrap: str, topics: Iterable[str]) -> list[TopicPartition]:
    """Every partition of ``topics``; MissingTopic names any absent one.

    A started consumer without a subscription has no metadata for arbitrary topics
    (``partitions_for_topic`` answers None), so ask the cluster with a describe request.
    """
    names = list(dict.fromkeys(topics))
    out: list[TopicPartition] = []
    async with admin_client(bootstrap) as admin:
        described = await admin.describe_topics(names)
    by_name = {d.get("topic"): d for d in described}
    for name in names:
        entry = by_name.get(name)
        if entry is None or entry.get("error_code") or not entry.get("partitions"):
            raise MissingTopic(f"topic {name!r} does not exist (start `newsmon worker` once to create it)")
        out += [TopicPartition(name, int(p["partition"])) for p in sorted(entry["partitions"], key=lambda p: p["partition"])]
    return out


def standalone_consumer(bootstrap: str) -> AIOKafkaConsumer:
    """A consumer outside any group: it commits nothing and sees every partition it assigns."""
    return AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
