"""The Hyperscan scan reports exactly what pyahocorasick's ``Automaton.iter`` does, in the same order."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import SHIPPED_THEMES

from agents.textfold import fold
from agents.themes import Tagger, engine, load_theme_file
from streams.bench.tagging import load_articles, synthetic_themes

pytestmark = pytest.mark.skipif(engine.hyperscan is None, reason="hyperscan is not installed here")

WORDS = ["us", "u.s.", "eu", "europe", "european", "nato", "russia", "гренландия", "grönland", "…", "ß", "\ud800"]


@cache
def shipped() -> Tagger:
    return Tagger(load_theme_file(SHIPPED_THEMES))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(WORDS) | st.text(max_size=6), max_size=30).map(" ".join))
def test_same_occurrences_as_the_automaton(text: str) -> None:
    folded = fold(text).text
    assert shipped()._occurrences(folded) == list(shipped()._automaton.iter(folded))


def test_same_occurrences_on_the_seeds_with_many_themes() -> None:
    tagger = Tagger([*load_theme_file(SHIPPED_THEMES), *synthetic_themes(500)])
    for article in load_articles():
        folded = fold(article).text
        found = tagger._occurrences(folded)
        assert found
        assert found == list(tagger._automaton.iter(folded))


def test_a_tagger_without_terms_scans_nothing() -> None:
    assert Tagger([]).tag("anything at all") == []
