"""OPML import: nested outlines, duplicates merged, hostile XML refused before anything is expanded."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.feeds import FeedsFileError, FeedSpec, merge_feeds, parse_feeds_toml, parse_opml, render_feeds_toml

EXPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>My subscriptions</title></head>
  <body>
    <outline text="News">
      <outline text="Europe" title="Europe">
        <outline type="rss" text="Politico Europe" title="Politico Europe" xmlUrl="https://www.politico.eu/feed/"
                 htmlUrl="https://www.politico.eu/" language="en"/>
        <outline type="rss" text="Deep" xmlUrl="https://deep.example/rss" category="/Defence/Nuclear,NATO">
          <outline text="ignored child of a feed"/>
        </outline>
      </outline>
      <outline type="rss" text="Tagesschau" xmlUrl="https://www.tagesschau.de/xml/rss2/" language="de-DE"/>
    </outline>
    <outline text="Duplicates">
      <outline type="rss" text="Politico again" xmlUrl="http://politico.eu/feed?utm_source=reader"/>
    </outline>
    <outline text="Top-level feed" xmlurl="https://top.example/atom.xml"/>
    <outline text="An empty folder"/>
  </body>
</opml>
"""


def test_nested_outlines_tags_and_duplicates() -> None:
    specs = parse_opml(EXPORT, "subs.opml")
    assert specs == [
        FeedSpec("https://www.politico.eu/feed/", "Politico Europe", "en", tags=("News", "Europe", "Duplicates")),
        FeedSpec("https://deep.example/rss", "Deep", tags=("News", "Europe", "Defence", "Nuclear", "NATO")),
        FeedSpec("https://www.tagesschau.de/xml/rss2/", "Tagesschau", "de-DE", tags=("News",)),
        FeedSpec("https://top.example/atom.xml", "Top-level feed"),
    ]


def test_import_renders_to_a_valid_feeds_file_and_merges() -> None:
    specs = parse_opml(EXPORT)
    text = render_feeds_toml(specs)
    assert parse_feeds_toml(text) == specs
    existing = [FeedSpec("https://tagesschau.de/xml/rss2", name="mine")]
    merged, added = merge_feeds(existing, specs)
    assert merged[0].name == "mine"
    assert added == 3


def test_namespaced_opml_and_feed_scheme() -> None:
    doc = (
        b'<opml xmlns="http://opml.org/spec2" version="2.0"><body>'
        b'<outline text="a" xmlUrl="feed://a.example/rss"/></body></opml>'
    )
    assert parse_opml(doc) == [FeedSpec("http://a.example/rss", "a")]


def test_hostile_folder_titles_become_clean_tags() -> None:
    doc = (
        b'<opml><body><outline text="World, news \xf0\x9f\x94\xa5"><outline text="&lt;b&gt;x"'
        b' xmlUrl="https://a.example/"/></outline><outline text="\xf0\x9f\x94\xa5">'
        b'<outline text="b" xmlUrl="https://b.example/"/></outline></body></opml>'
    )
    specs = parse_opml(doc)
    assert specs[0].tags == ("World news",)
    assert specs[0].name == "<b>x"
    assert specs[1].tags == ()
    assert parse_feeds_toml(render_feeds_toml(specs)) == specs


def test_bad_url_names_its_line() -> None:
    doc = b'<opml>\n<body>\n<outline text="ok" xmlUrl="https://a.example/"/>\n<outline text="bad" xmlUrl="ftp://x/"/>\n'
    doc += b"</body></opml>"
    with pytest.raises(FeedsFileError) as info:
        parse_opml(doc, "subs.opml")
    assert (info.value.path, info.value.line) == ("subs.opml", 4)
    assert "outline 'bad'" in info.value.reason
    assert "unsupported scheme 'ftp'" in info.value.reason


def test_bad_urls_collected_when_asked() -> None:
    doc = b'<opml><body><outline text="bad" xmlUrl="javascript:1"/><outline xmlUrl="https://a.example/"/></body></opml>'
    problems: list[FeedsFileError] = []
    assert parse_opml(doc, problems=problems) == [FeedSpec("https://a.example/")]
    assert len(problems) == 1
    assert problems[0].line == 1


@pytest.mark.parametrize(
    ("data", "line", "reason"),
    [
        (b"<opml><body>\n<outline text='x'>\n</body></opml>", 3, "not well-formed XML"),
        (b"", 1, "not well-formed XML: no element found"),
        (b"not xml at all", 1, "not well-formed XML"),
        (b"<rss><channel/></rss>", 1, "not an OPML document (root element <rss>)"),
    ],
)
def test_malformed_documents(data: bytes, line: int | None, reason: str) -> None:
    with pytest.raises(FeedsFileError) as info:
        parse_opml(data, "x.opml")
    assert info.value.line == line
    assert reason in info.value.reason
    assert str(info.value).startswith("x.opml")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<opml><body><outline text="&lol9;" xmlUrl="https://a.example/"/></body></opml>
"""


def test_billion_laughs_refused_quickly() -> None:
    start = time.perf_counter()
    with pytest.raises(FeedsFileError, match="unsafe XML refused") as info:
        parse_opml(BILLION_LAUGHS, "bomb.opml")
    assert time.perf_counter() - start < 1.0
    assert info.value.line == 2  # the DOCTYPE


def test_external_entity_refused_and_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET", encoding="utf-8")
    doc = (
        f'<?xml version="1.0"?>\n<!DOCTYPE opml [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
        '<opml><body><outline text="&xxe;" xmlUrl="https://a.example/"/></body></opml>'
    ).encode()
    with pytest.raises(FeedsFileError, match="unsafe XML refused") as info:
        parse_opml(doc)
    assert "TOP-SECRET" not in str(info.value)


def test_external_dtd_and_parameter_entities_refused() -> None:
    for doc in (
        b'<?xml version="1.0"?><!DOCTYPE opml SYSTEM "http://127.0.0.1:9/evil.dtd"><opml><body/></opml>',
        b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x">%p;]><opml/>',
        b'<?xml version="1.0"?><!DOCTYPE opml><opml><body/></opml>',
    ):
        with pytest.raises(FeedsFileError, match="unsafe XML refused"):
            parse_opml(doc)


def test_size_limit() -> None:
    from agents.feeds.opml import MAX_OPML_BYTES

    with pytest.raises(FeedsFileError, match="the limit is"):
        parse_opml(b" " * (MAX_OPML_BYTES + 1))


def test_deep_nesting_does_not_recurse() -> None:
    depth = 5000
    doc = b"<opml><body>" + b'<outline text="f">' * depth + b'<outline xmlUrl="https://a.example/"/>'
    doc += b"</outline>" * depth + b"</body></opml>"
    [spec] = parse_opml(doc)
    assert spec.tags == ("f",)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(lambda s: ("<opml><body>" + s).encode()))
def test_arbitrary_bytes_parse_or_refuse(data: bytes) -> None:
    problem: FeedsFileError | None = None
    try:
        specs = parse_opml(data)
    except FeedsFileError as err:
        problem, specs = err, []
    assert problem is None or problem.reason
    assert all(isinstance(s, FeedSpec) for s in specs)
