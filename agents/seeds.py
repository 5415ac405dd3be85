"""Seed files -> raw articles: pure parsing, no I/O.

Two formats are read (``docs/replay.md``):

``*.txt``
    One article per file, UTF-8.  The first non-empty line is the title and the rest
    is the body.  A line ``Original: <url>`` (the last one, when there are several)
    gives the article's URL and is removed from the body.  A date in the header
    (``Published on: Dec 6, 2025``, ``Date: 2025-12-06``) becomes ``published_at``
    when it can be read without guessing.  Text is normalized with
    :func:`agents.records.normalize_text`.
``*.jsonl``
    One raw-article JSON object per line (blank lines are skipped), each checked by
    :func:`agents.records.validate_raw_article`; ``id`` is derived when absent, a
    missing ``source`` becomes ``seed:<file name>`` and a missing ``fetched_at`` the
    replay's start.  Text is kept as given.  ``newsmon classify`` also reads
    ``{"id"?, "text", "title"?}`` lines (``text_records``): ``text`` is the body.

The callers read the bytes and pass the replay's start time (``fetched_at``), so the
same bytes always give the same articles.  Every problem is a :class:`SeedFileError`
naming the file and, when it applies, the line.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import PurePath
from urllib.parse import urlsplit

from agents.records import (
    MAX_BODY_CHARS,
    MAX_VALUE_BYTES,
    SCHEMA_VERSION,
    InvalidRecord,
    RawArticle,
    encode,
    normalize_text,
    validate_raw_article,
)

TEXT_SUFFIX = ".txt"
JSONL_SUFFIX = ".jsonl"
SUFFIXES = (TEXT_SUFFIX, JSONL_SUFFIX)

# Only the first lines after the title are searched for a publication date: a date
# further down is more likely a quoted event than the article's own.
HEADER_LINES = 12


class SeedFileError(ValueError):
    """A seed file that cannot be replayed; ``str(exc)`` is ``path[:line]: reason``."""

    def __init__(self, path: str, reason: str, line: int | None = None) -> None:
        self.path = path
        self.reason = reason
        self.line = line
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {reason}")


# --------------------------------------------------------------------------- helpers


def source_for(url: str | None, path: str) -> str:
    """The URL's host (lower case, without ``www.``) when known, else ``seed:<file name>``."""
    if url:
        try:
            host = (urlsplit(url).hostname or "").lower()
        except ValueError:
            host = ""
        if host.startswith("www."):
            host = host[4:]
        if host:
            return host
    return f"seed:{PurePath(path).name}"


_ORIGINAL = re.compile(r"^Original\s*[:：]\s*(\S+)$", re.IGNORECASE)
_HOST = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def _as_url(value: str) -> str | None:
    """``value`` as an absolute http(s) URL when it clearly is one (scheme-less hosts get https)."""
    candidate = value if "://" in value else "https://" + value
    try:
        parts = urlsplit(candidate)
        _ = parts.port  # raises on a malformed port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not _HOST.match((parts.hostname or "").lower()):
        return None
    return candidate


_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_DATE_LINE = re.compile(
    r"^(?:published(?:\s+on)?|posted(?:\s+on)?|date|dated|updated(?:\s+on)?)\s*[:：]\s*(.+)$", re.IGNORECASE
)
_MONTH_DAY_YEAR = re.compile(r"^([a-z]+)\.?\s+(\d{1,2}),?\s+(\d{4})$", re.IGNORECASE)
_DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})\s+([a-z]+)\.?,?\s+(\d{4})$", re.IGNORECASE)
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})?)?$")


def parse_date(value: str) -> str | None:
    """An unambiguous date as ISO 8601, else None (never a guess).

    Accepted: ``2025-12-06`` (-> ``2025-12-06``), an ISO date-time with a zone
    (-> UTC, ``...Z``), ``Dec 6, 2025``, ``December 6 2025``, ``6 December 2025``.
    Numeric day/month orders (``06/12/2025``) are ambiguous and ignored, and so is a
    date-time without a zone (its instant is unknown; its date is kept).
    """
    value = value.strip()
    if _ISO.match(value):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if len(value) == 10 or parsed.tzinfo is None:
            return parsed.date().isoformat()
        return parsed.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    match = _MONTH_DAY_YEAR.match(value)
    if match:
        month_name, day, year = match.groups()
    else:
        match = _DAY_MONTH_YEAR.match(value)
        if not match:
            return None
        day, month_name, year = match.groups()
    month = _MONTHS.get(month_name.lower())
    if month is None:
        return None
    try:
        return date(int(year), month, int(day)).isoformat()
    except ValueError:
        return None


def _published_at(lines: list[str]) -> str | None:
    for line in lines[:HEADER_LINES]:
        match = _DATE_LINE.match(line)
        if match:
            return parse_date(match.group(1))
    return None


def _checked(article: object, path: str, line: int | None = None) -> RawArticle:
    try:
        checked = validate_raw_article(article)
    except InvalidRecord as exc:
        raise SeedFileError(path, str(exc), line) from None
    size = len(encode(checked))
    if size > MAX_VALUE_BYTES:
        raise SeedFileError(path, f"the article encodes to {size} bytes; the limit is {MAX_VALUE_BYTES}", line)
    return checked


def _decode(data: bytes, path: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SeedFileError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})", line) from None
    return text.removeprefix("\ufeff")


