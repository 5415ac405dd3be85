"""``newsmon worker``."""

from __future__ import annotations

import click

from streams.cli import EXIT_KAFKA, fail
from streams.kafka.cluster import BrokerError, require_reachable
from streams.settings import get_settings


@click.command()
@click.option(
    "--app-id",
    default="newsmon",
    show_default=True,
    help="Faust app id: the consumer group and the prefix of the worker's changelog topics. "
    "Workers with the same id share the work; a new id starts with empty state.",
)
@click.option(
    "--web/--no-web",
    default=True,
    show_default=True,
    help="Serve Faust's web views on NEWSMON_WEB_BIND:NEWSMON_WEB_PORT (+ slot with --processes).",
)
@click.option(
    "--processes",
    "-p",
    type=click.IntRange(min=1, max=64),
    default=1,
    show_default=True,
    help="Run this many worker processes under one supervisor (restarts a crashed one; "
    "more processes than raw partitions leaves the extra ones idle).",
)
@click.option(
    "--slot",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Tells apart workers of one --app-id on one machine: each slot keeps its table state "
    "in its own directory. Set by --processes; give it by hand when you start several yourself.",
)
def worker(app_id: str, web: bool, processes: int, slot: int) -> None:
    """Run the stream agents until SIGTERM or Ctrl-C.

    \b
    On start it
      1. validates the theme file (NEWSMON_THEMES_FILE) and refuses to start on errors,
      2. creates the topics it needs (news.articles.raw, news.articles.tagged,
         news.alerts, news.dlq, news.themes) when they are missing,
      3. seeds news.themes from the theme file when that topic is empty,
    then reads news.articles.raw: language, themes, alerts. One log line per alert.

    \b
    Scale-out: workers with the same --app-id form one Kafka consumer group and share
    the raw topic's partitions (NEWSMON_RAW_PARTITIONS, 6 by default), on one machine
    or many. A worker that dies hands its partitions to the others after 15 s.
      newsmon worker --processes 2           two processes on this machine
      newsmon worker --slot 1 --no-web       a second worker started by hand

    Uses KAFKA_BOOTSTRAP_SERVERS, else the embedded broker (`newsmon broker start`).
    Exit status: 0 stopped by a signal, 1 no broker, an unreachable cluster or a
    Kafka error while preparing topics, 2 an invalid theme file or setting.
    """
    from aiokafka.errors import KafkaError

    from agents.themes import ThemeFileError, load_theme_file
    from streams.pipeline import worker as worker_module

    settings = get_settings()
    try:
        bootstrap = require_reachable(settings)
        if processes > 1:
            from streams.pipeline.supervisor import supervise

            load_theme_file(settings.themes_file)  # refuse at once, not once per child
            raise SystemExit(supervise(processes, app_id=app_id, web=web, web_port=settings.worker_web_port))
        worker_module.run(settings, bootstrap, app_id=app_id, web=web, slot=slot)
    except ThemeFileError as exc:
        fail(str(exc))
    except BrokerError as exc:
        fail(str(exc), EXIT_KAFKA)
    except KafkaError as exc:
        fail(f"Kafka error preparing the worker's topics: {exc}", EXIT_KAFKA)
