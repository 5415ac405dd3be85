"""The feeds file (TOML, ``[[feed]]`` tables): parsing, validation, rendering and merging.

Every refused entry names the file, the line and the reason (:class:`FeedsFileError`).
Pure: no I/O but reading the one path :func:`load_feeds_file` is given.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from agents.records import MAX_URL_CHARS, canonical_url
from agents.tomllines import table_blocks

__all__ = [
    "DEFAULT_INTERVAL",
    "MAX_INTERVAL",
    "MAX_NAME_CHARS",
    "MAX_TAGS",
    "MAX_TAG_CHARS",
    "MIN_INTERVAL",
    "FeedSpec",
    "FeedsFileError",
    "load_feeds_file",
    "merge_feeds",
    "parse_feeds_toml",
    "render_feeds_toml",
    "validate_url",
]

DEFAULT_INTERVAL = 900.0  # seconds
MIN_INTERVAL = 60.0  # one minute: politeness floor
MAX_INTERVAL = 7 * 24 * 3600.0  # a week
MAX_NAME_CHARS = 200
MAX_TAGS = 32
MAX_TAG_CHARS = 64
_KEYS = ("url", "name", "lang", "interval", "tags", "fetch_article")
_LANG = re.compile(r"^[a-z]{2}(?:-[A-Z]{2})?$")  # ISO 639-1, optionally a region: "en", "en-GB"
_TAG = re.compile(r"^[\w][\w .:/+-]*$")  # no commas: tags are comma-joined in the raw record


class FeedsFileError(ValueError):
    """An invalid feeds (or OPML) file: ``str(err)`` is ``PATH:LINE: reason`` (``PATH: reason`` without a line)."""

    def __init__(self, path: str, line: int | None, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        super().__init__(f"{path}:{line}: {reason}" if line is not None else f"{path}: {reason}")


@dataclass(frozen=True)
class FeedSpec:
    """One feed to poll.  ``interval`` is in seconds; ``tags`` end up comma-joined in articles' ``feed`` object."""

    url: str
    name: str | None = None
    lang: str | None = None
    interval: float = DEFAULT_INTERVAL
    tags: tuple[str, ...] = ()
    fetch_article: bool = False

    @property
    def key(self) -> str:
        """The canonical URL: two specs with the same key are the same feed."""
        return canonical_url(self.url)


# --------------------------------------------------------------------------- validation


def validate_url(url: object) -> str | None:
    """None for an acceptable feed URL (absolute http or https, with a host), else what is wrong."""
    if not isinstance(url, str) or not url.strip():
        return "'url' must be a non-empty string"
    if url != url.strip() or any(c.isspace() or ord(c) < 32 for c in url):
        return f"'url' {url!r} contains whitespace or control characters"
    if len(url) > MAX_URL_CHARS:
        return f"'url' has {len(url)} characters; the limit is {MAX_URL_CHARS}"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        return f"'url' {url!r} does not parse: {exc}"
    if parts.scheme.lower() not in ("http", "https"):
        shown = parts.scheme or "none"
        return f"'url' {url!r}: unsupported scheme {shown!r} (http or https only)"
    if not parts.hostname:
        return f"'url' {url!r} has no host"
    return None


def _clean_tags(value: object) -> tuple[tuple[str, ...], str | None]:
    if not isinstance(value, list):
        return (), "'tags' must be a list of strings"
    tags: list[str] = []
    for tag in value:
        if not isinstance(tag, str) or not tag.strip():
            return (), f"'tags': {tag!r} is not a non-empty string"
        if len(tag) > MAX_TAG_CHARS or not _TAG.match(tag):
            return (), (
                f"'tags': bad tag {tag!r} (letters, digits, spaces and '_.:/+-', no commas, "
                f"at most {MAX_TAG_CHARS} characters)"
            )
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        return (), f"'tags': {len(tags)} tags; the limit is {MAX_TAGS}"
    return tuple(tags), None


def _build_spec(raw: object) -> tuple[FeedSpec | None, list[tuple[str, str | None]]]:
    """The spec of one ``[[feed]]`` table, or the problems: (reason, key naming the line)."""
    if not isinstance(raw, dict):
        return None, [("a feed must be a table ([[feed]])", None)]
    problems: list[tuple[str, str | None]] = []
    for key in raw:
        if key not in _KEYS:
            problems.append((f"unknown key {key!r} (allowed: {', '.join(_KEYS)})", key))
    url = raw.get("url")
    if url is None:
        problems.append(("missing 'url'", None))
    else:
        error = validate_url(url)
        if error:
            problems.append((error, "url"))
    name = raw.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS):
        problems.append((f"'name' must be a non-empty string of at most {MAX_NAME_CHARS} characters", "name"))
    lang = raw.get("lang")
    if lang is not None and (not isinstance(lang, str) or not _LANG.match(lang)):
        problems.append((f'bad \'lang\' {lang!r}: an ISO 639-1 code like "en" or "de" (optionally "en-GB")', "lang"))
    interval = raw.get("interval", DEFAULT_INTERVAL)
    if (
        not isinstance(interval, int | float)
        or isinstance(interval, bool)
        or not math.isfinite(interval)
        or not MIN_INTERVAL <= interval <= MAX_INTERVAL
    ):
        problems.append(
            (
                f"'interval' must be a number of seconds from {MIN_INTERVAL:g} to {MAX_INTERVAL:g} "
                f"(7 days), not {interval!r}",
                "interval",
            )
        )
    tags, tag_error = _clean_tags(raw.get("tags", []))
    if tag_error:
        problems.append((tag_error, "tags"))
    fetch_article = raw.get("fetch_article", False)
    if not isinstance(fetch_article, bool):
        problems.append((f"'fetch_article' must be true or false, not {fetch_article!r}", "fetch_article"))
    if problems:
        return None, problems
    assert isinstance(url, str)
    assert isinstance(interval, int | float)
    return (
        FeedSpec(
            url=url,
            name=name.strip() if isinstance(name, str) else None,
            lang=lang if isinstance(lang, str) else None,
            interval=float(interval),
            tags=tags,
            fetch_article=bool(fetch_article),
        ),
        [],
    )


