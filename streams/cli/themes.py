"""``newsmon themes``: work with theme files (``test`` here; list/show/put/rm talk to the themes topic)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

import click

from agents.text import escape_controls, for_terminal, json_for_terminal
from agents.themes import ExampleReport, Theme, ThemeFileError, evaluate_examples, load_theme_file, theme_to_record
from streams.cli import fail
from streams.settings import Settings, get_settings

T = TypeVar("T")


def _bootstrap(settings: Settings) -> str:
    from streams.kafka.cluster import BrokerError, require_reachable

    try:
        return require_reachable(settings)  # one line, exit 1, when the cluster does not answer
    except BrokerError as exc:
        fail(str(exc), 1)


def _run(awaitable: Awaitable[T]) -> T:
    from aiokafka.errors import KafkaError

    from streams.kafka.consumers import MissingTopic

    async def main() -> T:
        return await awaitable

    try:
        return asyncio.run(main())
    except (KafkaError, MissingTopic, TimeoutError) as exc:
        fail(f"{type(exc).__name__}: {exc}", 1)


def _themes_topic(settings: Settings) -> str:
    from streams.kafka.topics import THEMES, topic_name

    return topic_name(settings, THEMES)


def _current(settings: Settings) -> dict[str, Theme]:
    from streams.pipeline.themes_live import read_themes

    themes_, problems = _run(read_themes(_bootstrap(settings), _themes_topic(settings)))
    for problem in problems:
        click.echo(f"warning: skipped a bad record on {_themes_topic(settings)}: {escape_controls(problem)}", err=True)
    return themes_


@click.group()
def themes() -> None:
    """Tracked themes: what the worker tags articles with.

    A theme file (TOML, see docs/themes.md) holds [[theme]] tables: an id, a
    name, a description, term sets per language (with 'Grönland*'-style
    wildcards), rules (all/any groups, near, not, weights) and a threshold,
    plus positive and negative example texts. The default file is
    NEWSMON_THEMES_FILE (themes/themes.toml).

    At run time the themes live on the compacted topic news.themes (key: theme
    id). Every worker follows it: a `put` or `rm` takes effect in running
    workers within seconds, without a restart. The theme file seeds the topic
    the first time a worker starts on an empty topic.

    \b
    Subcommands:
      test [FILE]      run every theme's examples through the tagger
      list             the themes active on news.themes
      show ID          one theme as JSON, as stored on the topic
      put FILE         validate FILE, test its examples, publish its themes
      rm ID...         remove themes (tombstones on the topic)
    """


def _short(text: str, width: int = 100) -> str:
    return for_terminal(text, width)  # example texts may hold anything: no control character reaches the terminal


def _print_report(report: ExampleReport) -> None:
    width = max([len("theme"), *(len(s.theme) for s in report.scores)])
    click.echo(
        f"{'theme':<{width}}  {'pos':>4} {'neg':>4} {'TP':>4} {'FP':>4} {'FN':>4}  {'precision':>9} {'recall':>6}"
    )
    for s in report.scores:
        click.echo(
            f"{s.theme:<{width}}  {s.positives:>4} {s.negatives:>4} {s.tp:>4} {s.fp:>4} {s.fn:>4}"
            f"  {s.precision:>9.2f} {s.recall:>6.2f}"
        )
    for f in report.failures:
        wanted = "should be tagged" if f.expected else "should NOT be tagged"
        click.echo(
            f"FAIL {f.theme}: {wanted}, score {f.score:g} (threshold {f.threshold:g}): {_short(f.text)}", err=True
        )


@themes.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
def test(file: Path | None) -> None:
    """Check FILE's themes against their own examples (default: NEWSMON_THEMES_FILE).

    Prints precision and recall per theme, names every failing example on
    stderr, and exits 1 if any example fails (2 if the file is invalid).
    """
    path = file or get_settings().themes_file
    try:
        themes_ = load_theme_file(path)
    except ThemeFileError as err:
        fail(str(err))
    report = evaluate_examples(themes_)
    _print_report(report)
    total = sum(s.positives + s.negatives for s in report.scores)
    if report.failures:
        click.echo(f"{len(report.failures)} of {total} examples failed in {escape_controls(str(path))}", err=True)
        raise SystemExit(1)
    click.echo(f"all {total} examples of {len(report.scores)} themes passed")


@themes.command(name="list")
def list_() -> None:
    """List the themes active on the themes topic (what running workers use)."""
    settings = get_settings()
    current = _current(settings)
    if not current:
        click.echo(f"no themes on {_themes_topic(settings)}")
        return
    width = max(len(t) for t in current)
    click.echo(f"{'id':<{width}}  {'rules':>5} {'terms':>5} {'threshold':>9}  name")
    for theme_id in sorted(current):
        theme = current[theme_id]
        terms = sum(len(ts.all_terms()) for ts in theme.terms)
        name = for_terminal(theme.name)
        click.echo(f"{theme_id:<{width}}  {len(theme.rules):>5} {terms:>5} {theme.threshold:>9g}  {name}")


@themes.command()
@click.argument("theme_id", metavar="ID")
def show(theme_id: str) -> None:
    """Print one theme as the JSON record stored on the themes topic."""
    current = _current(get_settings())
    if theme_id not in current:
        known = ", ".join(sorted(current)) or "none"
        fail(f"no theme {theme_id!r} on the themes topic (known: {known})", 1)
    click.echo(json_for_terminal(theme_to_record(current[theme_id]), indent=2))


@themes.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--skip-examples", is_flag=True, help="Publish even if some examples fail (not recommended).")
@click.option("--prune", is_flag=True, help="Also remove themes on the topic that FILE does not define.")
def put(file: Path, skip_examples: bool, prune: bool) -> None:
    """Validate FILE and publish its themes to the themes topic.

    Nothing is published when FILE is invalid, or when any theme's examples
    fail (unless --skip-examples). Running workers apply the new themes within
    seconds; they tag articles processed from then on. Themes on the topic
    that FILE does not mention stay, unless --prune.
    """
    from streams.kafka.admin import ensure_topics
    from streams.kafka.topics import THEMES, TopicSpec, specs
    from streams.pipeline.themes_live import publish_themes, read_themes

    settings = get_settings()
    try:
        new = load_theme_file(file)
    except ThemeFileError as err:
        fail(f"refused, nothing published: {err}")
    if not skip_examples:
        report = evaluate_examples(new)
        if report.failures:
            _print_report(report)
            fail(f"refused, nothing published: {len(report.failures)} example(s) fail in {file} (see above)", 1)
    bootstrap = _bootstrap(settings)
    topic = _themes_topic(settings)
    spec: list[TopicSpec] = [s for s in specs(settings) if s.name == topic]
    assert spec, THEMES

    async def publish() -> list[str]:
        await ensure_topics(bootstrap, spec, replication_factor=settings.replication_factor)
        removed: list[str] = []
        if prune:
            current, _ = await read_themes(bootstrap, topic)
            removed = sorted(set(current) - {t.id for t in new})
        await publish_themes(bootstrap, topic, new, removed)
        return removed

    removed = _run(publish())
    click.echo(f"published {len(new)} theme(s) to {topic}: {', '.join(t.id for t in new)}")
    if removed:
        click.echo(f"removed {len(removed)} theme(s): {', '.join(removed)}")


@themes.command()
@click.argument("theme_ids", metavar="ID...", nargs=-1, required=True)
def rm(theme_ids: tuple[str, ...]) -> None:
    """Remove themes: running workers stop tagging them within seconds.

    Alerts already emitted stay on news.alerts.
    """
    from streams.pipeline.themes_live import publish_themes

    settings = get_settings()
    current = _current(settings)
    unknown = sorted(set(theme_ids) - set(current))
    if unknown:
        fail(f"no such theme on the themes topic: {', '.join(unknown)} (nothing removed)", 1)
    _run(publish_themes(_bootstrap(settings), _themes_topic(settings), [], list(theme_ids)))
    click.echo(f"removed {len(theme_ids)} theme(s) from {_themes_topic(settings)}: {', '.join(theme_ids)}")
