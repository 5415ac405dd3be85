"""``newsmon replay PATH...``: publish seed articles to the raw-articles topic."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import click
from aiokafka.errors import KafkaConnectionError, KafkaError, UnknownTopicOrPartitionError
from tqdm import tqdm

from agents.seeds import SeedFileError
from agents.text import escape_controls
from streams.cli import fail
from streams.cli.signals import stop_on_signals
from streams.kafka.cluster import BrokerError, require_reachable
from streams.kafka.topics import RAW, TopicSpec, specs, topic_name
from streams.settings import check_bootstrap, get_settings
from streams.sources.replay import Record, ReplayError, ReplayStats, discover, load, schedule, to_record, utc_timestamp
from streams.sources.replay import replay as run_replay

EXIT_INPUT = 2  # a bad file, path or option: nothing was published
EXIT_KAFKA = 1  # no broker, a missing topic or a Kafka error
EXIT_INTERRUPTED = 130  # Ctrl-C: what was sent has been flushed and counted


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--rate",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Articles per second (a fixed schedule); 0 sends as fast as possible.",
)
@click.option("--loop", is_flag=True, help="Repeat the input until interrupted (or until --count articles).")
@click.option(
    "--count",
    type=click.IntRange(min=1),
    default=None,
    help="Stop after this many articles in all (with or without --loop).",
)
@click.option(
    "--topic", default=None, help="Topic to publish to. [default: news.articles.raw, with NEWSMON_TOPIC_PREFIX]"
)
@click.option(
    "--bootstrap-servers",
    default=None,
    metavar="HOST:PORT[,...]",
    help="Kafka cluster. [default: KAFKA_BOOTSTRAP_SERVERS, else the running embedded broker]",
)
@click.option(
    "--create-topics", is_flag=True, help="Create newsmon's topics (and --topic) first when they do not exist."
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar (it is also off when stderr is not a terminal).")
def replay(
    paths: tuple[Path, ...],
    rate: float,
    loop: bool,
    count: int | None,
    topic: str | None,
    bootstrap_servers: str | None,
    create_topics: bool,
    quiet: bool,
) -> None:
    """Publish seed articles to news.articles.raw, keyed by article id.

    PATH is a file or a directory; a directory contributes its *.txt and *.jsonl
    files in name order (not recursively; other files are skipped with a note).
    Files are UTF-8.

    \b
    *.txt    one article: the first non-empty line is the title, the rest the
             body. A line "Original: <url>" gives the article's URL (and is
             removed from the body); a header line such as
             "Published on: Dec 6, 2025" gives its date.
    *.jsonl  one raw article per line, a JSON object with at least "title"
             and "body" (also: "url", "source", "published_at", "id", ...;
             see docs/replay.md). Blank lines are skipped.

    Every file is read and checked before anything is published: a bad file
    stops the replay with its name and line number. Ids are stable, so
    replaying the same seed twice gives the same keys.

    \b
    Examples:
      newsmon replay seeds/
      newsmon replay --create-topics seeds/ extra/articles.jsonl
      newsmon replay --loop --rate 50 seeds/          until Ctrl-C
      newsmon replay --loop --count 100000 -q seeds/  load test

    Prints "published N articles (M files) to TOPIC in X.Xs" on stdout.
    Exit status: 0 done, 2 bad input (nothing published), 1 no broker or a
    Kafka error, 130 interrupted (what was sent is flushed first).
    """
    settings = get_settings()
    target = topic or topic_name(settings, RAW)

    def note(message: str) -> None:
        click.echo(f"newsmon: {escape_controls(message)}", err=True)

    try:
        files = discover(paths, note=note)
        sources = load(files, fetched_at=utc_timestamp())
    except SeedFileError as exc:
        fail(escape_controls(str(exc)), EXIT_INPUT)
    records = [to_record(article) for source in sources for article in source.articles]

    if bootstrap_servers is not None:
        try:
            bootstrap_servers = check_bootstrap(bootstrap_servers)
        except ValueError as exc:
            fail(f"--bootstrap-servers {bootstrap_servers!r}: {exc}", EXIT_INPUT)
    try:
        bootstrap_servers = require_reachable(settings, bootstrap_servers)
    except BrokerError as exc:
        fail(str(exc), EXIT_KAFKA)

    create: list[TopicSpec] = []
    if create_topics:
        create = specs(settings)
        if target not in {spec.name for spec in create}:
            raw = next(spec for spec in create if spec.name == topic_name(settings, RAW))
            create.append(TopicSpec(target, raw.partitions, dict(raw.config), raw.description))

    total = count if count is not None else (None if loop else len(records))
    progress = tqdm(
        total=total, unit="article", file=sys.stderr, disable=quiet or not sys.stderr.isatty(), dynamic_ncols=True
    )
    try:
        stats = asyncio.run(
            _replay_until_signal(
                bootstrap_servers,
                target,
                schedule(records, loop=loop, count=count),
                rate=rate,
                create=create,
                replication_factor=settings.replication_factor,
                on_published=progress.update,
            )
        )
    except ReplayError as exc:
        fail(str(exc), EXIT_KAFKA)
    except UnknownTopicOrPartitionError:
        fail(f"topic {target!r} does not exist on {bootstrap_servers} (see --create-topics)", EXIT_KAFKA)
    except KafkaConnectionError as exc:
        fail(f"cannot reach Kafka at {bootstrap_servers} ({exc}); is the broker running?", EXIT_KAFKA)
    except KafkaError as exc:
        fail(f"Kafka error talking to {bootstrap_servers}: {exc}", EXIT_KAFKA)
    finally:
        progress.close()

    click.echo(f"published {stats.published} articles ({len(sources)} files) to {target} in {stats.seconds:.1f}s")
    if stats.interrupted:
        note("interrupted; every article sent before the interrupt was acknowledged")
        sys.exit(EXIT_INTERRUPTED)


async def _replay_until_signal(
    bootstrap: str,
    topic: str,
    records: Iterator[Record],
    *,
    rate: float,
    create: list[TopicSpec],
    replication_factor: int,
    on_published: Callable[[int], object],
) -> ReplayStats:
    stop = asyncio.Event()
    with stop_on_signals(stop):
        return await run_replay(
            bootstrap,
            topic,
            records,
            rate=rate,
            create=create,
            replication_factor=replication_factor,
            stop=stop,
            on_published=on_published,
        )
