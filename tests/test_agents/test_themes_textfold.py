"""Folding for matching keeps a map back to the original text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents.textfold import fold, fold_term


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("Grönland", "gronland"),
        ("GRØNLAND", "gronland"),
        ("a\u00a0\u2009 b\n\nc", "a b c"),  # NBSP, thin space, newlines collapse to one space
        ("“NATO” ‘x’ «y»", '"nato" \'x\' "y"'),
        ("a–b—c‑d−e", "a-b-c-d-e"),
        ("ＮＡＴＯ", "nato"),  # full width
        ("ﬁnance", "finance"),  # compatibility ligature
        ("Straße", "strasse"),
        ("Cafe\u0301", "cafe"),  # decomposed accent
        ("Grön\u00adland", "gronland"),  # soft hyphen disappears
        ("Ёлка и й ї", "елка и й ї"),  # Cyrillic keeps й and ї, folds ё
        ("Łódź", "lodz"),
    ],
)
def test_fold_text(original: str, expected: str) -> None:
    assert fold(original).text == expected


def test_keep_case_folds_everything_but_case() -> None:
    assert fold_term("  ＵＳ–Präsident ", keep_case=True) == "US-Prasident"


@pytest.mark.parametrize(
    "original",
    [
        "Hello  “Grönland”\u00a0— x",
        "Cafe\u0301 ﬁne Straße",
        "plain ascii text",
        "a\u200bb",
        "  lead",
        "ＮＡＴＯ\n\n\nok",
    ],
)
def test_every_folded_char_maps_into_the_original(original: str) -> None:
    folded = fold(original)
    for i in range(len(folded.text)):
        start, end = folded.span(i, i + 1)
        assert 0 <= start < end <= len(original)
    if folded.text:
        assert folded.span(0, len(folded.text))[1] <= len(original)


def test_span_of_a_word_is_the_original_word() -> None:
    original = "Trump\u00a0\u00a0wants  “GRÖNLAND” now"
    folded = fold(original)
    i = folded.text.index("gronland")
    start, end = folded.span(i, i + len("gronland"))
    assert original[start:end] == "GRÖNLAND"


def test_decomposed_accent_maps_to_the_whole_cluster() -> None:
    original = "x Gro\u0308nland y"
    folded = fold(original)
    i = folded.text.index("gronland")
    start, end = folded.span(i, i + 8)
    assert original[start:end] == "Gro\u0308nland"


def test_bad_range_is_refused() -> None:
    with pytest.raises(ValueError, match="bad folded range"):
        fold("abc").span(2, 2)


@given(st.text())
def test_fold_never_crashes_and_offsets_are_monotonic(text: str) -> None:
    folded = fold(text)
    previous = 0
    for i in range(len(folded.text)):
        start, end = folded.span(i, i + 1)
        assert previous <= start < end <= len(text)
        previous = start
