"""``fold`` translates with code-point arrays; this checks it against ``str.translate`` on the same table.

The reference below is the character-table algorithm the array version replaced: same folded
text and the same map back to the original, for texts mixing the cases that take different
paths (plain text, runs of spaces, characters that fold to several or to none, combining
marks, astral characters, lone surrogates).
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents import textfold
from agents.textfold import Folded, fold

PIECES = [
    "Grönland",
    "NATO",
    "ß",
    "…",
    "½",
    "ﬁ",
    "\u00ad",
    "\u200b",
    "  ",
    " \n\t ",
    "\u00a0",
    "e\u0301",
    "\u0301",
    "कि",
    "ำ",
    "İ",
    "\u0345",
    "Ёлка",
    "ＮＡＴＯ",
    "\U0001d400",
    "\U0001f600",
    "\ufdfa",
    "\ud800",
    "’",
    "—",
    "a",
    " ",
]
texts = st.lists(st.sampled_from(PIECES) | st.text(max_size=4), max_size=40).map("".join)


def reference(text: str, keep_case: bool) -> Folded:
    folder = textfold._folder(keep_case)
    quick = text.translate(folder.table)
    n = len(text)
    patterns = folder.patterns(text)
    if patterns.special.search(text) is None:
        if "  " in quick:
            return Folded(textfold._SPACE_RUN.sub(" ", quick), n, pending=(None, text, quick))
        return Folded(quick, n)
    if (patterns.unsafe is None or patterns.unsafe.search(text) is None) and (
        patterns.marks.search(text) is None or all(map(folder.is_decomposable, set(patterns.units.findall(text))))
    ):
        collapsed = textfold._SPACE_RUN.sub(" ", quick) if "  " in quick else quick
        return Folded(collapsed, n, pending=(folder, text, quick))
    folded, segments = folder.general(text)
    return Folded(folded, n, segments)


def spans(folded: Folded) -> list[tuple[int, int]]:
    n = len(folded.text)
    return [folded.span(i, j) for i in range(n) for j in (i + 1, n) if j > i]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts, st.booleans())
def test_fold_equals_the_character_table_algorithm(text: str, keep_case: bool) -> None:
    got, want = fold(text, keep_case=keep_case), reference(text, keep_case)
    assert got.text == want.text
    assert spans(got) == spans(want)


@pytest.mark.parametrize("text", ["", "a", "  ", "……", "ß ß", "\u0301", "e\u0301  …  x", "\ud800 x"])
def test_fold_edge_cases(text: str) -> None:
    for keep_case in (False, True):
        got, want = fold(text, keep_case=keep_case), reference(text, keep_case)
        assert (got.text, spans(got)) == (want.text, spans(want))


WORD_RUNS = re.compile(r"\w+")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts | st.text(max_size=60))
def test_words_are_the_runs_of_word_characters(text: str) -> None:
    assert textfold.words(text) == WORD_RUNS.findall(text)
    assert textfold.words(text.lower()) == WORD_RUNS.findall(text.lower())


@pytest.mark.parametrize("text", ["", " ", "a", "_x_ 12,5 F-35", "Grönland\u00a0NATO", "\ud800x\udfff", "\x1c1\x1f2"])
def test_words_edge_cases(text: str) -> None:
    assert textfold.words(text) == WORD_RUNS.findall(text)


def test_no_word_character_is_whitespace() -> None:
    """What ``words`` relies on: splitting on whitespace never cuts a run of word characters."""
    spaces = [code for code in range(0x110000) if chr(code).isspace()]
    assert spaces
    assert not textfold._word_table()[spaces].any()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts | st.text(max_size=60), st.booleans())
def test_units_are_those_the_unit_expression_finds(text: str, keep_case: bool) -> None:
    folder = textfold._folder(keep_case)
    expected = set(folder.patterns(text).units.findall(text))
    assert folder.units_of(text, textfold._code_points(text)) == expected


@pytest.mark.parametrize(
    "text", ["", "\u0301", "\u0301\u0301 x", " \u0301", "e\u0301\u0302", "\n\u0301a", "कि कि", "\U0001d400\u0301"]
)
def test_units_edge_cases(text: str) -> None:
    for keep_case in (False, True):
        folder = textfold._folder(keep_case)
        assert folder.units_of(text, textfold._code_points(text)) == set(folder.patterns(text).units.findall(text))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts | st.text(max_size=60), st.booleans())
def test_fold_words_are_the_words_of_the_folded_text(text: str, keep_case: bool) -> None:
    assert textfold.fold_words(text, keep_case=keep_case) == WORD_RUNS.findall(fold(text, keep_case=keep_case).text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts | st.text(max_size=60), st.booleans())
def test_fold_word_text_is_the_words_and_spaces(text: str, keep_case: bool) -> None:
    """``fold_word_text``: the folded words with spaces between (and around): a caller may lower it whole."""
    spaced = textfold.fold_word_text(text, keep_case=keep_case)
    assert spaced.split() == WORD_RUNS.findall(fold(text, keep_case=keep_case).text)
    assert all(ch == " " or WORD_RUNS.fullmatch(ch) for ch in spaced)


FOLD_WORDS_CASES = ["", "  ", "Grönland’s NATO", "x²³ ½ F-35", "e\u0301cole ß ﬁ", "\ufdfa x", "Σίσυφος", "\ud800 x"]


@pytest.mark.parametrize("text", [*FOLD_WORDS_CASES, "a\u00adb\u200bc", "हिन्दी क़"])
def test_fold_words_edge_cases(text: str) -> None:
    for keep_case in (False, True):
        assert textfold.fold_words(text, keep_case=keep_case) == WORD_RUNS.findall(fold(text, keep_case=keep_case).text)


def test_fold_words_of_every_code_point() -> None:
    """Each code point alone, between letters and between spaces, in blocks: the words of the folded text."""
    codes = [c for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    for keep_case in (False, True):
        for sep in (" ", "a"):
            for at in range(0, len(codes), 512):
                text = sep.join(map(chr, codes[at : at + 512]))
                want = WORD_RUNS.findall(fold(text, keep_case=keep_case).text)
                assert textfold.fold_words(text, keep_case=keep_case) == want, hex(codes[at])


def _composition_bases() -> list[int]:
    """Characters that canonical or compatibility decompositions start with or map from (the ones
    normalization can change), plus a letter of several scripts: the bases worth probing with marks."""
    out = {ord(ch) for ch in "aE1_कখாకഅ아かاבกញ"}
    for code in textfold._assigned_codes():
        decomposition = unicodedata.decomposition(chr(code))
        if decomposition:
            out.add(code)
            if not decomposition.startswith("<"):
                out.add(int(decomposition.split()[0], 16))
    return sorted(c for c in out if not chr(c).isspace() and unicodedata.category(chr(c))[0] != "M")


@pytest.mark.parametrize("keep_case", [False, True])
def test_marks_that_vanish_fold_to_nothing_after_any_base(keep_case: bool) -> None:
    """``fold_words``' quick way (a text of regular characters and marks that vanish, read
    character by character) gives the words ``fold`` gives, for sampled marks after every
    base normalization can change."""
    folder = textfold._folder(keep_case)
    assert folder._vanishes(ord(textfold._VANISHING_PROBE))
    bases = _composition_bases()
    blanked = folder.word_chars(np.array(bases, dtype=np.uint32))
    quick = [b for b, v in zip(bases, blanked.tolist(), strict=True) if v <= textfold._MAX_CODE or v == textfold._GONE]
    assert len(quick) > 5000
    marks = [c for c in range(0x300, 0x1E000) if unicodedata.category(chr(c))[0] == "M" and folder._vanishes(c)]
    assert len(marks) > 1500
    for mark in marks[::40]:
        text = " ".join(chr(b) + chr(mark) for b in quick)
        assert int(folder.word_chars(textfold._code_points(text)).max()) == textfold._GONE  # the quick way
        assert textfold.fold_words(text, keep_case=keep_case) == WORD_RUNS.findall(fold(text, keep_case=keep_case).text)


@pytest.mark.parametrize("keep_case", [False, True])
def test_bases_that_fold_otherwise_before_a_mark_take_the_unit_way(keep_case: bool) -> None:
    folder = textfold._folder(keep_case)
    for base in ("\u1fef", "\u1ffd"):  # GREEK VARIA, GREEK OXIA: NFC maps them to a quote, an acute
        assert folder.unit(base + textfold._VANISHING_PROBE) != folder.table[ord(base)]
        assert not folder._plain_base(ord(base))
        text = f"x{base}{textfold._VANISHING_PROBE}y {base}"
        assert textfold.fold_words(text, keep_case=keep_case) == WORD_RUNS.findall(fold(text, keep_case=keep_case).text)
    # every other character folds before a vanishing mark as it does alone (sampled)
    for code in range(0, 0x40000, 7):
        ch = chr(code)
        if 0xD800 <= code < 0xE000 or ch.isspace() or unicodedata.category(ch)[0] == "M" or code in (0x1FEF, 0x1FFD):
            continue
        assert folder.unit(ch + textfold._VANISHING_PROBE) == folder.table[code], hex(code)


def test_composing_marks_are_those_that_compose_with_a_letter() -> None:
    composing = textfold._composing_marks()
    assert {0x301, 0x308, 0x93C, 0x654, 0x3099, 0xBD7} <= composing  # é, ü, ऩ, أ, が, ஔ
    # compose only after a mark (Bengali o, Tamil o), or only in excluded pairs (Bengali nukta)
    assert not {0x9BE, 0xBBE, 0x9BC, 0x0E3A} & composing


@pytest.mark.parametrize(
    "text",
    [
        "কোথায় বোন",
        "\u0995\u09c7\u09be \u0995\u09cb",
        "கொடு கோ",
        "క\u0c46\u0c56",
        "क़ ऩ न\u093c",
        "أ ا\u0654",
        "ñ n\u0303",
    ],
)
def test_fold_words_of_indic_and_arabic_units(text: str) -> None:
    for keep_case in (False, True):
        assert textfold.fold_words(text, keep_case=keep_case) == WORD_RUNS.findall(fold(text, keep_case=keep_case).text)
