"""``newsmon bench``: performance against baselines measured in the same run."""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path

import click

from streams.cli import fail

SECTION_CHOICES = ("langid", "tagging", "enrich", "stories", "feeds", "e2e", "resources")


@click.command()
@click.option("--quick", is_flag=True, help="Smaller counts and shorter phases (under 3 minutes on 2 cores).")
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the machine description and every result as JSON here.",
)
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write a PNG bar chart of each figure relative to its target here.",
)
@click.option(
    "--only",
    multiple=True,
    type=click.Choice(SECTION_CHOICES),
    help="Run only this section (repeatable). [default: all]",
)
@click.option(
    "--profile",
    "profile_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Keep py-spy's raw collapsed stacks of the worker under load here (the full run always profiles).",
)
@click.option("--tiny", is_flag=True, hidden=True, help="Tiny counts, for the smoke test only.")
def bench(
    quick: bool,
    json_path: Path | None,
    plot_path: Path | None,
    only: tuple[str, ...],
    profile_path: Path | None,
    tiny: bool,
) -> None:
    """Measure newsmon against baselines from the same run and print a table.

    \b
    Sections (in this order, one at a time):
      langid     language detection vs full-text langdetect (speed, accuracy)
      tagging    the theme engine vs one regex per theme, 10 to 10,000 themes
      enrich     CPU per article of language + tagging + alert decisions, by step
      stories    CPU per article of the stories agent: stories, spikes, budgets
      feeds      1,000 local feeds polled at once vs one at a time
      e2e        worker throughput and latency through a real broker, vs a
                 naive Faust pipeline and a pass-through Faust app
      resources  worker RSS growth, CPU per article, state size, profile

    Uses KAFKA_BOOTSTRAP_SERVERS, else starts an embedded broker in a temporary
    directory (stopped at the end). Progress goes to stderr, the table to stdout.
    The exit code is 0 when every section ran, whether or not targets were met,
    1 when a section failed or the cluster in KAFKA_BOOTSTRAP_SERVERS does not
    answer (checked before any section runs), 2 for bad options or settings.
    """
    from streams.bench import runner
    from streams.cli import EXIT_KAFKA
    from streams.kafka.cluster import BrokerError, require_reachable
    from streams.settings import get_settings

    settings = get_settings()
    if settings.kafka_bootstrap_servers and (not only or {"e2e", "resources"} & set(only)):
        try:
            require_reachable(settings)  # fail before minutes of offline sections, not after
        except BrokerError as exc:
            fail(str(exc), EXIT_KAFKA)

    if plot_path is not None and importlib.util.find_spec("matplotlib") is None:
        fail("--plot needs matplotlib, which comes with the bench extra: pip install 'newsmon[bench]'")
    mode = "tiny" if tiny else ("quick" if quick else "full")

    def say(message: str) -> None:
        click.echo(f"[{time.strftime('%H:%M:%S')}] {message}", err=True)

    report = runner.run(mode=mode, only=only, say=say, profile_path=profile_path)
    click.echo(runner.format_table(report.results))
    missed = [r.name for r in report.results if r.met is False]
    met = [r.name for r in report.results if r.met]
    click.echo(f"\ntargets met: {len(met)}; missed: {len(missed)}" + (f" ({', '.join(missed)})" if missed else ""))
    absent = runner.missing_names(report.results) if not only else []
    if absent:
        click.echo(f"missing figures: {', '.join(absent)}")
    click.echo(f"mode {mode}, {report.duration_s:.0f}s on {report.machine.get('cpu')} x{report.machine.get('cores')}")
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        say(f"wrote {json_path}")
    if plot_path is not None:
        runner.plot(report, plot_path)
        say(f"wrote {plot_path}")
    if report.errors:
        for error in report.errors:
            click.echo(f"newsmon: error: {error}", err=True)
        sys.exit(1)
