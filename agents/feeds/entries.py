"""Feed entries (feedparser's dicts) to raw articles; HTML to plain text; deduplication keys.

Pure functions: no network.  The poller (``streams/sources/feeds``) fetches, parses with
feedparser and calls :func:`entry_to_article` and :func:`dedup_keys` for each entry.
"""

from __future__ import annotations

import calendar
import hashlib
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import lxml.etree
import lxml.html

from agents.feeds.config import FeedSpec, validate_url
from agents.records import (
    MAX_BODY_CHARS,
    MAX_FEED_FIELD_CHARS,
    MAX_SOURCE_CHARS,
    MAX_TITLE_CHARS,
    MAX_URL_CHARS,
    MAX_VALUE_BYTES,
    SCHEMA_VERSION,
    RawArticle,
    article_id,
    canonical_url,
    encode,
    normalize_text,
)

__all__ = [
    "MAX_ARTICLE_HTML_BYTES",
    "MAX_HTML_CHARS",
    "content_hash",
    "dedup_keys",
    "entry_to_article",
    "extract_main_text",
    "format_time",
    "html_to_text",
]

# HTML longer than this is cut before parsing: a raw article cannot hold more text anyway.
MAX_HTML_CHARS = 2 * MAX_BODY_CHARS
# A fetched article page larger than this is cut before extraction.
MAX_ARTICLE_HTML_BYTES = 5 * 1024 * 1024
# Room left in a raw value for JSON escapes and the fields around the body.
_VALUE_BUDGET = MAX_VALUE_BYTES - 64 * 1024

_DROP = frozenset(
    {"script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "math", "head", "title", "meta"}
    | {"link", "button", "select", "option", "textarea", "input", "form", "canvas", "audio", "video", "source"}
)
_PARAGRAPH = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "ul", "ol", "dl", "table", "figure", "hr"}
)
_LINE = frozenset(
    {"br", "div", "li", "dt", "dd", "tr", "section", "article", "main", "header", "footer", "aside", "nav"}
    | {"address", "figcaption", "caption", "details", "summary", "fieldset", "legend", "body", "html", "center"}
)


