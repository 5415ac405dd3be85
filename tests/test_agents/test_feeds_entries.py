"""Feed entries to raw articles: HTML to text, limits, ids, dedup keys, and feedparser's whole test corpus."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import feedparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.feeds import FeedSpec, content_hash, dedup_keys, entry_to_article, extract_main_text, html_to_text
from agents.records import (
    MAX_BODY_CHARS,
    MAX_FEED_FIELD_CHARS,
    MAX_TITLE_CHARS,
    MAX_VALUE_BYTES,
    article_id,
    decode_raw_article,
    encode,
)

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpora" / "feeds"
SPEC = FeedSpec("https://example.org/feed", name="Example", lang="en", tags=("world", "nato"))
FETCHED = "2026-12-01T10:00:00Z"


def parse(data: bytes) -> Any:
    return feedparser.parse(io.BytesIO(data))  # bytes, never a URL: feedparser must not fetch


def convert(entry: Any, spec: FeedSpec = SPEC, title: str | None = "Example feed") -> Any:
    return entry_to_article(entry, spec, feed_url=spec.url, feed_title=title, fetched_at=FETCHED)


# --------------------------------------------------------------------------- html_to_text


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("plain text stays", "plain text stays"),
        ("a < b && c > d", "a < b && c > d"),
        ("<p>One</p><p>Two</p>", "One\n\nTwo"),
        ("<div>a</div><div>b</div>line<br>break<br/>again", "a\nb\nline\nbreak\nagain"),
        ("<ul><li>one</li><li>two</li></ul>after", "one\ntwo\n\nafter"),
        ("<table><tr><td>1</td><td>2</td></tr><tr><td>3</td></tr></table>", "1 2\n3"),
        ("x<script>alert('x')</script>y", "xy"),
        ("x<SCRIPT type='text/javascript'>document.write('<p>no</p>')</SCRIPT>y", "xy"),
        ("<style>p { color: red }</style>visible", "visible"),
        ("a<!-- hidden --> b<!-- unterminated", "a b"),
        ("&amp; &lt;tag&gt; &quot;q&quot; &#39;s &#x1F600; &eacute; caf&#233;", '& <tag> "q" \'s 😀 é café'),
        ("&amp;lt;double&amp;gt;", "&lt;double&gt;"),
        ("&bogus; &#xZZ;", "&bogus; &#xZZ;"),
        ("non&nbsp;breaking\u00a0space", "non breaking space"),
        ("<p>unclosed <b>bold <i>italic", "unclosed bold italic"),
        ("<noscript>no</noscript><iframe src='x'>frame</iframe><form><input value='v'>f</form>ok", "ok"),
        ("<svg><text>drawn</text></svg><math>m</math>ok", "ok"),
        ("<?php echo 1 ?>x<!DOCTYPE html>y", "xy"),
        ("<h1>Head</h1>body", "Head\n\nbody"),
        ("zero\u200bwidth\x00nul\x07bell", "zerowidthnulbell"),
        ("<p>\ud83d\ude00 paired, lone \ud800 surrogate</p>", "😀 paired, lone \ufffd surrogate"),
        ("\x1e\x1d<p>own marks</p>", "own marks"),
        ("", ""),
        ("<", "<"),
        ("<><><>", "<><><>"),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_html_to_text_is_size_bounded_and_fast_on_hostile_markup() -> None:
    start = time.perf_counter()
    deep = html_to_text("<div>" * 100_000 + "deep" + "</div>" * 100_000)
    wide = html_to_text("<b>x</b>" * 100_000, max_chars=1000)
    huge = html_to_text("<p>" + "word " * 600_000 + "</p>")
    assert time.perf_counter() - start < 20
    assert isinstance(deep, str)
    assert len(wide) <= 1000
    assert wide.endswith("…")
    assert len(huge) <= MAX_BODY_CHARS


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("<>/&;#x!-? \n=\"'abpdivscrte\u00e9\ud800")), max_size=200))
def test_html_to_text_never_raises_and_is_encodable(html: str) -> None:
    text = html_to_text(html)
    text.encode("utf-8")
    assert "<script" not in text.lower() or "<script" in html.lower()
    assert "\x1e" not in text
    assert "\x1d" not in text


# --------------------------------------------------------------------------- entries

RSS = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Example feed</title><link>https://example.org/</link><ttl>30</ttl>
<item>
  <title>NATO &amp; &lt;b&gt;Greenland&lt;/b&gt;</title>
  <link>https://www.example.org/news/1?utm_source=rss#top</link>
  <guid isPermaLink="false">tag:example.org,2026:1</guid>
  <pubDate>Tue, 01 Dec 2026 09:30:00 +0100</pubDate>
  <description>&lt;p&gt;Short &lt;script&gt;evil()&lt;/script&gt;summary&lt;/p&gt;</description>
  <content:encoded><![CDATA[<p>The long body about <b>Greenland</b>.</p><p>Second paragraph.</p>]]></content:encoded>
</item>
<item><description>Only a summary, no title, no link</description></item>
<item><title>  </title><description>  </description></item>
<item><title>Title only</title><link>javascript:alert(1)</link></item>
</channel></rss>
"""


