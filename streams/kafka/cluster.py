"""Which Kafka cluster a command talks to: ``KAFKA_BOOTSTRAP_SERVERS``, else the running embedded broker."""

from __future__ import annotations

from streams.kafka.embedded import BrokerError, EmbeddedBroker
from streams.settings import Settings

__all__ = ["BrokerError", "bootstrap_servers"]


def bootstrap_servers(settings: Settings) -> str:
    """The cluster every command talks to: KAFKA_BOOTSTRAP_SERVERS, else the running embedded broker."""
    if settings.kafka_bootstrap_servers:
        return settings.kafka_bootstrap_servers
    status = EmbeddedBroker(settings).status()
    if status.running and status.address:
        return status.address
    raise BrokerError("No Kafka broker: run `newsmon broker start` (embedded broker) or set KAFKA_BOOTSTRAP_SERVERS.")
