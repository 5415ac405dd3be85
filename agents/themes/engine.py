"""The tagging engine: one Aho-Corasick pass over folded text for the terms of all themes,
then rule evaluation for the themes that got at least one hit.

Cost per article = folding (O(text)) + the automaton pass (O(text + hits)) + rules of the
themes that were hit.  Themes without a hit are never looked at, so tagging cost grows
with the number of *matching* themes, not with the number of themes.

The ``lang`` argument of :meth:`Tagger.tag` does not restrict matching: terms of every
language match every article, because articles mix languages (quotes, names) and the
language guess can be wrong; a term listed under ``de`` that appears in an English
article is still evidence.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter

import ahocorasick
import numpy as np
import numpy.typing as npt

from agents.textfold import Folded, fold, fold_term, word_starts
from agents.themes.model import SENTENCE, Theme

try:  # Hyperscan (Vectorscan on ARM) finds the keys several times faster than pyahocorasick's iter
    import hyperscan
except ImportError:  # pragma: no cover - no wheel for this platform: the automaton scans alone
    hyperscan = None  # type: ignore[assignment]

__all__ = ["Evidence", "Tagger", "ThemeMatch"]


@dataclass(frozen=True)
class Evidence:
    """One matched term: ``text[start:end]`` is what matched in the tagged text, under ``rule``."""

    term: str
    start: int
    end: int
    rule: str


@dataclass(frozen=True)
class ThemeMatch:
    theme: str
    name: str
    score: float
    evidence: tuple[Evidence, ...]


# Kinds of term entries behind one automaton key.
_PLAIN, _TAIL, _REGEX, _CASED = 0, 1, 2, 3
_WORD_TAIL = re.compile(r"\w*")
_WORDS = re.compile(r"\w+")
_EPSILON = 1e-9


def _word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


@dataclass
class _KeyEntry:
    """Everything matched by one automaton key (a folded literal)."""

    length: int
    start_boundary: bool  # the key starts with a word character: require a boundary before it
    end_boundary: bool  # the key ends with a word character: plain terms require a boundary after it
    # (kind, theme index, set index, term as written, regex or case-sensitive form)
    payloads: list[tuple[int, int, int, str, re.Pattern[str] | str | None]] = field(default_factory=list)


@dataclass(frozen=True)
class _CompiledRule:
    id: str
    groups: tuple[tuple[int, ...], ...]  # each group: set indexes; all-of sets, then the any-of sets as one group
    veto: tuple[int, ...]
    near: int | str | None
    weight: float
    count: int


@dataclass(frozen=True)
class _CompiledTheme:
    theme: Theme
    excluded: frozenset[int]
    rules: tuple[_CompiledRule, ...]


_Hit = tuple[int, int, str]  # folded start, folded end, term as written

_REGEX_CACHE: dict[str, re.Pattern[str]] = {}
_SCANNER_MAX_KEYS = 8_192
_SCANNER_MAX_KEY_CHARS = 256 * 1024


def _term_pattern(body: str) -> str:
    parts = []
    for word in body.split():
        if word.endswith("*"):
            parts.append(re.escape(fold_term(word[:-1])) + r"\w*")
        else:
            parts.append(re.escape(fold_term(word)))
    return " ".join(parts)


class _Context:
    """Per-text lazy indexes: word numbers and sentence numbers of folded offsets."""

    def __init__(self, original: str, folded: Folded) -> None:
        self.original = original
        self.folded = folded
        self._word_starts: list[int] | None = None
        self._sentence_starts: npt.NDArray[np.intp] | None = None

    def word_indexes(self, positions: list[int]) -> list[int]:
        """Per folded offset, the number of the word it is in (or after): ``\\w+`` runs, counted from 0."""
        if self._word_starts is None:
            self._word_starts = word_starts(self.folded.text)
        starts = self._word_starts
        return [bisect_right(starts, pos) - 1 for pos in positions]

    def sentence_indexes(self, positions: list[int]) -> list[int]:
        """Per folded offset, the number of the sentence (of the original text) it is in."""
        out: list[int] = self._sentence_array(positions).tolist()
        return out

    def first_per_sentence(self, hits: list[_Hit]) -> dict[int, _Hit]:
        """Sentence number -> the first of ``hits`` in that sentence."""
        keys = self._sentence_array([h[0] for h in hits])
        if keys.size > 1 and bool(np.all(keys[1:] >= keys[:-1])):  # hits in text order: first of each run
            firsts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
            return dict(zip(keys[firsts].tolist(), [hits[i] for i in firsts.tolist()], strict=True))
        first: dict[int, _Hit] = {}
        for h, key in zip(hits, keys.tolist(), strict=True):
            first.setdefault(key, h)
        return first

    def _sentence_array(self, positions: list[int]) -> npt.NDArray[np.intp]:
        if not positions:
            return np.empty(0, dtype=np.intp)
        if self._sentence_starts is None:
            self._sentence_starts = np.asarray(sentence_starts(self.original), dtype=np.intp)
        starts = self.folded.starts(positions)
        found: npt.NDArray[np.intp] = np.searchsorted(self._sentence_starts, starts, side="right")
        return found


_SENTENCE_END = re.compile(r"[.!?…。！？]+[\"'»”’)\]]*\s+|\n")
_START, _END = itemgetter(0), itemgetter(1)
_INITIALISM = re.compile(r"(?:\w\.)+\w")
_ABBREVIATIONS = frozenset(
    (
        *("mr", "mrs", "ms", "dr", "st", "prof", "gen", "sen", "rep", "gov", "col", "lt", "sgt", "jr", "sr", "vs"),
        *("etc", "no", "nr", "art", "abs", "hr", "fr", "frau", "ing", "z.b", "u.a", "d.h", "bzw", "ca", "vgl"),
        *("mme", "mlle", "cf", "ex", "sra", "dott", "sig", "ul", "pl", "np", "tzw", "ok", "ст", "г", "гг", "им"),
    )
)


def sentence_starts(text: str) -> list[int]:
    """Offsets (into ``text``) after each sentence boundary: terminal punctuation followed by
    whitespace and a non-lowercase character, or a line break.  Initialisms ("U.S.") and
    common abbreviations ("Mr.", "Dr.") do not end a sentence."""
    starts: list[int] = []
    n = len(text)
    for m in _SENTENCE_END.finditer(text):
        end = m.end()
        group = m.group()
        if "\n" not in group:
            if end < n and text[end].islower():
                continue
            if group[0] == ".":
                before = text[max(0, m.start() - 12) : m.start()].split()
                last = before[-1].lower() if before else ""
                if (
                    last in _ABBREVIATIONS
                    or _INITIALISM.fullmatch(last)  # U.S, e.g
                    or (len(last) == 1 and last.isalpha())  # J. (initial)
                ):
                    continue
        starts.append(end)
    return starts


_Payload = tuple[int, bool, bool, list[tuple[int, tuple[int, int], str, "re.Pattern[str] | str | None"]]]


class _LiteralScanner:
    """The automaton's keys compiled into one Hyperscan database of literals.

    ``find(text)`` returns what ``Automaton.iter(text)`` yields, in the same order: one
    ``(last index, value)`` per occurrence of a key (overlapping ones included), by last
    index, the longest key first at the same index.  Hyperscan reads bytes: the text is
    UTF-8 encoded (``surrogatepass``: lone surrogates too) and byte offsets are mapped back
    to character offsets.  A key's UTF-8 form can only match at a character boundary, so
    the occurrences are exactly the automaton's.
    """

    @classmethod
    def of(cls, automaton: ahocorasick.Automaton) -> _LiteralScanner | None:
        """A scanner for the automaton's keys; None without Hyperscan, for no keys, or for more keys than
        compile quickly (compile time grows faster than linearly: ~0.1 s for the shipped themes' 2,800
        keys, ~6 s for 30,000): the automaton scans those alone."""
        if hyperscan is None or not 0 < len(automaton) <= _SCANNER_MAX_KEYS:
            return None
        items = list(automaton.items())
        if sum(len(key) for key, _value in items) > _SCANNER_MAX_KEY_CHARS:
            return None
        try:
            return cls(items)
        except hyperscan.error:  # pragma: no cover - a pattern set the library refuses
            return None

    def __init__(self, items: list[tuple[str, _Payload]]) -> None:
        self._values = [value for _key, value in items]
        self._lengths = [len(key) for key, _value in items]
        self._database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        expressions = [key.encode("utf-8", "surrogatepass") for key, _value in items]
        self._database.compile(
            expressions=expressions,
            ids=list(range(len(expressions))),
            elements=len(expressions),
            flags=[0] * len(expressions),
            literal=True,
        )
        self._local = threading.local()  # a scratch space may be used by one scan at a time

    def find(self, text: str) -> list[tuple[int, _Payload]]:
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = hyperscan.Scratch(self._database)
        data = text.encode("utf-8", "surrogatepass")
        lengths = self._lengths
        found: list[tuple[int, int, int]] = []
        append = found.append

        def on_match(key: int, _start: int, end: int, _flags: int, _context: object) -> None:
            append((end, -lengths[key], key))

        self._database.scan(data, match_event_handler=on_match, scratch=scratch)
        if not found:
            return []
        found.sort()
        values = self._values
        if len(data) == len(text):  # ASCII: byte offsets are character offsets
            return [(end - 1, values[key]) for end, _negative, key in found]
        code = np.frombuffer(data, dtype=np.uint8)
        chars_to = np.cumsum((code & 0xC0) != 0x80)  # characters that start at or before each byte
        lasts = (chars_to[[end - 1 for end, _negative, _key in found]] - 1).tolist()
        return [(last, values[key]) for last, (_end, _negative, key) in zip(lasts, found, strict=True)]


class Tagger:
    """Tags texts with themes.  Build once per theme set (building 10,000 themes takes about a second)."""

    def __init__(self, themes: Sequence[Theme]) -> None:
        self._themes: list[_CompiledTheme] = []
        entries: dict[str, _KeyEntry] = {}
        for theme_index, theme in enumerate(themes):
            set_index = {ts.name: i for i, ts in enumerate(theme.terms)}
            for si, term_set in enumerate(theme.terms):
                for _lang, term in term_set.all_terms():
                    self._add_term(entries, theme_index, si, term)
            rules = tuple(
                _CompiledRule(
                    id=rule.id,
                    groups=tuple((set_index[name],) for name in rule.all)
                    + ((tuple(set_index[name] for name in rule.any),) if rule.any else ()),
                    veto=tuple(set_index[name] for name in rule.not_),
                    near=rule.near,
                    weight=rule.weight,
                    count=rule.count,
                )
                for rule in theme.rules
            )
            excluded = frozenset(set_index[name] for name in theme.exclude)
            self._themes.append(_CompiledTheme(theme, excluded, rules))
        self._entries = list(entries.values())
        self._automaton = ahocorasick.Automaton()
        for key, entry in entries.items():
            entry.payloads.sort(key=lambda p: (p[1], p[2]))
            # (kind, (theme index, set index), term, extra): the pair is the key hits are collected under
            payloads = [(kind, (ti, si), term, extra) for kind, ti, si, term, extra in entry.payloads]
            self._automaton.add_word(key, (entry.length, entry.start_boundary, entry.end_boundary, payloads))
        if entries:
            self._automaton.make_automaton()
        self._scanner = _LiteralScanner.of(self._automaton)

    def _occurrences(self, folded_text: str) -> Iterable[tuple[int, _Payload]]:
        """``self._automaton.iter(folded_text)``, through Hyperscan where there is a scanner."""
        if self._scanner is None:
            found: Iterable[tuple[int, _Payload]] = self._automaton.iter(folded_text)
            return found
        return self._scanner.find(folded_text)

    @property
    def themes(self) -> list[Theme]:
        return [ct.theme for ct in self._themes]

    def __len__(self) -> int:
        return len(self._themes)

    @staticmethod
    def _add_term(entries: dict[str, _KeyEntry], theme_index: int, set_index: int, term: str) -> None:
        cased = term.startswith("=")
        body = term[1:] if cased else term
        star = body.find("*")
        extra: re.Pattern[str] | str | None = None
        if cased:
            kind, key = _CASED, fold_term(body)
            extra = fold_term(body, keep_case=True)
        elif star < 0:
            kind, key = _PLAIN, fold_term(body)
        elif star == len(body.rstrip()) - 1:
            kind, key = _TAIL, fold_term(body[:star])
        else:
            kind, key = _REGEX, fold_term(body[:star])
            pattern = _term_pattern(body)
            extra = _REGEX_CACHE.get(pattern)
            if extra is None:
                extra = _REGEX_CACHE[pattern] = re.compile(pattern)
        if not key:
            return  # refused by validation; nothing to match
        entry = entries.get(key)
        if entry is None:
            entry = entries[key] = _KeyEntry(len(key), _word(key[0]), _word(key[-1]))
        entry.payloads.append((kind, theme_index, set_index, term, extra))

    # ------------------------------------------------------------------ matching

    def _scan(self, text: str, folded: Folded) -> dict[int, dict[int, list[_Hit]]]:
        """Hits per theme index, per set index: one automaton pass."""
        s = folded.text
        n = len(s)
        if not self._entries:
            return {}
        # Hits per (theme index, set index), in the order of the automaton's outputs and of each
        # key's payloads (that order decides which of two equal hits is kept, see _clean).
        pairs: dict[tuple[int, int], list[_Hit]] = {}
        for last, (length, start_boundary, end_boundary, payloads) in self._occurrences(s):
            start = last - length + 1
            if start_boundary and start > 0:
                before = s[start - 1]
                if before.isalnum() or before == "_":  # _word, inlined: this runs for every automaton hit
                    continue
            end = last + 1
            if end_boundary and end < n:
                after = s[end]
                bounded = not (after.isalnum() or after == "_")
            else:
                bounded = True
            tail_end = -1
            for kind, pair, term, extra in payloads:
                if kind == _PLAIN:
                    if not bounded:
                        continue
                    hit_end = end
                elif kind == _TAIL:
                    if tail_end < 0:
                        match = _WORD_TAIL.match(s, end)
                        tail_end = match.end() if match else end
                    hit_end = tail_end
                elif kind == _REGEX:
                    assert isinstance(extra, re.Pattern)
                    m = extra.match(s, start)
                    if m is None:
                        continue
                    hit_end = m.end()
                    if hit_end < n and _word(s[hit_end]) and _word(s[hit_end - 1]):
                        continue
                else:  # _CASED
                    if not bounded:
                        continue
                    o_start, o_end = folded.span(start, end)
                    if fold_term(text[o_start:o_end], keep_case=True) != extra:
                        continue
                    hit_end = end
                hits = pairs.get(pair)
                if hits is None:
                    hits = pairs[pair] = []
                hits.append((start, hit_end, term))
        found: dict[int, dict[int, list[_Hit]]] = {}
        for (ti, si), hits in pairs.items():
            by_set = found.get(ti)
            if by_set is None:
                by_set = found[ti] = {}
            by_set[si] = hits
        return found

    def tag(self, text: str, lang: str | None = None) -> list[ThemeMatch]:
        """Themes whose score reaches their threshold, sorted by theme id, with evidence.

        ``lang`` (the detected language) is accepted for the pipeline's sake; matching
        does not depend on it (see the module doc).
        """
        del lang
        folded = fold(text)
        context = _Context(text, folded)
        matches: list[ThemeMatch] = []
        for ti, by_set in self._scan(text, folded).items():
            match = self._evaluate(self._themes[ti], by_set, context)
            if match is not None:
                matches.append(match)
        matches.sort(key=lambda m: m.theme)
        return matches

    # ------------------------------------------------------------------ rules

    @staticmethod
    def _clean(by_set: dict[int, list[_Hit]], excluded: frozenset[int]) -> dict[int, list[_Hit]]:
        """Per set: hits sorted, hits inside a longer hit of the same set dropped, hits overlapping
        an excluded set's hit dropped."""
        masks = sorted((h[0], h[1]) for si in excluded for h in by_set.get(si, ()))
        cleaned: dict[int, list[_Hit]] = {}
        for si, hits in by_set.items():
            if si in excluded:
                continue
            # by start, the longer first at the same start, ties in scan order: two stable C-level sorts
            hits.sort(key=_END, reverse=True)
            hits.sort(key=_START)
            kept: list[_Hit] = []
            reach = -1
            for hit in hits:
                if hit[1] <= reach:
                    continue  # inside the previous, longer hit
                if masks and _overlaps(masks, hit[0], hit[1]):
                    continue
                kept.append(hit)
                reach = hit[1]
            if kept:
                cleaned[si] = kept
        return cleaned

    def _evaluate(self, ct: _CompiledTheme, by_set: dict[int, list[_Hit]], context: _Context) -> ThemeMatch | None:
        # Upper bound first (cleaning only removes hits): most themes that were hit stop here.
        bound = sum(
            rule.weight * rule.count for rule in ct.rules if all(any(si in by_set for si in g) for g in rule.groups)
        )
        if bound + _EPSILON < ct.theme.threshold:
            return None
        hits = self._clean(by_set, ct.excluded)
        if not hits:
            return None
        score = 0.0
        evidence: set[Evidence] = set()
        for rule in ct.rules:
            groups: list[list[_Hit]] = []
            for group in rule.groups:
                merged = [h for si in group for h in hits.get(si, ())]
                if not merged:
                    break
                if len(group) > 1:
                    merged.sort()
                groups.append(merged)
            else:
                veto = sorted(h for si in rule.veto for h in hits.get(si, ()))
                used = _fire(rule, groups, veto, context)
                if used:
                    score += rule.weight * len(used)
                    for combo in used:
                        for start, end, term in combo:
                            o_start, o_end = context.folded.span(start, end)
                            evidence.add(Evidence(term, o_start, o_end, rule.id))
        if score + _EPSILON < ct.theme.threshold:
            return None
        ordered = tuple(sorted(evidence, key=lambda e: (e.start, e.end, e.rule, e.term)))
        return ThemeMatch(ct.theme.id, ct.theme.name, round(score, 6), ordered)