# --------------------------------------------------------------------------- lines


def _blocks(lines: Sequence[str]) -> list[tuple[int, int]]:
    """(first, end) 0-based line indexes of each ``[[feed]]`` block, in file order."""
    return table_blocks(lines, "feed")


def _locate(lines: Sequence[str], block: tuple[int, int] | None, key: str | None) -> int | None:
    """1-based line: the ``key =`` line inside the block, else the block's header line."""
    if block is None:
        return None
    first, end = block
    if key:
        pattern = re.compile(rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')\s*=")
        for i in range(first, end):
            if pattern.match(lines[i]):
                return i + 1
    return first + 1


def parse_feeds_toml(text: str, path: str = "<feeds>") -> list[FeedSpec]:
    """The feeds of a feeds file's text.  The first problem raises :class:`FeedsFileError` with its line."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column (\d+)\)", message)
        if match:
            reason = message[: match.start()].strip()
            raise FeedsFileError(
                path, int(match.group(1)), f"TOML syntax error: {reason} (column {match.group(2)})"
            ) from None
        raise FeedsFileError(path, None, f"TOML syntax error: {message}") from None
    lines = text.splitlines()
    for key in doc:
        if key != "feed":
            line = next((i + 1 for i, s in enumerate(lines) if re.match(rf"^\s*\[*\s*\"?{re.escape(key)}\b", s)), None)
            raise FeedsFileError(path, line, f"unknown top-level key {key!r} (a feeds file holds [[feed]] tables)")
    raw_feeds: Any = doc.get("feed", [])
    if not isinstance(raw_feeds, list):
        raise FeedsFileError(path, None, "'feed' must be an array of tables ([[feed]])")
    blocks = _blocks(lines)
    aligned = len(blocks) == len(raw_feeds)
    specs: list[FeedSpec] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_feeds):
        block = blocks[index] if aligned else None
        spec, problems = _build_spec(raw)
        label = f"feed #{index + 1}"
        if problems:
            reason, where = problems[0]
            raise FeedsFileError(path, _locate(lines, block, where), f"{label}: {reason}")
        assert spec is not None
        key = spec.key
        if key in seen:
            raise FeedsFileError(
                path,
                _locate(lines, block, "url"),
                f"{label}: duplicate url {spec.url!r} (same feed as feed #{seen[key]})",
            )
        seen[key] = index + 1
        specs.append(spec)
    return specs


def load_feeds_file(path: Path | str) -> list[FeedSpec]:
    """The feeds of a feeds file; :class:`FeedsFileError` when it is missing, unreadable, not UTF-8 or invalid."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FeedsFileError(str(path), None, f"cannot read the feeds file: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FeedsFileError(
            str(path), line, f"the feeds file is not UTF-8 ({exc.reason} at byte {exc.start})"
        ) from None
    return parse_feeds_toml(text, str(path))


# --------------------------------------------------------------------------- rendering and merging


def _toml_string(value: str) -> str:
    out = ['"']
    for ch in value:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_number(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)


def render_feeds_toml(specs: Sequence[FeedSpec], *, header: str | None = None) -> str:
    """A feeds file holding ``specs``; :func:`parse_feeds_toml` reads it back to equal specs.

    Defaults (no name, no lang, the default interval, no tags, no article fetching) are left out.
    """
    parts: list[str] = []
    if header:
        parts.extend(f"# {line}".rstrip() for line in header.splitlines())
        parts.append("")
    for spec in specs:
        parts.append("[[feed]]")
        parts.append(f"url = {_toml_string(spec.url)}")
        if spec.name is not None:
            parts.append(f"name = {_toml_string(spec.name)}")
        if spec.lang is not None:
            parts.append(f"lang = {_toml_string(spec.lang)}")
        if spec.interval != DEFAULT_INTERVAL:
            parts.append(f"interval = {_toml_number(spec.interval)}")
        if spec.tags:
            parts.append(f"tags = [{', '.join(_toml_string(t) for t in spec.tags)}]")
        if spec.fetch_article:
            parts.append("fetch_article = true")
        parts.append("")
    return "\n".join(parts)


def merge_feeds(existing: Iterable[FeedSpec], new: Iterable[FeedSpec]) -> tuple[list[FeedSpec], int]:
    """``existing`` then the feeds of ``new`` not already there (by canonical URL); and how many were added.

    An existing entry is kept as it is: an import never rewrites a feed the file already has.
    """
    merged: list[FeedSpec] = []
    seen: set[str] = set()
    for spec in existing:
        if spec.key not in seen:
            seen.add(spec.key)
            merged.append(spec)
    added = 0
    for spec in new:
        if spec.key not in seen:
            seen.add(spec.key)
            merged.append(spec)
            added += 1
    return merged, added
