"""The fault tests' expectations with stories: one new_story per (theme, story), split stories flagged."""

from __future__ import annotations

from typing import Any

from agents.alerting import alert_id, story_alert_id
from agents.stories import story_id_for
from agents.themes import Tagger, load_theme_file, parse_theme_text
from streams.bench.faultcheck import STORY, Observed, article_stream, expected_pairs, figures, per_article_variant
from streams.settings import REPO_ROOT

SHIPPED = REPO_ROOT / "themes" / "themes.toml"


def event(kind: str, theme: str, article: str, title: str, story: str = "") -> dict[str, Any]:
    aid = alert_id(theme, article) if kind == "theme_match" else story_alert_id(kind, theme, story)
    data = {"alert_id": aid, "kind": kind, "theme": theme, "article_id": article, "title": title}
    if story:
        data["story_id"] = story
    return {"id": aid, "data": data}


def test_per_article_variant_sets_the_mode_on_the_named_themes_only() -> None:
    themes = parse_theme_text(per_article_variant(SHIPPED.read_text(encoding="utf-8"), ["greenland"]), "t")
    assert {t.id: t.alert for t in themes}["greenland"] == "per_article"
    assert {t.alert for t in themes if t.id != "greenland"} == {"new_story"}
    every = parse_theme_text(per_article_variant(SHIPPED.read_text(encoding="utf-8")), "t")
    assert {t.alert for t in every} == {"per_article"}


def test_expected_pairs_are_per_story_unless_per_article() -> None:
    articles = article_stream(20, "check")
    tagger = Tagger(load_theme_file(SHIPPED))
    story_pairs = expected_pairs(articles, tagger)
    assert story_pairs
    assert all(a.startswith(STORY) for _t, a in story_pairs)
    assert len({a for _t, a in story_pairs}) <= 5  # five seed stories, however many copies
    mixed = expected_pairs(articles, tagger, per_article=["greenland"])
    greenland = {a for t, a in mixed if t == "greenland"}
    assert greenland
    assert not any(a.startswith(STORY) for a in greenland)


def test_a_second_new_story_for_the_same_story_counts_as_unexpected() -> None:
    title = "Seed story"
    observed = Observed()
    opener = story_id_for("a-1")
    observed.add_alert(event("new_story", "t", "a-1", title, opener))
    observed.add_alert(event("new_story", "t", "a-1", title, opener))  # a redelivery: same id
    expected = {("t", STORY + title)}
    clean = figures("x", [], observed, expected, seconds=0)
    assert (clean.alerts_missing, clean.alerts_unexpected, clean.alert_bad_ids) == (0, 0, 0)
    observed.add_alert(event("new_story", "t", "a-2", title, story_id_for("a-2")))  # the story split in two
    split = figures("x", [], observed, expected, seconds=0)
    assert split.alerts_unexpected == 1


def test_an_alert_whose_id_is_not_derived_from_its_fields_is_bad() -> None:
    observed = Observed()
    bad = event("new_story", "t", "a-1", "T", story_id_for("a-1"))
    bad["id"] = bad["data"]["alert_id"] = alert_id("t", "a-1")  # a theme_match id on a new_story alert
    observed.add_alert(bad)
    assert observed.bad_ids == 1
