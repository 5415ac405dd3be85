"""``newsmon themes``: work with theme files (``test`` here; list/show/put/rm talk to the themes topic)."""

from __future__ import annotations

from pathlib import Path

import click

from agents.themes import ExampleReport, ThemeFileError, evaluate_examples, load_theme_file
from streams.cli import fail
from streams.settings import get_settings


@click.group()
def themes() -> None:
    """Tracked themes: what the worker tags articles with.

    A theme file (TOML, see docs/themes.md) holds [[theme]] tables: an id, a
    name, a description, term sets per language (with 'Grönland*'-style
    wildcards), rules (all/any groups, near, not, weights) and a threshold,
    plus positive and negative example texts. The default file is
    NEWSMON_THEMES_FILE (themes/themes.toml).

    \b
    Subcommands:
      test [FILE]    run every theme's examples through the tagger
    """


def _short(text: str, width: int = 100) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


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
        click.echo(f"{len(report.failures)} of {total} examples failed in {path}", err=True)
        raise SystemExit(1)
    click.echo(f"all {total} examples of {len(report.scores)} themes passed")
