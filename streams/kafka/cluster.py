"""Which Kafka cluster a command talks to, and whether it answers.

``bootstrap_servers`` picks the address: ``KAFKA_BOOTSTRAP_SERVERS``, else the running
embedded broker.  ``require_reachable`` asks that address for metadata within
``NEWSMON_KAFKA_CONNECT_TIMEOUT`` seconds; every command that talks to Kafka calls it
first, so an unreachable cluster is one error line instead of a stack of client errors.
"""

from __future__ import annotations

import asyncio
import logging

from streams.kafka.embedded import BrokerError, EmbeddedBroker
from streams.settings import Settings

__all__ = ["BrokerError", "ClusterUnreachable", "bootstrap_servers", "check_reachable", "require_reachable"]


class ClusterUnreachable(BrokerError):
    """The cluster did not answer a metadata request in time."""


def bootstrap_servers(settings: Settings) -> str:
    """The cluster every command talks to: KAFKA_BOOTSTRAP_SERVERS, else the running embedded broker."""
    if settings.kafka_bootstrap_servers:
        return settings.kafka_bootstrap_servers
    status = EmbeddedBroker(settings).status()
    if status.running and status.address:
        return status.address
    raise BrokerError("No Kafka broker: run `newsmon broker start` (embedded broker) or set KAFKA_BOOTSTRAP_SERVERS.")


def _where(settings: Settings, bootstrap: str) -> str:
    if settings.kafka_bootstrap_servers and bootstrap == settings.kafka_bootstrap_servers:
        return "check that the cluster runs and that KAFKA_BOOTSTRAP_SERVERS is right"
    return "check `newsmon broker status` and the broker log in NEWSMON_STATE_DIR/broker"


async def check_reachable(settings: Settings, bootstrap: str) -> None:
    """Bootstrap a client against ``bootstrap`` and close it; ClusterUnreachable if that fails in time."""
    from aiokafka.client import AIOKafkaClient  # local import: the CLI starts fast without it
    from aiokafka.errors import KafkaError

    timeout = settings.kafka_connect_timeout
    client = AIOKafkaClient(
        bootstrap_servers=bootstrap, request_timeout_ms=max(1, int(timeout * 1000)), retry_backoff_ms=100
    )
    # aiokafka logs each failed connection at ERROR; the caller prints one line instead.
    quiet = logging.getLogger("aiokafka")
    previous, quiet.disabled = quiet.disabled, True
    problem: str | None = None
    try:
        await asyncio.wait_for(client.bootstrap(), timeout)
    except TimeoutError:
        problem = f"no answer within {timeout:g}s"
    except (KafkaError, OSError):
        problem = "no broker answered"
    finally:
        await client.close()
        quiet.disabled = previous
    if problem is not None:
        raise ClusterUnreachable(
            f"cannot reach Kafka at {bootstrap} ({problem}; NEWSMON_KAFKA_CONNECT_TIMEOUT={timeout:g}s): "
            f"{_where(settings, bootstrap)}"
        )


def require_reachable(settings: Settings, bootstrap: str | None = None) -> str:
    """The cluster's address once it has answered (a blocking call for commands outside an event loop)."""
    address = bootstrap or bootstrap_servers(settings)
    asyncio.run(check_reachable(settings, address))
    return address