def _fix_surrogates(text: str) -> str:
    """Pairs of surrogates joined into their character, lone ones replaced by U+FFFD."""
    if not any("\ud800" <= c <= "\udfff" for c in text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at a space when one is near, ending with an ellipsis."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return text[:limit]
    cut = text[: limit - 1]
    space = cut.rfind(" ", max(0, len(cut) - 80))
    if space > 0:
        cut = cut[:space]
    return cut.rstrip() + "…"


def _parse_html(html: str) -> Any:
    """The root element of an HTML fragment or page, or None for an empty document."""
    parser = lxml.html.HTMLParser(
        encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True, default_doctype=False
    )
    try:
        return lxml.html.fromstring(html.encode("utf-8", "replace"), parser=parser)
    except (lxml.etree.ParserError, ValueError):  # "Document is empty"
        return None


# Breaks are collected as sentinels and resolved at the end: a run of them (with the
# whitespace between) is one line break, or a blank line when a paragraph is part of it.
_LINE_MARK = "\x1e"
_PARA_MARK = "\x1d"
_MARKS = re.compile(
    f"[ \t\n\r\f\v{_LINE_MARK}{_PARA_MARK}]*[{_LINE_MARK}{_PARA_MARK}][ \t\n\r\f\v{_LINE_MARK}{_PARA_MARK}]*"
)
_OWN_MARKS = str.maketrans({_LINE_MARK: " ", _PARA_MARK: " "})


def _resolve_marks(match: re.Match[str]) -> str:
    return "\n\n" if _PARA_MARK in match.group(0) else "\n"


def html_to_text(html: str, *, max_chars: int = MAX_BODY_CHARS) -> str:
    """Plain text of an HTML fragment or page.

    Parsed by lxml (libxml2's HTML parser: lenient with broken markup, fast, no network,
    nesting depth bounded).  Scripts, styles, comments, processing instructions, forms
    and embedded objects are dropped; entities are decoded; block elements (``div``,
    ``li``, ``br``, ``tr``, ...) become line breaks and paragraphs (``p``, headings,
    lists, tables, ``blockquote``, ``pre``) a blank line; whitespace is normalized as the
    decoder's ``normalize_text`` does.  The input is cut to :data:`MAX_HTML_CHARS` before
    parsing and the output to ``max_chars``.
    """
    html = _fix_surrogates(html[:MAX_HTML_CHARS])
    if "<" not in html and "&" not in html:
        return truncate(normalize_text(html), max_chars)
    root = _parse_html(html)
    if root is None:
        return ""
    pieces: list[str] = []
    # iterwalk is iterative: deeply nested markup cannot exhaust the stack.
    walker = lxml.etree.iterwalk(root, events=("start", "end"))
    for event, element in walker:
        tag = element.tag if isinstance(element.tag, str) else ""
        name = tag.rsplit("}", 1)[-1].lower()
        dropped = not tag or name in _DROP
        if event == "start":
            if dropped:
                walker.skip_subtree()
                continue
            if name in _PARAGRAPH:
                pieces.append(_PARA_MARK)
            elif name in _LINE:
                pieces.append(_LINE_MARK)
            elif name in ("td", "th"):
                pieces.append(" ")
            if element.text:
                pieces.append(element.text.translate(_OWN_MARKS))
        else:
            if not dropped:
                if name in _PARAGRAPH:
                    pieces.append(_PARA_MARK)
                elif name in _LINE and name not in ("br", "hr"):
                    pieces.append(_LINE_MARK)
                elif name in ("td", "th"):
                    pieces.append(" ")
            if element.tail and element is not root:
                pieces.append(element.tail.translate(_OWN_MARKS))
    text = _MARKS.sub(_resolve_marks, "".join(pieces).replace("\xa0", " "))
    return truncate(normalize_text(text), max_chars)


# --------------------------------------------------------------------------- entries


def format_time(value: Any) -> str | None:
    """A feedparser ``*_parsed`` value (UTC ``time.struct_time``) as ISO 8601 UTC with 'Z', or None."""
    if not isinstance(value, time.struct_time | tuple) or len(value) < 6:
        return None
    try:
        seconds = calendar.timegm((*tuple(value)[:6], 0, 0, 0))
        stamp = time.gmtime(seconds)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    if not 1970 <= stamp.tm_year <= 9999:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", stamp)


def _entry_time(entry: Mapping[str, Any]) -> str | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        stamp = format_time(entry.get(key))
        if stamp:
            return stamp
    return None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _text_of(value: str, content_type: str) -> str:
    if "html" in content_type or "xml" in content_type or not content_type:
        return html_to_text(value)
    return truncate(normalize_text(_fix_surrogates(value[:MAX_HTML_CHARS])), MAX_BODY_CHARS)


def _entry_body(entry: Mapping[str, Any]) -> str:
    """The longest of the entry's content values, else its summary, as plain text."""
    candidates: list[tuple[str, str]] = []
    content = entry.get("content")
    if isinstance(content, list):
        for item in content:
            if isinstance(item, Mapping) and isinstance(item.get("value"), str):
                candidates.append((item["value"], _str(item.get("type")).lower()))
    if not candidates:
        detail = entry.get("summary_detail")
        summary = _str(entry.get("summary")) or _str(entry.get("description"))
        kind = _str(detail.get("type")).lower() if isinstance(detail, Mapping) else "text/html"
        if summary:
            candidates.append((summary, kind))
    texts = [_text_of(value, kind) for value, kind in candidates]
    return max(texts, key=len, default="")


def _entry_title(entry: Mapping[str, Any]) -> str:
    title = _str(entry.get("title"))
    if not title:
        return ""
    detail = entry.get("title_detail")
    kind = _str(detail.get("type")).lower() if isinstance(detail, Mapping) else "text/html"
    text = _text_of(title, kind)
    return truncate(" ".join(text.split()), MAX_TITLE_CHARS)


def _entry_link(entry: Mapping[str, Any]) -> str | None:
    """The entry's http(s) link: ``link``, else the first alternate ``links`` href; None if unusable."""
    candidates = [_str(entry.get("link"))]
    links = entry.get("links")
    if isinstance(links, list):
        for item in links:
            if isinstance(item, Mapping) and item.get("rel", "alternate") == "alternate":
                candidates.append(_str(item.get("href")))
    for link in candidates:
        link = link.strip()
        if link and len(link) <= MAX_URL_CHARS and validate_url(link) is None:
            return link
    return None


def _source_name(feed_url: str) -> str:
    try:
        host = (urlsplit(feed_url).hostname or "").lower()
    except ValueError:
        host = ""
    if host.startswith("www."):
        host = host[4:]
    return host[:MAX_SOURCE_CHARS] or "feed"


def _feed_field(value: str) -> str:
    return truncate(" ".join(_fix_surrogates(value).split()), MAX_FEED_FIELD_CHARS)


def entry_to_article(
    entry: Mapping[str, Any],
    spec: FeedSpec,
    *,
    feed_url: str,
    feed_title: str | None,
    fetched_at: str,
    body: str | None = None,
) -> RawArticle | None:
    """The raw article of one feedparser entry, or None when it has neither title nor text.

    ``feed_url`` is the URL the feed was fetched from (after permanent redirects);
    ``body``, when given, replaces the entry's own text (the extracted article page with
    ``fetch_article = true``).  The id is :func:`agents.records.article_id` of the link, so
    the same URL from another feed, or replayed, gets the same id.  Every field is cut to
    its documented limit and the encoded value fits the raw-article size limit.
    """
    title = _entry_title(entry)
    text = truncate(normalize_text(_fix_surrogates(body)), MAX_BODY_CHARS) if body else _entry_body(entry)
    if not title and not text:
        return None
    url = _entry_link(entry)
    feed: dict[str, str] = {"feed_url": _feed_field(feed_url)}
    entry_id = _str(entry.get("id")) or _str(entry.get("guid"))
    if entry_id:
        feed["entry_id"] = _feed_field(entry_id)
    feed_name = spec.name or feed_title
    if feed_name:
        feed["feed_name"] = _feed_field(feed_name)
    if feed_title:
        feed["feed_title"] = _feed_field(feed_title)
    if spec.tags:
        feed["tags"] = _feed_field(",".join(spec.tags))
    if spec.lang:
        feed["lang_hint"] = spec.lang
    article: RawArticle = {
        "schema_version": SCHEMA_VERSION,
        "id": article_id(url=url, title=title, body=text),
        "source": _source_name(feed_url),
        "url": url,
        "title": title,
        "body": text,
        "published_at": _entry_time(entry),
        "fetched_at": fetched_at,
        "feed": feed,
    }
    size = len(encode(article))
    while size > _VALUE_BUDGET and article["body"]:
        # Multi-byte text: cut the body in proportion to the excess, then check again.
        keep = int(len(article["body"]) * _VALUE_BUDGET / size) - 16
        article["body"] = truncate(article["body"], max(0, keep))
        size = len(encode(article))
    if not url and article["body"] != text:
        article["id"] = article_id(url=url, title=title, body=article["body"])
    return article


# --------------------------------------------------------------------------- deduplication


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _folded(text: str) -> str:
    return " ".join(normalize_text(_fix_surrogates(text)).casefold().split())


def dedup_keys(entry: Mapping[str, Any], *, feed_url: str) -> list[str]:
    """Stable identity keys of an entry, most specific first; each ``kind:`` + 32 hex digits.

    - ``guid:`` the entry's guid/id, scoped to the feed (guids are only unique per feed);
    - ``link:`` the canonical link (:func:`agents.records.canonical_url`), which also
      catches the same story syndicated in several feeds;
    - ``title:`` the normalized, case-folded title plus the entry's UTC date, when both exist.

    An entry is already published when ANY of its keys (or its :func:`content_hash`) is in
    the poller's state; the first key is the entry's primary identity.  The same entry
    parsed twice gives the same keys.
    """
    keys: list[str] = []
    guid = (_str(entry.get("id")) or _str(entry.get("guid"))).strip()
    if guid:
        keys.append("guid:" + _digest(canonical_url(feed_url) + "\n" + guid))
    link = _entry_link(entry)
    if link:
        keys.append("link:" + _digest(canonical_url(link)))
    title = _folded(_entry_title(entry))
    stamp = _entry_time(entry)
    if title and stamp:
        keys.append("title:" + _digest(title + "\n" + stamp[:10]))
    if not keys and title:
        keys.append("title:" + _digest(title + "\n" + canonical_url(feed_url)))
    return keys


def content_hash(article: Mapping[str, Any]) -> str:
    """``content:`` + 32 hex digits over the normalized, case-folded title and body.

    The guard against GUID churn: a feed that regenerates guids and links on every poll
    still serves the same text, and the same text hashes the same.
    """
    return "content:" + _digest(_folded(_str(article.get("title"))) + "\n" + _folded(_str(article.get("body"))))


# --------------------------------------------------------------------------- article pages


def extract_main_text(html: bytes | str, url: str) -> str | None:
    """The main text of a fetched article page, or None when there is none.

    trafilatura (boilerplate removal: navigation, ads, comments) does the extraction; when
    it finds nothing, the text of the page's ``<article>`` or ``<main>`` element is used.
    The page is cut to :data:`MAX_ARTICLE_HTML_BYTES` first; nothing is fetched.
    """
    import trafilatura  # imported on first use: it loads lxml and language data

    if isinstance(html, bytes):
        html = html[:MAX_ARTICLE_HTML_BYTES]
        page = html.decode("utf-8", "replace")
    else:
        page = html[:MAX_ARTICLE_HTML_BYTES]
    page = _fix_surrogates(page)
    text: str | None = None
    try:
        text = trafilatura.extract(
            page, url=url, include_comments=False, include_tables=False, favor_precision=True, deduplicate=False
        )
    except Exception:  # extraction is best effort: a page that breaks it falls back below
        text = None
    if text and text.strip():
        return truncate(normalize_text(text), MAX_BODY_CHARS)
    root = _parse_html(page)
    if root is None:
        return None
    for name in ("article", "main"):
        found = next(root.iter(name), None)  # the root itself included: a fragment parses to its element
        if found is not None:
            fallback = html_to_text(lxml.html.tostring(found, encoding="unicode"))
            return fallback or None
    return None
