"""Text folding for matching, with a map from folded offsets back to the original text.

``fold(text)`` returns a :class:`Folded` whose ``text`` is what the theme engine
matches against and whose :meth:`Folded.span` turns a ``[start, end)`` range of
the folded text into the range of the *original* string that produced it.

What folding does (terms of a theme file are folded the same way, so matching
is symmetric):

- Unicode compatibility forms and width (NFKC): ``ＮＡＴＯ`` -> ``nato``, ``ﬁ`` -> ``fi``;
- case (``str.casefold``): ``Straße`` -> ``strasse``;
- every run of whitespace, no-break and thin spaces and line breaks included, becomes one space;
- dashes (``‐ ‑ – — ― −`` ...) become ``-``; curly, low and angle quotes become ``'`` or ``"``;
- invisible characters (zero-width space/joiners, soft hyphen, BOM) disappear;
- diacritics are removed from Latin (and Greek) letters, plus ``ł ø đ`` -> ``l o d``, so
  ``Grönland``, ``Gronland`` and ``GRÖNLAND`` match alike; Cyrillic letters keep their
  marks (``й`` is not ``и``, ``ї`` is not ``і``) except ``ё`` -> ``е``, which Russian
  text routinely writes as ``е``.

A base character and the combining marks that follow it are folded as one unit
(after NFC), so decomposed input (``e`` + U+0301) folds like composed input.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["Folded", "fold", "fold_term", "is_word_char"]

_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e")
_SINGLE_QUOTES = frozenset("‘’‚‛′‵‹›`´ʼ＇")
_DOUBLE_QUOTES = frozenset("“”„‟″‶«»〝〞＂")
_EXTRA_DASHES = frozenset("\u2212\u2043\ufe63\uff0d")
_LATIN_EXTRA = {"ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ı": "i", "ŀ": "l"}
_CYRILLIC_KEEP = frozenset("йїўЙЇЎ")


def is_word_char(ch: str) -> bool:
    """True for characters that belong to a word (letters, digits, underscore): word boundaries are between
    a word character and anything else."""
    return ch.isalnum() or ch == "_"


def _strip_marks(ch: str) -> str:
    """One already case-folded character without its diacritics (Latin/Greek), kept as-is otherwise."""
    if ch in _LATIN_EXTRA:
        return _LATIN_EXTRA[ch]
    if ch.isascii():
        return ch
    if ch == "ё":
        return "е"
    name = unicodedata.name(ch, "")
    if "CYRILLIC" in name and ch in _CYRILLIC_KEEP:
        return ch
    if "LATIN" in name or "GREEK" in name or "CYRILLIC" in name:
        decomposed = unicodedata.normalize("NFD", ch)
        return "".join(c for c in decomposed if not unicodedata.category(c).startswith("M"))
    return ch


def _fold_unit(unit: str, keep_case: bool) -> str:
    """Fold one character (or one base character with its combining marks)."""
    first = unit[0]
    if first.isspace():
        return " "
    if first in _INVISIBLE:
        return ""
    if first in _SINGLE_QUOTES:
        return "'"
    if first in _DOUBLE_QUOTES:
        return '"'
    if first in _EXTRA_DASHES or unicodedata.category(first) == "Pd":
        return "-"
    text = unicodedata.normalize("NFKC", unit)
    if not keep_case:
        text = text.casefold()
    out = []
    for ch in text:
        if unicodedata.category(ch).startswith("M"):
            continue  # a mark that did not compose (or a stray one): dropped
        low = ch.lower() if keep_case else ch
        stripped = _strip_marks(low)
        out.append(stripped if low == ch else stripped.upper())
    return "".join(out)


class _FoldTable(dict[int, str]):
    """``str.translate`` table computed lazily per code point; records irregular (not 1:1) characters."""

    def __init__(self, keep_case: bool) -> None:
        super().__init__()
        self.keep_case = keep_case
        self.irregular: set[str] = set()
        self._irregular_re: re.Pattern[str] | None = None

    def __missing__(self, key: int) -> str:
        ch = chr(key)
        folded = _fold_unit(ch, self.keep_case)
        if len(folded) != 1 or unicodedata.category(ch).startswith("M"):
            self.irregular.add(ch)
            self._irregular_re = None
        self[key] = folded
        return folded

    def has_irregular(self, text: str) -> bool:
        if not self.irregular:
            return False
        if self._irregular_re is None:
            self._irregular_re = re.compile("[" + "".join(re.escape(c) for c in sorted(self.irregular)) + "]")
        return self._irregular_re.search(text) is not None


_TABLES = {False: _FoldTable(False), True: _FoldTable(True)}
_SPACE_RUN = re.compile(" {2,}")


@dataclass(frozen=True)
class Folded:
    """Folded text plus, per folded character, the original range it came from.

    ``starts``/``ends`` are None when the mapping is the identity (the fast path).
    """

    text: str
    original_length: int
    starts: tuple[int, ...] | None = None
    ends: tuple[int, ...] | None = None

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original ``[start, end)`` for the non-empty folded range ``[start, end)``."""
        if not 0 <= start < end <= len(self.text):
            raise ValueError(f"bad folded range [{start}, {end}) for length {len(self.text)}")
        if self.starts is None or self.ends is None:
            return start, end
        return self.starts[start], self.ends[end - 1]


def _collapse_spaces(text: str, original_length: int) -> Folded:
    """Collapse runs of spaces in a 1:1-folded text, keeping the offset map."""
    starts: list[int] = []
    pieces: list[str] = []
    pos = 0
    for m in _SPACE_RUN.finditer(text):
        pieces.append(text[pos : m.start() + 1])
        starts.extend(range(pos, m.start() + 1))
        pos = m.end()
    pieces.append(text[pos:])
    starts.extend(range(pos, len(text)))
    ends = tuple(s + 1 for s in starts)
    return Folded("".join(pieces), original_length, tuple(starts), ends)


def _fold_slow(text: str, keep_case: bool) -> Folded:
    """General path: units of base + combining marks, any expansion or deletion."""
    table = _TABLES[keep_case]
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    n = len(text)
    i = 0
    last_space = False
    while i < n:
        j = i + 1
        while j < n and unicodedata.category(text[j]).startswith("M") and not text[i].isspace():
            j += 1
        unit = text[i:j]
        folded = table[ord(unit)] if j - i == 1 else _fold_unit(unicodedata.normalize("NFC", unit), keep_case)
        if folded == " ":
            if last_space:
                i = j
                continue
            last_space = True
        elif folded:
            last_space = False
        for ch in folded:
            out.append(ch)
            starts.append(i)
            ends.append(j)
        i = j
    return Folded("".join(out), n, tuple(starts), tuple(ends))


def fold(text: str, *, keep_case: bool = False) -> Folded:
    """Fold ``text`` for matching (see the module doc); ``keep_case`` skips case folding only."""
    table = _TABLES[keep_case]
    quick = text.translate(table)
    if len(quick) == len(text) and not table.has_irregular(text):
        if "  " in quick:
            return _collapse_spaces(quick, len(text))
        return Folded(quick, len(text))
    return _fold_slow(text, keep_case)


@lru_cache(maxsize=1 << 16)
def fold_term(term: str, *, keep_case: bool = False) -> str:
    """A term folded like text, without leading or trailing space."""
    return fold(term, keep_case=keep_case).text.strip()
