"""``newsmon replay``: the command line, its messages and exit codes, against a real broker."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from click.testing import CliRunner, Result

from agents.records import decode_raw_article
from streams.cli import main
from streams.kafka.admin import admin_client, missing_topics
from streams.kafka.topics import RAW, specs
from streams.settings import get_settings
from streams.sources.replay import discover, load

REPO = Path(__file__).resolve().parents[3]
SEEDS = REPO / "seeds"
SUMMARY = re.compile(r"^published (\d+) articles \((\d+) files\) to (\S+) in \d+\.\ds$")
NOWHERE = "127.0.0.1:1"  # nothing listens there


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    """The CLI reads settings once per process (lru_cache): re-read them around each test."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["replay", *args], catch_exceptions=False)


def seed_ids() -> set[bytes]:
    return {a["id"].encode() for s in load(discover([SEEDS]), fetched_at="x") for a in s.articles}


def summary(result: Result) -> tuple[int, int, str]:
    line = result.stdout.strip().splitlines()[-1]
    match = SUMMARY.match(line)
    assert match, line
    return int(match.group(1)), int(match.group(2)), match.group(3)


async def _records(bootstrap: str, topic: str, expected: int) -> list[tuple[bytes, bytes]]:
    records: list[tuple[bytes, bytes]] = []
    async with AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    ) as consumer:
        async with asyncio.timeout(30):
            while len(records) < expected:
                for batch in (await consumer.getmany(timeout_ms=1000)).values():
                    records += [(r.key, r.value) for r in batch if r.key is not None and r.value is not None]
    return records


def records(bootstrap: str, topic: str, expected: int) -> list[tuple[bytes, bytes]]:
    """The first ``expected`` records of ``topic``, waiting for them to arrive."""
    return asyncio.run(_records(bootstrap, topic, expected))


def record_count(bootstrap: str, topic: str) -> int:
    """How many records ``topic`` holds now (sum of its partitions' end offsets)."""

    async def count() -> int:
        async with admin_client(bootstrap) as admin:
            [described] = await admin.describe_topics([topic])
        assert described["error_code"] == 0, described
        partitions = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
        async with AIOKafkaConsumer(bootstrap_servers=bootstrap) as consumer:
            ends = await consumer.end_offsets(partitions)
        return sum(ends.values())

    return asyncio.run(count())


# --------------------------------------------------------------------------- without a broker


def test_help_teaches_formats_and_examples() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for text in ("*.txt", "*.jsonl", "Original:", "first non-empty line", "Examples:", "--create-topics", "--rate"):
        assert text in result.output


def test_a_bad_jsonl_line_is_reported_with_file_and_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "x.jsonl"
    bad.write_text('{"title": "a", "body": "b"}\n\n{"title": 5, "body": "b"}\n')
    result = run("--bootstrap-servers", NOWHERE, str(SEEDS), str(bad))
    assert result.exit_code == 2
    assert result.stderr.strip() == f"newsmon: error: {bad}:3: field 'title' must be a string, not int"
    assert result.stdout == ""


def test_a_non_utf8_seed_is_reported_with_its_name(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"Titre\nCaf" + b"\xe9\n")
    result = run("--bootstrap-servers", NOWHERE, str(bad))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"newsmon: error: {bad}:2: not UTF-8 text")


@pytest.mark.parametrize(
    ("name", "message"),
    [("missing", "no such file or directory"), ("empty.txt", "the file is empty"), ("a.csv", "unsupported file type")],
)
def test_bad_paths_exit_2(tmp_path: Path, name: str, message: str) -> None:
    if name != "missing":
        (tmp_path / name).write_text("")
    result = run("--bootstrap-servers", NOWHERE, str(tmp_path / name))
    assert result.exit_code == 2
    assert f"{tmp_path / name}: {message}" in result.stderr


