"""Seed parsing (agents.seeds): the repository's seeds, tricky text, JSON Lines, and fuzzing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.records import MAX_TITLE_CHARS, RawArticle, article_id, decode_raw_article, encode, validate_raw_article
from agents.seeds import (
    SeedFileError,
    parse_date,
    parse_jsonl_bytes,
    parse_jsonl_line,
    parse_seed_bytes,
    parse_seed_file,
    parse_seed_text,
    source_for,
)

REPO = Path(__file__).resolve().parents[2]
SEEDS = sorted((REPO / "seeds").glob("*.txt"))
NOW = "2026-01-13T09:30:00Z"
ID = re.compile(r"^a-[0-9a-f]{24}$")


def parse_path(path: Path, fetched_at: str = NOW) -> RawArticle:
    [article] = parse_seed_file(path.read_bytes(), path=f"seeds/{path.name}", fetched_at=fetched_at)
    return article


def text(data: str, name: str = "x.txt") -> RawArticle:
    return parse_seed_text(data, path=name, fetched_at=NOW)


# --------------------------------------------------------------------------- the repository's seeds


def test_there_are_five_seeds() -> None:
    assert len(SEEDS) == 5


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.name)
def test_each_seed_parses_to_a_valid_article(path: Path) -> None:
    article = parse_path(path)
    assert article["title"]
    assert "\n" not in article["title"]
    assert len(article["body"]) > 1000
    assert article["fetched_at"] == NOW
    assert ID.match(article["id"])
    assert validate_raw_article(article) == article
    assert decode_raw_article(encode(article)) == article
    if article["url"] is None:
        assert article["source"] == f"seed:{path.name}"


def test_seed_000_url_comes_from_its_original_line_which_leaves_the_body() -> None:
    article = parse_path(SEEDS[0])
    assert article["url"] == "https://toutiao.com/article/7595104825235292712/"
    assert article["source"] == "toutiao.com"
    assert "Original:" not in article["body"]
    assert "toutiao.com" not in article["body"]
    # The line after it is body text and stays.
    assert article["body"].endswith("Statement: This article represents the views of the author alone.")
    assert article["id"] == article_id(url="toutiao.com/article/7595104825235292712/", title="", body="")


def test_seed_002_title_is_the_first_non_empty_line() -> None:
    assert SEEDS[2].read_bytes().startswith(b"\n")
    article = parse_path(SEEDS[2])
    assert article["title"] == "With America Normalizing Russia, an Emerging European Coalition Takes Shape"
    assert article["body"].startswith("A second Trump administration")


def test_seed_003_has_a_readable_publication_date_and_no_nbsp() -> None:
    article = parse_path(SEEDS[3])
    assert article["published_at"] == "2025-12-06"
    assert "\u00a0" not in article["body"]
    assert "European Leaders Confront a New Strategic Shock" in article["body"]


def test_only_seed_003_gets_a_date() -> None:
    assert [parse_path(p)["published_at"] is not None for p in SEEDS] == [False, False, False, True, False]


def test_ids_are_stable_and_distinct() -> None:
    first = [parse_path(p)["id"] for p in SEEDS]
    again = [parse_path(p, fetched_at="2030-01-01T00:00:00Z")["id"] for p in SEEDS]
    assert first == again
    assert len(set(first)) == len(SEEDS)


def test_content_ids_match_records_article_id() -> None:
    for path in SEEDS:
        article = parse_path(path)
        assert article["id"] == article_id(url=article["url"], title=article["title"], body=article["body"])


# --------------------------------------------------------------------------- tricky text


def test_leading_blank_and_whitespace_lines_are_skipped() -> None:
    article = text("\n\n   \n\t\nThe title\nThe body.\n")
    assert article["title"] == "The title"
    assert article["body"] == "The body."


def test_crlf_and_cr_give_the_same_article_as_lf() -> None:
    lf = text("Title\n\nPara one.\nPara two.\n")
    assert text("Title\r\n\r\nPara one.\r\nPara two.\r\n") == lf
    assert text("Title\r\rPara one.\rPara two.\r") == lf


def test_nbsp_and_runs_of_spaces_become_one_space_and_paragraphs_stay() -> None:
    article = text("A\u00a0title  here\n\nFirst\u00a0\u00a0paragraph.\n\n\n\n\nSecond.")
    assert article["title"] == "A title here"
    assert article["body"] == "First paragraph.\n\nSecond."


def test_bom_is_dropped_from_bytes_and_text() -> None:
    data = b"Title\nBody"
    assert parse_seed_bytes(b"\xef\xbb\xbf" + data, path="x.txt", fetched_at=NOW) == text("Title\nBody")
    assert text("\ufeffTitle\nBody")["title"] == "Title"


def test_unicode_is_composed_and_invisible_characters_removed() -> None:
    article = text("Cafe\u0301 au lait\u200b\nSo\u00adft hyphen and a bell\x07.")
    assert article["title"] == "Café au lait"
    assert article["body"] == "Soft hyphen and a bell."


def test_a_file_with_only_a_title_has_an_empty_body() -> None:
    article = text("Only a title\n\n")
    assert article["title"] == "Only a title"
    assert article["body"] == ""


@pytest.mark.parametrize("data", [b"", b"\n\n", b"  \t \r\n", b"\xef\xbb\xbf", "\u200b\u00a0\n".encode()])
def test_an_empty_file_is_an_error_naming_it(data: bytes) -> None:
    with pytest.raises(SeedFileError, match=r"^seeds/empty\.txt: the file is empty"):
        parse_seed_bytes(data, path="seeds/empty.txt", fetched_at=NOW)


def test_non_utf8_is_an_error_naming_file_and_line() -> None:
    data = b"Title\nline two\ncaf" + b"\xe9 latin-1\n"
    with pytest.raises(SeedFileError) as info:
        parse_seed_bytes(data, path="seeds/latin1.txt", fetched_at=NOW)
    assert str(info.value).startswith("seeds/latin1.txt:3: not UTF-8 text")
    assert info.value.line == 3
    assert info.value.path == "seeds/latin1.txt"


def test_a_title_over_the_limit_is_an_error() -> None:
    with pytest.raises(SeedFileError, match=r"^long\.txt: field 'title' has 2001 characters; the limit is 2000$"):
        text("x" * (MAX_TITLE_CHARS + 1) + "\nbody", name="long.txt")


def test_original_with_a_scheme_keeps_it() -> None:
    article = text("T\nBody.\nOriginal: http://www.Example.org/a?utm_source=x\n")
    assert article["url"] == "http://www.Example.org/a?utm_source=x"
    assert article["source"] == "example.org"
    assert article["body"] == "Body."
    assert article["id"] == article_id(url="https://example.org/a", title="", body="")


def test_original_that_is_not_a_url_stays_in_the_body() -> None:
    article = text("T\nBody.\nOriginal: the author's blog\nOriginal: ftp://example.org/x\n")
    assert article["url"] is None
    assert article["source"] == "seed:x.txt"
    assert article["body"] == "Body.\nOriginal: the author's blog\nOriginal: ftp://example.org/x"


def test_the_last_original_line_wins_and_only_it_is_removed() -> None:
    article = text("T\nOriginal: example.org/first\nBody.\nOriginal: example.com/second\n")
    assert article["url"] == "https://example.com/second"
    assert article["body"] == "Original: example.org/first\nBody."


def test_a_date_far_into_the_body_is_not_taken_as_the_publication_date() -> None:
    body = "\n".join(f"Paragraph {i}." for i in range(20))
    assert text(f"T\n{body}\nPublished on: Dec 6, 2025")["published_at"] is None
    assert text(f"T\nPublished on: Dec 6, 2025\n{body}")["published_at"] == "2025-12-06"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Dec 6, 2025", "2025-12-06"),
        ("December 6 2025", "2025-12-06"),
        ("Sept. 30, 2024", "2024-09-30"),
        ("6 December 2025", "2025-12-06"),
        ("2025-12-06", "2025-12-06"),
        ("2025-12-06T23:30:00+02:00", "2025-12-06T21:30:00Z"),
        ("2025-12-06T23:30:00Z", "2025-12-06T23:30:00Z"),
        ("2025-12-06T23:30:00", "2025-12-06"),  # no zone: the instant is unknown, the date is not
        ("06/12/2025", None),  # day or month first? not guessed
        ("12/06/2025", None),
        ("Feb 30, 2025", None),
        ("Smarch 6, 2025", None),
        ("yesterday", None),
        ("2025-13-01", None),
        ("", None),
    ],
)
def test_parse_date_reads_only_unambiguous_dates(value: str, expected: str | None) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.Example.org/x", "example.org"),
        ("https://news.example.co.uk/x", "news.example.co.uk"),
        (None, "seed:a.txt"),
        ("", "seed:a.txt"),
        ("not a url", "seed:a.txt"),
        ("http://[::1", "seed:a.txt"),
    ],
)
def test_source_for(url: str | None, expected: str) -> None:
    assert source_for(url, "dir/a.txt") == expected


def test_parse_seed_file_dispatches_on_the_suffix() -> None:
    assert len(parse_seed_file(b"T\nB", path="A.TXT", fetched_at=NOW)) == 1
    assert len(parse_seed_file(b'{"title": "T", "body": "B"}', path="a.JSONL", fetched_at=NOW)) == 1
    with pytest.raises(SeedFileError, match=r"^notes\.md: unsupported file type '\.md'"):
        parse_seed_file(b"T\nB", path="notes.md", fetched_at=NOW)


# --------------------------------------------------------------------------- JSON Lines


def jsonl(*lines: object) -> bytes:
    return "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines).encode()


def test_jsonl_lines_become_articles_with_derived_ids_and_defaults() -> None:
    data = jsonl(
        {"title": "One", "body": "First."},
        "",
        "   ",
        {"title": "Two", "body": "Second.", "url": "https://www.example.org/2?utm_medium=x"},
        {"title": "Three", "body": "Third.", "id": "a-given", "source": "wire", "fetched_at": "2020-01-01T00:00:00Z"},
    )
    one, two, three = parse_jsonl_bytes(data, path="in/batch.jsonl", fetched_at=NOW)
    assert one["id"] == article_id(url=None, title="One", body="First.")
    assert one["source"] == "seed:batch.jsonl"
    assert one["fetched_at"] == NOW
    assert one["url"] is None
    assert two["id"] == article_id(url="https://example.org/2", title="", body="")
    assert two["source"] == "example.org"
    assert three["id"] == "a-given"
    assert three["source"] == "wire"
    assert three["fetched_at"] == "2020-01-01T00:00:00Z"


def test_jsonl_text_is_kept_as_given() -> None:
    [article] = parse_jsonl_bytes(
        jsonl({"title": " Spaced\u00a0 ", "body": "a\n\n\n\nb"}), path="a.jsonl", fetched_at=NOW
    )
    assert article["title"] == " Spaced\u00a0 "
    assert article["body"] == "a\n\n\n\nb"


def test_jsonl_with_bom_and_crlf() -> None:
    data = b"\xef\xbb\xbf" + jsonl({"title": "A", "body": "B"}, {"title": "C", "body": "D"}).replace(b"\n", b"\r\n")
    assert [a["title"] for a in parse_jsonl_bytes(data, path="a.jsonl", fetched_at=NOW)] == ["A", "C"]


@pytest.mark.parametrize(
    ("third_line", "message"),
    [
        ('{"title": 5, "body": "x"}', "field 'title' must be a string, not int"),
        ('{"title": "t"}', "missing field 'body'"),
        ('{"title": "", "body": " "}', "title and body are both empty"),
        ('{"title": "t", "body": "b", "schema_version": 2}', "unsupported schema_version 2 (this worker reads 1)"),
        ('["title", "body"]', "a raw article must be a JSON object, not list"),
        ('{"title": "t", "body": "b"', "invalid JSON: Expecting ',' delimiter at column 27"),
        ("not json", "invalid JSON: Expecting value at column 1"),
        ('{"title": "t", "body": NaN}', "invalid JSON: NaN is not JSON"),
        ("[" * 100_000, "invalid JSON: nested too deeply"),
        ('{"title": "\\ud800", "body": "b"}', "field 'title' has an unpaired surrogate at character 0"),
        ('{"title": "t", "body": "b", "source": 0}', "field 'source' must be a string, not int"),
    ],
)
def test_jsonl_errors_name_file_and_line(third_line: str, message: str) -> None:
    data = jsonl({"title": "a", "body": "b"}, "", third_line, {"title": "c", "body": "d"})
    with pytest.raises(SeedFileError) as info:
        parse_jsonl_bytes(data, path="seeds/x.jsonl", fetched_at=NOW)
    assert str(info.value) == f"seeds/x.jsonl:3: {message}"
    assert info.value.line == 3


def test_jsonl_non_utf8_line_is_named() -> None:
    data = jsonl({"title": "a", "body": "b"}) + b'\n{"title": "caf\xe9", "body": "b"}\n'
    with pytest.raises(SeedFileError, match=r"^x\.jsonl:2: not UTF-8 text \(invalid continuation byte at column 15\)$"):
        parse_jsonl_bytes(data, path="x.jsonl", fetched_at=NOW)


@pytest.mark.parametrize("data", [b"", b"\n\n  \n", b"\xef\xbb\xbf\n"])
def test_jsonl_without_articles_is_an_error(data: bytes) -> None:
    with pytest.raises(SeedFileError, match=r"^x\.jsonl: the file is empty"):
        parse_jsonl_bytes(data, path="x.jsonl", fetched_at=NOW)


# --------------------------------------------------------------------------- properties

FUZZ = settings(max_examples=300, deadline=2000)  # a deadline: no input may make the parser hang


def _valid(article: RawArticle) -> None:
    assert validate_raw_article(article) == article
    assert decode_raw_article(encode(article)) == article


@FUZZ
@given(st.binary(max_size=4000))
def test_seed_bytes_raise_only_seed_file_error(data: bytes) -> None:
    try:
        article = parse_seed_bytes(data, path="f.txt", fetched_at=NOW)
    except SeedFileError:
        return
    _valid(article)


@FUZZ
@given(st.text(max_size=4000))
def test_seed_text_raises_only_seed_file_error_and_is_stable(data: str) -> None:
    try:
        article = parse_seed_text(data, path="f.txt", fetched_at=NOW)
    except SeedFileError:
        return
    _valid(article)
    assert "\n" not in article["title"]
    assert parse_seed_text(data, path="f.txt", fetched_at="2000-01-01T00:00:00Z")["id"] == article["id"]


_LINES = st.lists(
    st.sampled_from(
        ["Title", "", "  ", "Original: example.org/a", "Original:", "Published on: Dec 6, 2025", "x\u00a0y"]
    )
    | st.text(max_size=80),
    max_size=30,
)


@FUZZ
@given(_LINES, st.sampled_from(["\n", "\r\n", "\r"]))
def test_seed_line_soup_raises_only_seed_file_error(lines: list[str], newline: str) -> None:
    try:
        article = parse_seed_text(newline.join(lines), path="f.txt", fetched_at=NOW)
    except SeedFileError:
        return
    _valid(article)


# Any code point, lone surrogates included: json.dumps writes them as \\ud800 escapes.
_TEXT = st.text(st.characters(exclude_categories=()), max_size=30)
_URLS = st.sampled_from(
    ["example.org/a", "http://[::1", "a:b", "https://h:99999/", "mailto:x", "https://www.x.org/?utm_x=1"]
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXT | _URLS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
_FIELDS = st.sampled_from(
    ["title", "body", "url", "source", "id", "published_at", "fetched_at", "feed", "schema_version"]
)
_NEARLY_VALID = st.fixed_dictionaries(
    {"title": _TEXT, "body": _TEXT},
    optional={"url": _URLS | _TEXT, "source": _TEXT, "id": _TEXT, "published_at": _TEXT, "feed": _JSON},
)
_OBJECTS = _NEARLY_VALID | st.dictionaries(_FIELDS, _JSON, max_size=9) | _JSON


@FUZZ
@given(st.lists(_OBJECTS, max_size=5))
def test_jsonl_of_json_values_raises_only_seed_file_error(objects: list[object]) -> None:
    data = "\n".join(json.dumps(o) for o in objects).encode()
    try:
        articles = parse_jsonl_bytes(data, path="f.jsonl", fetched_at=NOW)
    except SeedFileError:
        return
    for article in articles:
        _valid(article)


@FUZZ
@given(st.binary(max_size=2000))
def test_jsonl_bytes_raise_only_seed_file_error(data: bytes) -> None:
    try:
        articles = parse_jsonl_bytes(data, path="f.jsonl", fetched_at=NOW)
    except SeedFileError:
        return
    for article in articles:
        _valid(article)


def test_text_records_are_read_only_when_asked() -> None:
    line = b'{"id": "x", "text": "Trump wants to annex Greenland.", "title": "Greenland"}'
    with pytest.raises(SeedFileError, match=r"^f.jsonl:4: missing field 'body'$"):
        parse_jsonl_line(line, path="f.jsonl", number=4, fetched_at="t")
    article = parse_jsonl_line(line, path="f.jsonl", number=4, fetched_at="t", text_records=True)
    assert article is not None
    assert (article["id"], article["title"], article["body"]) == ("x", "Greenland", "Trump wants to annex Greenland.")
    assert (article["source"], article["fetched_at"]) == ("seed:f.jsonl", "t")
    assert parse_jsonl_line(b"  \r", path="f.jsonl", number=5, fetched_at="t") is None
    bom = b"\xef\xbb\xbf"
    untitled = parse_jsonl_line(bom + b'{"text": "b"}', path="f.jsonl", number=1, fetched_at="t", text_records=True)
    assert untitled is not None
    assert (untitled["title"], untitled["body"], untitled["id"][:2]) == ("", "b", "a-")
