"""The tagging engine: rule kinds, wildcards, exclusions, weights, evidence offsets."""

from __future__ import annotations

import textwrap

from hypothesis import given, settings
from hypothesis import strategies as st

from agents.themes import Evidence, Tagger, Theme, parse_theme_text


def themes(body: str) -> list[Theme]:
    return parse_theme_text(textwrap.dedent(body), "test.toml")


def tag_ids(tagger: Tagger, text: str) -> list[str]:
    return [m.theme for m in tagger.tag(text)]


ONE = """
[[theme]]
id = "g"
name = "Greenland"
description = "d"
threshold = 3
exclude = ["fauna"]

[theme.terms.place]
intl = ["Greenland", "Grönland*", "Гренланд*"]
pl = ["Grenlandi*"]

[theme.terms.grab]
en = ["annex*", "take control"]
pl = ["przej* kontrol*"]

[theme.terms.us]
intl = ["=US", "Trump"]

[theme.terms.film]
en = ["movie", "film"]

[theme.terms.fauna]
en = ["Greenland shark*"]

[[theme.rules]]
id = "grab"
all = ["place", "grab"]
near = "sentence"
weight = 3

[[theme.rules]]
id = "us-near"
all = ["us", "place"]
near = 3
not = ["film"]
weight = 1.5

[[theme.rules]]
id = "mention"
any = ["place"]
weight = 1
count = 2
"""


def test_strong_rule_tags_with_evidence_offsets_into_the_original() -> None:
    tagger = Tagger(themes(ONE))
    text = "Trump\u00a0wants to ANNEX “Greenland”."
    [match] = tagger.tag(text)
    assert match.theme == "g"
    assert match.score >= 3
    by_rule = {(e.rule, text[e.start : e.end]) for e in match.evidence}
    assert ("grab", "ANNEX") in by_rule
    assert ("grab", "Greenland") in by_rule
    for e in match.evidence:
        assert isinstance(e, Evidence)
        assert 0 <= e.start < e.end <= len(text)


def test_wildcards_match_inflections_and_extend_evidence_to_the_word_end() -> None:
    tagger = Tagger(themes(ONE))
    text = "USA chcą przejąć kontrolę nad Grenlandią."
    [match] = tagger.tag(text)
    words = {text[e.start : e.end] for e in match.evidence}
    assert "przejąć kontrolę" in words
    assert "Grenlandią" in words


def test_word_boundaries() -> None:
    tagger = Tagger(themes(ONE))
    # "Greenlanders" is not the plain term "Greenland"; "reannex" is not "annex*"
    assert tag_ids(tagger, "Greenlanders want to reannex nothing. Greenlanders!") == []


def test_case_sensitive_term() -> None:
    [theme] = themes(ONE)
    low = Tagger([theme]).tag("let us go to Greenland and Greenland", lang="en")
    high = Tagger([theme]).tag("the US eyes Greenland and Greenland", lang="en")
    assert low == []  # mention 2 < 3: "us" is not "US"
    assert [m.score for m in high] == [3.5]


def test_near_words_and_sentence() -> None:
    tagger = Tagger(themes(ONE))
    far = "Trump said many things today about weather. Greenland and Greenland."
    # Trump and Greenland are more than 3 words apart: only mention (2) counts
    assert tag_ids(tagger, far) == []
    assert tag_ids(tagger, "Trump: Greenland and Greenland.") == ["g"]
    # same sentence matters for the grab rule: separated by a sentence end it does not fire
    assert tag_ids(tagger, "They will annex it. Greenland is big.") == []
    assert tag_ids(tagger, "They will annex the U.S. Virgin Islands and Greenland.") == ["g"]


def test_not_vetoes_within_the_window() -> None:
    tagger = Tagger(themes(ONE))
    assert tag_ids(tagger, "Trump film Greenland, Greenland.") == []  # us-near vetoed by "film"
    assert tag_ids(tagger, "Trump Greenland, Greenland. A film later on in the story.") == ["g"]


def test_exclude_masks_overlapping_hits_only() -> None:
    tagger = Tagger(themes(ONE))
    assert tag_ids(tagger, "They annex Greenland sharks in Greenland waters.") == ["g"]
    assert tag_ids(tagger, "They want to annex Greenland sharks.") == []


def test_threshold_and_count_cap() -> None:
    tagger = Tagger(themes(ONE))
    # mention counts at most twice: 2 < 3 however often it is repeated
    assert tag_ids(tagger, "Greenland. " * 10) == []


def test_cyrillic_wildcard() -> None:
    tagger = Tagger(themes(ONE))
    text = "Трамп хочет annex Гренландию."
    [match] = tagger.tag(text)
    assert any(text[e.start : e.end] == "Гренландию" for e in match.evidence)


def test_results_sorted_by_theme_id_and_lang_does_not_restrict() -> None:
    body = ONE + ONE.replace('id = "g"', 'id = "a"')
    tagger = Tagger(themes(body))
    assert tag_ids(tagger, "They annex Greenland.") == ["a", "g"]
    assert [m.theme for m in tagger.tag("They annex Greenland.", lang="ru")] == ["a", "g"]


def test_empty_tagger_and_empty_text() -> None:
    assert Tagger([]).tag("anything") == []
    assert Tagger(themes(ONE)).tag("") == []


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300)
    | st.text(max_size=50).map(lambda s: s + " annex Grönland, Гренландия")
)
def test_random_text_never_crashes_and_offsets_are_in_range(text: str) -> None:
    tagger = Tagger(themes(ONE))
    for match in tagger.tag(text):
        for e in match.evidence:
            assert 0 <= e.start < e.end <= len(text)


def test_cased_term_against_a_dotted_capital_i() -> None:
    # "İS" folds to "is", the key of "=IS"; checking its case folds "İS" with case kept (to "IS":
    # diacritics go, as in "ÜS"), which used to raise TypeError and dead-letter the article.
    tagger = Tagger(
        themes(
            """
            [[theme]]
            id = "t"
            name = "t"
            description = "d"
            threshold = 1

            [theme.terms.is]
            intl = ["=IS"]

            [[theme.rules]]
            id = "r"
            all = ["is"]
            weight = 1
            """
        )
    )
    [match] = tagger.tag("İS and is")
    assert [(e.start, e.end) for e in match.evidence] == [(0, 2)]
    assert tag_ids(tagger, "is and is") == []
