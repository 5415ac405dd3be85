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
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field

import ahocorasick

from agents.textfold import Folded, fold, fold_term
from agents.themes.model import SENTENCE, Theme

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
        self._sentence_starts: list[int] | None = None
        self._sentences: dict[int, int] = {}  # folded offset -> sentence index, as asked for

    def word_index(self, pos: int) -> int:
        if self._word_starts is None:
            self._word_starts = [m.start() for m in _WORDS.finditer(self.folded.text)]
        return bisect_right(self._word_starts, pos) - 1

    def sentence_index(self, pos: int) -> int:
        known = self._sentences.get(pos)
        if known is None:
            if self._sentence_starts is None:
                self._sentence_starts = sentence_starts(self.original)
            known = self._sentences[pos] = bisect_right(self._sentence_starts, self.folded.span(pos, pos + 1)[0])
        return known


_SENTENCE_END = re.compile(r"[.!?…。！？]+[\"'»”’)\]]*\s+|\n")
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
    for m in _SENTENCE_END.finditer(text):
        end = m.end()
        if m.group() != "\n" and "\n" not in m.group():
            if end < len(text) and text[end].islower():
                continue
            if m.group()[0] == ".":
                before = text[max(0, m.start() - 12) : m.start()].split()
                last = before[-1].lower() if before else ""
                if (
                    last in _ABBREVIATIONS
                    or re.fullmatch(r"(?:\w\.)+\w", last)  # U.S, e.g
                    or (len(last) == 1 and last.isalpha())  # J. (initial)
                ):
                    continue
        starts.append(end)
    return starts


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
            self._automaton.add_word(key, (entry.length, entry.start_boundary, entry.end_boundary, entry.payloads))
        if entries:
            self._automaton.make_automaton()

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
        found: dict[int, dict[int, list[_Hit]]] = {}
        if not self._entries:
            return found
        for last, (length, start_boundary, end_boundary, payloads) in self._automaton.iter(s):
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
            for kind, ti, si, term, extra in payloads:
                hit_end = end
                if kind == _PLAIN:
                    if not bounded:
                        continue
                elif kind == _TAIL:
                    match = _WORD_TAIL.match(s, end)
                    hit_end = match.end() if match else end
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
                found.setdefault(ti, {}).setdefault(si, []).append((start, hit_end, term))
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
            hits.sort(key=lambda h: (h[0], -h[1]))
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
        sentence = context.sentence_index
        veto_keys = {sentence(h[0]) for h in veto}
        # Per group: its first hit in each sentence.
        firsts: list[dict[int, _Hit]] = []
        for group in others:
            first: dict[int, _Hit] = {}
            for h in group:
                first.setdefault(sentence(h[0]), h)
            firsts.append(first)
        used: list[tuple[_Hit, ...]] = []
        for anchor in anchors:
            key = sentence(anchor[0])
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
    word = context.word_index
    veto_words = sorted(word(h[0]) for h in veto)
    group_words = [[word(h[0]) for h in group] for group in others]
    used = []
    for anchor in anchors:
        at = word(anchor[0])
        if veto_words and _within(veto_words, at, distance):
            continue
        combo = [anchor]
        for group, words in zip(others, group_words, strict=True):
            best = _nearest(words, at, distance)
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
