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

import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka

from streams.kafka.limits import MAX_MESSAGE_BYTES
from streams.pipeline.delivery import FetchGuard, guard_delivery
from streams.settings import Settings

DEFAULT_APP_ID = "newsmon"
# Default partition count of news.articles.raw (NEWSMON_RAW_PARTITIONS); the worker uses the
# raw topic's actual count, which its table changelog must match.
PARTITIONS = 6


class IdempotentProducer(faust_aiokafka.Producer):
    """Faust's aiokafka producer, with acks from all in-sync replicas and idempotence always on.

    Stock faust-streaming only enables idempotence inside transactions; newsmon runs
    at-least-once (see docs/reliability.md) and wants broker-side de-duplication of
    producer retries everywhere.
    """

    def _settings_extra(self) -> Mapping[str, Any]:
        return {**super()._settings_extra(), "acks": "all", "enable_idempotence": True}


class GuardedConsumer(FetchGuard, faust_aiokafka.Consumer):
    """Faust's aiokafka consumer, without its silent drops of fetched records (streams.pipeline.delivery)."""


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


def worker_datadir(settings: Settings, app_id: str, slot: int = 0) -> Path:
    """Where one worker process keeps its tables (RocksDB); the changelog topics can rebuild it anywhere."""
    return settings.state_dir / "worker" / app_id / f"{socket.gethostname()}-{slot}"


def broker_urls(bootstrap: str) -> list[str]:
    """``"h1:9092,h2:9092"`` -> ``["kafka://h1:9092", "kafka://h2:9092"]``."""
    return [f"kafka://{part.strip()}" for part in bootstrap.split(",") if part.strip()]


def create_app(
    settings: Settings,
    bootstrap: str,
    *,
    app_id: str = DEFAULT_APP_ID,
    web_enabled: bool = True,
    partitions: int | None = None,
    slot: int = 0,
    **overrides: Any,
) -> NewsmonApp:
    """A configured, unwired app.  ``overrides`` are Faust settings (tests use ``store="memory://"``).

    ``partitions``: of the raw topic (default NEWSMON_RAW_PARTITIONS).  ``slot`` tells apart
    worker processes of one app id on one machine: each keeps its table state in its own
    directory, ``NEWSMON_STATE_DIR/worker/<app id>/<host>-<slot>``.
    """
    datadir = worker_datadir(settings, app_id, slot)
    datadir.parent.mkdir(parents=True, exist_ok=True)  # Faust creates only the last level
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
        "topic_partitions": partitions or settings.raw_partitions,
        "topic_replication_factor": settings.replication_factor,
        "topic_disable_leader": True,
        "topic_allow_declare": True,
        "producer_acks": -1,
        "producer_linger": 0.005,
        # Faust's 16 KiB batches send a produce request every few enriched or tagged records;
        # 256 KiB per partition cut the worker's CPU per article by about 8 % (docs/benchmarks.md).
        "producer_max_batch_size": 256 * 1024,
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
        "datadir": str(datadir),
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
