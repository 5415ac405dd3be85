"""``newsmon feeds``: poll RSS/Atom feeds into news.articles.raw, show their health, manage the feeds file."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from aiokafka.errors import KafkaConnectionError, KafkaError

from agents.feeds.config import FeedsFileError, FeedSpec, load_feeds_file, merge_feeds, render_feeds_toml
from agents.feeds.opml import parse_opml
from agents.text import for_terminal
from streams.cli import fail
from streams.cli.signals import stop_on_signals
from streams.kafka.cluster import BrokerError
from streams.kafka.cluster import bootstrap_servers as resolve_bootstrap
from streams.kafka.consumers import MissingTopic, read_to_end
from streams.kafka.topics import FEEDS_STATUS, specs, topic_name
from streams.settings import Settings, get_settings
from streams.sources.feeds.poller import PollResult, PollSummary
from streams.sources.feeds.service import FeedTopics, fetch_limits, poll_feeds
from streams.web import BindError

EXIT_KAFKA = 1  # no broker or a Kafka error
EXIT_INPUT = 2  # a bad feeds file, OPML file or option
EXIT_INTERRUPTED = 130

_FEEDS_OPTION = click.option(
    "--feeds",
    "feeds_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Feeds file. [default: NEWSMON_FEEDS_FILE, else <repo>/feeds/feeds.toml]",
)
_BOOTSTRAP_OPTION = click.option(
    "--bootstrap-servers",
    default=None,
    metavar="HOST:PORT[,...]",
    help="Kafka cluster. [default: KAFKA_BOOTSTRAP_SERVERS, else the running embedded broker]",
)


@click.group()
def feeds() -> None:
    """Poll RSS/Atom feeds into news.articles.raw, politely and without duplicates.

    Feeds come from a TOML feeds file (one [[feed]] table per feed: url, name,
    lang, interval, tags, fetch_article; see docs/feeds.md). New entries become
    raw articles, exactly like replayed seeds, so the worker tags them and
    alerts on them. Every poll's outcome goes to news.feeds.status.

    \b
    Examples:
      newsmon feeds check                       validate the shipped feeds file
      newsmon feeds poll --once                 poll every feed once, then exit
      newsmon feeds run                         poll continuously (Ctrl-C stops)
      newsmon feeds status                      each feed's health, from news.feeds.status
      newsmon feeds import-opml export.opml     add a feed reader's subscriptions

    Conditional GET (ETag, Last-Modified), the seen-entry set and backoff state
    live on compacted Kafka topics, so a restart re-publishes nothing.
    """


def _specs(settings: Settings, feeds_file: Path | None) -> tuple[Path, list[FeedSpec]]:
    path = feeds_file or settings.feeds_file
    try:
        return path, load_feeds_file(path)
    except FeedsFileError as exc:
        fail(str(exc), EXIT_INPUT)


def _bootstrap(settings: Settings, given: str | None) -> str:
    if given:
        return given
    try:
        return resolve_bootstrap(settings)
    except BrokerError as exc:
        fail(str(exc), EXIT_KAFKA)


def _kafka_failure(exc: KafkaError, bootstrap: str) -> None:
    if isinstance(exc, KafkaConnectionError):
        fail(f"cannot reach Kafka at {bootstrap} ({exc}); is the broker running?", EXIT_KAFKA)
    fail(f"Kafka error talking to {bootstrap}: {exc}", EXIT_KAFKA)


def _result_line(result: PollResult) -> str:
    status = str(result.http_status) if result.http_status is not None else "-"
    detail = f"  {for_terminal(result.reason, 300)}" if result.reason else ""
    return (
        f"{result.outcome:<12} {status:>3}  {result.entries_published:>4} new / {result.entries_seen:<4} "
        f"{result.duration * 1000:7.0f} ms  {for_terminal(result.feed, 300)}{detail}"
    )


@feeds.command()
@click.option("--once", is_flag=True, help="Poll every feed once and exit (required: `feeds run` polls forever).")
@_FEEDS_OPTION
@_BOOTSTRAP_OPTION
@click.option("--quiet", "-q", is_flag=True, help="Only the summary line, no line per feed.")
def poll(once: bool, feeds_file: Path | None, bootstrap_servers: str | None, quiet: bool) -> None:
    """Poll every feed of the feeds file once, publish new entries, and exit.

    Feeds are fetched concurrently (NEWSMON_FEEDS_CONCURRENCY in all,
    NEWSMON_FEEDS_PER_HOST per host), each within its timeouts and size cap;
    a failing feed is reported and never stops the others. Missing topics are
    created first.

    \b
    Examples:
      newsmon feeds poll --once
      newsmon feeds poll --once --feeds my-feeds.toml -q

    Prints one line per feed (outcome, HTTP status, new/seen entries, time,
    URL, reason), then, as the last line, a JSON summary:
    {"feeds": N, "ok": N, "not_modified": N, "errors": N, "entries_seen": N, "entries_published": N}
    Exit status: 0 (also when some feeds failed: see "errors"), 1 Kafka
    error, 2 bad feeds file, 130 interrupted.
    """
    if not once:
        fail("`newsmon feeds poll` needs --once (use `newsmon feeds run` to poll continuously)", EXIT_INPUT)
    settings = get_settings()
    _, specs_ = _specs(settings, feeds_file)
    bootstrap = _bootstrap(settings, bootstrap_servers)
    try:
        results = asyncio.run(
            poll_feeds(
                bootstrap,
                specs_,
                topics=FeedTopics.of(settings),
                limits=fetch_limits(settings),
                create=specs(settings),
                replication_factor=settings.replication_factor,
            )
        )
    except KeyboardInterrupt:
        click.echo("newsmon: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except KafkaError as exc:
        _kafka_failure(exc, bootstrap)
    if not quiet:
        for result in results:
            click.echo(_result_line(result))
    click.echo(json.dumps(PollSummary.of(results).to_json(), sort_keys=False))


@feeds.command()
@_FEEDS_OPTION
@_BOOTSTRAP_OPTION
@click.option(
    "--web/--no-web",
    default=True,
    show_default=True,
    help="Serve /metrics (Prometheus) and /health on NEWSMON_WEB_BIND:NEWSMON_FEEDS_WEB_PORT.",
)
def run(feeds_file: Path | None, bootstrap_servers: str | None, web: bool) -> None:
    """Poll the feeds continuously, each on its own schedule, until Ctrl-C or SIGTERM.

    Each feed is polled every `interval` seconds (default 900), never more
    often than its own <ttl>/sy:updatePeriod asks, later after errors
    (exponential backoff with jitter) or when the server sends Retry-After.
    A 410 Gone feed is not polled again. One log line per poll goes to stderr.

    \b
    Examples:
      newsmon feeds run
      NEWSMON_FEEDS_CONTACT=ops@example.org newsmon feeds run --feeds my-feeds.toml

    The first Ctrl-C (or SIGTERM) stops cleanly: no new poll starts and the
    ones in flight get a few seconds to finish and publish.

    With --web (the default) it serves /metrics and /health on
    NEWSMON_WEB_BIND:NEWSMON_FEEDS_WEB_PORT (127.0.0.1:6067); /health answers 200
    once the state is loaded (docs/dashboard.md). A taken port is an error (exit 2).
    """
    settings = get_settings()
    path, specs_ = _specs(settings, feeds_file)
    bootstrap = _bootstrap(settings, bootstrap_servers)
    click.echo(f"newsmon: polling {len(specs_)} feeds from {path} (Ctrl-C stops)", err=True)

    async def main() -> None:
        stop = asyncio.Event()
        with stop_on_signals(stop):
            await poll_feeds(
                bootstrap,
                specs_,
                topics=FeedTopics.of(settings),
                limits=fetch_limits(settings),
                create=specs(settings),
                replication_factor=settings.replication_factor,
                stop=stop,
                web=(settings.worker_web_bind, settings.feeds_web_port) if web else None,
            )

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)
    except KafkaError as exc:
        _kafka_failure(exc, bootstrap)
    except BindError as exc:
        fail(f"/metrics server: {exc.strerror} (NEWSMON_FEEDS_WEB_PORT; --no-web to skip)")
    click.echo("newsmon: stopped", err=True)


def _latest_statuses(records: list[Any]) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    polls: dict[str, dict[str, Any]] = {}
    stale: dict[str, dict[str, Any]] = {}
    for record in records:
        if record.value is None:
            continue
        try:
            value = json.loads(record.value)
        except ValueError:
            continue
        if not isinstance(value, dict) or not isinstance(value.get("feed_url"), str):
            continue
        target = stale if value.get("kind") == "feed_stale" else polls
        target[value["feed_url"]] = value
    return polls, stale


def _ago(stamp: object, now: datetime) -> str:
    if not isinstance(stamp, str):
        return "-"
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return "-"
    seconds = (when - now).total_seconds()
    span = abs(seconds)
    text = f"{span:.0f}s" if span < 120 else f"{span / 60:.0f}m" if span < 7200 else f"{span / 3600:.1f}h"
    return f"in {text}" if seconds > 0 else f"{text} ago"


@feeds.command()
@_BOOTSTRAP_OPTION
@click.option("--json", "as_json", is_flag=True, help="One JSON object per feed (the latest status record).")
def status(bootstrap_servers: str | None, as_json: bool) -> None:
    """Each feed's health: its latest poll on news.feeds.status, and feed_stale flags.

    \b
    Columns: OUTCOME (ok, not_modified, error, gone), HTTP status, NEW and SEEN
    entries of the last poll, FAIL (consecutive failures), POLLED (how long
    ago), NEXT (when the next poll is due), STALE (published nothing for longer
    than expected), FEED (name or URL) and the error, if any.

    \b
    Examples:
      newsmon feeds status
      newsmon feeds status --json | jq 'select(.outcome == "error")'
    """
    settings = get_settings()
    bootstrap = _bootstrap(settings, bootstrap_servers)
    topic = topic_name(settings, FEEDS_STATUS)
    try:
        records = asyncio.run(read_to_end(bootstrap, [topic], timeout=120.0))
    except MissingTopic:
        fail(f"topic {topic!r} does not exist yet: run `newsmon feeds poll --once` or `newsmon feeds run` first", 1)
    except KafkaError as exc:
        _kafka_failure(exc, bootstrap)
    except TimeoutError:
        fail(f"reading {topic} from {bootstrap} took over 120 s", EXIT_KAFKA)
    polls, stale = _latest_statuses(records)
    if as_json:
        for url, value in sorted(polls.items()):
            click.echo(json.dumps({**value, "stale": url in stale}, sort_keys=True, ensure_ascii=True))
        return
    if not polls:
        click.echo("no poll recorded yet")
        return
    now = datetime.now(UTC)
    header = ("OUTCOME", "HTTP", "NEW", "SEEN", "FAIL", "POLLED", "NEXT", "STALE", "FEED")
    rows = []
    for url, value in sorted(polls.items()):
        name = value.get("name") or url
        problem = value.get("error") or (value.get("bozo_reason") if value.get("bozo") else None)
        feed = for_terminal(str(name), 60) + (f"  ({for_terminal(str(problem), 120)})" if problem else "")
        rows.append(
            (
                for_terminal(str(value.get("outcome")), 14),
                str(value.get("http_status") or "-"),
                str(value.get("entries_published", "-")),
                str(value.get("entries_seen", "-")),
                str(value.get("consecutive_failures", "-")),
                _ago(value.get("polled_at"), now),
                _ago(value.get("next_poll_at"), now) if value.get("outcome") != "gone" else "never",
                "yes" if url in stale and _is_current(stale[url], value) else "",
                feed,
            )
        )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        click.echo("  ".join([*cells, row[-1]]).rstrip())
    click.echo(f"{len(polls)} feeds; {sum(v.get('outcome') == 'error' for v in polls.values())} failing")


def _is_current(stale: dict[str, Any], poll: dict[str, Any]) -> bool:
    """A stale flag holds until the feed publishes again."""
    return not (poll.get("entries_published") or 0) > 0 or str(stale.get("detected_at")) >= str(poll.get("polled_at"))


@feeds.command("import-opml")
@click.argument("opml_file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@_FEEDS_OPTION
def import_opml(opml_file: Path, feeds_file: Path | None) -> None:
    """Add the feeds of an OPML export (any feed reader) to the feeds file.

    Nested folders become tags; feeds already in the file (same canonical URL)
    are merged, not duplicated. The feeds file is created when missing and
    rewritten atomically. An outline with an unusable URL stops the import
    with its line number, and the file is left unchanged.

    \b
    Examples:
      newsmon feeds import-opml ~/Downloads/feedly.opml
      newsmon feeds import-opml subscriptions.opml --feeds my-feeds.toml

    Prints "added N feeds to FILE (M in all)".
    """
    settings = get_settings()
    target = feeds_file or settings.feeds_file
    try:
        new = parse_opml(opml_file.read_bytes(), str(opml_file))
        existing = load_feeds_file(target) if target.exists() else []
    except FeedsFileError as exc:
        fail(str(exc), EXIT_INPUT)
    except OSError as exc:
        fail(f"{opml_file}: cannot read the file: {exc.strerror or exc}", EXIT_INPUT)
    merged, added = merge_feeds(existing, new)
    text = render_feeds_toml(merged, header="Feeds polled by `newsmon feeds run` (format: docs/feeds.md).")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".feeds-", suffix=".toml", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    click.echo(f"added {added} feeds to {target} ({len(merged)} in all)")


@feeds.command()
@click.argument("feeds_file", type=click.Path(path_type=Path, dir_okay=False), required=False)
def check(feeds_file: Path | None) -> None:
    """Validate a feeds file (default: NEWSMON_FEEDS_FILE) without fetching anything.

    \b
    Examples:
      newsmon feeds check
      newsmon feeds check my-feeds.toml

    Prints "FILE: N feeds, valid"; an invalid entry is reported as
    "newsmon: error: FILE:LINE: reason" (exit status 2).
    """
    path, specs_ = _specs(get_settings(), feeds_file)
    click.echo(f"{path}: {len(specs_)} feeds, valid")
