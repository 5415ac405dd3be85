"""Shared fixtures: one real Kafka broker per test session, unique topics per test."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from streams.kafka.embedded import EmbeddedBroker, free_port
from streams.settings import Settings

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap address of a real broker: KAFKA_BOOTSTRAP_SERVERS, else an embedded one for this session.

    The embedded broker gets its own state directory (nothing of a developer's
    `newsmon broker` is touched) and is stopped at the end of the session.
    """
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip()
    if external:
        yield external
        return
    state = tmp_path_factory.mktemp("kafka-state")
    settings = Settings(state_dir=state, broker_port=free_port(), kafka_bootstrap_servers=None)
    broker = EmbeddedBroker(settings, say=print)
    address = broker.start()
    try:
        yield address
    finally:
        broker.stop(timeout=30, kill=True)


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """Names no other test (or earlier run against the same cluster) uses."""
    test = request.node.name.replace("[", "-").replace("]", "").replace("/", "-")[:60]

    def make(kind: str) -> str:
        return f"test.{kind}.{test}.{uuid.uuid4().hex[:8]}"

    return make


def run_sync(coro: Any) -> Any:
    """Run a coroutine to completion from sync or async test code (in a thread if a loop runs)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


@pytest.fixture
def topic_factory(kafka_bootstrap: str, unique_name: Callable[[str], str]) -> Iterator[Callable[..., str]]:
    """Create unique topics for one test (returned once visible to clients); deleted when it ends."""
    from streams.kafka.admin import admin_client, ensure_topics
    from streams.kafka.topics import TopicSpec

    created: list[str] = []

    def make(kind: str = "topic", partitions: int = 1, config: dict[str, str] | None = None) -> str:
        name = unique_name(kind)
        run_sync(ensure_topics(kafka_bootstrap, [TopicSpec(name, partitions, config or {})]))
        created.append(name)
        return name

    yield make

    async def _delete() -> None:
        async with admin_client(kafka_bootstrap) as admin:
            await admin.delete_topics(created)

    if created:
        run_sync(_delete())


@pytest.fixture
def newsmon_env(kafka_bootstrap: str, tmp_path: Path) -> Any:
    """An isolated deployment on the test broker: unique topic prefix, app id and state directory."""
    from support import Env

    tag = uuid.uuid4().hex[:10]
    return Env(kafka_bootstrap, prefix=f"t{tag}.", app_id=f"newsmon-t{tag}", state_dir=tmp_path / "state")
