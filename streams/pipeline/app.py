"""The Faust application: configuration that matches newsmon's delivery guarantee.

``create_app`` builds the app (nothing happens at import time); ``streams.pipeline.wiring``
wires the agents onto it.  Settings that matter for reliability live here, in one
place, and are documented in docs/reliability.md.

Faust would also read settings from bare environment variables (``BROKER_SESSION_TIMEOUT``,
``WEB_PORT``, ``APP_ENV_PREFIX``, ...) and let them override these.  ``create_app`` gives it
an empty environment instead, so the values below and newsmon's settings are the whole
configuration; Faust's import-time ``FAUST_*`` variables are refused by ``streams.settings``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka

from streams.kafka.limits import MAX_MESSAGE_BYTES
from streams.settings import Settings

DEFAULT_APP_ID = "newsmon"
# Partition count of news.articles.raw; Faust table changelogs must match the source topic.
PARTITIONS = 6


class IdempotentProducer(faust_aiokafka.Producer):
    """Faust's aiokafka producer, with acks from all in-sync replicas and idempotence always on.

    Stock faust-streaming only enables idempotence inside transactions; newsmon runs
    at-least-once (see docs/reliability.md) and wants broker-side de-duplication of
    producer retries everywhere.
    """

    def _settings_extra(self) -> Mapping[str, Any]:
        return {**super()._settings_extra(), "acks": "all", "enable_idempotence": True}


class GuardedConsumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer, without its silent message drops.

    faust-streaming 0.15.3 loses fetched records in three places, each seen here on a
    worker restart under CPU load (tests/test_streams/test_pipeline_kafka.py):

    - ``getmany`` stops yielding a fetched batch when the flow is suspended (rebalance,
      recovery) or the generation changes, and the unyielded records are never fetched
      again: the consumer's position is already past them;
    - it skips records of partitions that are not active at that moment, likewise;
    - ``_drain_messages`` cancels a delivery that is waiting for the agent's queue when the
      flow is suspended, yet records the message as read and later commits past it.

    This subclass remembers the batch it fetched and, after yielding, seeks every
    partition back to its first record that was not delivered, so that record is
    fetched again.  Deliveries interrupted by a suspension are reported by
    :func:`guard_delivery`.  At-least-once: a record may be delivered twice, never zero times.
    """

    _fetched: Any = None
    _undelivered: dict[Any, int]

    def newsmon_undelivered(self, tp: Any, offset: int) -> None:
        pending = getattr(self, "_undelivered", None)
        if pending is None:
            pending = self._undelivered = {}
        pending[tp] = min(offset, pending.get(tp, offset))

    async def _wait_next_records(self, timeout: float) -> Any:
        records, active = await super()._wait_next_records(timeout)
        self._fetched = records
        return records, active

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[Any, Any]]:
        self._fetched = None
        delivered: dict[Any, int] = {}
        async for tp, message in super().getmany(timeout):
            delivered[tp] = message.offset
            yield tp, message
        rewind: dict[Any, int] = dict(getattr(self, "_undelivered", None) or {})
        self._undelivered = {}
        for tp, records in (self._fetched or {}).items():
            missed = [r.offset for r in records if r.offset > delivered.get(tp, -1)]
            if missed:
                rewind[tp] = min(min(missed), rewind.get(tp, min(missed)))
        self._fetched = None
        for tp, offset in rewind.items():
            _log.info("re-fetching %s[%s] from %s (not delivered)", tp.topic, tp.partition, offset)
            try:
                await self.seek(tp, offset)
            except Exception as exc:  # revoked meanwhile: its next owner starts at the committed offset
                _log.info("not re-fetching %s[%s]: %s", tp.topic, tp.partition, exc)


def guard_delivery(
    consumer: GuardedConsumer, deliver: Callable[[Any], Awaitable[Any]]
) -> Callable[[Any], Awaitable[Any]]:
    """Wrap the delivery callback: a delivery cancelled by a flow suspension is fetched again."""

    async def deliver_or_rewind(message: Any) -> Any:
        try:
            return await deliver(message)
        except asyncio.CancelledError:
            consumer.newsmon_undelivered(message.tp, message.offset)
            raise

    return deliver_or_rewind


_log = logging.getLogger("newsmon.consumer")


class Transport(faust_aiokafka.Transport):
    Producer = IdempotentProducer
    Consumer = GuardedConsumer


class NewsmonApp(faust.App):
    """A Faust app whose producers are idempotent and whose deliveries are never silently dropped."""

    def _new_consumer(self) -> Any:
        consumer: Any = super()._new_consumer()
        consumer.callback = guard_delivery(consumer, consumer.callback)
        return consumer

    def _new_transport(self) -> Transport:
        return Transport(self.conf.broker_consumer, self)

    def _new_producer_transport(self) -> Transport:
        return Transport(self.conf.broker_producer, self)


def broker_urls(bootstrap: str) -> list[str]:
    """``"h1:9092,h2:9092"`` -> ``["kafka://h1:9092", "kafka://h2:9092"]``."""
    return [f"kafka://{part.strip()}" for part in bootstrap.split(",") if part.strip()]


def create_app(
    settings: Settings,
    bootstrap: str,
    *,
    app_id: str = DEFAULT_APP_ID,
    web_enabled: bool = True,
    **overrides: Any,
) -> NewsmonApp:
    """A configured, unwired app.  ``overrides`` are Faust settings (tests use ``store="memory://"``)."""
    datadir = settings.state_dir / "worker"
    datadir.mkdir(parents=True, exist_ok=True)  # Faust creates only the last level
    options: dict[str, Any] = {
        # Faust reads no environment variable: everything it is configured with is here.
        "env": {},
        "broker": broker_urls(bootstrap),
        # Values and keys are bytes: newsmon decodes them itself so that a bad value
        # becomes a dead-letter record instead of being dropped by a serializer.
        "key_serializer": "raw",
        "value_serializer": "raw",
        # Table state on disk (RocksDB via rocksdict): memory stays flat however many
        # (theme, article) pairs have alerted; the changelog topic remains the source of truth.
        "store": "rocksdb://",
        "topic_partitions": PARTITIONS,
        "topic_replication_factor": settings.replication_factor,
        "topic_disable_leader": True,
        "topic_allow_declare": True,
        "producer_acks": -1,
        "producer_linger": 0.005,
        "producer_max_request_size": MAX_MESSAGE_BYTES,
        "consumer_max_fetch_size": MAX_MESSAGE_BYTES,
        "broker_max_poll_records": 500,
        "broker_commit_interval": 1.0,
        # A killed worker's partitions move to a live one after this many seconds without
        # heartbeats (Faust's default, 60 s, stalled a restarted worker for a minute).
        "broker_session_timeout": 15.0,
        "broker_heartbeat_interval": 3.0,
        "stream_buffer_maxsize": 2048,
        "processing_guarantee": "at_least_once",
        "datadir": str(datadir / app_id),
        "web_enabled": web_enabled,
        "web_bind": settings.worker_web_bind,
        "web_port": settings.worker_web_port,
        "web_transport": "tcp://",
        "web_in_thread": False,
        "worker_redirect_stdouts": False,
        "table_standby_replicas": 0,
    }
    options.update(overrides)
    return NewsmonApp(app_id, **options)