def test_skipped_files_are_noted_on_stderr(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("x")
    (tmp_path / "bad.jsonl").write_text("{")
    result = run("--bootstrap-servers", NOWHERE, str(tmp_path))
    assert "skipping file" in result.stderr
    assert "README.md" in result.stderr
    assert result.exit_code == 2  # and the bad file still stops it


def test_bad_options_exit_2() -> None:
    assert run("--rate", "-1", str(SEEDS)).exit_code == 2
    assert run("--count", "0", str(SEEDS)).exit_code == 2
    assert run().exit_code == 2  # PATH is required


def test_no_broker_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setenv("NEWSMON_STATE_DIR", str(tmp_path))  # no embedded broker has run here
    result = run(str(SEEDS))
    assert result.exit_code == 1
    assert "No Kafka broker" in result.stderr
    assert "newsmon broker start" in result.stderr


def test_an_unreachable_broker_is_a_clear_error() -> None:
    result = run("--bootstrap-servers", NOWHERE, str(SEEDS))
    assert result.exit_code == 1
    assert f"newsmon: error: cannot reach Kafka at {NOWHERE}" in result.stderr


# --------------------------------------------------------------------------- against Kafka


@pytest.mark.kafka
def test_replay_publishes_the_seeds_keyed_by_id_and_again_with_the_same_keys(
    kafka_bootstrap: str, topic_factory: Callable[..., str]
) -> None:
    topic = topic_factory("cli-replay", partitions=3)
    result = run("--bootstrap-servers", kafka_bootstrap, "--topic", topic, str(SEEDS))
    assert result.exit_code == 0, result.output
    assert summary(result) == (5, 5, topic)

    first = records(kafka_bootstrap, topic, 5)
    assert {key for key, _ in first} == seed_ids()
    for key, value in first:
        assert decode_raw_article(value)["id"].encode() == key

    result = run("--bootstrap-servers", kafka_bootstrap, "--topic", topic, "-q", str(SEEDS))
    assert result.exit_code == 0, result.output
    both = records(kafka_bootstrap, topic, 10)
    assert sorted(key for key, _ in both) == sorted([*seed_ids(), *seed_ids()])
    assert record_count(kafka_bootstrap, topic) == 10


@pytest.mark.kafka
def test_rate_with_loop_and_count_publishes_exactly_count(
    kafka_bootstrap: str, topic_factory: Callable[..., str]
) -> None:
    topic = topic_factory("cli-rate")
    result = run(
        "--bootstrap-servers", kafka_bootstrap, "--topic", topic, "--rate", "200", "--loop", "--count", "12", str(SEEDS)
    )
    assert result.exit_code == 0, result.output
    assert summary(result) == (12, 5, topic)
    assert len(records(kafka_bootstrap, topic, 12)) == 12
    assert record_count(kafka_bootstrap, topic) == 12


@pytest.mark.kafka
def test_a_bad_file_publishes_nothing(kafka_bootstrap: str, topic_factory: Callable[..., str], tmp_path: Path) -> None:
    topic = topic_factory("cli-bad")
    bad = tmp_path / "z.jsonl"
    bad.write_text('{"title": "t"}\n')
    result = run("--bootstrap-servers", kafka_bootstrap, "--topic", topic, str(SEEDS), str(bad))
    assert result.exit_code == 2
    assert f"{bad}:1: missing field 'body'" in result.stderr
    assert record_count(kafka_bootstrap, topic) == 0


@pytest.mark.kafka
def test_a_missing_topic_is_a_clear_error(kafka_bootstrap: str, unique_name: Callable[[str], str]) -> None:
    topic = unique_name("never-created")
    result = run("--bootstrap-servers", kafka_bootstrap, "--topic", topic, str(SEEDS))
    assert result.exit_code == 1
    assert f"topic {topic!r} does not exist" in result.stderr
    assert "--create-topics" in result.stderr
    assert result.stdout == ""


@pytest.mark.kafka
def test_create_topics_creates_newsmons_topics(
    kafka_bootstrap: str, unique_name: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = unique_name("prefix") + "."
    monkeypatch.setenv("NEWSMON_TOPIC_PREFIX", prefix)
    names = [s.name for s in specs(get_settings())]
    get_settings.cache_clear()
    try:
        result = run("--bootstrap-servers", kafka_bootstrap, "--create-topics", str(SEEDS))
        assert result.exit_code == 0, result.output
        assert summary(result) == (5, 5, prefix + RAW)
        assert len(records(kafka_bootstrap, prefix + RAW, 5)) == 5
        # Every topic of the spec exists now, and a second run is fine with that.
        assert asyncio.run(missing_topics(kafka_bootstrap, names)) == []
        assert run("--bootstrap-servers", kafka_bootstrap, "--create-topics", "-q", str(SEEDS)).exit_code == 0
    finally:

        async def delete() -> None:
            async with admin_client(kafka_bootstrap) as admin:
                await admin.delete_topics(names)

        asyncio.run(delete())


@pytest.mark.kafka
def test_ctrl_c_stops_cleanly_and_the_summary_counts_every_record(
    kafka_bootstrap: str, topic_factory: Callable[..., str]
) -> None:
    topic = topic_factory("cli-interrupt")
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    command = [sys.executable, "-m", "streams", "replay", "--loop", "--rate", "100", "--topic", topic]
    proc = subprocess.Popen(
        [*command, "--bootstrap-servers", kafka_bootstrap, str(SEEDS)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
    )
    try:
        records(kafka_bootstrap, topic, 10)  # it is publishing (waits for the records, not for time)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr
    published = int(SUMMARY.match(stdout.strip().splitlines()[-1]).group(1))  # type: ignore[union-attr]
    assert published >= 10
    assert record_count(kafka_bootstrap, topic) == published  # nothing sent was lost or left uncounted
