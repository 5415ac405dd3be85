"""``agents.classify``: offline classification is the worker's ``enrich`` on the same raw article."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support import NEEDS_SENTENCE_CORPUS

from agents.classify import CLASSIFY_FIELDS, classify_article
from agents.enrich import enrich
from agents.records import RawArticle, decode_raw_article, encode, validate_raw_article
from agents.seeds import parse_seed_file
from agents.themes import Tagger, load_theme_file
from streams.bench.corpus import build_corpus

REPO = Path(__file__).resolve().parents[2]

# Markup that changes what the tagger sees: a word split by a tag, entities, scripts, block tags.
MARKUP = [
    (
        "Green<b></b>land: US <i>annex</i> plan",
        "<p>Trump wants to annex Green<span>land</span>.</p><p>Denmark refuses.</p>",
    ),
    ("NATO &amp; Article&nbsp;5", "<div>Allies invoke <b>Article 5</b> of the NATO treaty &mdash; defence.</div>"),
    ("Peace talks", "<script>Greenland annex Trump</script><p>Ukraine and Russia resume peace talks.</p>"),
    ("", "<ul><li>Trump</li><li>Greenland</li><li>annexation</li></ul><style>.x{}</style>"),
    ("Nuclear &#x27;umbrella&#x27;", "France offers its nuclear deterrent to Europe&#8217;s defence.<br>Macron."),
]


def articles() -> list[RawArticle]:
    out: list[RawArticle] = []
    for path in sorted((REPO / "seeds").glob("*.txt")):
        out.extend(parse_seed_file(path.read_bytes(), path=str(path), fetched_at="t"))
    for item in build_corpus(80, seed=3):
        out.append(validate_raw_article({"id": item.id, "title": item.title, "body": item.body, "fetched_at": "t"}))
    for title, body in MARKUP:
        out.append(validate_raw_article({"title": title, "body": body, "fetched_at": "t"}))
    return out


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger(load_theme_file(REPO / "themes" / "themes.toml"))


def worker(article: RawArticle, tagger: Tagger) -> dict[str, Any]:
    """What the worker tags for the record replay publishes: encoded, decoded, enriched."""
    return enrich(decode_raw_article(encode(article)), tagger, processed_at="2026-01-01T00:00:00Z")


@NEEDS_SENTENCE_CORPUS
def test_classify_is_the_workers_enrich_over_seeds_corpus_and_markup(tagger: Tagger) -> None:
    cases = articles()
    langs = set()
    themed = 0
    for article in cases:
        got = classify_article(article, tagger, where="f")
        want = worker(article, tagger)
        assert got == {"id": want["id"], "file": "f", **{k: want[k] for k in CLASSIFY_FIELDS}}, article["id"]
        langs.add(got["lang"])
        themed += bool(got["themes"])
    assert len(langs) >= 5
    assert themed >= 10


def test_markup_is_stripped_before_tagging(tagger: Tagger) -> None:
    article = validate_raw_article({"title": MARKUP[0][0], "body": MARKUP[0][1]})
    got = classify_article(article, tagger, where="f")
    [greenland] = [t for t in got["themes"] if t["theme"] == "greenland"]
    text = "Greenland: US annex plan\n\nTrump wants to annex Greenland.\n\nDenmark refuses."
    assert {text[e["start"] : e["end"]] for e in greenland["evidence"]} >= {"Greenland", "annex"}
    # Tagging the raw markup (what classify did before it ran enrich) gives other evidence.
    raw = tagger.tag(f"{article['title']}\n\n{article['body']}", got["lang"])
    assert [(e.start, e.end) for m in raw for e in m.evidence] != [
        (e["start"], e["end"]) for t in got["themes"] for e in t["evidence"]
    ]
