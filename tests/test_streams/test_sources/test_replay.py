"""Replay plumbing (streams.sources.replay, streams.kafka.admin and producer): files, pacing, in-flight bound, Kafka."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiokafka.errors import KafkaError

from agents.records import RawArticle, decode_raw_article, encode
from agents.seeds import SeedFileError
from streams.kafka.admin import ensure_topics, missing_topics
from streams.kafka.consumers import read_to_end
from streams.kafka.limits import MAX_MESSAGE_BYTES
from streams.kafka.producer import PRODUCER_DEFAULTS, make_producer
from streams.kafka.topics import TopicSpec
from streams.sources.replay import ReplayError, discover, load, publish, replay, schedule, to_record, utc_timestamp

REPO = Path(__file__).resolve().parents[3]
SEEDS = REPO / "seeds"
NOW = "2026-01-13T09:30:00Z"


def article(n: int) -> RawArticle:
    return {
        "schema_version": 1,
        "id": f"a-{n:024x}",
        "source": "test",
        "url": None,
        "title": f"Title {n}",
        "body": "Body.",
        "published_at": None,
        "fetched_at": NOW,
    }


def record(n: int) -> tuple[bytes, bytes]:
    return to_record(article(n))


# --------------------------------------------------------------------------- input files


def test_discover_reads_directories_sorted_and_flat_and_notes_the_rest(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("B\nb")
    (tmp_path / "a.jsonl").write_text('{"title": "A", "body": "a"}')
    (tmp_path / "C.TXT").write_text("C\nc")
    (tmp_path / "README.md").write_text("not a seed")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "deep.txt").write_text("D\nd")
    notes: list[str] = []
    files = discover([tmp_path], note=notes.append)
    assert [p.name for p in files] == ["C.TXT", "a.jsonl", "b.txt"]
    assert len(notes) == 2
    assert any("README.md" in n for n in notes)
    assert any("directory" in n and "sub" in n for n in notes)


def test_discover_keeps_the_order_of_paths_and_reads_a_file_once(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("A\na")
    (tmp_path / "z.txt").write_text("Z\nz")
    files = discover([tmp_path / "z.txt", tmp_path, tmp_path / "a.txt"])
    assert [p.name for p in files] == ["z.txt", "a.txt"]


@pytest.mark.parametrize(
    ("name", "setup", "message"),
    [
        ("missing.txt", lambda p: None, "no such file or directory"),
        ("notes.md", lambda p: p.write_text("x"), "unsupported file type '.md'"),
        ("empty", lambda p: p.mkdir(), "the directory has no *.txt or *.jsonl files"),
    ],
)
def test_discover_errors_name_the_path(
    tmp_path: Path, name: str, setup: Callable[[Path], object], message: str
) -> None:
    path = tmp_path / name
    setup(path)
    with pytest.raises(SeedFileError) as info:
        discover([path])
    assert str(info.value).startswith(f"{path}: {message}")


def test_load_reads_every_file_and_stops_at_the_first_bad_one(tmp_path: Path) -> None:
    good = tmp_path / "a.txt"
    good.write_text("A\nbody")
    bad = tmp_path / "b.jsonl"
    bad.write_bytes(b'{"title": "t", "body": "b"}\n{"title": 5, "body": "b"}\n')
    [source] = load([good], fetched_at=NOW)
    assert source.path == good
    assert [a["title"] for a in source.articles] == ["A"]
    with pytest.raises(SeedFileError, match=r"b\.jsonl:2: field 'title' must be a string, not int$"):
        load([good, bad], fetched_at=NOW)


def test_load_reports_an_unreadable_file(tmp_path: Path) -> None:
    odd = tmp_path / "dir.txt"
    odd.mkdir()  # reading a directory fails whatever the user's permissions
    with pytest.raises(SeedFileError, match=r"dir\.txt: cannot read the file: "):
        load([odd], fetched_at=NOW)


def test_the_seed_directory_loads() -> None:
    sources = load(discover([SEEDS]), fetched_at=NOW)
    assert len(sources) == 5
    assert all(len(s.articles) == 1 for s in sources)


def test_schedule() -> None:
    items = [article(i) for i in range(3)]
    assert [a["title"] for a in schedule(items)] == ["Title 0", "Title 1", "Title 2"]
    assert len(list(schedule(items, count=2))) == 2
    assert len(list(schedule(items, count=10))) == 3
    looped = [a["title"] for a in schedule(items, loop=True, count=7)]
    assert looped == ["Title 0", "Title 1", "Title 2"] * 2 + ["Title 0"]
    assert list(schedule([], loop=True)) == []


def test_utc_timestamp() -> None:
    from datetime import datetime, timedelta, timezone

    moment = datetime(2026, 1, 13, 11, 30, 5, 999, tzinfo=timezone(timedelta(hours=2)))
    assert utc_timestamp(moment) == "2026-01-13T09:30:05Z"
    assert utc_timestamp().endswith("Z")


def test_producer_settings() -> None:
    assert PRODUCER_DEFAULTS["acks"] == "all"
    assert PRODUCER_DEFAULTS["enable_idempotence"] is True
    assert 0 < PRODUCER_DEFAULTS["linger_ms"] <= 20
    assert PRODUCER_DEFAULTS["max_batch_size"] >= 256 * 1024  # throughput: one batch in flight per partition
    from agents.dlq import dead_letter
    from agents.records import MAX_VALUE_BYTES

    assert PRODUCER_DEFAULTS["max_request_size"] == MAX_MESSAGE_BYTES
    # The dead letter of the largest message the broker lets through still fits in one message.
    huge = dead_letter(
        stage="decode", reason="r" * 5000, topic="t", partition=0, offset=0,
        key=b"k" * 1000, value=b"\xff" * MAX_MESSAGE_BYTES, failed_at="2026-01-01T00:00:00Z",
    )  # fmt: skip
    assert MAX_VALUE_BYTES < MAX_MESSAGE_BYTES
    assert huge["value_truncated"] is True
    assert huge["value_size"] == MAX_MESSAGE_BYTES
    assert len(encode(huge)) <= MAX_MESSAGE_BYTES


def test_make_producer_applies_defaults_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    import streams.kafka.producer

    made: list[dict[str, Any]] = []

    def fake(**kwargs: Any) -> dict[str, Any]:
        made.append(kwargs)
        return kwargs

    monkeypatch.setattr(streams.kafka.producer, "AIOKafkaProducer", fake)
    make_producer("127.0.0.1:1", linger_ms=50, client_id="x")
    assert made == [
        {
            **PRODUCER_DEFAULTS,
            "bootstrap_servers": "127.0.0.1:1",
            "acks": "all",
            "enable_idempotence": True,
            "max_request_size": MAX_MESSAGE_BYTES,
            "linger_ms": 50,
            "client_id": "x",
        }
    ]


@pytest.mark.kafka
async def test_make_producer_sends_with_the_reliability_settings(
    kafka_bootstrap: str, topic_factory: Callable[..., str]
) -> None:
    topic = topic_factory("producer", partitions=2)
    sent = [(f"k{i}".encode(), f'{{"n": {i}}}'.encode()) for i in range(20)]
    async with make_producer(kafka_bootstrap) as producer:
        assert producer._txn_manager is not None  # aiokafka makes one only for idempotent producers
        assert producer._max_request_size == MAX_MESSAGE_BYTES
        futures = [await producer.send(topic, value, key=key) for key, value in sent]
        metadata = await asyncio.gather(*futures)
    assert all(m.topic == topic for m in metadata)
    got = await read_to_end(kafka_bootstrap, [topic])
    assert sorted((r.key, r.value) for r in got) == sorted(sent)


# --------------------------------------------------------------------------- publish, with a fake producer


class FakeProducer:
    """Records sends; acknowledges each send when the event loop next runs (like a fast broker)."""

    def __init__(self, *, fail_at: int | None = None, on_send: Callable[[int], None] | None = None) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []
        self.times: list[float] = []
        self.outstanding = 0
        self.max_outstanding = 0
        self.fail_at = fail_at
        self.on_send = on_send

    async def send(self, topic: str, value: bytes, key: bytes) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        index = len(self.sent)
        self.sent.append((topic, key, value))
        self.times.append(time.monotonic())
        future: asyncio.Future[Any] = loop.create_future()
        self.outstanding += 1
        self.max_outstanding = max(self.max_outstanding, self.outstanding)

        def ack() -> None:
            self.outstanding -= 1
            if index == self.fail_at:
                future.set_exception(KafkaError("broker said no"))
            else:
                future.set_result(index)

        loop.call_soon(ack)
        if self.on_send is not None:
            self.on_send(index)
        return future


async def test_publish_sends_key_id_and_encoded_value() -> None:
    fake = FakeProducer()
    progress: list[int] = []
    items = [article(i) for i in range(5)]
    stats = await publish(fake, "t", [to_record(a) for a in items], on_published=progress.append)
    assert stats.published == 5
    assert not stats.interrupted
    assert sum(progress) == 5
    assert fake.sent == [("t", a["id"].encode(), encode(a)) for a in items]


async def test_publish_bounds_the_sends_in_flight() -> None:
    fake = FakeProducer()
    stats = await publish(fake, "t", (record(i) for i in range(50)), max_in_flight=7)
    assert stats.published == 50
    assert fake.max_outstanding == 7  # it neither awaits each send nor lets them pile up


async def test_publish_stops_cleanly_and_counts_what_was_acknowledged() -> None:
    stop = asyncio.Event()
    fake = FakeProducer(on_send=lambda i: stop.set() if i == 9 else None)
    stats = await publish(fake, "t", schedule([record(1)], loop=True), stop=stop)
    assert stats.interrupted
    assert stats.published == len(fake.sent) == 10
    assert fake.outstanding == 0


async def test_publish_wakes_from_a_pacing_pause_when_stopped() -> None:
    stop = asyncio.Event()
    fake = FakeProducer(on_send=lambda i: stop.set())
    started = time.monotonic()
    stats = await publish(fake, "t", [record(i) for i in range(3)], rate=0.01, stop=stop)
    assert stats.interrupted
    assert stats.published == 1
    assert time.monotonic() - started < 30  # the next slot was 100 s away


async def test_publish_paces_on_a_fixed_schedule() -> None:
    fake = FakeProducer()
    rate = 500.0
    start = time.monotonic()  # publish's own start is a little later: a bound, not an equality
    stats = await publish(fake, "t", [record(i) for i in range(25)], rate=rate)
    assert stats.published == 25
    assert stats.seconds >= 24 / rate - 0.001
    for i, sent_at in enumerate(fake.times):
        assert sent_at >= start + i / rate - 0.001, f"article {i} left early"


async def test_publish_raises_kafka_errors() -> None:
    fake = FakeProducer(fail_at=3)
    with pytest.raises(KafkaError, match="broker said no"):
        await publish(fake, "t", [record(i) for i in range(10)])


@pytest.mark.parametrize(("kwargs"), [{"rate": -1.0}, {"max_in_flight": 0}])
async def test_publish_rejects_bad_arguments(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be"):
        await publish(FakeProducer(), "t", [record(1)], **kwargs)


# --------------------------------------------------------------------------- against Kafka


async def read_all(bootstrap: str, topic: str, expected: int) -> list[tuple[bytes, bytes]]:
    """Every record of ``topic`` from the start; it must hold exactly ``expected`` (published and acknowledged)."""
    records = [(r.key, r.value) for r in await read_to_end(bootstrap, [topic])]
    assert len(records) == expected, f"{topic} holds {len(records)} records, not {expected}"
    return [(key, value) for key, value in records if key is not None and value is not None]


@pytest.mark.kafka
def test_replay_the_seeds_twice_gives_the_same_keys(kafka_bootstrap: str, topic_factory: Callable[..., str]) -> None:
    # Sync test: topic_factory runs its own event loop.
    topic = topic_factory("replay", partitions=3)
    articles = [a for s in load(discover([SEEDS]), fetched_at=NOW) for a in s.articles]
    ids = {a["id"].encode() for a in articles}

    stats = asyncio.run(replay(kafka_bootstrap, topic, [to_record(a) for a in articles]))
    assert stats.published == 5
    first = asyncio.run(read_all(kafka_bootstrap, topic, 5))
    assert {key for key, _ in first} == ids
    for key, value in first:
        decoded = decode_raw_article(value)
        assert decoded["id"].encode() == key
        assert decoded in articles

    again = [a for s in load(discover([SEEDS]), fetched_at="2030-01-01T00:00:00Z") for a in s.articles]
    assert asyncio.run(replay(kafka_bootstrap, topic, [to_record(a) for a in again])).published == 5
    both = asyncio.run(read_all(kafka_bootstrap, topic, 10))
    assert sorted(key for key, _ in both) == sorted([*ids, *ids])


@pytest.mark.kafka
async def test_replay_to_a_missing_topic_fails_fast_with_advice(kafka_bootstrap: str) -> None:
    started = time.monotonic()
    with pytest.raises(ReplayError, match=r"does not exist.*--create-topics"):
        await replay(kafka_bootstrap, f"test.missing.{os.getpid()}.{time.time_ns()}", [record(1)])
    assert time.monotonic() - started < 20  # not the producer's 40 s metadata timeout


@pytest.mark.kafka
async def test_ensure_topics_creates_missing_topics_once(
    kafka_bootstrap: str, unique_name: Callable[[str], str]
) -> None:
    specs = [
        TopicSpec(unique_name("ensure-a"), 2, {"retention.ms": "3600000"}),
        TopicSpec(unique_name("ensure-b"), 1, {"cleanup.policy": "compact"}),
    ]
    names = [s.name for s in specs]
    try:
        assert await missing_topics(kafka_bootstrap, names) == names
        assert sorted(await ensure_topics(kafka_bootstrap, specs)) == sorted(names)
        assert await ensure_topics(kafka_bootstrap, specs) == []  # already there: not an error
        assert await missing_topics(kafka_bootstrap, names) == []
    finally:
        from streams.kafka.admin import admin_client

        async with admin_client(kafka_bootstrap) as admin:
            await admin.delete_topics(names)


@pytest.mark.kafka
async def test_ensure_topics_raises_on_a_bad_spec(kafka_bootstrap: str, unique_name: Callable[[str], str]) -> None:
    with pytest.raises(KafkaError, match="cannot create topic"):
        await ensure_topics(kafka_bootstrap, [TopicSpec(unique_name("bad"), 1, {"cleanup.policy": "nonsense"})])


@pytest.mark.kafka
def test_large_article_is_published(kafka_bootstrap: str, topic_factory: Callable[..., str]) -> None:
    # Close to the 2 MiB value limit: needs max_request_size (and the topic's max.message.bytes) raised.
    topic = topic_factory("large", config={"max.message.bytes": str(MAX_MESSAGE_BYTES)})
    big: RawArticle = {**article(1), "body": "x" * 1_000_000, "title": "é" * 2000}
    value = encode(big)
    assert 1_000_000 < len(value) <= 2 * 1024 * 1024
    stats = asyncio.run(replay(kafka_bootstrap, topic, [to_record(big)]))
    assert stats.published == 1
    [(_, got)] = asyncio.run(read_all(kafka_bootstrap, topic, 1))
    assert json.loads(got)["body"] == big["body"]
