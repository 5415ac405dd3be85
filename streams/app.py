"""The Faust application: configuration that matches newsmon's delivery guarantee.

``create_app`` builds the app (nothing happens at import time); ``streams.pipeline``
wires the agents onto it.  Settings that matter for reliability live here, in one
place, and are documented in docs/reliability.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka

from streams.broker import MAX_MESSAGE_BYTES
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


class Transport(faust_aiokafka.Transport):
    Producer = IdempotentProducer


class NewsmonApp(faust.App):
    """A Faust app whose producers are idempotent (see :class:`IdempotentProducer`)."""

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
        "broker": broker_urls(bootstrap),
        # Values and keys are bytes: newsmon decodes them itself so that a bad value
        # becomes a dead-letter record instead of being dropped by a serializer.
        "key_serializer": "raw",
        "value_serializer": "raw",
        "store": "memory://",
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
        "stream_buffer_maxsize": 2048,
        "processing_guarantee": "at_least_once",
        "datadir": str(datadir / app_id),
        "web_enabled": web_enabled,
        "web_bind": settings.worker_web_bind,
        "web_port": settings.worker_web_port,
        "web_in_thread": False,
        "worker_redirect_stdouts": False,
        "table_standby_replicas": 0,
    }
    options.update(overrides)
    return NewsmonApp(app_id, **options)
