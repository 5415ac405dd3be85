"""evaluate_examples: per-theme counts, precision/recall and failures."""

from __future__ import annotations

import textwrap

import pytest

from agents.themes import evaluate_examples, parse_theme_text

FILE = textwrap.dedent(
    """
    [[theme]]
    id = "cats"
    name = "Cats"
    description = "d"

    [theme.terms.cat]
    en = ["cat*"]
    de = ["Katze*"]

    [[theme.rules]]
    id = "cat"
    any = ["cat"]

    [theme.examples]
    positive = ["A cat sat.", "Die Katzen schlafen.", "A kitten played."]
    negative = ["A dog barked.", "The catalogue is out."]
    """
)


def test_counts_precision_recall_and_failures() -> None:
    report = evaluate_examples(parse_theme_text(FILE, "f.toml"))
    [score] = report.scores
    # "A kitten played." is missed; "catalogue" matches cat* (a false positive)
    assert (score.positives, score.negatives, score.tp, score.fp, score.fn) == (3, 2, 2, 1, 1)
    assert score.precision == pytest.approx(2 / 3)
    assert score.recall == pytest.approx(2 / 3)
    assert not report.ok
    failures = {(f.text, f.expected, f.got) for f in report.failures}
    assert failures == {("A kitten played.", True, False), ("The catalogue is out.", False, True)}


def test_all_passing() -> None:
    text = FILE.replace(', "A kitten played."', "").replace(', "The catalogue is out."', "")
    report = evaluate_examples(parse_theme_text(text, "f.toml"))
    assert report.ok
    assert report.scores[0].precision == 1.0
    assert report.scores[0].recall == 1.0


def test_worked_example_in_the_docs_is_valid_and_passes() -> None:
    from streams.settings import REPO_ROOT

    doc = (REPO_ROOT / "docs" / "themes.md").read_text(encoding="utf-8")
    toml = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    themes = parse_theme_text(toml, "docs/themes.md")
    report = evaluate_examples(themes)
    assert report.failures == ()
    from agents.themes import Tagger

    tagger = Tagger(themes)
    assert [m.score for m in tagger.tag("The US eyes Greenland. The US wants Greenland.")] == [3.0]
    assert tagger.tag("The Greenland shark is old; Denmark will not annex it.") == []
