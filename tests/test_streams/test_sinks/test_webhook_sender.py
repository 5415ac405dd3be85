"""The webhook sender against a real HTTP server on loopback (no Kafka): retries, timeouts, limits, secrets."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from click.testing import CliRunner
from webhook_support import Received, Receiver, docs_verify

from agents.delivery import RetryPolicy, verify_signature
from streams.cli import main
from streams.sinks.webhook import SecretFileError, WebhookSender, WebhookTarget, load_secret

SECRET = b"test-secret"
BODY = b'{"data":{"theme":"greenland"},"id":"al-1","source":"urn:t","specversion":"1.0","type":"io.newsmon.alert.x.v1"}'
FAST = RetryPolicy(max_attempts=4, base=0.01, cap=0.02)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    try:
        yield r
    finally:
        await r.stop()


def sender(url: str, policy: RetryPolicy = FAST, timeout: float = 5.0, **kw: object) -> WebhookSender:
    return WebhookSender(WebhookTarget(url, SECRET, timeout=timeout, **kw), policy, rng=random.Random(1))  # type: ignore[arg-type]


async def test_a_2xx_delivers_once_with_signed_headers(receiver: Receiver) -> None:
    async with sender(receiver.url) as s:
        result = await s.deliver(BODY, "al-1")
    assert result.delivered
    assert (result.attempts, result.last_status) == (1, 200)
    [got] = receiver.requests
    assert got.body == BODY
    assert got.headers["Content-Type"] == "application/cloudevents+json; charset=utf-8"
    assert got.headers["Idempotency-Key"] == "al-1"
    assert got.headers["Newsmon-Delivery-Attempt"] == "1"
    assert got.headers["User-Agent"].startswith("newsmon/")
    assert docs_verify(SECRET, got.headers["Newsmon-Signature"], got.body)
    assert not docs_verify(b"other", got.headers["Newsmon-Signature"], got.body)


async def test_500_then_success_is_retried_with_the_same_key(receiver: Receiver) -> None:
    async def plan(_r: Received, n: int) -> web.StreamResponse:
        return web.Response(status=500 if n == 1 else 204)

    receiver.plan = plan
    async with sender(receiver.url) as s:
        result = await s.deliver(BODY, "al-1")
    assert result.delivered
    assert result.attempts == 2
    assert receiver.keys() == ["al-1", "al-1"]
    assert [r.headers["Newsmon-Delivery-Attempt"] for r in receiver.requests] == ["1", "2"]
    for r in receiver.requests:
        assert docs_verify(SECRET, r.headers["Newsmon-Signature"], r.body)


async def test_429_retry_after_is_honoured(receiver: Receiver) -> None:
    async def plan(_r: Received, n: int) -> web.StreamResponse:
        return web.Response(status=429, headers={"Retry-After": "1"}) if n == 1 else web.Response(status=200)

    receiver.plan = plan
    async with sender(receiver.url) as s:
        result = await s.deliver(BODY, "al-1")
    assert result.delivered
    first, second = receiver.requests
    assert second.at - first.at >= 0.95  # the backoff alone would be 10-20 ms


async def test_retry_after_is_capped(receiver: Receiver) -> None:
    async def plan(_r: Received, n: int) -> web.StreamResponse:
        return web.Response(status=503, headers={"Retry-After": "3600"}) if n == 1 else web.Response(status=200)

    receiver.plan = plan
    policy = RetryPolicy(max_attempts=3, base=0.01, cap=0.02, max_retry_after=0.2)
    async with sender(receiver.url, policy) as s:
        result = await asyncio.wait_for(s.deliver(BODY, "al-1"), 10)
    assert result.delivered
    first, second = receiver.requests
    assert 0.15 <= second.at - first.at < 5


async def test_a_hanging_receiver_times_out_and_is_retried(receiver: Receiver) -> None:
    async def plan(_r: Received, n: int) -> web.StreamResponse:
        return await receiver.hang() if n == 1 else web.Response(status=200)

    receiver.plan = plan
    async with sender(receiver.url, timeout=0.5) as s:
        result = await s.deliver(BODY, "al-1")
    assert result.delivered
    assert result.attempts == 2
    first, second = receiver.requests
    assert second.at - first.at >= 0.45


async def test_permanent_4xx_is_not_retried(receiver: Receiver) -> None:
    async def plan(_r: Received, _n: int) -> web.StreamResponse:
        return web.Response(status=400, text="bad \x1b[31mpayload")

    receiver.plan = plan
    async with sender(receiver.url) as s:
        result = await s.deliver(BODY, "al-1")
    assert not result.delivered
    assert result.attempts == 1
    assert result.last_status == 400
    assert result.reason is not None
    assert result.reason.startswith("permanent failure: HTTP 400: bad")
    assert "payload" in result.reason
    assert "\x1b" not in result.reason
    assert len(receiver.requests) == 1


@pytest.mark.parametrize("status", [408, 429, 500, 503])
async def test_n_failures_give_up(receiver: Receiver, status: int) -> None:
    async def plan(_r: Received, _n: int) -> web.StreamResponse:
        return web.Response(status=status)

    receiver.plan = plan
    async with sender(receiver.url) as s:
        result = await s.deliver(BODY, "al-1")
    assert not result.delivered
    assert result.attempts == 4
    assert result.reason == f"gave up after 4 attempt(s): HTTP {status}"
    assert len(receiver.requests) == 4


async def test_redirects_are_not_followed(receiver: Receiver) -> None:
    async def plan(_r: Received, _n: int) -> web.StreamResponse:
        return web.Response(status=302, headers={"Location": "http://127.0.0.1:1/elsewhere"})

    receiver.plan = plan
    async with sender(receiver.url) as s:
        result = await s.deliver(BODY, "al-1")
    assert not result.delivered
    assert result.last_status == 302
    assert len(receiver.requests) == 1


async def test_a_huge_answer_is_read_only_up_to_the_limit(receiver: Receiver) -> None:
    async def plan(_r: Received, _n: int) -> web.StreamResponse:
        return web.Response(status=400, body=b"x" * (20 * 1024 * 1024))

    receiver.plan = plan
    async with sender(receiver.url, max_response_bytes=1024) as s:
        result = await asyncio.wait_for(s.deliver(BODY, "al-1"), 10)
    assert result.reason is not None
    assert len(result.reason) < 300


async def test_connection_refused_is_retried_then_given_up() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with sender(f"http://127.0.0.1:{port}/hook") as s:
        result = await s.deliver(BODY, "al-1")
    assert not result.delivered
    assert result.attempts == 4
    assert result.last_status is None
    assert result.reason is not None
    assert "ClientConnectorError" in result.reason


async def test_a_stop_during_the_retry_wait_abandons_the_event(receiver: Receiver) -> None:
    async def plan(_r: Received, _n: int) -> web.StreamResponse:
        return web.Response(status=503)

    receiver.plan = plan
    stop = asyncio.Event()
    s = WebhookSender(WebhookTarget(receiver.url, SECRET), RetryPolicy(max_attempts=5, base=30, cap=30), stop=stop)
    async with s:
        task = asyncio.create_task(s.deliver(BODY, "al-1"))
        await receiver.wait_for(lambda rs: len(rs) == 1)
        stop.set()
        result = await asyncio.wait_for(task, 5)
    assert result.stopped
    assert not result.delivered


async def test_each_attempt_is_signed_with_its_own_timestamp(receiver: Receiver) -> None:
    async def plan(_r: Received, n: int) -> web.StreamResponse:
        return web.Response(status=500 if n == 1 else 200)

    receiver.plan = plan
    clock = iter([1000.0, 1000.0, 1000.0, 1007.0, 1007.0, 1007.0])
    s = WebhookSender(WebhookTarget(receiver.url, SECRET), FAST, clock=lambda: next(clock))
    async with s:
        assert (await s.deliver(BODY, "al-1")).delivered
    stamps = [r.headers["Newsmon-Signature"].split(",")[0] for r in receiver.requests]
    assert stamps == ["t=1000", "t=1007"]
    assert verify_signature(SECRET, receiver.requests[1].headers["Newsmon-Signature"], BODY, now=1007)


# --- the secret file ------------------------------------------------------------------------


def secret_file(tmp_path: Path, content: bytes, mode: int = 0o600) -> Path:
    path = tmp_path / "hook.secret"
    path.write_bytes(content)
    os.chmod(path, mode)
    return path


def test_secret_is_the_file_content_stripped(tmp_path: Path) -> None:
    assert load_secret(secret_file(tmp_path, b"  abc123\n")) == b"abc123"
    assert load_secret(secret_file(tmp_path, b"abc", 0o640)) == b"abc"


@pytest.mark.parametrize(
    ("content", "mode", "message"),
    [
        (b"", 0o600, "is empty"),
        (b" \n\t\n", 0o600, "is empty"),
        (b"abc", 0o644, "chmod 600"),
        (b"abc", 0o602, "chmod 600"),
        (b"a" * 5000, 0o600, "over 4096 bytes"),
    ],
)
def test_bad_secret_files_are_refused(tmp_path: Path, content: bytes, mode: int, message: str) -> None:
    with pytest.raises(SecretFileError, match=message):
        load_secret(secret_file(tmp_path, content, mode))


def test_missing_secret_file_and_directory_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SecretFileError, match="does not exist"):
        load_secret(tmp_path / "nope")
    with pytest.raises(SecretFileError, match="not a regular file"):
        load_secret(tmp_path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--url", "ftp://x/y"], "--url: the URL must start with http:// or https://"),
        (["--url", "http://127.0.0.1:9/x", "--kind", "Bad Kind"], "is not an alert kind"),
        (["--url", "http://127.0.0.1:9/x", "--backoff", "5", "--backoff-max", "1"], "--backoff-max"),
    ],
)
def test_cli_refuses_bad_options_with_one_error_line(tmp_path: Path, args: list[str], message: str) -> None:
    secret = secret_file(tmp_path, b"abc")
    result = CliRunner().invoke(main, ["deliver", "webhook", "--secret-file", str(secret), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "newsmon: error:" in result.output


@pytest.mark.parametrize(("content", "mode", "message"), [(None, 0, "does not exist"), (b"\n", 0o600, "is empty")])
def test_cli_refuses_a_bad_secret_file(tmp_path: Path, content: bytes | None, mode: int, message: str) -> None:
    path = tmp_path / "missing" if content is None else secret_file(tmp_path, content, mode)
    result = CliRunner().invoke(
        main, ["deliver", "webhook", "--url", "http://127.0.0.1:9/x", "--secret-file", str(path)]
    )
    assert result.exit_code == 2, result.output
    assert f"newsmon: error: secret file {str(path)!r} {message}" in result.output


def test_cli_an_unreachable_cluster_is_one_line_and_exit_1(tmp_path: Path) -> None:
    secret = secret_file(tmp_path, b"abc")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSMON_", "KAFKA_"))}
    env.update({"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "NEWSMON_STATE_DIR": str(tmp_path / "state")})
    args = ["deliver", "webhook", "--url", "http://127.0.0.1:9/x", "--secret-file", str(secret)]
    result = subprocess.run(
        [sys.executable, "-m", "streams", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("newsmon: error: cannot reach Kafka at 127.0.0.1:1"), lines[0]
