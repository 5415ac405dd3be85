"""Story grouping: syndicated copies join one story, different stories stay apart, ids are deterministic."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agents.stories import (
    ROLE_JOINED,
    ROLE_NEW,
    ROLE_UPDATE,
    Signature,
    Story,
    assign,
    expired,
    new_story,
    observe,
    signature,
    similarity,
    story_id_for,
)
from streams.bench.faultcheck import seed_templates

SEEDS = seed_templates()


def edited(title: str, body: str) -> tuple[str, str]:
    """A syndicated copy: a new headline prefix, a byline, a changed word, the last paragraph dropped."""
    paragraphs = body.split("\n\n")
    kept = paragraphs[:-1] if len(paragraphs) > 2 else paragraphs
    text = "\n\n".join(kept).replace(" the ", " this ", 1)
    return f"WIRE: {title}", f"By Staff Reporter (Agency)\n\n{text}\n\nCopyright 2026 Agency."


def place(stories: list[Story], article_id: str, title: str, body: str, lang: str = "en", at: float = 0.0) -> str:
    """Index-free placement for tests: candidates are all stories sharing a band key."""
    sig = signature(title, body)
    keys = set(sig.band_keys())
    candidates = [s for s in stories if keys & set(s.signature.band_keys())]
    decision = assign(article_id, sig, lang, known_story=None, candidates=candidates)
    if decision.role == ROLE_NEW:
        stories.append(new_story(article_id, sig, at=at))
    return decision.story_id


@pytest.mark.parametrize("seed", range(len(SEEDS)))
def test_a_syndicated_copy_with_small_edits_joins_the_story(seed: int) -> None:
    original = SEEDS[seed]
    stories: list[Story] = []
    first = place(stories, "a-original", original["title"], original["body"])
    title, body = edited(original["title"], original["body"])
    assert place(stories, "a-copy", title, body) == first == story_id_for("a-original")
    assert len(stories) == 1


def test_different_seed_stories_are_not_merged() -> None:
    stories: list[Story] = []
    ids = [place(stories, f"a-{i}", s["title"], s["body"]) for i, s in enumerate(SEEDS)]
    assert len(set(ids)) == len(SEEDS) == len(stories)


def test_unrelated_short_texts_on_the_same_topic_are_not_merged() -> None:
    stories: list[Story] = []
    one = place(
        stories, "a-1", "Trump wants Greenland", "Trump said on Monday the US should buy Greenland from Denmark."
    )
    two = place(stories, "a-2", "Denmark answers", "Copenhagen summoned the US ambassador over remarks on Greenland.")
    assert one != two


def test_a_translation_sharing_names_and_numbers_joins_across_languages() -> None:
    en = (
        "Frederiksen meets Rutte in Nuuk",
        "Mette Frederiksen and Mark Rutte met Jens-Frederik Nielsen in Nuuk on 14 January 2026 "
        "to discuss Pituffik, Arctic security and the 2026 NATO summit in Ankara with Macron and Merz.",
    )
    de = (
        "Frederiksen trifft Rutte in Nuuk",
        "Mette Frederiksen und Mark Rutte trafen Jens-Frederik Nielsen am 14. Januar 2026 in Nuuk, "
        "um über Pituffik, Sicherheit in der Arktis und den NATO-Gipfel 2026 in Ankara "
        "mit Macron und Merz zu sprechen.",
    )
    stories: list[Story] = []
    first = place(stories, "a-en", *en, lang="en")
    stories[0].langs.append("en")
    assert place(stories, "a-de", *de, lang="de") == first
    # the same names in the same language are not enough: a second English text is a different story
    assert similarity(signature(*en).text, signature(*de).text) < 0.5


def test_signatures_and_band_keys_are_the_same_in_another_process() -> None:
    seed = SEEDS[1]
    here = signature(seed["title"], seed["body"])
    code = (
        "import sys, json; from agents.stories import signature; from streams.bench.faultcheck import seed_templates;"
        "s = seed_templates()[1]; g = signature(s['title'], s['body']); print(json.dumps(g.band_keys()))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == __import__("json").dumps(here.band_keys())
    assert story_id_for("a-1") == story_id_for("a-1") != story_id_for("a-2")


def test_a_revised_article_is_an_update_of_its_own_story() -> None:
    seed = SEEDS[2]
    sig = signature(seed["title"], "Entirely rewritten text about something else.")
    decision = assign("a-1", sig, "en", known_story="st-own", candidates=[])
    assert (decision.story_id, decision.role) == ("st-own", ROLE_UPDATE)


def test_join_picks_the_most_similar_story() -> None:
    seed = SEEDS[3]
    sig = signature(seed["title"], seed["body"])
    near = Story("st-near", "a-n", sig, 10.0, 10.0)
    other = Story("st-far", "a-f", Signature(tuple(range(64))), 0.0, 0.0)
    decision = assign("a-x", sig, "en", known_story=None, candidates=[other, near])
    assert (decision.story_id, decision.role) == ("st-near", ROLE_JOINED)


def story() -> Story:
    sig = signature(SEEDS[0]["title"], SEEDS[0]["body"])
    return new_story("a-1", sig, at=0.0)


def test_new_story_alerts_once_per_theme_and_redelivery_repeats_it() -> None:
    s = story()
    first = observe(s, new_article=True, lang="en", source="x", themes=["t"], origin="e:0:0", at=0, sources_threshold=3)
    assert [(a.kind, a.theme) for a in first] == [("new_story", "t")]
    copy = observe(s, new_article=True, lang="en", source="y", themes=["t"], origin="e:0:1", at=1, sources_threshold=3)
    assert copy == []  # a later article of the story counts, it does not alert
    again = observe(
        s, new_article=False, lang="en", source="x", themes=["t"], origin="e:0:0", at=2, sources_threshold=3
    )
    assert [(a.kind, a.theme) for a in again] == [("new_story", "t")]  # the same record: same alert again
    assert (s.articles, len(s.sources), s.langs) == (2, 2, ["en"])


def test_escalation_on_a_new_language_and_on_the_source_threshold() -> None:
    s = story()
    observe(s, new_article=True, lang="en", source="x", themes=["t"], origin="e:0:0", at=0, sources_threshold=3)
    de = observe(s, new_article=True, lang="de", source="y", themes=[], origin="e:0:1", at=1, sources_threshold=3)
    assert [(a.kind, a.theme, a.reason) for a in de] == [("story_escalation", "t", "lang:de")]
    third = observe(s, new_article=True, lang="de", source="z", themes=["t"], origin="e:0:2", at=2, sources_threshold=3)
    assert [(a.kind, a.reason) for a in third] == [("story_escalation", "sources:3")]
    fourth = observe(
        s, new_article=True, lang="en", source="w", themes=["t"], origin="e:0:3", at=3, sources_threshold=3
    )
    assert fourth == []  # each reason once


def test_a_story_without_articles_for_the_window_expires() -> None:
    s = story()
    assert not expired(s, now=3600.0, window_seconds=3600.0)
    assert expired(s, now=3600.5, window_seconds=3600.0)


def test_story_record_round_trip() -> None:
    s = story()
    observe(s, new_article=True, lang="en", source="x", themes=["t"], origin="e:0:0", at=0, sources_threshold=3)
    assert Story.from_record(s.as_record()) == s


def test_only_capital_sigma_lowers_by_context_and_no_character_changes_word_ness() -> None:
    """What lowering tokens one by one relies on (agents.stories._features): it equals
    tokenizing the lowered text unless the text has a capital sigma."""
    import re
    import sys

    word = re.compile(r"\w")
    by_context, word_ness = [], []
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue
        ch = chr(code)
        low = ch.lower()
        if len(low) == 1 and bool(word.match(ch)) != bool(word.match(low)):
            word_ness.append(hex(code))
        if ("A" + ch + " ").lower() != "a" + low + " " or (ch + ".A").lower() != low + ".a":
            by_context.append(hex(code))
    assert word_ness == []
    assert by_context == ["0x3a3"]


def test_tokens_lowered_one_by_one_match_the_lowered_text_but_for_sigma() -> None:
    from agents.stories import features

    greek = "ΟΔΟΣ.ΑΘΗΝΑ και Η ΟΔΟΣ ΑΘΗΝΑΣ, ΣΤΑ ΧΑΝΙΑ"
    shingles, _names = features(greek, "")
    # the whole text decides: a sigma before ".A" is not final (σ), one before "," is (ς)
    assert shingles[0] == "οδοσ αθηνα και"
    assert "οδος αθηνας στα" in shingles
