"""``newsmon broker start|stop|status``."""

from __future__ import annotations

import click

from streams.cli import EXIT_KAFKA, fail
from streams.kafka.embedded import BrokerError, EmbeddedBroker
from streams.settings import get_settings


def _say(message: str) -> None:
    click.echo(message, err=True)


@click.group()
def broker() -> None:
    """Run the embedded Apache Kafka broker (single node, KRaft, loopback only).

    The broker's jars are resolved from Maven Central with Maven on first use
    and cached in NEWSMON_CACHE_DIR; its data, log and pid file live in
    NEWSMON_STATE_DIR/broker and survive stop/start. Needs Java 17+ and Maven.

    When KAFKA_BOOTSTRAP_SERVERS is set, newsmon uses that cluster and these
    commands do nothing.
    """


@broker.command()
def start() -> None:
    """Start the broker and wait until it answers a metadata request.

    Prints the bootstrap address as the last line of stdout, so scripts can
    capture it: ADDR=$(newsmon broker start | tail -n1). A second start
    returns the running broker's address. A restart reuses the previous port
    when it is free.
    """
    settings = get_settings()
    if settings.kafka_bootstrap_servers:
        _say(f"KAFKA_BOOTSTRAP_SERVERS is set: using {settings.kafka_bootstrap_servers}; no embedded broker started.")
        click.echo(settings.kafka_bootstrap_servers)
        return
    embedded = EmbeddedBroker(settings, say=_say)
    try:
        address = embedded.start()
    except BrokerError as exc:
        fail(str(exc), EXIT_KAFKA)
    _say(f"Kafka broker running (log: {embedded.log_file}).")
    click.echo(address)


@broker.command()
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait after SIGTERM.")
@click.option("--kill", is_flag=True, help="SIGKILL the broker if it has not stopped after --timeout.")
def stop(timeout: float, kill: bool) -> None:
    """Stop the broker cleanly (SIGTERM, then wait).

    Fails loudly, leaving the broker running, if it has not exited after
    --timeout seconds, unless --kill is given.
    """
    settings = get_settings()
    if settings.kafka_bootstrap_servers:
        _say("KAFKA_BOOTSTRAP_SERVERS is set: there is no embedded broker to stop.")
        return
    try:
        stopped = EmbeddedBroker(settings, say=_say).stop(timeout, kill=kill)
    except BrokerError as exc:
        fail(str(exc), EXIT_KAFKA)
    click.echo("broker stopped" if stopped else "broker was not running")


@broker.command()
def status() -> None:
    """Say whether the broker runs and where. Exits 1 when it does not run.

    With KAFKA_BOOTSTRAP_SERVERS set it asks that cluster for metadata instead
    (waiting at most NEWSMON_KAFKA_CONNECT_TIMEOUT seconds) and exits 1 when it
    does not answer.
    """
    from streams.kafka.cluster import require_reachable

    settings = get_settings()
    embedded = EmbeddedBroker(settings)
    state = embedded.status()
    if state.external:
        try:
            require_reachable(settings)
        except BrokerError as exc:
            fail(str(exc), EXIT_KAFKA)
        click.echo(f"external cluster (KAFKA_BOOTSTRAP_SERVERS): {state.address}, answering")
        return
    if state.running:
        click.echo(f"running pid={state.pid} address={state.address} state={embedded.home}")
        return
    where = f" (last address {state.address})" if state.address else ""
    click.echo(f"not running{where}; state={embedded.home}")
    raise SystemExit(1)
