"""Folding for matching keeps a map back to the original text."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents import textfold
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


# --------------------------------------------------------------------------- tricky cases, pinned
# ``fold`` has fast paths (one ``str.translate`` plus a collapse of space runs; the offset map built
# only when asked for) and a unit-by-unit path; these cases go through each of them.


def _spans(original: str, *, keep_case: bool = False) -> list[str]:
    folded = fold(original, keep_case=keep_case)
    return [original[slice(*folded.span(i, i + 1))] for i in range(len(folded.text))]


@pytest.mark.parametrize(
    ("original", "expected", "sources"),
    [
        ("Straße", "strasse", ["S", "t", "r", "a", "ß", "ß", "e"]),  # one character, two folded
        ("Grön\u00adland", "gronland", list("Grönland")),  # soft hyphen: nothing maps to it
        ("Cafe\u0301 x", "cafe x", ["C", "a", "f", "e\u0301", " ", "x"]),  # base + mark: one unit
        ("नमस्ते", "नमसत", ["न", "म", "स्", "ते"]),  # Devanagari vowel signs and virama
        ("ภาษาไทย", "ภาษาไทย", list("ภาษาไทย")),  # Thai: no combining mark here
        ("ที่", "ท", ["ที่"]),  # Thai vowel and tone marks join their consonant
        ("عَرَبِي", "عربي", ["عَ", "رَ", "بِ", "ي"]),  # Arabic harakat
        ("a\u00a0\u00a0\u2009 b", "a b", ["a", "\u00a0", "b"]),  # a run of no-break and thin spaces
        ("a\r\n\r\nb", "a b", ["a", "\r", "b"]),  # CRLF paragraph break
        ("a😀b 𝐀𝐁", "a😀b ab", ["a", "😀", "b", " ", "𝐀", "𝐁"]),  # astral characters, no surrogates
        ("ﬁne ﬂow", "fine flow", ["ﬁ", "ﬁ", "n", "e", " ", "ﬂ", "ﬂ", "o", "w"]),  # ligatures expand
        (" \u0301x", " x", [" ", "x"]),  # a mark after a space is a unit of its own (folded to nothing)
        ("a \u200b b", "a b", ["a", " ", "b"]),  # an invisible character does not split a run of spaces
        ("\ufdfa  x", "صلى الله عليه وسلم x", [*["\ufdfa"] * 18, " ", "x"]),  # spaces inside an expansion
        ("a \u037a", "a  ι", ["a", " ", "\u037a", "\u037a"]),  # ... are never collapsed: " ι" follows " "
    ],
)
def test_tricky_folds_and_their_offsets(original: str, expected: str, sources: list[str]) -> None:
    assert fold(original).text == expected
    assert _spans(original) == sources


def test_dotted_capital_i_folds_with_case_kept() -> None:
    # "İ".lower() is two characters ("i" + U+0307): keep_case folding used to raise TypeError.
    assert fold("İSTANBUL", keep_case=True).text == "ISTANBUL"
    assert fold("İstanbul").text == "istanbul"
    assert fold_term("ẞ", keep_case=True) == "SS"


def _reference_fold(text: str, keep_case: bool) -> tuple[str, list[tuple[int, int]]]:
    """The specification, one unit at a time: a non-space character and the combining marks after
    it fold together (after NFC); a unit folded to one space is dropped after another one."""
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    i, last_space = 0, False
    while i < len(text):
        j = i + 1
        while j < len(text) and unicodedata.category(text[j]).startswith("M") and not text[i].isspace():
            j += 1
        unit = text[i:j]
        folded = textfold._fold_unit(unit if j - i == 1 else unicodedata.normalize("NFC", unit), keep_case)
        if folded == " " and last_space:
            i = j
            continue
        if folded:
            last_space = folded == " "
        out.append(folded)
        spans.extend([(i, j)] * len(folded))
        i = j
    return "".join(out), spans


_TRICKY = st.sampled_from(
    list("aZ ß\u00ad\u200b\u00a0\u2009\n\r\t\u0301\u0308\u0345ﬁ’«—ſЁйи\u0306е\u0308İ¨΅ͺ\ufdfaकि्ো\u09c7\u09beทีَ่😀𝐀")
)


@given(st.text(alphabet=st.one_of(_TRICKY, st.characters(exclude_categories=["Cs"])), max_size=40))
def test_fold_matches_the_unit_by_unit_reference(text: str) -> None:
    for keep_case in (False, True):
        folded = fold(text, keep_case=keep_case)
        expected_text, expected_spans = _reference_fold(text, keep_case)
        assert folded.text == expected_text
        assert [folded.span(i, i + 1) for i in range(len(folded.text))] == expected_spans
