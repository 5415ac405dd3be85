"""Webhook delivery on the real broker to a real HTTP receiver on loopback.

Each test publishes synthetic CloudEvents alerts to its own deployment's news.alerts
and runs the sink (in-process, or ``newsmon deliver webhook`` as a subprocess that is
killed and restarted), then checks what the receiver got, what went to
news.alerts.undelivered, and the group's committed offsets.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiokafka.structs import RecordMetadata, TopicPartition
from support import Env, collect, produce, values
from webhook_support import Deliverer, Received, Receiver, docs_verify

from agents.delivery import AlertFilter, RetryPolicy
from agents.records import encode
from streams.kafka.admin import ensure_topics
from streams.kafka.consumers import committed_offsets, end_offsets
from streams.kafka.producer import make_producer
from streams.kafka.topics import ALERTS, ALERTS_UNDELIVERED, specs
from streams.sinks.webhook import WebhookSink, WebhookTarget

pytestmark = pytest.mark.kafka

SECRET = b"kafka-test-secret"
THEMES = ("greenland", "nato-article-5", "ukraine-peace-talks")
KINDS = ("theme_match", "new_story")


@dataclass(frozen=True)
class Published:
    id: str
    theme: str
    kind: str
    body: bytes
    tp: TopicPartition
    offset: int


def make_alert(n: int, theme: str, kind: str) -> bytes:
    alert_id = f"al-{n:024x}"
    event = {
        "specversion": "1.0",
        "id": alert_id,
        "source": "urn:newsmon:test",
        "type": f"io.newsmon.alert.{kind}.v1",
        "time": "2026-12-03T12:00:00.000Z",
        "subject": f"{theme}/a-{n}",
        "datacontenttype": "application/json",
        "data": {"alert_id": alert_id, "kind": kind, "theme": theme, "article_id": f"a-{n}", "title": f"t{n}"},
    }
    return encode(event)


async def publish(env: Env, count: int, *, start: int = 0) -> list[Published]:
    """``count`` alerts over every theme and kind, keyed by theme, the n-th on partition n % 3."""
    out: list[Published] = []
    async with make_producer(env.bootstrap) as producer:
        pending = []
        for n in range(start, start + count):
            theme, kind = THEMES[n % len(THEMES)], KINDS[(n // len(THEMES)) % len(KINDS)]
            body = make_alert(n, theme, kind)
            # round robin over the 3 partitions: every partition holds alerts, whatever the keys hash to
            fut = await producer.send(env.topic(ALERTS), body, key=theme.encode(), partition=n % 3)
            pending.append((n, theme, kind, body, fut))
        for n, theme, kind, body, fut in pending:
            meta: RecordMetadata = await fut
            tp = TopicPartition(meta.topic, meta.partition)
            out.append(Published(f"al-{n:024x}", theme, kind, body, tp, meta.offset))
    return out


async def create_topics(env: Env) -> None:
    wanted = {env.topic(ALERTS), env.topic(ALERTS_UNDELIVERED)}
    await ensure_topics(env.bootstrap, [s for s in specs(env.settings) if s.name in wanted])


def make_sink(env: Env, url: str, **kw: Any) -> WebhookSink:
    undelivered = next(s for s in specs(env.settings) if s.name == env.topic(ALERTS_UNDELIVERED))
    policy = kw.pop("policy", RetryPolicy(max_attempts=4, base=0.01, cap=0.05))
    timeout = kw.pop("timeout", 5.0)
    return WebhookSink(
        bootstrap=env.bootstrap,
        topic=env.topic(ALERTS),
        undelivered=undelivered,
        group=f"{env.prefix}webhook",
        target=WebhookTarget(url, SECRET, timeout=timeout),
        policy=policy,
        **kw,
    )


class Running:
    """A sink running in this process until ``stop()``."""

    def __init__(self, sink: WebhookSink) -> None:
        self.sink = sink
        self.stop_event = asyncio.Event()
        self.task = asyncio.create_task(sink.run(self.stop_event))

    async def stop(self) -> None:
        self.stop_event.set()
        await asyncio.wait_for(self.task, 30)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    try:
        yield r
    finally:
        await r.stop()


async def committed(env: Env, group: str | None = None) -> dict[TopicPartition, int | None]:
    tps = list(await end_offsets(env.bootstrap, [env.topic(ALERTS)]))
    return await committed_offsets(env.bootstrap, group or f"{env.prefix}webhook", tps)


async def all_committed(env: Env, group: str | None = None) -> bool:
    ends = await end_offsets(env.bootstrap, [env.topic(ALERTS)])
    got = await committed(env, group)
    return {tp: got[tp] or 0 for tp in ends} == dict(ends)


async def assert_all_committed(env: Env, group: str | None = None) -> None:
    assert await all_committed(env, group), (
        await committed(env, group),
        await end_offsets(env.bootstrap, [env.topic(ALERTS)]),
    )


async def undelivered_records(env: Env, count: int) -> list[dict[str, Any]]:
    records = await collect(env.bootstrap, [env.topic(ALERTS_UNDELIVERED)], lambda rs: len(rs) >= count, timeout=30)
    return values(records)


def ids(items: Iterable[Published]) -> set[str]:
    return {p.id for p in items}


def check_request(r: Received, by_id: dict[str, Published]) -> None:
    """Every request: a known alert's exact bytes, its id as the key, a signature the docs' snippet accepts."""
    event = json.loads(r.body)
    assert r.key == event["id"]
    assert by_id[r.key].body == r.body
    assert r.headers["Content-Type"] == "application/cloudevents+json; charset=utf-8"
    assert docs_verify(SECRET, r.headers["Newsmon-Signature"], r.body)


async def test_every_alert_is_delivered_signed_in_partition_order(newsmon_env: Env, receiver: Receiver) -> None:
    await create_topics(newsmon_env)
    published = await publish(newsmon_env, 18)
    by_id = {p.id: p for p in published}
    running = Running(make_sink(newsmon_env, receiver.url))
    try:
        await receiver.wait_for(lambda rs: {r.key for r in rs} >= ids(published))
    finally:
        await running.stop()
    assert sorted(receiver.keys()) == sorted(by_id)  # each exactly once
    for r in receiver.requests:
        check_request(r, by_id)
    for tp in {p.tp for p in published}:
        in_partition = [p.id for p in sorted(published, key=lambda p: p.offset) if p.tp == tp]
        assert [k for k in receiver.keys() if by_id[k].tp == tp] == in_partition  # noqa: SIM118
    assert running.sink.stats.delivered == 18
    await assert_all_committed(newsmon_env)


async def test_500_then_success_and_429_with_retry_after(newsmon_env: Env, receiver: Receiver) -> None:
    await create_topics(newsmon_env)
    published = await publish(newsmon_env, 6)
    flaky, limited = published[0].id, published[1].id

    async def plan(r: Received, n: int) -> web.StreamResponse:
        if r.key == flaky and n == 1:
            return web.Response(status=500, text="oops")
        if r.key == limited and n == 1:
            return web.Response(status=429, headers={"Retry-After": "1"})
        return web.Response(status=200)

    receiver.plan = plan
    running = Running(make_sink(newsmon_env, receiver.url))

    def retried(rs: list[Received]) -> bool:
        keys = [r.key for r in rs]
        return set(keys) >= ids(published) and keys.count(flaky) >= 2 and keys.count(limited) >= 2

    try:
        await receiver.wait_for(retried)
    finally:
        await running.stop()
    by_id = {p.id: p for p in published}
    for r in receiver.requests:
        check_request(r, by_id)
    assert receiver.keys().count(flaky) == 2
    assert receiver.keys().count(limited) == 2
    assert all(receiver.keys().count(p.id) == 1 for p in published[2:])
    first, second = [r for r in receiver.requests if r.key == limited]
    assert second.at - first.at >= 0.95
    assert [r.headers["Newsmon-Delivery-Attempt"] for r in receiver.requests if r.key == flaky] == ["1", "2"]
    assert running.sink.stats.undelivered == 0
    await assert_all_committed(newsmon_env)


async def test_a_hanging_receiver_is_timed_out_and_retried(newsmon_env: Env, receiver: Receiver) -> None:
    await create_topics(newsmon_env)
    published = await publish(newsmon_env, 3)
    slow = published[0].id

    async def plan(r: Received, n: int) -> web.StreamResponse:
        return await receiver.hang() if r.key == slow and n == 1 else web.Response(status=200)

    receiver.plan = plan
    running = Running(make_sink(newsmon_env, receiver.url, timeout=0.5))
    try:
        await receiver.wait_for(
            lambda rs: {r.key for r in rs} >= ids(published) and sum(r.key == slow for r in rs) >= 2
        )
    finally:
        await running.stop()
    assert receiver.keys().count(slow) == 2
    await assert_all_committed(newsmon_env)


async def test_permanent_and_exhausted_failures_go_to_undelivered(newsmon_env: Env, receiver: Receiver) -> None:
    await create_topics(newsmon_env)
    published = await publish(newsmon_env, 9)
    rejected, down = published[0], published[1]

    async def plan(r: Received, _n: int) -> web.StreamResponse:
        if r.key == rejected.id:
            return web.Response(status=400, text="schema mismatch")
        if r.key == down.id:
            return web.Response(status=503, text="maintenance")
        return web.Response(status=200)

    receiver.plan = plan
    running = Running(make_sink(newsmon_env, receiver.url))
    try:
        dead = await undelivered_records(newsmon_env, 2)
        await receiver.wait_for(lambda rs: {r.key for r in rs} >= ids(published))
    finally:
        await running.stop()
    assert receiver.keys().count(rejected.id) == 1
    assert receiver.keys().count(down.id) == 4  # --max-attempts in make_sink
    by_alert = {d["alert_id"]: d for d in dead}
    assert set(by_alert) == {rejected.id, down.id}
    perm = by_alert[rejected.id]
    assert perm["reason"] == "permanent failure: HTTP 400: schema mismatch"
    assert (perm["attempts"], perm["last_status"]) == (1, 400)
    assert perm["event"] == json.loads(rejected.body)
    assert (perm["partition"], perm["offset"]) == (rejected.tp.partition, rejected.offset)
    assert perm["url"] == receiver.url
    gave_up = by_alert[down.id]
    assert gave_up["reason"] == "gave up after 4 attempt(s): HTTP 503: maintenance"
    assert (gave_up["attempts"], gave_up["last_status"]) == (4, 503)
    assert running.sink.stats.delivered == 7
    await assert_all_committed(newsmon_env)


async def test_filters_by_theme_and_kind(newsmon_env: Env, receiver: Receiver) -> None:
    await create_topics(newsmon_env)
    published = await publish(newsmon_env, 24)
    wanted = [p for p in published if p.theme in ("greenland", "nato-article-5") and p.kind == "new_story"]
    assert 0 < len(wanted) < len(published)
    sink = make_sink(newsmon_env, receiver.url, filter=AlertFilter.of(["greenland", "nato-article-5"], ["new_story"]))
    running = Running(sink)
    try:
        await receiver.wait_for(lambda rs: {r.key for r in rs} >= ids(wanted))
        # the filtered-out alerts are committed too
        ends = await end_offsets(newsmon_env.bootstrap, [newsmon_env.topic(ALERTS)])
        await asyncio.wait_for(sink.wait_committed(ends), 30)
    finally:
        await running.stop()
    assert sorted(receiver.keys()) == sorted(ids(wanted))
    assert sink.stats.skipped == len(published) - len(wanted)


async def test_an_outage_holds_the_partition_and_a_restart_resumes(newsmon_env: Env, receiver: Receiver) -> None:
    await create_topics(newsmon_env)
    published = await publish(newsmon_env, 9)
    blocked = published[0]
    after = [p for p in published if p.tp == blocked.tp and p.offset > blocked.offset]
    assert after
    outage = True

    async def plan(r: Received, _n: int) -> web.StreamResponse:
        return web.Response(status=503 if outage and r.key == blocked.id else 200)

    receiver.plan = plan
    policy = RetryPolicy(max_attempts=100, base=0.05, cap=0.05)
    running = Running(make_sink(newsmon_env, receiver.url, policy=policy))
    try:
        await receiver.wait_for(lambda rs: sum(r.key == blocked.id for r in rs) >= 3)
        held = (await committed(newsmon_env))[blocked.tp]
        assert (held or 0) <= blocked.offset  # never past the undelivered alert
        assert not ids(after) & set(receiver.keys())
    finally:
        await running.stop()  # during a retry wait: the alert stays uncommitted
    assert ((await committed(newsmon_env))[blocked.tp] or 0) <= blocked.offset
    outage = False
    running = Running(make_sink(newsmon_env, receiver.url, policy=policy))
    try:
        await receiver.wait_for(lambda rs: {r.key for r in rs} >= ids(published))
    finally:
        await running.stop()
    assert all(receiver.keys().count(p.id) == 1 for p in after)
    await assert_all_committed(newsmon_env)


async def test_a_record_that_is_not_a_cloudevent_goes_to_undelivered(newsmon_env: Env, receiver: Receiver) -> None:
    await create_topics(newsmon_env)
    no_id = encode({"specversion": "1.0", "type": "io.newsmon.alert.spike.v1", "source": "urn:t", "data": {}})
    await produce(newsmon_env.bootstrap, newsmon_env.topic(ALERTS), [(b"k", b"\xff not json"), (b"k", no_id)])
    published = await publish(newsmon_env, 1)
    running = Running(make_sink(newsmon_env, receiver.url))
    try:
        dead = await undelivered_records(newsmon_env, 2)
        await receiver.wait_for(lambda rs: len(rs) >= 1)
    finally:
        await running.stop()
    assert receiver.keys() == [published[0].id]
    assert [base64.b64decode(d["value_b64"]) for d in dead] == [b"\xff not json", no_id]
    assert all(d["reason"].startswith("not deliverable: ") for d in dead)
    assert "'id' missing" in dead[1]["reason"]
    assert [(d["attempts"], d["event"], d["alert_id"]) for d in dead] == [(0, None, None)] * 2
    await assert_all_committed(newsmon_env)


def test_the_command_builds_the_sink_from_its_options(
    newsmon_env: Env, secret: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from streams.cli import main
    from streams.settings import get_settings

    got: dict[str, WebhookSink] = {}

    async def fake_run(self: WebhookSink, _stop: asyncio.Event) -> None:
        got["sink"] = self

    for key, value in newsmon_env.environ().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(WebhookSink, "run", fake_run)
    get_settings.cache_clear()
    try:
        args = ["--theme", "greenland", "--theme", "nato-article-5", "--kind", "spike", "--max-attempts", "3"]
        args += ["--timeout", "2.5", "--backoff", "0.5", "--backoff-max", "4", "--start", "latest"]
        result = CliRunner().invoke(
            main, ["deliver", "webhook", "--url", "http://127.0.0.1:9/hook", "--secret-file", str(secret), *args]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    sink = got["sink"]
    assert sink.filter == AlertFilter.of(["greenland", "nato-article-5"], ["spike"])
    assert sink.policy == RetryPolicy(max_attempts=3, base=0.5, cap=4.0, max_retry_after=300.0)
    assert (sink.target.url, sink.target.secret, sink.target.timeout) == ("http://127.0.0.1:9/hook", SECRET, 2.5)
    assert sink.topic == newsmon_env.topic(ALERTS)
    assert sink.undelivered.name == newsmon_env.topic(ALERTS_UNDELIVERED)
    assert sink.group.startswith(f"{newsmon_env.prefix}newsmon-webhook-127.0.0.1-")
    assert sink.start == "latest"


async def test_two_sinks_in_one_group_share_the_partitions(newsmon_env: Env, receiver: Receiver) -> None:
    await create_topics(newsmon_env)
    published = await publish(newsmon_env, 30)
    by_id = {p.id: p for p in published}
    gate = asyncio.Event()

    async def plan(_r: Received, _n: int) -> web.StreamResponse:
        if len(receiver.requests) > 5:
            await gate.wait()  # the first sink holds its 6th alert until the second has joined
        return web.Response(status=200)

    receiver.plan = plan
    first = Running(make_sink(newsmon_env, receiver.url))
    second: Running | None = None
    try:
        await receiver.wait_for(lambda rs: len(rs) >= 6)
        second = Running(make_sink(newsmon_env, receiver.url))  # joins: a rebalance mid-stream
        await asyncio.wait_for(second.sink.ready.wait(), 60)
        gate.set()
        await receiver.wait_for(lambda rs: {r.key for r in rs} >= ids(published))
        ends = await end_offsets(newsmon_env.bootstrap, [newsmon_env.topic(ALERTS)])
        await asyncio.wait_for(_either_committed(first.sink, second.sink, ends), 30)
    finally:
        await first.stop()
        if second is not None:
            await second.stop()
    for r in receiver.requests:
        check_request(r, by_id)
    assert set(receiver.keys()) == set(by_id)
    assert first.sink.stats.delivered + second.sink.stats.delivered >= len(published)
    assert second.sink.stats.delivered > 0, "the second sink took no partition"
    await assert_all_committed(newsmon_env)


async def _either_committed(a: WebhookSink, b: WebhookSink, ends: dict[TopicPartition, int]) -> None:
    """Each partition committed to its end by one of the two sinks."""
    for tp, end in ends.items():
        waits = [asyncio.create_task(s.wait_committed({tp: end})) for s in (a, b)]
        _done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()


# --- the command, killed and restarted ------------------------------------------------------


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "hook.secret"
    path.write_bytes(SECRET + b"\n")
    os.chmod(path, 0o600)
    return path


async def test_a_killed_deliverer_redelivers_only_uncommitted_alerts(
    newsmon_env: Env, receiver: Receiver, secret: Path, tmp_path: Path
) -> None:
    await create_topics(newsmon_env)
    published = await publish(newsmon_env, 30)
    by_id = {p.id: p for p in published}
    by_position = {(p.tp, p.offset): p for p in published}
    gate = asyncio.Event()

    async def plan(r: Received, _n: int) -> web.StreamResponse:
        if len(receiver.requests) > 10:
            await gate.wait()  # the 11th and later requests wait: the kill lands mid-way
        return web.Response(status=200)

    receiver.plan = plan
    log = tmp_path / "deliver.log"
    first = await Deliverer(newsmon_env, receiver.url, secret, log).start()
    try:
        await receiver.wait_for(lambda rs: len(rs) >= 11)
    finally:
        await first.kill()
    before = list(receiver.requests)
    done = await committed(newsmon_env)
    uncommitted = {p.id for (tp, offset), p in by_position.items() if offset >= (done.get(tp) or 0)}
    assert uncommitted, "the kill came too late to test anything"
    assert len(uncommitted) < len(published)
    gate.set()

    second = await Deliverer(newsmon_env, receiver.url, secret, log).start()
    try:
        await receiver.wait_for(lambda rs: {r.key for r in rs} >= ids(published))
        await receiver.wait_for(lambda rs: len(rs) - len(before) >= len(uncommitted))
    finally:
        code = await second.terminate()
    assert code == 0, log.read_text()
    after = receiver.requests[len(before) :]
    assert sorted(r.key for r in after) == sorted(uncommitted)  # exactly the uncommitted ones, once each
    for r in receiver.requests:
        check_request(r, by_id)
    keys = receiver.keys()
    duplicates = {k for k in keys if keys.count(k) > 1}
    assert duplicates <= {r.key for r in before}  # a repeat is a redelivery, with the same key
    assert set(receiver.keys()) == set(by_id)  # none lost
    await assert_all_committed(newsmon_env)
    assert "stopped: " in log.read_text()


async def test_sigterm_finishes_the_post_in_flight_and_commits_it(
    newsmon_env: Env, receiver: Receiver, secret: Path, tmp_path: Path
) -> None:
    await create_topics(newsmon_env)
    published = await publish(newsmon_env, 1)
    answer = asyncio.Event()

    async def plan(_r: Received, _n: int) -> web.StreamResponse:
        await answer.wait()
        return web.Response(status=200)

    receiver.plan = plan
    log = tmp_path / "deliver.log"
    proc = await Deliverer(newsmon_env, receiver.url, secret, log, "--timeout", "30").start()
    await receiver.wait_for(lambda rs: len(rs) == 1)
    assert proc.proc is not None
    proc.proc.send_signal(signal.SIGTERM)
    answer.set()
    code = await asyncio.wait_for(proc.proc.wait(), 30)
    assert code == 0, log.read_text()
    assert receiver.keys() == [published[0].id]
    assert (await committed(newsmon_env))[published[0].tp] == published[0].offset + 1
    assert "1 delivered" in log.read_text()


async def test_a_missing_alerts_topic_is_one_error_line(newsmon_env: Env, secret: Path) -> None:
    result = newsmon_env.cli("deliver", "webhook", "--url", "http://127.0.0.1:9/hook", "--secret-file", str(secret))
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines()[-1].startswith("newsmon: error: topic "), result.stderr
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr
