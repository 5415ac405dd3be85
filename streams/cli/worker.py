"""``newsmon worker``."""

from __future__ import annotations

import click

from streams.kafka.cluster import BrokerError, bootstrap_servers
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
    help="Serve Faust's web views on NEWSMON_WEB_BIND:NEWSMON_WEB_PORT.",
)
def worker(app_id: str, web: bool) -> None:
    """Run the stream agents until SIGTERM or Ctrl-C.

    \b
    On start it
      1. validates the theme file (NEWSMON_THEMES_FILE) and refuses to start on errors,
      2. creates the topics it needs (news.articles.raw, news.articles.tagged,
         news.alerts, news.dlq, news.themes) when they are missing,
      3. seeds news.themes from the theme file when that topic is empty,
    then reads news.articles.raw: language, themes, alerts. One log line per alert.
    Run several workers with the same --app-id to share the partitions.

    Uses KAFKA_BOOTSTRAP_SERVERS, else the embedded broker (`newsmon broker start`).
    """
    from agents.themes import ThemeFileError
    from streams.pipeline import worker as worker_module

    settings = get_settings()
    try:
        bootstrap = bootstrap_servers(settings)
        worker_module.run(settings, bootstrap, app_id=app_id, web=web)
    except (BrokerError, ThemeFileError) as exc:
        raise click.ClickException(str(exc)) from exc
