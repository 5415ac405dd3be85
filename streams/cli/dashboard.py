"""``newsmon dashboard``."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import click

from streams.cli import EXIT_KAFKA, fail
from streams.kafka.cluster import BrokerError, require_reachable
from streams.settings import get_settings


@click.command()
@click.option(
    "--port", type=click.IntRange(1, 65535), default=None, help="Port (default NEWSMON_DASHBOARD_PORT, 6068)."
)
@click.option("--bind", default=None, help="Address to bind (default NEWSMON_WEB_BIND, 127.0.0.1).")
def dashboard(port: int | None, bind: str | None) -> None:
    """Serve the live dashboard until Ctrl-C or SIGTERM.

    \b
    A page with the alerts as they arrive (server-sent events, newest first), alerts
    per theme per hour over the last 24 hours, a story view with each article's matched
    evidence highlighted, the themes with their rules, and feed health. It reads
    news.alerts, news.articles.tagged, news.themes and news.feeds.status from the
    beginning and follows them; it writes nothing. Loopback unless --bind or
    NEWSMON_WEB_BIND says otherwise; no asset comes from another host.

    \b
      newsmon dashboard                      http://127.0.0.1:6068/
      newsmon dashboard --port 8080

    /health answers 200 once the topics have been read up to where they were at start.
    Exit status: 0 stopped by a signal, 1 no broker or an unreachable cluster,
    2 a bad setting or an address that cannot be bound.
    """
    from streams.sinks.dashboard.server import Dashboard, make_app, topics_of
    from streams.web import BindError, serve

    settings = get_settings()
    try:
        bootstrap = require_reachable(settings)
    except BrokerError as exc:
        fail(str(exc), EXIT_KAFKA)
    host = bind or settings.worker_web_bind
    port_ = port or settings.dashboard_port

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        board = Dashboard(bootstrap, topics_of(settings))
        async with serve(make_app(board), host, port_):
            click.echo(f"newsmon: dashboard on http://{host}:{port_}/ (Ctrl-C stops)", err=True)
            await stop.wait()

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(main())
    except BindError as exc:
        fail(f"dashboard: {exc.strerror} (--port / NEWSMON_DASHBOARD_PORT)")
    click.echo("newsmon: stopped", err=True)
