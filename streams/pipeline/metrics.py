"""The worker's Prometheus metrics and its ``/metrics`` and ``/health`` views (docs/dashboard.md).

Counters are process-wide (the official client's default registry): ``ArticleSteps`` counts
what it reads and sends, the views serve them on Faust's web server.  Consumer lag is
measured when ``/metrics`` is scraped: the raw topic's end offsets minus the group's
committed offsets, for the partitions assigned to this process.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import faust
from aiokafka.structs import TopicPartition
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

from streams.kafka.consumers import committed_offsets, end_offsets
from streams.pipeline.delivery import bootstrap_of

log = logging.getLogger("newsmon.metrics")

LAG_TIMEOUT = 5.0  # seconds a scrape waits for the lag reading before serving the last one


class WorkerMetrics:
    """Every metric of the worker, registered once per registry."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.registry = registry
        self.articles_in = Counter(
            "newsmon_articles_in", "Input records taken by the article agent, by topic.", ["topic"], registry=registry
        )
        self.articles_out = Counter(
            "newsmon_articles_out", "Records sent by the article agent, by topic.", ["topic"], registry=registry
        )
        self.alerts = Counter("newsmon_alerts", "Alerts sent, by kind and theme.", ["kind", "theme"], registry=registry)
        self.dead_letters = Counter(
            "newsmon_dead_letters", "Dead letters sent, by stage.", ["stage"], registry=registry
        )
        self.latency = Histogram(
            "newsmon_processing_seconds",
            "Seconds the article agent spent on one input record (decode to last send).",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=registry,
        )
        self.lag = Gauge(
            "newsmon_consumer_lag",
            "Records of an assigned input partition not yet committed by the consumer group "
            "(end offset minus committed offset), read at scrape time.",
            ["topic", "partition"],
            registry=registry,
        )
        self.ready = Gauge(
            "newsmon_ready", "1 when partitions are assigned and the themes are loaded.", registry=registry
        )

    @contextmanager
    def timed(self) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.latency.observe(time.perf_counter() - start)


METRICS = WorkerMetrics()


@dataclass
class Health:
    """Readiness of one worker: partitions assigned (after a rebalance) and the live themes loaded."""

    themes_ready: asyncio.Event
    assigned: bool = False
    partitions: set[TopicPartition] = field(default_factory=set)

    def report(self) -> tuple[bool, dict[str, Any]]:
        themes = self.themes_ready.is_set()
        ready = self.assigned and themes
        return ready, {
            "status": "ready" if ready else "starting",
            "partitions_assigned": self.assigned,
            "partitions": sorted(f"{tp.topic}:{tp.partition}" for tp in self.partitions),
            "themes_loaded": themes,
        }


def install(app: faust.App, *, raw_topic: str, themes_ready: asyncio.Event, metrics: WorkerMetrics = METRICS) -> Health:
    """Register ``/metrics`` and ``/health`` on the app's web server and follow its rebalances."""
    health = Health(themes_ready)

    async def _revoked(sender: Any, revoked: set[Any], **_: Any) -> None:  # a rebalance began
        health.assigned = False
        metrics.ready.set(0)

    async def _assigned(sender: Any, assigned: set[Any], **_: Any) -> None:
        health.partitions = {TopicPartition(tp.topic, tp.partition) for tp in assigned if tp.topic == raw_topic}
        health.assigned = True
        metrics.ready.set(1 if health.report()[0] else 0)

    signals: Any = app  # Faust's signal types do not admit keyword-only receivers
    signals.on_partitions_revoked.connect(_revoked)
    signals.on_partitions_assigned.connect(_assigned)

    async def read_lag() -> None:
        tps = sorted(health.partitions)
        if not tps:
            return
        bootstrap = bootstrap_of(app)
        ends = await end_offsets(bootstrap, [raw_topic])
        committed = await committed_offsets(bootstrap, app.conf.id, tps)
        metrics.lag.clear()
        for tp in tps:
            end = ends.get(tp, 0)
            metrics.lag.labels(tp.topic, str(tp.partition)).set(max(0, end - (committed.get(tp) or 0)))

    @app.page("/metrics")
    class MetricsView(faust.web.View):
        async def get(self, request: Any) -> Any:
            try:
                await asyncio.wait_for(read_lag(), LAG_TIMEOUT)
            except Exception as exc:  # a slow or failing broker must not break the scrape
                log.debug("consumer lag not read: %s", exc)
            metrics.ready.set(1 if health.report()[0] else 0)
            return self.bytes(generate_latest(metrics.registry), content_type=CONTENT_TYPE_LATEST.split(";")[0])

    @app.page("/health")
    class HealthView(faust.web.View):
        async def get(self, request: Any) -> Any:
            ready, body = health.report()
            return self.json(body, status=200 if ready else 503)

    return health