def test_rss_entries_to_articles() -> None:
    parsed = parse(RSS)
    first, second, empty, title_only = parsed.entries
    article = convert(first)
    assert article["title"] == "NATO & Greenland"
    assert article["body"] == "The long body about Greenland.\n\nSecond paragraph."
    assert article["url"] == "https://www.example.org/news/1?utm_source=rss#top"
    assert article["published_at"] == "2026-12-01T08:30:00Z"
    assert article["fetched_at"] == FETCHED
    assert article["source"] == "example.org"
    assert article["feed"] == {
        "feed_url": "https://example.org/feed",
        "entry_id": "tag:example.org,2026:1",
        "feed_name": "Example",
        "feed_title": "Example feed",
        "tags": "world,nato",
        "lang_hint": "en",
    }
    # The same id the decoder derives for the same URL, replayed without a feed.
    assert article["id"] == article_id(url="https://example.org/news/1", title="", body="")
    assert decode_raw_article(encode(article)) == article

    summary_only = convert(second)
    assert (summary_only["title"], summary_only["body"], summary_only["url"]) == (
        "",
        "Only a summary, no title, no link",
        None,
    )
    assert summary_only["published_at"] is None
    assert convert(empty) is None
    unsafe = convert(title_only)
    assert unsafe["url"] is None
    assert unsafe["body"] == ""


ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title type="html">Atom &amp;lt;feed&amp;gt;</title>
<id>urn:x</id><updated>2026-12-01T00:00:00Z</updated>
<entry><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">X<b>H</b>TML title</div></title>
<id>urn:e1</id><updated>2026-11-30T23:59:59-02:00</updated>
<link rel="alternate" href="/relative/path"/>
<summary type="text">plain &lt;b&gt;not markup&lt;/b&gt;</summary></entry>
</feed>"""


def test_atom_entry_relative_link_and_text_summary() -> None:
    parsed = feedparser.parse(io.BytesIO(ATOM), response_headers={"content-location": "https://atom.example/feed"})
    article = convert(parsed.entries[0], title=parsed.feed.get("title"))
    assert article["title"] == "XHTML title"
    assert article["url"] == "https://atom.example/relative/path"
    assert article["published_at"] == "2026-12-01T01:59:59Z"
    assert "not markup" in article["body"]
    assert decode_raw_article(encode(article)) == article


def test_over_long_fields_are_cut_to_the_limits() -> None:
    entry = {
        "title": "T" * (MAX_TITLE_CHARS * 3),
        "summary": "<p>" + "界" * (MAX_BODY_CHARS + 10) + "</p>",
        "id": "g" * (MAX_FEED_FIELD_CHARS * 2),
        "link": "https://example.org/" + "p" * 5000,
    }
    spec = FeedSpec("https://example.org/feed", name="N" * 200, tags=tuple(f"tag{i}" for i in range(32)))
    article = entry_to_article(
        entry, spec, feed_url="https://example.org/" + "f" * 5000, feed_title="F" * 9000, fetched_at=FETCHED
    )
    assert article is not None
    assert len(article["title"]) <= MAX_TITLE_CHARS
    assert len(encode(article)) <= MAX_VALUE_BYTES
    assert article["url"] is None  # a link over the URL limit is not cut into another URL
    assert all(len(v) <= MAX_FEED_FIELD_CHARS for v in (article["feed"] or {}).values())
    assert decode_raw_article(encode(article))["id"] == article["id"]


def test_hostile_entry_values_are_ignored_not_fatal() -> None:
    entry: dict[str, Any] = {
        "title": ["not", "a", "string"],
        "summary": 42,
        "content": [{"value": None}, "junk", {"value": "<p>real</p>", "type": "text/html"}],
        "published_parsed": (99999, 13, 40, 0, 0, 0, 0, 0, 0),
        "updated_parsed": "yesterday",
        "links": [{"href": "https://ok.example/a"}, None],
        "id": 7,
    }
    article = convert(entry)
    assert article["body"] == "real"
    assert article["url"] == "https://ok.example/a"
    assert article["published_at"] is None
    assert "entry_id" not in article["feed"]
    assert decode_raw_article(encode(article)) == article


def test_body_override_for_fetched_pages() -> None:
    entry = parse(RSS).entries[0]
    article = entry_to_article(entry, SPEC, feed_url=SPEC.url, feed_title=None, fetched_at=FETCHED, body="Full text.")
    assert article is not None
    assert article["body"] == "Full text."
    assert article["id"] == convert(entry)["id"]


# --------------------------------------------------------------------------- dedup keys


def test_dedup_keys_are_stable_and_ordered() -> None:
    one = dedup_keys(parse(RSS).entries[0], feed_url=SPEC.url)
    two = dedup_keys(parse(RSS).entries[0], feed_url=SPEC.url)
    assert one == two
    assert [k.split(":")[0] for k in one] == ["guid", "link", "title"]
    assert all(len(k.split(":")[1]) == 32 for k in one)


def test_guid_is_scoped_to_the_feed_link_is_not() -> None:
    entry = parse(RSS).entries[0]
    a = dedup_keys(entry, feed_url="https://one.example/rss")
    b = dedup_keys(entry, feed_url="https://two.example/rss")
    assert a[0] != b[0]  # same guid in two feeds: guids are only unique per feed
    assert a[1] == b[1]  # same story syndicated: the canonical link matches


def test_link_key_uses_the_canonical_url() -> None:
    one = dedup_keys({"link": "http://www.example.org/a/?utm_medium=x#frag"}, feed_url=SPEC.url)
    two = dedup_keys({"link": "https://example.org/a"}, feed_url=SPEC.url)
    assert one == two


def test_title_date_key_without_guid_or_link() -> None:
    entry = {"title": "  Breaking:  NATO  ", "published_parsed": time.gmtime(1_800_000_000)}
    same = {"title": "breaking: nato", "updated_parsed": time.gmtime(1_800_000_000 + 60)}
    assert dedup_keys(entry, feed_url=SPEC.url) == dedup_keys(same, feed_url=SPEC.url)
    assert dedup_keys(entry, feed_url=SPEC.url)[0].startswith("title:")
    assert dedup_keys({}, feed_url=SPEC.url) == []


def guid_churn_feed(poll: int) -> bytes:
    # A feed that regenerates guids and links on every poll; the text stays the same.
    return f"""<rss version="2.0"><channel><title>Churn</title>
