"""``newsmon deliver webhook``: alerts from news.alerts to an HTTP endpoint."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import click

from agents.delivery import AlertFilter, RetryPolicy, check_url, redact_url
from streams.cli import EXIT_KAFKA, fail
from streams.cli.alerts import check_kinds
from streams.cli.signals import stop_on_signals
from streams.kafka.cluster import BrokerError, require_reachable
from streams.kafka.topics import ALERTS, ALERTS_UNDELIVERED, specs, topic_name
from streams.settings import get_settings


@click.group()
def deliver() -> None:
    """Deliver alerts from news.alerts to other systems.

    \b
    newsmon deliver webhook --url URL --secret-file F   POST each alert to URL
    """


def default_group(prefix: str, url: str) -> str:
    """``<prefix>newsmon-webhook-<host>-<8 hex of the URL>``: one group per endpoint."""
    host = urlsplit(url).hostname or "host"
    return f"{prefix}newsmon-webhook-{host}-{hashlib.sha256(url.encode()).hexdigest()[:8]}"


@deliver.command()
@click.option("--url", required=True, metavar="URL", help="Endpoint to POST each alert to (http:// or https://).")
@click.option(
    "--secret-file",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="File holding the HMAC-SHA256 signing secret (not readable by other users: chmod 600).",
)
@click.option("--theme", "themes", multiple=True, metavar="ID", help="Only this theme id (repeatable).")
@click.option(
    "--kind", "kinds", multiple=True, metavar="K", callback=check_kinds, help="Only this alert kind (repeatable)."
)
@click.option(
    "--group",
    default=None,
    metavar="NAME",
    help="Consumer group (its committed offsets are the sink's progress). "
    "[default: <topic prefix>newsmon-webhook-<host>-<hash of the URL>]",
)
@click.option(
    "--start",
    type=click.Choice(["earliest", "latest"]),
    default="earliest",
    show_default=True,
    help="Where a group with no committed offsets starts: every retained alert, or only new ones.",
)
@click.option(
    "--max-attempts",
    type=click.IntRange(min=1, max=100),
    default=8,
    show_default=True,
    help="POSTs per alert before it goes to news.alerts.undelivered.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1, max=600),
    default=10.0,
    show_default=True,
    help="Seconds for one POST, connection to last byte.",
)
@click.option(
    "--backoff",
    type=click.FloatRange(min=0.001, max=600),
    default=1.0,
    show_default=True,
    help="Seconds of the first retry delay; it doubles per attempt, with jitter (x0.5 to x1).",
)
@click.option(
    "--backoff-max",
    type=click.FloatRange(min=0.001, max=3600),
    default=60.0,
    show_default=True,
    help="Longest retry delay in seconds.",
)
@click.option(
    "--max-retry-after",
    type=click.FloatRange(min=0, max=3600),
    default=300.0,
    show_default=True,
    help="Longest Retry-After (of a 429 or 503) honoured, in seconds.",
)
def webhook(
    url: str,
    secret_file: Path,
    themes: tuple[str, ...],
    kinds: tuple[str, ...],
    group: str | None,
    start: Literal["earliest", "latest"],
    max_attempts: int,
    timeout: float,
    backoff: float,
    backoff_max: float,
    max_retry_after: float,
) -> None:
    """POST each alert on news.alerts to URL, signed, until it is accepted.

    \b
    newsmon deliver webhook --url https://hooks.example.org/newsmon --secret-file ~/.newsmon-hook
    newsmon deliver webhook --url http://127.0.0.1:8080/in --secret-file s --theme greenland --kind new_story

    Each alert is one POST of its CloudEvents JSON (Content-Type
    application/cloudevents+json) with the headers Newsmon-Signature
    (t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">) and Idempotency-Key
    (the alert id). A 2xx answer delivers it. 5xx, 408, 429 (Retry-After is
    honoured), timeouts and connection errors are retried with exponential
    backoff and jitter; after --max-attempts POSTs, or at once on any other
    answer, the alert goes to news.alerts.undelivered with the reason.

    Progress is the consumer group's committed offsets, committed per partition
    only after a 2xx or an undelivered record: a restarted sink resumes where
    it left off and never skips an alert. Delivery is at-least-once: receivers
    de-duplicate on Idempotency-Key. SIGTERM or Ctrl-C stops after the POST in
    flight (an alert waiting for a retry is left for the next run); a second one
    stops at once, leaving the alert in flight uncommitted.

    Exit status: 0 stopped, 1 no broker, an unreachable cluster, a missing
    topic or a Kafka error, 2 bad options, secret file or settings.
    """
    from aiokafka.errors import KafkaError

    from streams.sinks.webhook import SecretFileError, WebhookSink, WebhookTarget, load_secret

    problem = check_url(url)
    if problem:
        fail(f"--url: {problem}")
    if backoff_max < backoff:
        fail("--backoff-max must not be less than --backoff")
    try:
        secret = load_secret(secret_file)
    except SecretFileError as exc:
        fail(str(exc))
    settings = get_settings()
    try:
        bootstrap = require_reachable(settings)
    except BrokerError as exc:
        fail(str(exc), EXIT_KAFKA)
    source = topic_name(settings, ALERTS)
    undelivered = next(s for s in specs(settings) if s.name == topic_name(settings, ALERTS_UNDELIVERED))
    group_id = group or default_group(settings.topic_prefix, url)
    sink = WebhookSink(
        bootstrap=bootstrap,
        topic=source,
        undelivered=undelivered,
        group=group_id,
        target=WebhookTarget(url=url, secret=secret, timeout=timeout, connect_timeout=min(timeout, 5.0)),
        policy=RetryPolicy(max_attempts=max_attempts, base=backoff, cap=backoff_max, max_retry_after=max_retry_after),
        filter=AlertFilter.of(themes, kinds),
        start=start,
        replication_factor=settings.replication_factor,
    )
    click.echo(
        f"delivering {source} to {redact_url(url)} (group {group_id}); undelivered alerts go to {undelivered.name}",
        err=True,
    )

    async def run() -> None:
        stop = asyncio.Event()
        with stop_on_signals(stop):
            await sink.run(stop)

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
    except LookupError as exc:
        fail(str(exc), EXIT_KAFKA)
    except KafkaError as exc:
        fail(f"Kafka error delivering {source} on {bootstrap}: {exc}", EXIT_KAFKA)
    stats = sink.stats
    click.echo(
        f"stopped: {stats.delivered} delivered, {stats.undelivered} undelivered, "
        f"{stats.skipped} filtered out, {stats.repeats} repeated ids skipped",
        err=True,
    )
