"""The feed poller's Prometheus metrics, and its /metrics and /health server (docs/dashboard.md)."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

from streams.web import metrics_response, security_headers


class PollMetrics:
    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.registry = registry
        self.polls = Counter(
            "newsmon_feed_polls",
            "Feed polls by outcome: ok, not_modified, error, gone.",
            ["outcome"],
            registry=registry,
        )
        self.entries_seen = Counter("newsmon_feed_entries_seen", "Feed entries parsed.", registry=registry)
        self.articles_published = Counter(
            "newsmon_feed_articles_published", "Articles the poller published to news.articles.raw.", registry=registry
        )
        self.duration = Histogram(
            "newsmon_feed_fetch_seconds",
            "Seconds of one feed fetch (polls that fetched).",
            buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
            registry=registry,
        )

    def record(self, outcome: str, *, seen: int, published: int, duration: float) -> None:
        self.polls.labels(outcome).inc()
        self.entries_seen.inc(seen)
        self.articles_published.inc(published)
        if duration > 0:
            self.duration.observe(duration)


METRICS = PollMetrics()


def health_app(ready: Callable[[], bool], registry: CollectorRegistry = REGISTRY) -> web.Application:
    """``/metrics`` and ``/health`` (200 once the poller's state is loaded and it polls, else 503)."""

    async def metrics(_: web.Request) -> web.Response:
        return metrics_response(registry)

    async def health(_: web.Request) -> web.Response:
        ok = ready()
        return web.json_response({"status": "ready" if ok else "starting"}, status=200 if ok else 503)

    app = web.Application(middlewares=[security_headers])
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/health", health)
    return app
