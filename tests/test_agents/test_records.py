"""Record schemas (agents.records): canonical URLs, ids, validation, decoding, normalization."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.records import (
    MAX_BODY_CHARS,
    MAX_FEED_FIELD_CHARS,
    MAX_SOURCE_CHARS,
    MAX_TITLE_CHARS,
    MAX_URL_CHARS,
    SCHEMA_VERSION,
    InvalidRecord,
    RawArticle,
    article_id,
    canonical_url,
    decode_json,
    decode_raw_article,
    encode,
    normalize_text,
    validate_raw_article,
)

ID = re.compile(r"^a-[0-9a-f]{24}$")
FUZZ = settings(max_examples=300, deadline=2000)
ANY_TEXT = st.text(st.characters(exclude_categories=()))  # lone surrogates included


# --------------------------------------------------------------------------- canonical_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.org/a", "https://example.org/a"),
        ("HTTP://WWW.Example.ORG/a", "https://example.org/a"),  # scheme, host case; http -> https; www.
        ("toutiao.com/article/7595104825235292712/", "https://toutiao.com/article/7595104825235292712"),
        ("  https://example.org/a/  ", "https://example.org/a"),  # whitespace, trailing slash
        ("https://example.org", "https://example.org/"),
        ("https://example.org//a///b", "https://example.org/a/b"),
        ("https://example.org:443/a", "https://example.org/a"),
        ("http://example.org:80/a", "https://example.org/a"),
        ("https://example.org:8443/a", "https://example.org:8443/a"),
        ("https://example.org/a#section", "https://example.org/a"),
        ("https://example.org/a?b=2&a=1", "https://example.org/a?a=1&b=2"),
        ("https://example.org/a?utm_source=x&UTM_Medium=y&fbclid=1&gclid=2&ref=z&id=7", "https://example.org/a?id=7"),
        ("https://example.org/a?q=", "https://example.org/a?q="),
        ("https://user@example.org/a", "https://example.org/a"),
        ("https://[2001:DB8::1]:8080/a", "https://[2001:db8::1]:8080/a"),
        # Malformed URLs still give a value (ids must be derivable from any string):
        ("https://example.org:port/a", "https://example.org:port/a"),
        ("https://example.org:99999/a", "https://example.org:99999/a"),
        ("mailto:someone", "https://mailto:someone/"),
        ("http://[::1", "http://[::1"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@FUZZ
@given(ANY_TEXT | st.from_regex(r"[a-z]{0,5}://?\[?[a-z0-9.:@]{0,20}\]?(:[0-9a-z]{0,6})?(/[a-z?=&#%]{0,10})?"))
def test_canonical_url_and_url_ids_never_raise(url: str) -> None:
    result = canonical_url(url)
    assert isinstance(result, str)
    assert ID.match(article_id(url=url, title="", body=""))


# --------------------------------------------------------------------------- article_id


def test_id_from_url_ignores_content_and_tracking() -> None:
    base = article_id(url="https://example.org/story?id=1", title="A", body="B")
    assert ID.match(base)
    assert article_id(url="http://www.example.org/story/?utm_source=tw&id=1#top", title="other", body="") == base
    assert article_id(url="https://example.org/story?id=2", title="A", body="B") != base


def test_id_from_content_when_there_is_no_url() -> None:
    base = article_id(url=None, title="A Title", body="Some body text.")
    assert ID.match(base)
    assert article_id(url="", title="A Title", body="Some body text.") == base
    assert article_id(url="   ", title="A Title", body="Some body text.") == base
    # Case, whitespace, NBSP, CRLF and Unicode composition do not change the id...
    assert article_id(url=None, title=" a\u00a0TITLE ", body="Some   body\r\ntext.") == base
    assert article_id(url=None, title="Cafe\u0301", body="") == article_id(url=None, title="Café", body="")
    # ...but the words do.
    assert article_id(url=None, title="A Title", body="Other body text.") != base
    assert article_id(url=None, title="A Title", body="") != base


def test_id_is_the_same_across_calls_and_processes() -> None:
    # Pinned: a change here changes every stored id (and breaks de-duplication).
    assert article_id(url="https://example.org/a", title="", body="") == "a-" + _sha("url:https://example.org/a")
    assert article_id(url=None, title="T", body="B") == "a-" + _sha("content:t b")


def _sha(basis: str) -> str:
    import hashlib

    return hashlib.sha256(basis.encode()).hexdigest()[:24]


# --------------------------------------------------------------------------- validate_raw_article

GOOD: dict[str, Any] = {"title": "T", "body": "B"}


def test_minimal_article_gets_defaults_and_a_derived_id() -> None:
    article = validate_raw_article(dict(GOOD))
    assert article == {
        "schema_version": SCHEMA_VERSION,
        "id": article_id(url=None, title="T", body="B"),
        "source": "",
        "url": None,
        "title": "T",
        "body": "B",
        "published_at": None,
        "fetched_at": "",
    }


def test_full_article_is_kept() -> None:
    full: RawArticle = {
        "schema_version": 1,
        "id": "a-given",
        "source": "example.org",
        "url": "https://example.org/a",
        "title": "T",
        "body": "",
        "published_at": "2025-12-06",
        "fetched_at": "2026-01-01T00:00:00Z",
        "feed": {"feed_url": "https://example.org/rss"},
    }
    assert validate_raw_article(dict(full)) == full
    assert decode_raw_article(encode(full)) == full


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"title": None}, "missing field 'title'"),
        ({"body": None}, "missing field 'body'"),
        ({"title": 5}, "field 'title' must be a string, not int"),
        ({"body": ["b"]}, "field 'body' must be a string, not list"),
        ({"url": 1.5}, "field 'url' must be a string, not float"),
        ({"source": True}, "field 'source' must be a string, not bool"),
        ({"id": {}}, "field 'id' must be a string, not dict"),
        ({"published_at": 20251206}, "field 'published_at' must be a string, not int"),
        ({"fetched_at": False}, "field 'fetched_at' must be a string, not bool"),
        ({"title": "x" * (MAX_TITLE_CHARS + 1)}, f"field 'title' has 2001 characters; the limit is {MAX_TITLE_CHARS}"),
        ({"body": "x" * (MAX_BODY_CHARS + 1)}, f"field 'body' has 1000001 characters; the limit is {MAX_BODY_CHARS}"),
        ({"url": "x" * (MAX_URL_CHARS + 1)}, f"field 'url' has 4097 characters; the limit is {MAX_URL_CHARS}"),
        ({"source": "x" * (MAX_SOURCE_CHARS + 1)}, "field 'source' has 513 characters; the limit is 512"),
        ({"id": "x" * 129}, "field 'id' has 129 characters; the limit is 128"),
        ({"title": "", "body": " \n"}, "title and body are both empty"),
        ({"schema_version": 2}, "unsupported schema_version 2 (this worker reads 1)"),
        ({"schema_version": "1"}, "unsupported schema_version '1' (this worker reads 1)"),
        ({"schema_version": True}, "unsupported schema_version True (this worker reads 1)"),
        ({"schema_version": 1.0}, "unsupported schema_version 1.0 (this worker reads 1)"),
        ({"feed": "x"}, "field 'feed' must be an object of short strings"),
        ({"feed": {"a": 1}}, "field 'feed' must be an object of short strings"),
        ({"feed": {"a": "x" * (MAX_FEED_FIELD_CHARS + 1)}}, "field 'feed' must be an object of short strings"),
        ({"feed": {"a": "\udc80"}}, "field 'feed' has an unpaired surrogate at character 0"),
        ({"title": "ok \ud800"}, "field 'title' has an unpaired surrogate at character 3"),
        ({"url": "https://example.org/\udfff"}, "field 'url' has an unpaired surrogate at character 20"),
    ],
)
def test_bad_fields_are_rejected_with_a_reason(changes: dict[str, Any], reason: str) -> None:
    obj = {**GOOD, **changes}
    obj = {k: v for k, v in obj.items() if v is not None or k not in ("title", "body")}
    with pytest.raises(InvalidRecord) as info:
        validate_raw_article(obj)
    assert str(info.value) == reason


@pytest.mark.parametrize("value", [None, [], "article", 3, True])
def test_non_objects_are_rejected(value: object) -> None:
    with pytest.raises(InvalidRecord, match=r"^a raw article must be a JSON object, not "):
        validate_raw_article(value)


# --------------------------------------------------------------------------- decode_json


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "empty message (no value)"),
        (b"\xff\xfe{}", "value is not UTF-8: invalid start byte at byte 0"),
        (b'{"title": "caf\xe9"}', "value is not UTF-8: invalid continuation byte at byte 14"),
        (b"", "value is not JSON: Expecting value at line 1 column 1"),
        (b"[1 2]", "value is not JSON: Expecting ',' delimiter at line 1 column 4"),
        (b"NaN", "value is not JSON: NaN is not a JSON number"),
        (b"[1, -Infinity]", "value is not JSON: -Infinity is not a JSON number"),
        (b"[" * 200_000, "value is not JSON we accept: nested too deeply"),
    ],
)
def test_decode_json_errors(value: bytes | None, reason: str) -> None:
    with pytest.raises(InvalidRecord) as info:
        decode_json(value)
    assert str(info.value) == reason


def test_decode_json_size_limit() -> None:
    assert decode_json(b"[1]", limit=3) == [1]
    with pytest.raises(InvalidRecord, match=r"^value is 4 bytes; the limit is 3$"):
        decode_json(b"[10]", limit=3)


def test_encode_is_canonical_utf8_json() -> None:
    assert encode({"b": "é", "a": [1, None]}) == '{"a":[1,null],"b":"é"}'.encode()


# --------------------------------------------------------------------------- properties


@FUZZ
@given(st.binary(max_size=3000))
def test_raw_bytes_decode_or_raise_invalid_record(value: bytes) -> None:
    try:
        article = decode_raw_article(value)
    except InvalidRecord:
        return
    assert decode_raw_article(encode(article)) == article


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ANY_TEXT, inner, max_size=3),
    max_leaves=10,
)


@FUZZ
@given(
    st.fixed_dictionaries(
        {"title": ANY_TEXT, "body": ANY_TEXT},
        optional={
            k: _JSON | ANY_TEXT for k in ("url", "source", "id", "published_at", "fetched_at", "feed", "schema_version")
        },
    )
    | _JSON
)
def test_json_values_validate_or_raise_invalid_record(obj: object) -> None:
    # Through bytes as a producer would send them (ensure_ascii escapes lone surrogates).
    value = json.dumps(obj).encode()
    try:
        article = decode_raw_article(value)
    except InvalidRecord:
        return
    assert decode_raw_article(encode(article)) == article


@FUZZ
@given(ANY_TEXT | st.text(alphabet=" \t\r\n\u00a0\u200b\u0301e\x01ab", max_size=40))
def test_normalize_text_is_idempotent_and_tidy(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once
    assert once == once.strip()
    assert "\r" not in once
    assert "\n\n\n" not in once
    assert "  " not in once


def test_normalize_text_keeps_meaning() -> None:
    assert normalize_text("  “Quoted” — text.\r\n\r\n\r\n\r\nNext\u00a0para  ") == "“Quoted” — text.\n\nNext para"
    assert normalize_text("e\x01\u0301") == "é"
