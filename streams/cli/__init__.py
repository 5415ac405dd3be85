"""The ``newsmon`` command line: one click group, one module per subcommand."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import click

from streams import __version__
from streams.settings import SettingsError, get_settings

#: Exit codes shared by every command (docs/configuration.md, README).
EXIT_KAFKA = 1  # no broker, an unreachable cluster or a Kafka error
EXIT_USAGE = 2  # a bad option, argument, input file or setting

PREFIX = "newsmon: error: "


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``newsmon: error: message`` to stderr and exit non-zero."""
    click.echo(PREFIX + message, err=True)
    sys.exit(code)


def show_error(exc: click.ClickException) -> None:
    """Click's errors with newsmon's prefix; usage errors keep click's usage and help hint."""
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):
        exc.show()
        return
    if isinstance(exc, click.UsageError) and exc.ctx is not None:
        click.echo(exc.ctx.get_usage(), err=True, color=exc.ctx.color)
        if exc.ctx.command.get_help_option(exc.ctx) is not None:
            click.echo(f"Try '{exc.ctx.command_path} {exc.ctx.help_option_names[0]}' for help.", err=True)
    click.echo(PREFIX + exc.format_message(), err=True)


class NewsmonGroup(click.Group):
    """The ``newsmon`` group: every error line, click's own included, starts with ``newsmon: error:``."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:
            show_error(exc)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)


@click.group(cls=NewsmonGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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

    \b
    Exit status of every command: 0 done, 1 no broker, an unreachable cluster
    (waiting at most NEWSMON_KAFKA_CONNECT_TIMEOUT seconds) or a Kafka error,
    2 a bad option, input or setting (one line per bad variable).
    Some commands add codes of their own (see their --help).
    """
    try:
        settings = get_settings()
    except SettingsError as exc:
        for line in exc.lines:
            click.echo(PREFIX + line, err=True)
        sys.exit(EXIT_USAGE)
    logging.basicConfig(
        level=settings.log_level,
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

    from streams.cli import feeds

    main.add_command(feeds.feeds)

    from streams.cli import dashboard

    main.add_command(dashboard.dashboard)

    from streams.cli import deliver

    main.add_command(deliver.deliver)


_register()
