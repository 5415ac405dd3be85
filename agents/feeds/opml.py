"""OPML import: the feeds of an OPML export (any feed reader's) as :class:`FeedSpec` entries.

Parsed with defusedxml (expat underneath) with DTDs, entity declarations and external
references forbidden, so entity-expansion bombs and external entities are refused
before anything is expanded or fetched.
"""

from __future__ import annotations

import re
from typing import Any
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from agents.feeds.config import MAX_NAME_CHARS, MAX_TAG_CHARS, MAX_TAGS, FeedsFileError, FeedSpec, validate_url
from agents.records import canonical_url

__all__ = ["MAX_OPML_BYTES", "parse_opml"]

MAX_OPML_BYTES = 20 * 1024 * 1024
_LANG = re.compile(r"^([a-z]{2})(?:[-_]([a-z]{2}))?$", re.IGNORECASE)
_TAG_JUNK = re.compile(r"[^\w .:/+-]+")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def _attr(attrs: dict[str, str], name: str) -> str | None:
    """An attribute by case-insensitive name (``xmlUrl``, ``xmlurl``, ``XMLURL``)."""
    for key, value in attrs.items():
        if _local(key) == name:
            return value
    return None


def _tag(text: str) -> str | None:
    cleaned = " ".join(_TAG_JUNK.sub(" ", text.replace(",", " ")).split())[:MAX_TAG_CHARS].strip()
    return cleaned if cleaned and (cleaned[0].isalnum() or cleaned[0] == "_") else None


def _lang(value: str | None) -> str | None:
    match = _LANG.match((value or "").strip())
    if not match:
        return None
    lang = match.group(1).lower()
    return f"{lang}-{match.group(2).upper()}" if match.group(2) else lang


class _Collector:
    """The parser's target: walks outlines as they open and close, with their line numbers."""

    def __init__(self, path: str, problems: list[FeedsFileError] | None) -> None:
        self.path = path
        self.problems = problems
        self.parser: DefusedXMLParser | None = None
        self.stack: list[str | None] = []  # per open element: a folder title for outlines without xmlUrl
        self.root: str | None = None
        self.specs: dict[str, FeedSpec] = {}

    def _line(self) -> int | None:
        expat = getattr(self.parser, "parser", None)
        line = getattr(expat, "CurrentLineNumber", None)
        return line if isinstance(line, int) else None

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        name = _local(tag)
        if self.root is None:
            self.root = name
            if name != "opml":
                raise FeedsFileError(self.path, self._line(), f"not an OPML document (root element <{name}>)")
        folder: str | None = None
        if name == "outline":
            url = _attr(attrs, "xmlurl")
            title = (_attr(attrs, "title") or _attr(attrs, "text") or "").strip()
            if url is None or not url.strip():
                folder = title or None
            else:
                self._add(url.strip(), title, attrs)
        self.stack.append(folder)

    def _add(self, url: str, title: str, attrs: dict[str, str]) -> None:
        if url.lower().startswith("feed://"):
            url = "http://" + url[len("feed://") :]
        error = validate_url(url)
        if error:
            problem = FeedsFileError(self.path, self._line(), f"outline {title or url!r}: {error}")
            if self.problems is None:
                raise problem
            self.problems.append(problem)
            return
        tags: list[str] = []
        for folder in self.stack:
            if folder:
                tags.append(folder)
        for category in (_attr(attrs, "category") or "").split(","):
            tags.extend(part for part in category.split("/"))
        cleaned: list[str] = []
        for raw in tags:
            tag = _tag(raw)
            if tag and tag not in cleaned:
                cleaned.append(tag)
        key = canonical_url(url)
        previous = self.specs.get(key)
        if previous is not None:
            merged = list(previous.tags) + [t for t in cleaned if t not in previous.tags]
            self.specs[key] = FeedSpec(
                url=previous.url,
                name=previous.name,
                lang=previous.lang,
                interval=previous.interval,
                tags=tuple(merged[:MAX_TAGS]),
                fetch_article=previous.fetch_article,
            )
            return
        name = " ".join(title.split())[:MAX_NAME_CHARS].strip() or None
        self.specs[key] = FeedSpec(
            url=url, name=name, lang=_lang(_attr(attrs, "language")), tags=tuple(cleaned[:MAX_TAGS])
        )

    def end(self, tag: str) -> None:
        if self.stack:
            self.stack.pop()

    def data(self, data: str) -> None:
        pass

    def close(self) -> list[FeedSpec]:
        return list(self.specs.values())


def parse_opml(data: bytes, path: str = "<opml>", *, problems: list[FeedsFileError] | None = None) -> list[FeedSpec]:
    """The feeds of an OPML document, in document order, duplicates (by canonical URL) merged.

    Every ``<outline>`` with an ``xmlUrl`` is a feed, at any depth; its ``title`` (else
    ``text``) is the name, ``language`` the language hint.  The titles of enclosing
    outlines without ``xmlUrl`` (folders) and the ``category`` attribute (comma-separated,
    ``/``-paths split) become tags.  A duplicate keeps the first name and gains the other's
    tags.  An outline with an unusable URL raises :class:`FeedsFileError` with its line, or,
    when a ``problems`` list is given, is appended there and skipped.  A DTD, an entity
    declaration or an external reference refuses the whole document.
    """
    if len(data) > MAX_OPML_BYTES:
        raise FeedsFileError(path, None, f"the OPML file is {len(data)} bytes; the limit is {MAX_OPML_BYTES}")
    collector = _Collector(path, problems)
    parser = DefusedXMLParser(target=collector, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    collector.parser = parser
    try:
        parser.feed(data)
        result: Any = parser.close()
    except FeedsFileError:
        raise
    except DefusedXmlException as exc:
        reason = type(exc).__name__
        raise FeedsFileError(
            path, collector._line(), f"unsafe XML refused ({reason}): DTDs and entity declarations are not allowed"
        ) from None
    except ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        message = str(exc).split(":", 1)[0] if ": line" in str(exc) else str(exc)
        raise FeedsFileError(path, line, f"not well-formed XML: {message}") from None
    if collector.root is None:
        raise FeedsFileError(path, None, "empty document: not an OPML file")
    assert isinstance(result, list)
    return result