def _overlaps(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether [start, end) overlaps any span of the sorted list."""
    i = bisect_left(spans, (end, -1))
    return any(start < e for _s, e in spans[:i])


def _fire(rule: _CompiledRule, groups: list[list[_Hit]], veto: list[_Hit], context: _Context) -> list[tuple[_Hit, ...]]:
    """The counted occurrences of a rule (at most ``rule.count``), each as the hits that make it."""
    anchors, others = groups[0], groups[1:]
    if rule.near is None:
        if veto:
            return []
        companions = tuple(group[0] for group in others)
        return [(anchor, *companions) for anchor in anchors[: rule.count]]
    if rule.near == SENTENCE:
        sentences = context.sentence_indexes
        veto_keys = set(sentences([h[0] for h in veto]))
        # Per group: its first hit in each sentence.
        firsts = [context.first_per_sentence(group) for group in others]
        used: list[tuple[_Hit, ...]] = []
        for anchor, key in zip(anchors, sentences([h[0] for h in anchors]), strict=True):
            if key in veto_keys:
                continue
            combo = [anchor]
            for first in firsts:
                near = first.get(key)
                if near is None:
                    break
                combo.append(near)
            else:
                used.append(tuple(combo))
                if len(used) >= rule.count:
                    break
        return used
    assert isinstance(rule.near, int)
    distance = rule.near
    words = context.word_indexes
    veto_words = sorted(words([h[0] for h in veto]))
    group_words = [words([h[0] for h in group]) for group in others]
    used = []
    for anchor, at in zip(anchors, words([h[0] for h in anchors]), strict=True):
        if veto_words and _within(veto_words, at, distance):
            continue
        combo = [anchor]
        for group, hit_words in zip(others, group_words, strict=True):
            best = _nearest(hit_words, at, distance)
            if best is None:
                break
            combo.append(group[best])
        else:
            used.append(tuple(combo))
            if len(used) >= rule.count:
                break
    return used


def _within(sorted_words: list[int], at: int, distance: int) -> bool:
    i = bisect_left(sorted_words, at - distance)
    return i < len(sorted_words) and sorted_words[i] <= at + distance


def _nearest(words: list[int], at: int, distance: int) -> int | None:
    """Index of the hit closest to word ``at`` within ``distance`` words (``words`` need not be sorted)."""
    best: int | None = None
    best_gap = distance + 1
    for i, w in enumerate(words):
        gap = abs(w - at)
        if gap < best_gap:
            best, best_gap = i, gap
    return best