# --------------------------------------------------------------------------- the formats


def parse_seed_text(text: str, *, path: str, fetched_at: str) -> RawArticle:
    """One ``*.txt`` seed article from its text.  ``path`` names the file in errors and in ``source``."""
    lines = normalize_text(text.removeprefix("\ufeff")).split("\n")
    # normalize_text strips the ends, so the first line is the first non-empty one.
    if not lines[0]:
        raise SeedFileError(path, "the file is empty (a seed file needs a title on its first non-empty line)")
    title, rest = lines[0], lines[1:]
    url: str | None = None
    for index in range(len(rest) - 1, -1, -1):
        match = _ORIGINAL.match(rest[index])
        found = _as_url(match.group(1)) if match else None
        if found:
            url = found
            del rest[index]
            break
    published_at = _published_at([line for line in rest if line])
    body = normalize_text("\n".join(rest))
    article: RawArticle = {
        "schema_version": SCHEMA_VERSION,
        "id": "",  # derived by validate_raw_article
        "source": source_for(url, path),
        "url": url,
        "title": title,
        "body": body,
        "published_at": published_at,
        "fetched_at": fetched_at,
    }
    return _checked(article, path)


def parse_seed_bytes(data: bytes, *, path: str, fetched_at: str) -> RawArticle:
    """One ``*.txt`` seed article from the file's bytes (UTF-8, an optional BOM is dropped)."""
    return parse_seed_text(_decode(data, path), path=path, fetched_at=fetched_at)


def parse_jsonl_bytes(data: bytes, *, path: str, fetched_at: str) -> list[RawArticle]:
    """The raw articles of a ``*.jsonl`` file, one JSON object per line; blank lines are skipped."""
    articles: list[RawArticle] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        article = parse_jsonl_line(raw, path=path, number=number, fetched_at=fetched_at)
        if article is not None:
            articles.append(article)
    if not articles:
        raise SeedFileError(path, "the file is empty (a .jsonl file needs one JSON object per line)")
    return articles


def parse_jsonl_line(
    raw: bytes, *, path: str, number: int, fetched_at: str, text_records: bool = False
) -> RawArticle | None:
    """Line ``number`` of a ``*.jsonl`` file as a raw article; None for a blank line.

    A byte-order mark is dropped from line 1.  With ``text_records`` (``newsmon classify``)
    a line may also be ``{"id"?, "text", "title"?}``: ``text`` is the body.
    """
    if number == 1:
        raw = raw.removeprefix(b"\xef\xbb\xbf")
    if not raw.strip():
        return None
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SeedFileError(path, f"not UTF-8 text ({exc.reason} at column {exc.start + 1})", number) from None
    obj = _json_line(line, path, number)
    if isinstance(obj, dict):
        if text_records and "text" in obj:
            obj = _from_text_record(obj, path, number)
        if obj.get("source") in (None, ""):
            url = obj.get("url")
            obj["source"] = source_for(url if isinstance(url, str) else None, path)
        if obj.get("fetched_at") in (None, ""):
            obj["fetched_at"] = fetched_at
    return _checked(obj, path, number)


def _from_text_record(obj: dict[str, object], path: str, number: int) -> dict[str, object]:
    """``{"id"?, "text", "title"?, ...}`` as a raw article: ``text`` becomes ``body``, ``title`` defaults to empty."""
    if "body" in obj:
        raise SeedFileError(path, "a record has 'text' or 'body', not both", number)
    text = obj["text"]
    if not isinstance(text, str):
        raise SeedFileError(path, f"field 'text' must be a string, not {type(text).__name__}", number)
    if len(text) > MAX_BODY_CHARS:
        raise SeedFileError(path, f"field 'text' has {len(text)} characters; the limit is {MAX_BODY_CHARS}", number)
    article = {key: value for key, value in obj.items() if key != "text"}
    article["body"] = text
    if article.get("title") is None:
        article["title"] = ""
    return article


def _json_line(line: str, path: str, number: int) -> object:
    if len(line) > MAX_VALUE_BYTES:
        raise SeedFileError(path, f"the line has {len(line)} characters; the limit is {MAX_VALUE_BYTES}", number)

    def no_constants(name: str) -> object:
        raise ValueError(f"{name} is not JSON")

    try:
        return json.loads(line, parse_constant=no_constants)
    except json.JSONDecodeError as exc:
        raise SeedFileError(path, f"invalid JSON: {exc.msg} at column {exc.colno}", number) from None
    except ValueError as exc:
        raise SeedFileError(path, f"invalid JSON: {exc}", number) from None
    except RecursionError:
        raise SeedFileError(path, "invalid JSON: nested too deeply", number) from None


def parse_seed_file(data: bytes, *, path: str, fetched_at: str) -> list[RawArticle]:
    """Dispatch on the file name's suffix (``.txt`` or ``.jsonl``, any case)."""
    suffix = PurePath(path).suffix.lower()
    if suffix == TEXT_SUFFIX:
        return [parse_seed_bytes(data, path=path, fetched_at=fetched_at)]
    if suffix == JSONL_SUFFIX:
        return parse_jsonl_bytes(data, path=path, fetched_at=fetched_at)
    raise SeedFileError(path, f"unsupported file type {suffix or '(none)'!r}; expected .txt or .jsonl")
