"""``newsmon alerts``."""

from __future__ import annotations

import asyncio
import sys

import click

from agents.alerting import format_alert_line
from agents.delivery import KIND_PATTERN
from agents.text import json_for_terminal
from streams.cli import EXIT_KAFKA, fail
from streams.kafka.cluster import BrokerError, require_reachable
from streams.kafka.topics import ALERTS, topic_name
from streams.settings import get_settings


def check_kinds(_ctx: click.Context, _param: click.Parameter, kinds: tuple[str, ...]) -> tuple[str, ...]:
    """``--kind`` values: lower-case letters, digits and ``_`` (the ``<kind>`` of ``io.newsmon.alert.<kind>.v1``)."""
    for kind in kinds:
        if not KIND_PATTERN.match(kind):
            raise click.BadParameter(f"{kind!r} is not an alert kind (lower-case letters, digits and _ only)")
    return kinds


@click.command()
@click.option("--theme", "themes", multiple=True, metavar="ID", help="Only this theme id (repeatable).")
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    metavar="K",
    callback=check_kinds,
    help="Only this alert kind, data.kind, e.g. new_story (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="Print each alert as its raw CloudEvents JSON line.")
@click.option(
    "--from-beginning",
    is_flag=True,
    help="With --follow: start at the oldest retained alert. Without --follow every retained alert "
    "is read anyway, so it changes nothing.",
)
@click.option("--follow", "-f", is_flag=True, help="Keep running and print alerts as they arrive.")
@click.option("--topic", default=None, hidden=True, help="Read another topic (tests).")
def alerts(
    themes: tuple[str, ...],
    kinds: tuple[str, ...],
    as_json: bool,
    from_beginning: bool,
    follow: bool,
    topic: str | None,
) -> None:
    """Print alerts from news.alerts, one line each (or raw JSON with --json).

    \b
    newsmon alerts                      every retained alert, then exit
    newsmon alerts --follow             new alerts as they arrive (Ctrl-C stops)
    newsmon alerts -f --from-beginning  all retained alerts, then keep following
    newsmon alerts --theme greenland --json | jq .data.title
    newsmon alerts --kind new_story --theme nato-article-5

    Without --follow it reads everything retained and exits (so --from-beginning
    is implied). --theme and --kind combine: an alert must match both when
    both are given; several values of one option are alternatives.
    Redelivered alerts (same alert id) are printed once. Any Kafka
    client can read the same topic, e.g. `kcat -b ADDRESS -C -t news.alerts`.

    Exit status: 0 done, 1 no broker, an unreachable cluster, a missing topic
    or a Kafka error, 2 bad options or settings.
    """
    from aiokafka.errors import KafkaError

    settings = get_settings()
    try:
        bootstrap = require_reachable(settings)
    except BrokerError as exc:
        fail(str(exc), EXIT_KAFKA)
    name = topic or topic_name(settings, ALERTS)

    async def run() -> int:
        count = 0
        async for event, _raw in subscribe(
            bootstrap, name, themes=themes, kinds=kinds, from_beginning=from_beginning or not follow, follow=follow
        ):
            click.echo(json_for_terminal(event, sort_keys=True) if as_json else format_alert_line(event))
            sys.stdout.flush()
            count += 1
        return count

    from streams.sinks.alerts import subscribe

    try:
        count = asyncio.run(run())
    except KeyboardInterrupt:
        return
    except LookupError as exc:
        fail(str(exc), EXIT_KAFKA)
    except KafkaError as exc:
        fail(f"Kafka error reading {name} on {bootstrap}: {exc}", EXIT_KAFKA)
    if not follow:
        click.echo(f"{count} alert(s)", err=True)