<item><title>Same story</title><guid>urn:uuid:{poll}-a</guid><link>https://churn.example/s?session={poll}</link>
<description>Same text every time.</description></item></channel></rss>""".encode()


def test_guid_churn_is_caught_by_the_content_hash() -> None:
    first, second = parse(guid_churn_feed(1)).entries[0], parse(guid_churn_feed(2)).entries[0]
    keys_1 = set(dedup_keys(first, feed_url=SPEC.url))
    keys_2 = set(dedup_keys(second, feed_url=SPEC.url))
    assert not keys_1 & keys_2  # every identity key churned
    assert content_hash(convert(first)) == content_hash(convert(second))
    other = dict(second, summary="Different text.")
    assert content_hash(convert(other)) != content_hash(convert(first))


def test_content_hash_normalizes_case_and_whitespace() -> None:
    a = {"title": "Hello  World", "body": "Some\n\ntext"}
    b = {"title": "hello world", "body": "some text "}
    assert content_hash(a) == content_hash(b)
    assert content_hash(a).startswith("content:")


# --------------------------------------------------------------------------- article pages

PAGE = (
    "<html><head><title>Page</title><script>track()</script></head><body>"
    "<nav>Home | World | Sport | Weather</nav><article><h1>NATO allies meet</h1>"
    + "".join(
        f"<p>Paragraph {i}: defence ministers discussed spending, deterrence and Greenland at length.</p>"
        for i in range(8)
    )
    + "</article><footer>Copyright and cookie notice</footer></body></html>"
)


def test_extract_main_text_drops_boilerplate() -> None:
    text = extract_main_text(PAGE.encode(), "https://example.org/a")
    assert text is not None
    assert "Paragraph 7: defence ministers" in text
    assert "track()" not in text
    assert "cookie notice" not in text


def test_extract_main_text_falls_back_to_article_element_and_none() -> None:
    assert extract_main_text("<main><p>tiny</p></main>", "https://x.example/") == "tiny"
    assert extract_main_text(b"", "https://x.example/") is None
    assert extract_main_text(b"\xff\xfe garbage \x00", "https://x.example/") is None


# --------------------------------------------------------------------------- the corpus


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.rglob("*.xml") if p.is_file())


@pytest.mark.skipif(not corpus_files(), reason=f"feed corpus not available: {CORPUS} is missing (../shared absent)")
def test_every_corpus_entry_converts_and_decodes() -> None:
    files = corpus_files()
    assert len(files) > 900
    articles = 0
    for path in files:
        data = path.read_bytes()
        parsed = parse(data)
        title = parsed.feed.get("title") if isinstance(parsed.feed.get("title"), str) else None
        again = parse(data)
        for entry, entry_again in zip(parsed.entries, again.entries, strict=True):
            article = entry_to_article(entry, SPEC, feed_url=SPEC.url, feed_title=title, fetched_at=FETCHED)
            keys = dedup_keys(entry, feed_url=SPEC.url)
            assert keys == dedup_keys(entry_again, feed_url=SPEC.url), path
            if article is None:
                continue
            articles += 1
            assert decode_raw_article(encode(article)) == article, path
            assert content_hash(article) == content_hash(convert(entry_again, title=title)), path
    assert articles > 400
