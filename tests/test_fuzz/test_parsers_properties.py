"""Property-based tests for every parser of outside data: accept, or refuse with the documented error."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import SHIPPED_THEMES

from agents.records import (
    MAX_SOURCE_CHARS,
    MAX_TITLE_CHARS,
    MAX_URL_CHARS,
    InvalidRecord,
    canonical_url,
    decode_raw_article,
    encode,
    validate_raw_article,
)
from agents.seeds import SeedFileError, parse_seed_file
from agents.themes import ThemeFileError, load_theme_file, parse_theme_text, theme_from_record, theme_to_record

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
FIELDS = ["schema_version", "id", "source", "url", "title", "body", "published_at", "fetched_at", "feed"]
article_like = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=len(FIELDS))
good_text = st.text(min_size=1, max_size=200).filter(lambda s: s.strip())


def assert_is_article(article: Any) -> None:
    assert isinstance(article["id"], str)
    assert article["id"]
    assert isinstance(article["title"], str)
    assert isinstance(article["body"], str)
    assert article["title"].strip() or article["body"].strip()
    encode(article).decode("utf-8")  # always writable back as UTF-8 JSON


# --------------------------------------------------------------------------- raw-article JSON


@FAST
@given(st.binary(max_size=2048))
def test_any_bytes_decode_or_invalid_record(value: bytes) -> None:
    try:
        assert_is_article(decode_raw_article(value))
    except InvalidRecord as exc:
        reason = str(exc)
    else:
        reason = "accepted"
    assert reason


@FAST
@given(article_like)
def test_any_json_object_validates_or_invalid_record(obj: dict[str, Any]) -> None:
    try:
        article = decode_raw_article(json.dumps(obj).encode())
    except InvalidRecord as exc:
        reason = str(exc)
    else:
        assert_is_article(article)
        reason = "accepted"
    assert reason


@FAST
@given(title=good_text, body=st.text(max_size=300), url=st.none() | st.text(max_size=100))
def test_valid_articles_round_trip_with_a_stable_id(title: str, body: str, url: str | None) -> None:
    obj = {"title": title, "body": body, "url": url}
    first = validate_raw_article(obj)
    again = decode_raw_article(encode(first))
    assert again == first
    assert validate_raw_article(dict(obj))["id"] == first["id"]


@pytest.mark.parametrize(
    ("field", "limit"), [("title", MAX_TITLE_CHARS), ("url", MAX_URL_CHARS), ("source", MAX_SOURCE_CHARS)]
)
def test_oversized_fields_are_refused_naming_field_and_limit(field: str, limit: int) -> None:
    obj = {"title": "t", "body": "b", field: "x" * (limit + 1)}
    with pytest.raises(InvalidRecord, match=rf"{field}.*{limit}"):
        validate_raw_article(obj)
    validate_raw_article({**obj, field: "x" * limit})  # at the limit: accepted


@FAST
@given(st.text(max_size=200))
def test_canonical_url_never_raises(url: str) -> None:
    assert isinstance(canonical_url(url), str)


# --------------------------------------------------------------------------- seed files


@FAST
@given(data=st.binary(max_size=2048), suffix=st.sampled_from([".txt", ".jsonl", ".TXT", ".md", ""]))
def test_seed_bytes_parse_or_seed_file_error(data: bytes, suffix: str) -> None:
    try:
        articles = parse_seed_file(data, path=f"fuzz{suffix}", fetched_at="2026-01-01T00:00:00Z")
    except SeedFileError as exc:
        message = str(exc)
    else:
        assert articles
        for article in articles:
            assert_is_article(article)
        message = "fuzz: accepted"
    assert "fuzz" in message


@FAST
@given(st.lists(article_like | json_values, min_size=1, max_size=5))
def test_jsonl_seed_lines_parse_or_name_the_line(lines: list[Any]) -> None:
    data = "\n".join(json.dumps(line) for line in lines).encode()
    try:
        parse_seed_file(data, path="fuzz.jsonl", fetched_at="2026-01-01T00:00:00Z")
    except SeedFileError as exc:
        message = str(exc)
    else:
        message = "fuzz.jsonl: accepted"
    assert "fuzz.jsonl" in message


@FAST
@given(st.text(max_size=600))
def test_seed_text_parses_or_seed_file_error(text: str) -> None:
    try:
        [article] = parse_seed_file(text.encode("utf-8", "surrogatepass"), path="f.txt", fetched_at="x")
    except SeedFileError:
        return
    assert_is_article(article)


# --------------------------------------------------------------------------- theme files and records

THEME_LINES = [
    "[[theme]]",
    'id = "t1"',
    'name = "N"',
    'description = "D"',
    "threshold = 1",
    "[theme.terms.a]",
    'intl = ["Alpha", "Beta*"]',
    "[[theme.rules]]",
    'id = "r"',
    'any = ["a"]',
    "near = 5",
    "weight = 1",
    'exclude = ["a"]',
    'en = ["*x", "ab*"]',
    "count = 0",
    "[theme.examples]",
    'positive = ["Alpha"]',
]


@FAST
@given(st.lists(st.sampled_from(THEME_LINES) | st.text(max_size=30), max_size=25))
def test_theme_text_parses_or_theme_file_error(lines: list[str]) -> None:
    try:
        themes = parse_theme_text("\n".join(lines), "fuzz.toml")
    except ThemeFileError as exc:
        message = str(exc)
    else:
        assert all(t.id for t in themes)
        message = "fuzz.toml: accepted"
    assert "fuzz.toml" in message


SHIPPED_RECORDS = [theme_to_record(t) for t in load_theme_file(SHIPPED_THEMES)]


@FAST
@given(st.sampled_from(SHIPPED_RECORDS), st.sampled_from(sorted(SHIPPED_RECORDS[0])), json_values)
def test_mutated_theme_records_load_or_theme_file_error(record: dict[str, Any], key: str, value: Any) -> None:
    mutated = {**record, key: value}
    try:
        theme = theme_from_record(json.loads(json.dumps(mutated)))
    except ThemeFileError as exc:
        message = str(exc)
    else:
        assert theme_from_record(theme_to_record(theme)) == theme
        message = "accepted"
    assert message


@FAST
@given(json_values)
def test_any_json_is_a_theme_record_or_theme_file_error(obj: Any) -> None:
    with pytest.raises(ThemeFileError):
        theme_from_record(obj)
