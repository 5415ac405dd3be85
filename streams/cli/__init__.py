"""The ``newsmon`` command line: one click group, one module per subcommand."""

from __future__ import annotations

import logging
import sys
from typing import NoReturn

import click

from streams import __version__
from streams.settings import get_settings


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``newsmon: error: message`` to stderr and exit non-zero."""
    click.echo(f"newsmon: error: {message}", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="newsmon")
def main() -> None:
    """newsmon: an event-streaming news monitor on Apache Kafka.

    Articles go onto the topic news.articles.raw; the worker detects each
    article's language, tags it with tracked themes and emits alert events on
    news.alerts, which any Kafka client can read.

    \b
    Quick start (embedded broker, no Docker):
      newsmon demo                    broker + worker + seed replay, prints alerts
    Step by step:
      newsmon broker start            start the embedded Kafka broker
      newsmon worker                  run the stream agents
      newsmon replay seeds/           publish the seed articles
      newsmon alerts --follow         print alerts as they arrive

    Set KAFKA_BOOTSTRAP_SERVERS to use an existing cluster instead of the
    embedded broker. Every environment variable is listed in the README.
    """
    logging.basicConfig(
        level=get_settings().log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # aiokafka logs every subscription change at INFO; only its warnings are news to a CLI user.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, logging.getLogger().level))


def _register() -> None:
    from streams.cli import alerts, broker, demo, replay, worker

    main.add_command(broker.broker)
    main.add_command(worker.worker)
    main.add_command(alerts.alerts)
    main.add_command(demo.demo)
    main.add_command(replay.replay)

    from streams.cli import classify, themes

    main.add_command(themes.themes)
    main.add_command(classify.classify)

    from streams.cli import bench

    main.add_command(bench.bench)


_register()
