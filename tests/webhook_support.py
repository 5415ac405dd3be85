"""A real HTTP receiver on loopback for the webhook tests, and the verification snippet from docs/alerts.md."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from streams.processes import Deployment

REPO = Path(__file__).resolve().parent.parent
ALERTS_DOC = REPO / "docs" / "alerts.md"


def docs_snippet() -> str:
    """The Python code block of the "Webhook delivery" section of docs/alerts.md."""
    text = ALERTS_DOC.read_text(encoding="utf-8")
    section = text[text.index("## Webhook delivery") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "docs/alerts.md has no python block under 'Webhook delivery'"
    return match.group(1)


def _load_verify() -> Callable[..., bool]:
    namespace: dict[str, Any] = {}
    exec(compile(docs_snippet(), str(ALERTS_DOC), "exec"), namespace)
    verify = namespace["verify"]
    assert callable(verify)
    return verify  # type: ignore[no-any-return]


def docs_verify(secret: bytes, header: str, body: bytes) -> bool:
    """The documented receiver check, executed as written in the docs."""
    return bool(_load_verify()(secret, header, body))


@dataclass(frozen=True)
class Received:
    body: bytes
    headers: dict[str, str]
    at: float  # time.monotonic() when the request arrived

    @property
    def key(self) -> str:
        return self.headers.get("Idempotency-Key", "")


Plan = Callable[[Received, int], Awaitable[web.StreamResponse]]


async def ok(_request: Received, _n: int) -> web.StreamResponse:
    return web.Response(status=200, text="ok")


@dataclass
class Receiver:
    """An aiohttp server on 127.0.0.1:0; ``plan(request, n)`` answers the n-th request (1-based) for its key."""

    plan: Plan = ok
    requests: list[Received] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)  # hanging handlers return when set
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _runner: web.AppRunner | None = None
    url: str = ""

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        got = Received(await request.read(), dict(request.headers), time.monotonic())
        async with self._changed:
            self.requests.append(got)
            self._changed.notify_all()
        n = sum(1 for r in self.requests if r.key == got.key)
        return await self.plan(got, n)

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/hook"
        return self

    async def stop(self) -> None:
        self.release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_for(self, condition: Callable[[list[Received]], bool], timeout: float = 60.0) -> list[Received]:
        """Wait (on requests, not on a clock) until ``condition(requests)`` holds."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: condition(self.requests))
        return list(self.requests)

    def keys(self) -> list[str]:
        return [r.key for r in self.requests]

    async def hang(self) -> web.StreamResponse:
        """Answer nothing until ``release`` (then 200): a receiver that hangs."""
        await self.release.wait()
        return web.Response(status=200)


class Deliverer:
    """``newsmon deliver webhook`` as a subprocess of this test."""

    def __init__(self, env: Deployment, url: str, secret: Path, log: Path, *extra: str) -> None:
        self.args = [
            sys.executable, "-m", "streams", "deliver", "webhook", "--url", url, "--secret-file", str(secret),
            "--group", f"{env.prefix}webhook", "--backoff", "0.05", "--backoff-max", "0.1", *extra,
        ]  # fmt: skip
        self.env = env.environ()
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> Deliverer:
        with open(self.log, "ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                *self.args, env=self.env, stdout=out, stderr=asyncio.subprocess.STDOUT, stdin=asyncio.subprocess.DEVNULL
            )
        return self

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        await self.proc.wait()

    async def terminate(self, timeout: float = 30) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            self.proc.kill()
            raise AssertionError(f"no exit within {timeout}s of SIGTERM:\n{self.log.read_text()}") from None
