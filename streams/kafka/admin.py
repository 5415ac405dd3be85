"""Topic administration: create newsmon's topics when missing, find the ones that are.

The brokers newsmon runs against have ``auto.create.topics.enable=false``: topics are
created explicitly, with the partitions and configs of ``streams.kafka.topics.specs``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, UnknownTopicOrPartitionError, for_code

from streams.kafka.topics import TopicSpec

log = logging.getLogger(__name__)


@asynccontextmanager
async def admin_client(bootstrap: str) -> AsyncIterator[AIOKafkaAdminClient]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


async def ensure_topics(bootstrap: str, specs: Iterable[TopicSpec], *, replication_factor: int = 1) -> list[str]:
    """Create each topic of ``specs`` that does not exist yet; return the names created.

    A topic that already exists is left as it is (its partitions and configs are not
    compared).  Any other per-topic error raises the matching ``KafkaError``.
    """
    wanted = list(specs)
    if not wanted:
        return []
    async with admin_client(bootstrap) as admin:
        response = await admin.create_topics(
            [NewTopic(s.name, s.partitions, replication_factor, topic_configs=dict(s.config)) for s in wanted]
        )
    created: list[str] = []
    for entry in response.topic_errors:
        name, code = entry[0], entry[1]
        message = entry[2] if len(entry) > 2 else None
        if code == 0:
            created.append(name)
            continue
        error = for_code(code)
        if error is TopicAlreadyExistsError:
            continue
        raise error(f"cannot create topic {name!r}: {message or error.description}")
    if created:
        log.info("created topics: %s", ", ".join(created))
        await wait_until_visible(bootstrap, created)
    return created


async def wait_until_visible(bootstrap: str, names: list[str], timeout: float = 30.0) -> None:
    """Return once every topic in ``names`` appears in cluster metadata with its partitions.

    A just-created topic takes a moment to reach the brokers' metadata caches; clients
    that describe it in that window are told it does not exist.
    """
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with admin_client(bootstrap) as admin:
            described = await admin.describe_topics(list(names))
        ready = {
            d.get("topic")
            for d in described
            if not d.get("error_code")
            and d.get("partitions")
            and all(p.get("leader", -1) >= 0 for p in d["partitions"])
        }
        missing = [name for name in names if name not in ready]
        if not missing:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise KafkaError(f"topics created but not visible after {timeout:.0f}s: {', '.join(missing)}")
        await asyncio.sleep(0.1)


async def missing_topics(bootstrap: str, names: Iterable[str]) -> list[str]:
    """The names among ``names`` that the cluster does not have (in the given order)."""
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return []
    async with admin_client(bootstrap) as admin:
        described = await admin.describe_topics(wanted)
    missing = set()
    for topic in described:
        code = topic.get("error_code", 0)
        if code == UnknownTopicOrPartitionError.errno:
            missing.add(topic.get("topic"))
        elif code:
            error = for_code(code)
            raise error(f"cannot describe topic {topic.get('topic')!r}: {error.description}")
    return [name for name in wanted if name in missing]


__all__ = ["KafkaError", "admin_client", "ensure_topics", "missing_topics"]
