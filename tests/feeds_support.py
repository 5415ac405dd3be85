"""A real HTTP server on loopback for the feed tests: aiohttp's web server on 127.0.0.1:<free port>."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.utils import formatdate

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Server:
    """Records every request it answers: (path, headers) in arrival order."""

    base: str = ""
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path

    def seen(self, path: str) -> list[dict[str, str]]:
        return [headers for p, headers in self.requests if p == path]


@asynccontextmanager
async def serve(routes: dict[str, Handler]) -> AsyncIterator[Server]:
    """Serve ``routes`` (path -> handler) on 127.0.0.1 at a free port until the block ends."""
    server = Server()

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        server.requests.append((request.path, dict(request.headers)))
        return await handler(request)

    app = web.Application(middlewares=[record])
    for path, handler in routes.items():
        app.router.add_get(path, handler)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    sockets = site._server.sockets if site._server is not None else []  # type: ignore[union-attr]
    port = sockets[0].getsockname()[1]
    server.base = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()


def rss(items: list[tuple[str, str, str]], *, title: str = "Test feed", ttl: int | None = None) -> bytes:
    """An RSS 2.0 document with (guid, title, description) items."""
    parts = [
        f"<item><guid>{g}</guid><title>{t}</title><link>https://news.example/{g}</link>"
        f"<description>{d}</description><pubDate>{formatdate(1767225600 + i * 60, usegmt=True)}</pubDate></item>"
        for i, (g, t, d) in enumerate(items)
    ]
    ttl_el = f"<ttl>{ttl}</ttl>" if ttl is not None else ""
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>https://news.example/</link><description>d</description>{ttl_el}{''.join(parts)}</channel></rss>"
    ).encode()


def static(body: bytes, *, content_type: str = "application/rss+xml", status: int = 200) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, status=status, content_type=content_type)

    return handler


async def never_answers(request: web.Request) -> web.StreamResponse:
    """Accepts the request and then says nothing, until the client gives up."""
    await asyncio.Event().wait()
    raise AssertionError("unreachable")
