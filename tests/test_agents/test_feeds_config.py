"""The feeds file: every refusal names file, line and reason; rendering round-trips; merging dedupes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.feeds import FeedsFileError, FeedSpec, load_feeds_file, merge_feeds, parse_feeds_toml, render_feeds_toml
from agents.feeds.config import MAX_INTERVAL, MIN_INTERVAL

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "feeds" / "feeds.toml"

GOOD = """\
# two feeds
[[feed]]
url = "https://example.org/rss"
name = "Example"
lang = "en"
interval = 600
tags = ["world", "nato"]

[[feed]]
url = "http://example.net/atom.xml"
fetch_article = true
"""


def test_good_file_parses() -> None:
    specs = parse_feeds_toml(GOOD, "f.toml")
    assert specs == [
        FeedSpec("https://example.org/rss", "Example", "en", 600.0, ("world", "nato")),
        FeedSpec("http://example.net/atom.xml", fetch_article=True),
    ]


def test_empty_file_has_no_feeds() -> None:
    assert parse_feeds_toml("# nothing yet\n") == []


def _error(text: str) -> FeedsFileError:
    with pytest.raises(FeedsFileError) as info:
        parse_feeds_toml(text, "feeds.toml")
    return info.value


def _entry(body: str) -> str:
    return f'[[feed]]\nurl = "https://ok.example/rss"\n\n[[feed]]\n{body}\n'


@pytest.mark.parametrize(
    ("body", "line", "reason"),
    [
        ('url = "ftp://example.org/rss"', 5, "unsupported scheme 'ftp'"),
        ('url = "file:///etc/passwd"', 5, "unsupported scheme 'file'"),
        ('url = "javascript:alert(1)"', 5, "unsupported scheme 'javascript'"),
        ('url = "example.org/rss"', 5, "unsupported scheme 'none'"),
        ('url = "https:///path-only"', 5, "has no host"),
        ('url = "https://example.org/a b"', 5, "whitespace"),
        ('url = "https://example.org:99999/"', 5, "does not parse"),
        ('url = ""', 5, "non-empty string"),
        ("url = 42", 5, "non-empty string"),
        ('name = "no url"', 4, "missing 'url'"),
        ('url = "https://a.example/"\ncolour = "red"', 6, "unknown key 'colour'"),
        ('url = "https://a.example/"\ninterval = 59', 6, "'interval' must be a number of seconds from 60"),
        ('url = "https://a.example/"\ninterval = 604801', 6, "'interval'"),
        ('url = "https://a.example/"\ninterval = "900"', 6, "'interval'"),
        ('url = "https://a.example/"\ninterval = nan', 6, "'interval'"),
        ('url = "https://a.example/"\ninterval = true', 6, "'interval'"),
        ('url = "https://a.example/"\nlang = "english"', 6, "bad 'lang' 'english'"),
        ('url = "https://a.example/"\nlang = "EN"', 6, "bad 'lang'"),
        ('url = "https://a.example/"\nlang = 7', 6, "bad 'lang'"),
        ('url = "https://a.example/"\ntags = "world"', 6, "'tags' must be a list"),
        ('url = "https://a.example/"\ntags = ["a,b"]', 6, "bad tag 'a,b'"),
        ('url = "https://a.example/"\ntags = [""]', 6, "not a non-empty string"),
        ('url = "https://a.example/"\ntags = [1]', 6, "not a non-empty string"),
        ('url = "https://a.example/"\ntags = ["' + "x" * 65 + '"]', 6, "bad tag"),
        ('url = "https://a.example/"\nfetch_article = "yes"', 6, "'fetch_article' must be true or false"),
        ('url = "https://a.example/"\nname = ""', 6, "'name' must be a non-empty string"),
        ('url = "https://ok.example/rss/"', 5, "duplicate url 'https://ok.example/rss/' (same feed as feed #1)"),
        ('url = "http://www.OK.example/rss?utm_source=x"', 5, "duplicate url"),
    ],
)
def test_invalid_entries_name_file_line_and_reason(body: str, line: int, reason: str) -> None:
    err = _error(_entry(body))
    assert err.path == "feeds.toml"
    assert err.line == line, str(err)
    assert reason in err.reason
    assert str(err) == f"feeds.toml:{line}: {err.reason}"
    assert err.reason.startswith("feed #2: ")


def test_toml_syntax_error_has_line() -> None:
    err = _error('[[feed]]\nurl = "https://a.example/"\nname = "unterminated\n')
    assert err.line == 3
    assert "TOML syntax error" in err.reason


def test_unknown_top_level_key_has_line() -> None:
    err = _error('title = "x"\n\n[[feed]]\nurl = "https://a.example/"\n')
    assert (err.line, "unknown top-level key 'title'" in err.reason) == (1, True)


def test_feed_not_an_array_of_tables() -> None:
    err = _error('[feed]\nurl = "https://a.example/"\n')
    assert "array of tables" in err.reason


def test_comment_after_header_and_quoted_keys_still_located() -> None:
    text = '[[feed]] # first\nurl = "https://a.example/"\n\n[[ feed ]]\n"url" = "https://b.example/"\n"lang" = "xx-y"\n'
    err = _error(text)
    assert err.line == 6


def test_load_missing_unreadable_and_non_utf8(tmp_path: Path) -> None:
    with pytest.raises(FeedsFileError, match="cannot read the feeds file") as info:
        load_feeds_file(tmp_path / "absent.toml")
    assert info.value.line is None
    with pytest.raises(FeedsFileError, match="cannot read"):
        load_feeds_file(tmp_path)  # a directory
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b'[[feed]]\nurl = "https://a.example/"\nname = "Caf\xe9"\n')
    with pytest.raises(FeedsFileError, match="not UTF-8") as info:
        load_feeds_file(bad)
    assert (info.value.path, info.value.line) == (str(bad), 3)


def test_load_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "f.toml"
    path.write_text('[[feed]]\nurl = "gopher://a.example/"\n', encoding="utf-8")
    with pytest.raises(FeedsFileError) as info:
        load_feeds_file(path)
    assert str(info.value).startswith(f"{path}:2: ")


def test_shipped_feeds_file_is_valid() -> None:
    specs = load_feeds_file(SHIPPED)
    assert 8 <= len(specs) <= 12
    langs = {s.lang for s in specs}
    assert {"en", "de", "fr", "da"} <= langs
    assert all(s.name and s.tags and s.url.startswith("https://") for s in specs)


def test_merge_keeps_existing_first_and_counts_added() -> None:
    a = FeedSpec("https://a.example/rss", name="A")
    b = FeedSpec("https://b.example/rss")
    a_again = FeedSpec("http://www.a.example/rss/", name="other name")
    merged, added = merge_feeds([a], [a_again, b, b])
    assert merged == [a, b]
    assert added == 1
    assert merge_feeds([], []) == ([], 0)


# --------------------------------------------------------------------------- round trip

_tags = st.lists(
    st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_ .:/+-]{0,20}", fullmatch=True).map(str.strip).filter(bool),
    max_size=4,
    unique=True,
)
_names = st.none() | st.text(min_size=1, max_size=40).filter(lambda s: s.strip() == s and s.strip())
_specs = st.builds(
    FeedSpec,
    url=st.from_regex(r"https?://[a-z]{1,10}\.example/[a-z0-9/_.-]{0,20}", fullmatch=True),
    name=_names,
    lang=st.none() | st.sampled_from(["en", "de", "fr", "da", "en-GB"]),
    interval=st.floats(min_value=MIN_INTERVAL, max_value=MAX_INTERVAL) | st.integers(60, 604800).map(float),
    tags=_tags.map(tuple),
    fetch_article=st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_specs, max_size=6, unique_by=lambda s: s.key))
def test_render_round_trips(specs: list[FeedSpec]) -> None:
    text = render_feeds_toml(specs, header="generated\nby a test")
    assert parse_feeds_toml(text, "rendered.toml") == specs


def test_render_escapes_hostile_names() -> None:
    spec = FeedSpec("https://a.example/", name='quote " back \\ tab \t ctl \x01 """ end')
    assert parse_feeds_toml(render_feeds_toml([spec])) == [spec]
