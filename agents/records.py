"""Record schemas shared with non-Faust clients: plain JSON objects with a ``schema_version``.

Every topic value is UTF-8 JSON (documented in ``docs/topics.md``).  Decoding is done
here, by the application, not by Faust's serializers, so a value that fails to decode
becomes a dead-letter record with a reason instead of vanishing.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from typing import Any, NotRequired, TypedDict
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SCHEMA_VERSION = 1

# Documented limits (docs/topics.md).  A raw value above MAX_VALUE_BYTES, or a field
# above its limit, is rejected to the dead-letter topic with a reason.
MAX_VALUE_BYTES = 2 * 1024 * 1024
MAX_TITLE_CHARS = 2_000
MAX_BODY_CHARS = 1_000_000
MAX_URL_CHARS = 4_096
MAX_SOURCE_CHARS = 512
MAX_FEED_FIELD_CHARS = 4_096


class InvalidRecord(ValueError):
    """A value that is not a valid record; ``str(exc)`` is the human-readable reason."""


class RawArticle(TypedDict):
    schema_version: int
    id: str
    source: str
    url: str | None
    title: str
    body: str
    published_at: str | None
    fetched_at: str
    feed: NotRequired[dict[str, str] | None]


# --------------------------------------------------------------------------- text and ids

_SPACES = re.compile(r"[^\S\n]+")  # any whitespace but newline, NBSP included
_BLANK_LINES = re.compile(r"\n{3,}")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def normalize_text(text: str) -> str:
    """NFC, one space for any run of horizontal whitespace, no invisible or control characters.

    Meaning is kept: letters, punctuation, quotes and paragraph breaks are untouched.
    """
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n").translate(_INVISIBLE))
    # NFC after the removals: a removed character between a letter and its accent would
    # otherwise leave a decomposed pair, and normalizing twice would change the text.
    text = unicodedata.normalize("NFC", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


_TRACKING = re.compile(r"^(utm_.*|fbclid|gclid|mc_cid|mc_eid|ref|cmpid)$", re.IGNORECASE)


def canonical_url(url: str) -> str:
    """A URL with scheme and host lower-cased, default port, fragment and tracking parameters removed.

    Scheme-less URLs (``toutiao.com/article/1``) are read as https.  Never raises: a URL
    that does not parse (bad port, unbalanced IPv6 bracket) is returned stripped, and a
    malformed port is kept as written.
    """
    url = url.strip()
    if "://" not in url:
        url = "https://" + url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme == "http":
        scheme = "https"
    host = (parts.hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    try:
        port: int | str | None = parts.port
    except ValueError:
        port = parts.netloc.rpartition(":")[2]
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    path = re.sub(r"/{2,}", "/", parts.path or "/")
    if len(path) > 1:
        path = path.rstrip("/")
    query = urlencode(
        sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k))
    )
    return urlunsplit((scheme, netloc, path, query, ""))


def article_id(*, url: str | None, title: str, body: str) -> str:
    """Stable article id: from the canonical URL when there is one, else from the normalized content."""
    if url and url.strip():
        basis = "url:" + canonical_url(url)
    else:
        content = normalize_text(title) + "\n" + normalize_text(body)
        basis = "content:" + " ".join(content.casefold().split())
    return "a-" + hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()[:24]


# --------------------------------------------------------------------------- raw articles


def _string(obj: dict[str, Any], key: str, *, limit: int, required: bool) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise InvalidRecord(f"missing field {key!r}")
        return None
    if not isinstance(value, str):
        raise InvalidRecord(f"field {key!r} must be a string, not {type(value).__name__}")
    if len(value) > limit:
        raise InvalidRecord(f"field {key!r} has {len(value)} characters; the limit is {limit}")
    _check_encodable(value, key)
    return value


def _check_encodable(value: str, key: str) -> None:
    # JSON's \ud800 escapes decode to lone surrogates, which encode() could not write back.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidRecord(f"field {key!r} has an unpaired surrogate at character {exc.start}") from None


def validate_raw_article(obj: object) -> RawArticle:
    """Check a decoded JSON value against the raw-article schema and return it normalized.

    ``id`` may be omitted (it is derived), ``fetched_at`` too (callers that publish set it).
    """
    if not isinstance(obj, dict):
        raise InvalidRecord(f"a raw article must be a JSON object, not {type(obj).__name__}")
    version = obj.get("schema_version", SCHEMA_VERSION)
    if type(version) is not int or version != SCHEMA_VERSION:  # not True, not 1.0
        raise InvalidRecord(f"unsupported schema_version {version!r} (this worker reads {SCHEMA_VERSION})")
    title = _string(obj, "title", limit=MAX_TITLE_CHARS, required=True)
    body = _string(obj, "body", limit=MAX_BODY_CHARS, required=True)
    assert title is not None
    assert body is not None
    url = _string(obj, "url", limit=MAX_URL_CHARS, required=False) or None
    source = _string(obj, "source", limit=MAX_SOURCE_CHARS, required=False) or ""
    if not title.strip() and not body.strip():
        raise InvalidRecord("title and body are both empty")
    published_at = _string(obj, "published_at", limit=64, required=False)
    fetched_at = _string(obj, "fetched_at", limit=64, required=False) or ""
    given = _string(obj, "id", limit=128, required=False)
    feed_raw = obj.get("feed")
    feed: dict[str, str] | None = None
    if feed_raw is not None:
        if not isinstance(feed_raw, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and len(v) <= MAX_FEED_FIELD_CHARS for k, v in feed_raw.items()
        ):
            raise InvalidRecord("field 'feed' must be an object of short strings")
        for k, v in feed_raw.items():
            _check_encodable(k, "feed")
            _check_encodable(v, "feed")
        feed = dict(feed_raw)
    article: RawArticle = {
        "schema_version": SCHEMA_VERSION,
        # A producer-supplied id is kept; only a missing (or empty) one is derived. Deriving it
        # for an article without a URL normalizes and hashes the whole text: not done for nothing.
        "id": given or article_id(url=url, title=title, body=body),
        "source": source,
        "url": url,
        "title": title,
        "body": body,
        "published_at": published_at,
        "fetched_at": fetched_at,
    }
    if feed is not None:
        article["feed"] = feed
    return article


def decode_json(value: bytes | None, *, limit: int = MAX_VALUE_BYTES) -> object:
    """Bytes -> JSON value, or InvalidRecord naming what is wrong."""
    if value is None:
        raise InvalidRecord("empty message (no value)")
    if len(value) > limit:
        raise InvalidRecord(f"value is {len(value)} bytes; the limit is {limit}")
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRecord(f"value is not UTF-8: {exc.reason} at byte {exc.start}") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InvalidRecord(f"value is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise InvalidRecord("value is not JSON we accept: nested too deeply") from None


def _reject_constant(name: str) -> object:
    raise InvalidRecord(f"value is not JSON: {name} is not a JSON number")


def decode_raw_article(value: bytes | None) -> RawArticle:
    return validate_raw_article(decode_json(value))


def encode(record: object) -> bytes:
    """Compact, key-sorted UTF-8 JSON: the same record always encodes to the same bytes."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def document_text(title: str, body: str) -> str:
    """The text agents read: title, a blank line, body.  Evidence offsets index into this string."""
    return f"{title}\n\n{body}" if title else body
