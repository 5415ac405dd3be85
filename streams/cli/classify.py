"""``newsmon classify``: language and themes of articles from files, offline (no Kafka).

Files are found and read as ``newsmon replay`` finds and reads them
(``streams.sources.files``, ``agents.seeds``), and each article goes through the
worker's own ``enrich`` (``agents.classify``), so the output agrees with the worker's.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import click

from agents.classify import classify_article
from agents.enrich import TaggerLike
from agents.records import RawArticle
from agents.seeds import JSONL_SUFFIX, SeedFileError, parse_jsonl_line, parse_seed_bytes
from agents.text import json_for_terminal
from agents.themes import Tagger, ThemeFileError, load_theme_file
from streams.cli import fail
from streams.settings import get_settings
from streams.sources.files import expand, read_bytes

STDIN = "<stdin>"


class _Run:
    """Prints one JSON line per article and one error line per problem; remembers whether any failed."""

    def __init__(self, tagger: TaggerLike) -> None:
        self.tagger = tagger
        self.failed = False

    def error(self, message: str) -> None:
        # The prefix of streams.cli.fail, without exiting: the other inputs are still classified.
        click.echo(f"newsmon: error: {message}", err=True)
        self.failed = True

    def emit(self, article: RawArticle, where: str) -> None:
        click.echo(json_for_terminal(classify_article(article, self.tagger, where=where)))

    def article(self, data: bytes, label: str) -> None:
        """One article per file (the *.txt rules of docs/replay.md)."""
        try:
            article = parse_seed_bytes(data, path=label, fetched_at="")
        except SeedFileError as exc:
            self.error(str(exc))
            return
        self.emit(article, label)

    def lines(self, lines: Iterable[bytes], label: str, *, empty_is_error: bool) -> None:
        """JSON Lines: a bad line is reported with its number and the others are still classified."""
        any_record = False
        for number, raw in enumerate(lines, start=1):
            try:
                article = parse_jsonl_line(
                    raw.removesuffix(b"\n"), path=label, number=number, fetched_at="", text_records=True
                )
            except SeedFileError as exc:
                any_record = True
                self.error(str(exc))
                continue
            if article is not None:
                any_record = True
                self.emit(article, f"{label}:{number}")
        if empty_is_error and not any_record:
            self.error(str(SeedFileError(label, "the file is empty (a .jsonl file needs one JSON object per line)")))

    def file(self, path: Path, *, jsonl: bool) -> None:
        label = str(path)
        if not jsonl:
            try:
                data = read_bytes(path)
            except SeedFileError as exc:
                self.error(str(exc))
                return
            self.article(data, label)
            return
        try:
            stream = path.open("rb")
        except OSError as exc:
            self.error(str(SeedFileError(label, f"cannot read the file: {exc.strerror or exc}")))
            return
        with stream:
            self.lines(stream, label, empty_is_error=True)


def _note(message: str) -> None:
    click.echo(f"newsmon: {message}", err=True)


@click.command()
@click.option("--jsonl", is_flag=True, help="Read stdin and every file named here as JSON Lines, whatever its suffix.")
@click.option(
    "--themes",
    "themes_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Theme file to use instead of NEWSMON_THEMES_FILE.",
)
@click.argument("files", nargs=-1, metavar="[PATH]...")
@click.pass_context
def classify(ctx: click.Context, jsonl: bool, themes_file: Path | None, files: tuple[str, ...]) -> None:
    """Detect the language of articles and tag them with themes, without Kafka.

    Each PATH is read as `newsmon replay PATH` reads it (docs/replay.md), and
    each article goes through the worker's own code, so the results are those
    the worker gives the replayed article. A directory gives its *.txt and
    *.jsonl files in name order (not recursively). '-' reads stdin; with no
    PATH, stdin is read unless it is a terminal (then this usage is printed).

    \b
    *.txt    one article: the first non-empty line is the title, the rest the
             body (normalized, "Original: <url>" removed, as replay does).
             Any other file named here is read the same way.
    *.jsonl  one article per line, either a raw article as replay publishes
             it, {"title", "body", "id"?, "url"?, ...}, or {"id"?, "text",
             "title"?}, where text is the body. A missing id is derived as
             replay derives it.

    With --jsonl, stdin and every file named on the command line are JSON
    Lines; files found in a directory follow their suffix. The raw-article
    limits apply (title 2,000 characters, body 1,000,000, line 2 MiB).

    Prints one JSON line per article: {"id", "file", "lang",
    "lang_confidence", "themes": [{"theme", "name", "score", "evidence":
    [{"term", "start", "end", "rule"}]}]}; "file" is FILE, or FILE:LINE for
    JSON Lines. Evidence offsets index into title + "\\n\\n" + body (just
    the body when there is no title) after markup is stripped, as in the
    worker's tagged record. A bad file or line (not UTF-8, not JSON, over a
    limit) is reported on stderr as "newsmon: error: FILE[:LINE]: reason" and
    the rest is still classified.

    Exit status: 0 all classified, 1 something was reported, 2 bad usage or
    theme file.
    """
    if not files and click.get_text_stream("stdin").isatty():
        click.echo(ctx.get_usage(), err=True)
        fail("no FILE given and stdin is a terminal; name files or directories, or '-' to read stdin")
    try:
        tagger = Tagger(load_theme_file(themes_file or get_settings().themes_file))
    except ThemeFileError as err:
        fail(str(err))
    run = _Run(tagger)
    seen: set[Path] = set()
    for name in files or ("-",):
        if name == "-":
            stdin = click.get_binary_stream("stdin")
            if jsonl:
                run.lines(stdin, STDIN, empty_is_error=False)
            else:
                run.article(stdin.read(), STDIN)
            continue
        named = Path(name)
        try:
            found = expand(named, note=_note, any_suffix=True)
        except SeedFileError as exc:
            run.error(str(exc))
            continue
        for path in found:
            key = path.resolve()
            if key in seen:
                continue
            seen.add(key)
            explicit = path == named
            run.file(path, jsonl=(jsonl and explicit) or path.suffix.lower() == JSONL_SUFFIX)
    if run.failed:
        raise SystemExit(1)
