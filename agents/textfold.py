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

``fold_words(text)`` is ``words(fold(text).text)`` for callers that need only the words
(the stories' MinHash features): no offsets map and no folded string are made;
``fold_word_text(text)`` is the same words in one string, separated by whitespace.
"""

from __future__ import annotations

import itertools
import re
import threading
import unicodedata
from bisect import bisect_right
from functools import lru_cache

import numpy as np
import numpy.typing as npt

__all__ = [
    "Folded",
    "fold",
    "fold_term",
    "fold_word_text",
    "fold_words",
    "is_word_char",
    "warm_up",
    "word_starts",
    "words",
]

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
        if len(low) == 1:
            stripped = _strip_marks(low)
        else:  # "İ".lower() is "i" + U+0307: strip each character, drop the marks
            stripped = "".join(_strip_marks(c) for c in low if not unicodedata.category(c).startswith("M"))
        out.append(stripped if low == ch else stripped.upper())
    return "".join(out)


class _FoldTable(dict[int, str]):
    """``str.translate`` table computed lazily per code point."""

    def __init__(self, keep_case: bool) -> None:
        super().__init__()
        self.keep_case = keep_case

    def __missing__(self, key: int) -> str:
        folded = _fold_unit(chr(key), self.keep_case)
        self[key] = folded
        return folded


_UNIT_CACHE_LIMIT = 1 << 16
_MARK, _SPACE, _LENGTH_SHIFT = 2, 1, 2
# Values of _Folder.singles besides code points (see _Folder.single_chars).
_MAX_CODE = 0x10FFFF
_MARK_BIT = 1 << 21
_CODE_BITS = np.uint32(_MARK_BIT - 1)
_DROP, _MULTI, _UNKNOWN = 0xFFFFFFFD, 0xFFFFFFFE, 0xFFFFFFFF
_GONE = 0xFFFFFFFC  # in _Folder.word_chars only: folds to nothing wherever it stands
_VANISHING_PROBE = "\u0e3a"  # THAI CHARACTER PHINTHU: a mark that vanishes after any character (see _Folder._vanishes)


def _assigned_codes() -> itertools.chain[int]:
    """Every code point but surrogates that can hold an assigned character other than private use:
    planes 4-13, 15 and 16 hold none (their characters all fold to themselves)."""
    return itertools.chain(range(0xD800), range(0xE000, 0x40000), range(0xE0000, 0xE1000))


class _Folder:
    """Everything ``fold`` needs for one mode (case folded or kept), built on first use.

    A character is *regular* when it folds to exactly one character and is not a combining
    mark: a text of regular characters folds with one ``str.translate`` (and a collapse of
    space runs).  The others are found with regular expressions built from the whole
    character database, once per process (about 0.2 s):

    - combining marks (category M): they join the preceding non-space character into a
      unit that is folded as a whole (after NFC);
    - *irregular* characters: they fold to no character (``ß`` -> ``ss``, soft hyphen ->
      nothing, ``ﬁ`` -> ``fi``);
    - *unsafe* ones among them, whose folded form holds a space beside other characters
      (``\ufdfa``): those spaces are not collapsed, which the translate-and-collapse path
      could not tell from the others.
    """

    def __init__(self, keep_case: bool) -> None:
        self.keep_case = keep_case
        self.table = _FoldTable(keep_case)
        category, normalize = unicodedata.category, unicodedata.normalize
        marks: list[str] = []
        irregular: list[str] = []
        unsafe: list[str] = []
        spaces: list[int] = []
        for code in _assigned_codes():  # the others are all regular
            ch = chr(code)
            kind = category(ch)
            if kind[0] == "M":
                marks.append(ch)
                continue
            if ch.isspace():
                spaces.append(code)
            if kind == "Cn" or (
                ch not in _INVISIBLE
                and normalize("NFKC", ch) == ch
                and ch.casefold() == ch
                and ch.lower() == ch
                and ch.upper() == ch
            ):
                continue  # folds to itself or to one character without marks (see _fold_unit)
            folded = self.table[code]
            if len(folded) != 1:
                irregular.append(ch)
                if " " in folded and folded != " ":
                    unsafe.append(ch)
        # Two sets of expressions: for text of the Basic Multilingual Plane only, whose classes
        # match in constant time, and for text with astral characters (ranges tried one by one).
        self.bmp = _Patterns([c for c in marks if c <= "\uffff"], [c for c in irregular if c <= "\uffff"], unsafe)
        self.full = _Patterns(marks, irregular, unsafe)
        # Per code point: folded length << _LENGTH_SHIFT | _MARK | _SPACE (for the offsets).
        kinds = np.full(0x110000, 1 << _LENGTH_SHIFT, dtype=np.uint8)
        for ch in (*marks, *irregular):
            length = len(self.table[ord(ch)])
            if length >= 1 << (8 - _LENGTH_SHIFT):
                raise AssertionError(f"fold: {ch!r} folds to {length} characters")
            kinds[ord(ch)] = length << _LENGTH_SHIFT
        kinds[[ord(c) for c in marks]] |= _MARK
        kinds[spaces] |= _SPACE
        kinds.flags.writeable = False
        self.kinds = kinds
        # Per code point, filled in as characters are met: see single_chars.
        self.singles = np.full(0x110000, _UNKNOWN, dtype=np.uint32)
        self.unit_folds: dict[str, str] = {}  # multi-character unit -> folded
        self.decomposable: dict[str, bool] = {}  # unit -> folds like its characters one by one
        self.decomposable_pairs: dict[int, bool] = {}  # the same, for units of one mark by _pair_unit number
        # Per code point, single_chars with regular characters that fold to a non-word character
        # as a space (see word_chars), and the same for ASCII text as a str.translate table.
        self.word_singles: npt.NDArray[np.uint32] | None = None
        self.ascii_words: dict[int, str] | None = None

    def single_chars(self, points: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint32]:
        """Per code point of a text, what ``str.translate`` with the table gives it, in numpy.

        A character that folds to one character gives that code point, or, if it is a
        combining mark, that code point | ``_MARK_BIT``; one that folds to nothing gives
        ``_DROP`` and one that folds to several characters ``_MULTI``.  So when no value
        exceeds ``_MAX_CODE`` every character is regular (``fold``'s first case), and the
        code points are those of ``text.translate(self.table)``.
        """
        out = self.singles.take(points)  # take: the same as indexing, faster for a large table
        unknown = out == _UNKNOWN
        if unknown.any():
            for code in np.unique(points[unknown]).tolist():
                folded = self.table[code]
                if len(folded) == 1:
                    value = ord(folded) | (_MARK_BIT if int(self.kinds[code]) & _MARK else 0)
                else:
                    value = _DROP if not folded else _MULTI
                self.singles[code] = value
            out = self.singles.take(points)
        return out

    def word_chars(self, points: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint32]:
        """Per code point of a text, for ``fold_words``: what it folds to alone, with the text's
        non-word characters blanked.

        A regular character gives its folded code point, or a space if that is not a word
        character, as does one that folds to several characters none of which is a word
        character (``…``); a character that folds to nothing wherever it stands (a mark that
        vanishes after any character, an invisible one) gives ``_GONE``.  Others keep their
        ``single_chars`` value (``_DROP``, ``_MULTI``), but a mark that folds to one character
        and a character that folds otherwise before a mark give ``_MULTI``.  So when no value
        exceeds ``_GONE``, the text's words are those of its characters folded one by one,
        whatever its marks.
        """
        table = self.word_singles
        if table is None:
            table = self.word_singles = np.full(0x110000, _UNKNOWN, dtype=np.uint32)
        out = table.take(points)
        unknown = out == _UNKNOWN
        if unknown.any():
            codes = np.unique(points[unknown])
            singles = self.single_chars(codes)
            regular = singles <= _MAX_CODE
            word_table = _word_table()
            word = word_table[np.where(regular, singles, 0)]
            values = np.where(regular & ~word, np.uint32(0x20), singles)
            values[(singles > _MAX_CODE) & (singles < _GONE)] = _MULTI  # marks that fold to a character alone
            mark = (self.kinds[codes] & _MARK) != 0
            for at, code in enumerate(codes.tolist()):
                if mark[at]:
                    if values[at] == _DROP and self._vanishes(code):
                        values[at] = _GONE
                elif not self._plain_base(code):
                    values[at] = _MULTI
                elif values[at] == _DROP:
                    values[at] = _GONE
                elif values[at] == _MULTI and not word_table[[ord(ch) for ch in self.table[code]]].any():
                    values[at] = 0x20  # folds to several characters, none of a word ("…" -> "...")
            table[codes] = values
            out = table.take(points)
        return out

    def _plain_base(self, code: int) -> bool:
        """Whether the character ``code``, followed by marks that vanish, folds as it does alone.

        A unit is normalized (NFC) before it is folded, a character alone is not: the two
        differ for a few characters that NFC maps to another (U+1FEF GREEK VARIA becomes a
        backquote, which folds to an apostrophe)."""
        ch = chr(code)
        return unicodedata.is_normalized("NFC", ch) or self.unit(ch + _VANISHING_PROBE) == self.table[code]

    def _vanishes(self, code: int) -> bool:
        """Whether the combining mark ``code`` folds to nothing after any character, as it does alone.

        Folding a unit normalizes it (NFKC) and drops the marks left over.  A mark that folds
        to nothing alone, whose decomposition (NFKD) holds no mark that composes with a
        character before it (``_composing_marks``) and that case mapping leaves alone, is
        left over with its decomposition: the unit folds like its base alone.  Other marks
        (accents that compose, Arabic hamza above, ``\u0345``) take the unit analysis.
        """
        ch = chr(code)
        composing = _composing_marks()
        return (
            self.table[code] == ""
            and ch.casefold() == ch
            and ch.lower() == ch
            and not any(ord(part) in composing for part in unicodedata.normalize("NFKD", ch))
        )

    def ascii_table(self) -> dict[int, str]:
        """``word_chars`` for ASCII text, as a ``str.translate`` table."""
        if self.ascii_words is None:
            folded = {code: self.table[code] for code in range(128)}
            if any(len(f) != 1 or not f.isascii() for f in folded.values()):
                raise AssertionError("fold: an ASCII character folds to other than one ASCII character")
            word = _word_table()
            self.ascii_words = {code: f if word[ord(f)] else " " for code, f in folded.items()}
        return self.ascii_words

    def by_characters(self, text: str, points: npt.NDArray[np.uint32], top: int) -> bool:
        """Whether folding ``text`` character by character gives what folding it unit by unit does
        (``top``: the largest of its ``word_chars``): no unsafe character, and every mark vanishes
        after a base that folds as it does alone, or else every unit checks out."""
        unsafe = self.patterns(text).unsafe
        if unsafe is not None and unsafe.search(text) is not None:
            return False
        return top <= _GONE or self.all_decomposable(text, points)

    def translated(self, points: npt.NDArray[np.uint32], singles: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint32]:
        """The code points of ``text.translate(self.table)``, for the ``points`` of ``text`` and their
        ``single_chars``: characters that fold to several (``…`` -> ``...``, ``ß`` -> ``ss``) are
        spliced in one by one, the others are taken as they are, marks and all."""
        if int(singles.max()) < _DROP:
            return singles & _CODE_BITS
        multi = np.flatnonzero(singles == _MULTI).tolist()
        pieces: list[npt.NDArray[np.uint32]] = []
        at = 0
        for i in (*multi, singles.size):
            piece = singles[at:i]
            pieces.append(piece[piece != _DROP] & _CODE_BITS)
            if i < singles.size:
                pieces.append(_code_points(self.table[int(points[i])]))
            at = i + 1
        return np.concatenate(pieces) if len(pieces) > 1 else pieces[0]

    def patterns(self, text: str) -> _Patterns:
        return self.bmp if _ASTRAL.search(text) is None else self.full

    def offsets(self, text: str, translated: str, length: int) -> tuple[_Offsets, _Offsets]:
        """Original start and end of each folded character, for a text whose units are all
        decomposable (``translated`` is ``text.translate(self.table)``, the folded text before
        runs of spaces collapse, and ``length`` the folded length after)."""
        n = len(text)
        kinds = self.kinds.take(_code_points(text))
        # A mark continues the unit of the character before it, unless that one is a space.
        joined = (kinds & _MARK) != 0
        if n:
            joined[0] = False
            joined[1:] &= (kinds[:-1] & _SPACE) == 0
        unit_starts = np.flatnonzero(~joined)
        unit_ends = np.append(unit_starts[1:], n)
        unit_of = np.cumsum(~joined) - 1
        # Each translated character comes from one original character: its unit.
        source = np.repeat(unit_of, kinds >> _LENGTH_SHIFT)
        spaces = np.frombuffer(translated.encode("utf-32-le", "surrogatepass"), dtype=np.uint32) == 0x20
        if source.size != spaces.size:
            raise AssertionError("fold: length table out of step with the translate table")
        kept = np.ones(spaces.size, dtype=bool)
        kept[1:] = ~(spaces[1:] & spaces[:-1])  # the first space of a run stays
        source = source[kept]
        if source.size != length:
            raise AssertionError("fold: offsets out of step with the folded text")
        starts: _Offsets = unit_starts[source]
        ends: _Offsets = unit_ends[source]
        return starts, ends

    def unit(self, unit: str) -> str:
        """The folded form of one unit (a character, or a base character and its marks)."""
        if len(unit) == 1:
            return self.table[ord(unit)]
        folded = self.unit_folds.get(unit)
        if folded is None:
            if len(self.unit_folds) >= _UNIT_CACHE_LIMIT:
                self.unit_folds.clear()
            folded = self.unit_folds[unit] = _fold_unit(unicodedata.normalize("NFC", unit), self.keep_case)
        return folded

    def units_of(self, text: str, points: npt.NDArray[np.uint32]) -> set[str]:
        """``set(self.patterns(text).units.findall(text))``, found from the code points at once.

        A unit is a maximal run of combining marks with the character before it, unless that
        one is whitespace (or there is none): the regular expression ``[^\\s]?<marks>+``
        takes the same, as a character before a maximal run is never a mark.
        """
        pairs, longer = self._units(text, points)
        return {_pair_unit(key) for key in pairs} | set(longer)

    def all_decomposable(self, text: str, points: npt.NDArray[np.uint32]) -> bool:
        """``all(map(self.is_decomposable, self.units_of(text, points)))``, with the common units
        (one mark after one character) looked up by number, never made into strings twice."""
        pairs, longer = self._units(text, points)
        known = self.decomposable_pairs
        for key in pairs:
            answer = known.get(key)
            if answer is None:
                answer = self.is_decomposable(_pair_unit(key))
                if len(known) >= _UNIT_CACHE_LIMIT:
                    known.clear()
                known[key] = answer
            if not answer:
                return False
        return all(map(self.is_decomposable, longer))

    def _units(self, text: str, points: npt.NDArray[np.uint32]) -> tuple[list[int], list[str]]:
        """The text's units: those of one mark after at most one character as distinct numbers
        (``_pair_unit``), the longer ones as strings."""
        kinds = self.kinds.take(points)
        mark = (kinds & _MARK) != 0
        if not mark.any():
            return [], []
        before = np.zeros_like(mark)
        before[1:] = mark[:-1]
        after = np.zeros_like(mark)
        after[:-1] = mark[1:]
        starts = np.flatnonzero(mark & ~before)
        ends = np.flatnonzero(mark & ~after) + 1
        prev = starts - 1
        has_base = (starts > 0) & ((kinds[prev] & _SPACE) == 0)
        single = ends - starts == 1
        base_codes = np.where(has_base[single], points[prev[single]].astype(np.int64) + 1, 0)
        pairs: list[int] = np.unique((base_codes << 21) | points[starts[single]]).tolist()
        longer = ~single
        spans = zip(np.where(has_base, prev, starts)[longer].tolist(), ends[longer].tolist(), strict=True)
        return pairs, [text[s:e] for s, e in spans]

    def is_decomposable(self, unit: str) -> bool:
        """Whether ``unit`` folds to what its characters fold to one by one, with no space that
        would be collapsed differently: then translating the text character by character is exact."""
        known = self.decomposable.get(unit)
        if known is None:
            folded = self.unit(unit)
            table = self.table
            known = folded == "".join([table[ord(ch)] for ch in unit]) and (" " not in folded or folded == " ")
            if len(self.decomposable) >= _UNIT_CACHE_LIMIT:
                self.decomposable.clear()
            self.decomposable[unit] = known
        return known

    def general(self, text: str) -> tuple[str, _Segments]:
        """Fold unit by unit: regular stretches translated at once, irregular units one at a time.

        Returns the folded text and its map: segments ``(folded start, original start, original
        end or -1)``; in a segment with -1 the i-th folded character comes from original character
        ``original start + i`` alone, otherwise every folded character comes from the whole unit
        ``[original start, original end)``.
        """
        table = self.table
        seg_f: list[int] = []
        seg_o: list[int] = []
        seg_e: list[int] = []
        pieces: list[str] = []
        length = 0  # of the folded text so far
        last_space = False
        pos = 0
        n = len(text)
        matches = self.patterns(text).irregular_units.finditer(text)
        while pos < n:
            m = next(matches, None)
            stop = n if m is None else m.start()
            if stop > pos:  # a stretch of regular characters: 1:1, then runs of spaces collapse
                stretch = text[pos:stop].translate(table)
                if last_space:
                    kept = stretch.lstrip(" ")
                    pos += len(stretch) - len(kept)
                    stretch = kept
                if stretch:
                    at = 0
                    for run in _SPACE_RUN.finditer(stretch):
                        keep = run.start() + 1
                        seg_f.append(length)
                        seg_o.append(pos + at)
                        seg_e.append(-1)
                        pieces.append(stretch[at:keep])
                        length += keep - at
                        at = run.end()
                    seg_f.append(length)
                    seg_o.append(pos + at)
                    seg_e.append(-1)
                    pieces.append(stretch[at:])
                    length += len(stretch) - at
                    last_space = stretch[-1] == " "
            if m is None:
                break
            start, pos = m.span()
            folded = self.unit(m.group())
            if not folded:
                continue
            if folded == " ":
                if last_space:
                    continue
                last_space = True
            else:
                last_space = False
            seg_f.append(length)
            seg_o.append(start)
            seg_e.append(pos)
            pieces.append(folded)
            length += len(folded)
        return "".join(pieces), (seg_f, seg_o, seg_e)


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


class _Patterns:
    """Regular expressions over the special characters of one folding mode (see _Folder)."""

    def __init__(self, marks: list[str], irregular: list[str], unsafe: list[str]) -> None:
        mark_class = _char_class(marks)
        irregular_class = _char_class(irregular)
        # A unit: a non-space character and the combining marks after it, or marks alone.
        self.units = re.compile(rf"[^\s]?{mark_class}+")
        # Where the translated text is not 1:1 with the original (units, irregular characters).
        self.special = re.compile(f"{mark_class}|{irregular_class}")
        self.marks = re.compile(mark_class)
        self.unsafe = re.compile(_char_class(unsafe)) if unsafe else None
        self.irregular_units = re.compile(rf"[^\s]?{mark_class}+|{irregular_class}")


def _char_class(chars: list[str]) -> str:
    """A regular-expression character class of ``chars`` (sorted), written as ranges."""
    codes = sorted(map(ord, chars))
    parts: list[str] = []
    i = 0
    while i < len(codes):
        j = i
        while j + 1 < len(codes) and codes[j + 1] == codes[j] + 1:
            j += 1
        first, last = chr(codes[i]), chr(codes[j])
        parts.append(re.escape(first) if i == j else f"{re.escape(first)}-{re.escape(last)}")
        i = j + 1
    return "[" + "".join(parts) + "]"


_FOLDERS: dict[bool, _Folder] = {}
_FOLDERS_LOCK = threading.Lock()


def _folder(keep_case: bool) -> _Folder:
    folder = _FOLDERS.get(keep_case)
    if folder is None:
        with _FOLDERS_LOCK:
            folder = _FOLDERS.get(keep_case)
            if folder is None:
                folder = _FOLDERS[keep_case] = _Folder(keep_case)
    return folder


def warm_up() -> None:
    """Build the folding tables now (about 0.2 s per mode, once per process) instead of on the first text."""
    _folder(False)
    _folder(True)
    _word_table()
    _composing_marks()


@lru_cache(maxsize=1)
def _composing_marks() -> frozenset[int]:
    """The marks NFC composes with a character before them that is not a mark (``e`` + U+0301 is
    ``é``): the second characters of the canonical pairs that compose (no composition exclusion)
    and whose first character is not a mark.  A pair whose first character is a mark composes
    to a mark (Bengali U+09C7 + U+09BE is U+09CB), which folding drops all the same."""
    out: set[int] = set()
    category, normalize = unicodedata.category, unicodedata.normalize
    for code in _assigned_codes():
        decomposition = unicodedata.decomposition(chr(code))
        if not decomposition or decomposition.startswith("<"):
            continue
        parts = [chr(int(part, 16)) for part in decomposition.split()]
        if len(parts) == 2 and category(parts[0])[0] != "M" and normalize("NFC", "".join(parts)) == chr(code):
            out.add(ord(parts[1]))
    return frozenset(out)


_WORD_TABLE: list[npt.NDArray[np.bool_]] = []


def _word_table() -> npt.NDArray[np.bool_]:
    """Code point -> whether the regular expression ``\\w`` matches it (a word character)."""
    if not _WORD_TABLE:
        with _FOLDERS_LOCK:
            if not _WORD_TABLE:
                table = np.zeros(0x110000, dtype=bool)
                every = "".join(map(chr, (*range(0xD800), *range(0xE000, 0x110000))))
                table[[ord(m.group()) for m in re.finditer(r"\w", every)]] = True
                table.flags.writeable = False
                _WORD_TABLE.append(table)
    return _WORD_TABLE[0]


def word_starts(text: str) -> list[int]:
    """``[m.start() for m in re.finditer(r"\\w+", text)]``: where each run of word characters starts."""
    if not text:
        return []
    word = _word_table().take(_code_points(text))
    first = np.empty(word.size, dtype=bool)
    first[0] = word[0]
    np.greater(word[1:], word[:-1], out=first[1:])  # a word character after a non-word one
    starts: list[int] = np.flatnonzero(first).tolist()
    return starts


# ASCII characters that are not word characters -> space (str.translate has a fast path for ASCII text)
_ASCII_NON_WORD = {code: " " for code in range(128) if not re.fullmatch(r"\w", chr(code))}


def words(text: str) -> list[str]:
    """``re.findall(r"\\w+", text)``: the runs of word characters, in order, found at once.

    Every non-word character becomes a space and the result is split on whitespace: no word
    character is whitespace (``tests/test_agents/test_textfold_arrays.py`` checks every code point).
    """
    if text.isascii():
        return text.translate(_ASCII_NON_WORD).split()
    points = _code_points(text)
    return _from_code_points(np.where(_word_table().take(points), points, np.uint32(0x20))).split()


_SPACE_RUN = re.compile(" {2,}")

# (folded starts, original starts, original ends or -1): see _Folder.general
_Segments = tuple[list[int], list[int], list[int]]
_Offsets = npt.NDArray[np.intp]


class Folded:
    """Folded text plus a map from each folded character to the original range it came from.

    The map is built on the first :meth:`span` call (most texts are folded and scanned
    without ever being mapped back); there is none when the mapping is the identity.
    """

    __slots__ = ("_ends", "_pending", "_segments", "_starts", "original_length", "text")

    def __init__(
        self,
        text: str,
        original_length: int,
        segments: _Segments | None = None,
        *,
        pending: tuple[_Folder | None, str, str] | None = None,
    ) -> None:
        self.text = text
        self.original_length = original_length
        self._segments = segments
        # (folder, original, translated): what the map is built from, until it is; no folder when the
        # text is 1:1 with the original but for runs of spaces
        self._pending = pending
        self._starts: _Offsets | None = None
        self._ends: _Offsets | None = None

    def __repr__(self) -> str:
        return f"Folded(text={self.text!r}, original_length={self.original_length})"

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original ``[start, end)`` for the non-empty folded range ``[start, end)``."""
        if not 0 <= start < end <= len(self.text):
            raise ValueError(f"bad folded range [{start}, {end}) for length {len(self.text)}")
        if self._pending is not None:
            _build_map(self)
        if self._starts is not None and self._ends is not None:
            return int(self._starts[start]), int(self._ends[end - 1])
        if self._segments is None:
            return start, end
        seg_f, seg_o, seg_e = self._segments
        k = bisect_right(seg_f, start) - 1
        unit_end = seg_e[k]
        o_start = seg_o[k] if unit_end >= 0 else seg_o[k] + start - seg_f[k]
        last = end - 1
        k = bisect_right(seg_f, last) - 1
        unit_end = seg_e[k]
        o_end = unit_end if unit_end >= 0 else seg_o[k] + last - seg_f[k] + 1
        return o_start, o_end

    def starts(self, positions: list[int]) -> list[int]:
        """``[self.span(p, p + 1)[0] for p in positions]``, at once where the map is an array."""
        if self._pending is not None:
            _build_map(self)
        if self._starts is not None and positions:
            if not 0 <= min(positions) <= max(positions) < len(self.text):
                raise ValueError(f"bad folded offsets for length {len(self.text)}")
            out: list[int] = self._starts[positions].tolist()
            return out
        return [self.span(p, p + 1)[0] for p in positions]


def _build_map(folded: Folded) -> None:
    if folded._pending is not None:
        folder, original, translated = folded._pending
        if folder is None:
            folded._starts = _collapse_sources(translated)
            folded._ends = folded._starts + 1
        else:
            folded._starts, folded._ends = folder.offsets(original, translated, len(folded.text))
        folded._pending = None


def _collapse_sources(translated: str) -> _Offsets:
    """Per character of ``_SPACE_RUN.sub(" ", translated)``, its offset in ``translated``."""
    space = _code_points(translated) == 0x20
    kept = np.ones(space.size, dtype=bool)
    kept[1:] = ~(space[1:] & space[:-1])  # the first space of a run stays
    sources: _Offsets = np.flatnonzero(kept)
    return sources


def fold(text: str, *, keep_case: bool = False) -> Folded:
    """Fold ``text`` for matching (see the module doc); ``keep_case`` skips case folding only."""
    folder = _folder(keep_case)
    n = len(text)
    if n == 0:
        return Folded("", 0)
    # str.translate looks each character up in a dict; the same table as an array of code
    # points (see _Folder.single_chars) translates the whole text at once.
    points = _code_points(text)
    singles = folder.single_chars(points)
    if int(singles.max()) <= _MAX_CODE:  # every character folds to one: 1:1 but for space runs
        quick, collapsed = _collapsed(singles)
        if collapsed is None:
            return Folded(quick, n)
        return Folded(collapsed, n, pending=(None, text, quick))
    if folder.by_characters(text, points, int(folder.word_chars(points).max())):
        # Character by character is exact here: the map is built if and when it is asked for.
        quick, collapsed = _collapsed(folder.translated(points, singles))
        return Folded(quick if collapsed is None else collapsed, n, pending=(folder, text, quick))
    folded, segments = folder.general(text)
    return Folded(folded, n, segments)


def fold_words(text: str, *, keep_case: bool = False) -> list[str]:
    """``words(fold(text, keep_case=keep_case).text)``, without making the folded text first."""
    return fold_word_text(text, keep_case=keep_case).split()


def fold_word_text(text: str, *, keep_case: bool = False) -> str:
    """The words of ``fold(text, keep_case=keep_case).text`` separated by whitespace: its ``split()``
    is ``fold_words``, and what a caller wants of every word (``lower``) takes one call on it.

    Non-word characters only separate words, so they can be blanked as the text is folded
    (``_Folder.word_chars``) and runs of spaces need no collapsing; a text with combining
    marks or characters that fold to none or several takes ``fold``'s ways, to the same words.
    """
    if not text:
        return ""
    folder = _folder(keep_case)
    if text.isascii():
        return text.translate(folder.ascii_table())
    points = _code_points(text)
    blanked = folder.word_chars(points)
    top = int(blanked.max())
    if top == _GONE:  # besides regular characters, only ones that fold to nothing wherever they stand
        blanked = blanked[blanked != _GONE]
    elif top > _MAX_CODE:
        if not folder.by_characters(text, points, top):
            return " ".join(words(folder.general(text)[0]))
        blanked[blanked == _GONE] = _DROP  # single_chars' value, for translated
        folded = folder.translated(points, blanked)
        blanked = np.where(_word_table().take(folded), folded, np.uint32(0x20))
    return _from_code_points(blanked)


def _pair_unit(key: int) -> str:
    """The unit numbered ``(code of the character before + 1, or 0 for none) << 21 | code of the mark``."""
    base = key >> 21
    return (chr(base - 1) if base else "") + chr(key & 0x1FFFFF)


def _code_points(text: str) -> npt.NDArray[np.uint32]:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _from_code_points(points: npt.NDArray[np.uint32]) -> str:
    return points.tobytes().decode("utf-32-le", "surrogatepass")


def _collapsed(points: npt.NDArray[np.uint32]) -> tuple[str, str | None]:
    """The text of ``points``, and that text with each run of spaces made one (None: there is no run):
    ``_SPACE_RUN.sub(" ", text)``."""
    text = _from_code_points(points)
    if "  " not in text:
        return text, None
    space = points == 0x20
    kept = np.ones(points.size, dtype=bool)
    kept[1:] = ~(space[1:] & space[:-1])  # the first space of a run stays
    return text, _from_code_points(points[kept])


@lru_cache(maxsize=1 << 16)
def fold_term(term: str, *, keep_case: bool = False) -> str:
    """A term folded like text, without leading or trailing space."""
    return fold(term, keep_case=keep_case).text.strip()
