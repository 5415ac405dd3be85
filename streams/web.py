"""Small aiohttp servers of newsmon outside the worker: the feed poller's /metrics and /health, the dashboard.

``serve`` runs an aiohttp application on one address for the duration of a ``with``
block; ``security_headers`` is the middleware that puts the strict Content-Security-Policy
(and friends) on every response; ``metrics_response`` is the Prometheus exposition of a registry.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry
from prometheus_client.exposition import generate_latest

#: No inline script or style, nothing from another origin, no framing, no plugins.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class BindError(OSError):
    """The server's address could not be bound (taken port, unknown address)."""


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def metrics_response(registry: CollectorRegistry = REGISTRY) -> web.Response:
    """The registry in the Prometheus text format."""
    response = web.Response(body=generate_latest(registry))
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


@asynccontextmanager
async def serve(app: web.Application, bind: str, port: int) -> AsyncIterator[web.AppRunner]:
    """Serve ``app`` on ``bind:port`` inside the block (BindError when the port is taken)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, bind, port)
        try:
            await site.start()
        except OSError as exc:
            raise BindError(exc.errno, f"cannot listen on {bind}:{port}: {exc.strerror or exc}") from exc
        yield runner
    finally:
        await runner.cleanup()
