"""``newsmon classify``: language and themes of articles from files, offline (no Kafka)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import click

from agents.classify import classification_to_json, classify_text
from agents.themes import Tagger, ThemeFileError, load_theme_file
from streams.cli import fail
from streams.settings import get_settings


def _error(where: str, message: str) -> None:
    click.echo(f"newsmon classify: {where}: {message}", err=True)


def _read(name: str) -> str:
    if name == "-":
        return sys.stdin.read()
    return Path(name).read_text(encoding="utf-8")


def _split_article(text: str) -> tuple[str, str]:
    """Title = first non-empty line, body = the rest."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip():
            return line.strip(), "\n".join(lines[i + 1 :]).strip("\n")
    return "", ""


def _jsonl_records(stream: IO[str], name: str) -> Iterator[tuple[int, dict[str, str] | str]]:
    """(line number, record or error message) for each non-blank line."""
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, f"not JSON: {exc.msg} (column {exc.colno})"
            continue
        if not isinstance(obj, dict):
            yield number, f"expected a JSON object, got {type(obj).__name__}"
            continue
        problems = [
            f"{key!r} must be a string"
            for key in ("id", "text", "title")
            if (key != "title" or key in obj) and not isinstance(obj.get(key), str)
        ]
        if problems:
            yield number, "; ".join(problems)
            continue
        yield number, {"id": obj["id"], "text": obj["text"], "title": obj.get("title", "")}


@click.command()
@click.option("--jsonl", is_flag=True, help="Each input line is a JSON object with id, text and optional title.")
@click.option(
    "--themes",
    "themes_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Theme file to use instead of NEWSMON_THEMES_FILE.",
)
@click.argument("files", nargs=-1)
def classify(jsonl: bool, themes_file: Path | None, files: tuple[str, ...]) -> None:
    """Detect the language of articles and tag them with themes, without Kafka.

    Without --jsonl each FILE is one article: its id is the file name, its
    title the first non-empty line, its body the rest. With --jsonl each line
    of each FILE is {"id": ..., "text": ..., "title": ...}. '-' (the default)
    reads stdin.

    Prints one JSON line per article: {"id", "lang", "themes": [{"theme",
    "score", "evidence": [{"term", "start", "end", "rule"}]}]}; evidence
    offsets index into title + "\\n\\n" + body (just the text when there is no
    title). Bad lines are reported on stderr with file and line number and the
    rest is still classified; the exit code is 1 if anything failed.
    """
    try:
        tagger = Tagger(load_theme_file(themes_file or get_settings().themes_file))
    except ThemeFileError as err:
        fail(str(err))
    failed = False

    def emit(article_id: str, title: str, body: str) -> None:
        result = classify_text(tagger, title=title, body=body)
        click.echo(json.dumps(classification_to_json(article_id, result), ensure_ascii=False))

    for name in files or ("-",):
        label = "<stdin>" if name == "-" else name
        if jsonl:
            try:
                stream: IO[str] = sys.stdin if name == "-" else open(name, encoding="utf-8")  # noqa: SIM115
            except OSError as exc:
                _error(label, f"cannot read: {exc.strerror or exc}")
                failed = True
                continue
            try:
                for number, record in _jsonl_records(stream, label):
                    if isinstance(record, str):
                        _error(f"{label}:{number}", record)
                        failed = True
                    else:
                        emit(record["id"], record["title"], record["text"])
            except UnicodeDecodeError as exc:
                _error(label, f"not UTF-8: {exc.reason}")
                failed = True
            finally:
                if stream is not sys.stdin:
                    stream.close()
        else:
            try:
                text = _read(name)
            except (OSError, UnicodeDecodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) else f"not UTF-8: {exc.reason}"
                _error(label, f"cannot read: {reason}")
                failed = True
                continue
            title, body = _split_article(text)
            if not title:
                _error(label, "empty article")
                failed = True
                continue
            emit(Path(name).name if name != "-" else "-", title, body)
    if failed:
        raise SystemExit(1)
