"""The shipped theme file: valid, examples pass, seed articles tagged as required."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.themes import Tagger, Theme, evaluate_examples, load_theme_file
from agents.themes.model import REQUIRED_LANGUAGES
from streams.settings import REPO_ROOT

THEMES_FILE = REPO_ROOT / "themes" / "themes.toml"
SEEDS = REPO_ROOT / "seeds"
IDS = {
    "greenland",
    "nato-article-5",
    "ukraine-peace-talks",
    "european-defence",
    "nuclear-deterrence",
    "transatlantic-rift",
    "us-russia-rapprochement",
}


@pytest.fixture(scope="module")
def shipped() -> list[Theme]:
    return load_theme_file(THEMES_FILE)


@pytest.fixture(scope="module")
def tagger(shipped: list[Theme]) -> Tagger:
    return Tagger(shipped)


def seed(prefix: str) -> str:
    [path] = sorted(SEEDS.glob(f"{prefix}_*.txt"))
    return Path(path).read_text(encoding="utf-8")


def test_theme_ids(shipped: list[Theme]) -> None:
    assert {t.id for t in shipped} == IDS


def test_every_theme_covers_the_13_languages(shipped: list[Theme]) -> None:
    for theme in shipped:
        langs = {lang for ts in theme.terms for lang, _ in ts.terms}
        assert set(REQUIRED_LANGUAGES) <= langs | {"intl"}, (theme.id, set(REQUIRED_LANGUAGES) - langs)


def test_examples_cover_the_13_languages_and_all_pass(shipped: list[Theme]) -> None:
    report = evaluate_examples(shipped)
    assert report.failures == ()
    for score in report.scores:
        assert score.positives >= 5
        assert score.negatives >= 3


@pytest.mark.parametrize(
    ("prefix", "tagged"), [("000", True), ("001", True), ("004", True), ("002", False), ("003", False)]
)
def test_seed_greenland(tagger: Tagger, prefix: str, tagged: bool) -> None:
    assert ("greenland" in {m.theme for m in tagger.tag(seed(prefix))}) is tagged


def test_seed_002_names_article_5(tagger: Tagger) -> None:
    text = seed("002")
    [match] = [m for m in tagger.tag(text) if m.theme == "nato-article-5"]
    assert any(text[e.start : e.end] == "Article 5" for e in match.evidence)


@pytest.mark.parametrize(
    "text",
    [
        "Greenland (2020) is a disaster film starring Gerard Butler, in which a comet threatens Earth.",
        "Scientists measured record melt on the Greenland ice sheet; US researchers warn of sea-level rise.",
        "Greenland sharks are the longest-living vertebrates known.",
        "Article 5 of the GDPR lists the principles relating to processing of personal data.",
        "Sudan's army and the RSF resumed peace talks in Jeddah.",
        "Armenia and Azerbaijan signed a peace agreement in Washington.",
        "France is building six new nuclear power plants; Poland plans its first nuclear power station.",
    ],
)
def test_hard_negatives_are_not_tagged(tagger: Tagger, text: str) -> None:
    assert tagger.tag(text) == []
