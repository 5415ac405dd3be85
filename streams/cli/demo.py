"""``newsmon demo``."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import click

from agents.records import RawArticle
from streams.cli import EXIT_KAFKA, fail
from streams.settings import REPO_ROOT, get_settings


async def _publish(bootstrap: str, topic: str, articles: Sequence[RawArticle]) -> None:
    from streams.kafka.producer import make_producer
    from streams.sources.replay import publish, to_record

    async with make_producer(bootstrap) as producer:
        await publish(producer, topic, [to_record(a) for a in articles])


def _read_seeds(paths: Sequence[Path]) -> list[RawArticle]:
    from agents.seeds import SeedFileError
    from streams.sources.replay import discover, load, utc_timestamp

    try:
        sources = load(discover(paths), fetched_at=utc_timestamp())
    except SeedFileError as exc:
        fail(str(exc))  # names file and line
    return [article for source in sources for article in source.articles]


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait for the replay to be processed.")
@click.option("--keep-broker", is_flag=True, help="Leave the embedded broker running if the demo started it.")
def demo(paths: tuple[Path, ...], timeout: float, keep_broker: bool) -> None:
    """Run the whole monitor once on the seed articles and print the alerts.

    \b
    1. starts the embedded Kafka broker if none runs (unless KAFKA_BOOTSTRAP_SERVERS is set),
    2. creates the topics and seeds the themes topic on first use,
    3. starts `newsmon worker` in a subprocess,
    4. replays PATHS (default: the repository's seeds/) onto news.articles.raw,
    5. prints each alert as it arrives on news.alerts,
    6. once every article is processed, prints a summary and stops what it started.

    Alerts are de-duplicated per (theme, article): replaying the same seeds again
    emits no new alerts; the demo then lists the earlier ones as such.
    Exit code 0 when every article was processed, 1 otherwise (also when no
    broker starts or the cluster does not answer), 2 for bad input or settings.
    """
    from aiokafka.errors import KafkaError

    from streams.demo import run_demo
    from streams.kafka.cluster import require_reachable
    from streams.kafka.embedded import BrokerError, EmbeddedBroker
    from streams.kafka.topics import RAW, topic_name

    settings = get_settings()
    articles = _read_seeds(list(paths) or [REPO_ROOT / "seeds"])
    if not articles:
        fail("no articles to replay (.txt or .jsonl files)")

    def say(message: str) -> None:
        click.echo(message)

    embedded = EmbeddedBroker(settings, say=lambda m: click.echo(m, err=True))
    started_broker = False
    if settings.kafka_bootstrap_servers:
        try:
            bootstrap = require_reachable(settings)
        except BrokerError as exc:
            fail(str(exc), EXIT_KAFKA)
        say(f"using the cluster at {bootstrap} (KAFKA_BOOTSTRAP_SERVERS)")
    else:
        try:
            started_broker = not embedded.status().running
            say("starting the embedded Kafka broker..." if started_broker else "using the running embedded broker")
            bootstrap = embedded.start()
        except BrokerError as exc:
            fail(str(exc), EXIT_KAFKA)
    raw_topic = topic_name(settings, RAW)
    try:
        summary = asyncio.run(
            run_demo(
                settings,
                bootstrap,
                articles,
                publish=lambda b, arts: _publish(b, raw_topic, arts),
                say=say,
                timeout=timeout,
            )
        )
    except (TimeoutError, RuntimeError, KafkaError) as exc:
        fail(f"{exc} (worker log: {settings.state_dir / 'demo-worker.log'})", EXIT_KAFKA)
    finally:
        if started_broker and not keep_broker:
            embedded.stop(kill=True)
            say("embedded broker stopped")
    click.echo("--- summary ---")
    for line in summary.lines():
        click.echo(line)
    if summary.processed + summary.dead_lettered < summary.articles:
        raise SystemExit(1)
