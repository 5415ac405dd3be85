"""Stories: near-duplicate articles grouped into one story, as pure decisions over plain values.

An article's *signature* is two MinHash sketches (rensa's ``RMinHash``):

- ``text``: over word 3-shingles of the folded title and body (case, accents, quotes and
  dashes folded like theme terms), so a syndicated copy with a changed headline, an added
  byline or a trimmed last paragraph keeps most shingles;
- ``names``: over the article's capitalised words and numbers (folded), the part of a text
  that survives translation ("Trump", "Frederiksen", "Greenland", "2026", "5").

Candidates are found with LSH banding: each sketch is cut into bands and each band hashed
to a *band key*; two articles sharing a band key are compared on their sketches.  An
article joins a story when the text sketches agree on at least ``TEXT_JOIN`` of their
components (estimated Jaccard similarity), or, for an article in a language the story
has no article in yet, when the names sketches agree on at least ``NAMES_JOIN``.

Everything here is deterministic: the same text gives the same signature and band keys
in every process, and the id of a story is derived from the id of its first article.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import rensa

from agents.textfold import fold, fold_word_text, words

TEXT_PERM = 64  # text sketch: 16 bands of 4 rows (candidate threshold near Jaccard 0.5)
TEXT_BANDS = 16
NAMES_PERM = 32  # names sketch: 8 bands of 4 rows
NAMES_BANDS = 8
SEED = 20261203
SHINGLE = 3
MAX_CHARS = 2500  # the lead (title and first paragraphs) names the story; the rest costs time and adds little
MIN_NAMES = 5  # fewer distinct names and numbers than this: no names sketch (too little to go on)
TEXT_JOIN = 0.5
NAMES_JOIN = 0.6

ROLE_NEW = "new"  # the article opens a story
ROLE_JOINED = "joined"  # the article joins an existing story
ROLE_UPDATE = "update"  # the article was seen before (same id): an update of its own story

_SIGMA = "\u03a3"


@dataclass(frozen=True)
class Signature:
    text: tuple[int, ...]
    names: tuple[int, ...] = ()

    def band_keys(self) -> list[str]:
        """The LSH band keys of this signature: the text bands, then the names bands (see ``_bands``)."""
        return list(self._band_keys)

    @cached_property
    def _band_keys(self) -> tuple[str, ...]:  # computed once: the agent asks for candidates and a new story's bands
        keys = _bands(0, self.text, TEXT_BANDS)
        if self.names:
            keys += _bands(TEXT_BANDS, self.names, NAMES_BANDS)
        return tuple(keys)

    def as_record(self) -> dict[str, list[int]]:
        return {"text": list(self.text), "names": list(self.names)}

    @classmethod
    def from_record(cls, value: Mapping[str, Any]) -> Signature:
        return cls(tuple(map(int, value.get("text", ()))), tuple(map(int, value.get("names", ()))))


def features(title: str, body: str) -> tuple[list[str], list[str]]:
    """(shingles, names): word 3-shingles of the folded text, and its folded capitalised words and numbers (sorted)."""
    shingles, names = _features(title, body)
    return list(shingles), sorted(names)


def _features(title: str, body: str) -> tuple[Iterable[str], set[str]]:
    """``features``, the shingles as an iterable (never empty for three words or more) and the names as a set:
    a sketch does not depend on the order of its tokens."""
    lead = f"{title}\n\n{body[:MAX_CHARS]}"[:MAX_CHARS]  # the body cut first: it can be long
    spaced = fold_word_text(lead, keep_case=True)  # the words of the folded text, whitespace between
    tokens = spaced.split()
    if _SIGMA in spaced and len(lowered := (cased := fold(lead, keep_case=True).text).lower()) == len(cased):
        low = words(lowered)  # capital sigma lowers by its context (final or not) in the whole text
    else:
        # Each token lowered: the same as tokenizing the lowered text, as no other character lowers by
        # context nor changes whether it is a word character (tests/test_agents/test_stories.py checks
        # every code point); in one pass over the words and the whitespace between them.
        low = spaced.lower().split()
    if len(low) < SHINGLE:
        shingles: Iterable[str] = [" ".join(low)] if low else []
    else:
        shingles = map(" ".join, zip(low, low[1:], low[2:], strict=False))
    # capitalised words and anything with a digit (numbers, "F-35" as "35", "2026")
    names = {t.lower() for t in tokens if (t[0].isupper() and len(t) > 1) or not t.isalpha()}
    return shingles, names


def signature(title: str, body: str) -> Signature:
    """The article's sketches (deterministic across processes: rensa hashes tokens itself)."""
    shingles, names = _features(title, body)
    text = rensa.RMinHash(num_perm=TEXT_PERM, seed=SEED)
    text.update(shingles or [""])
    names_sketch: tuple[int, ...] = ()
    if len(names) >= MIN_NAMES:
        sketch = rensa.RMinHash(num_perm=NAMES_PERM, seed=SEED + 1)
        sketch.update(names)
        names_sketch = tuple(sketch.digest())
    return Signature(tuple(text.digest()), names_sketch)


def similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """Estimated Jaccard similarity of two sketches: the share of equal components (0 if either is empty)."""
    if not a or not b or len(a) != len(b):
        return 0.0
    equal: int = sum(map(operator.eq, a, b))  # equal lengths (checked above)
    return equal / len(a)


def story_id_for(article_id: str) -> str:
    """The id of the story an article opens: ``st-`` + 24 hex digits of SHA-256 over the article id."""
    return "st-" + hashlib.sha256(f"story\x1f{article_id}".encode()).hexdigest()[:24]


def _bands(first: int, values: Sequence[int], bands: int) -> list[str]:
    """Band ``i``'s key: the decimal ``hash`` of ``(first + i, *its rows)``, a tuple of ints, so the same in
    every process (int and tuple hashes do not depend on ``PYTHONHASHSEED``); text bands are numbered
    from 0 and names bands after them, so equal rows in two bands give two keys.

    Band keys live only in the worker's index, rebuilt from the signatures at start: never stored.
    """
    rows = [iter(values)] * (len(values) // bands)  # one iterator: zip takes each band's rows in turn
    return list(map(str, map(hash, zip(range(first, first + bands), *rows, strict=False))))


@dataclass
class Story:
    """What the index keeps about one story (a table value, as JSON)."""

    id: str
    first_article: str
    signature: Signature
    created: float  # epoch seconds of the first article's processing
    last_seen: float
    langs: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    articles: int = 0  # articles counted into the story (each article id once)
    # theme -> "origin" of the input record whose article alerted new_story for it
    alerted: dict[str, str] = field(default_factory=dict)
    # escalation reason -> origin of the input record that escalated
    escalated: dict[str, str] = field(default_factory=dict)

    def as_record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "first_article": self.first_article,
            "signature": self.signature.as_record(),
            "created": self.created,
            "last_seen": self.last_seen,
            "langs": self.langs,
            "sources": self.sources,
            "articles": self.articles,
            "alerted": self.alerted,
            "escalated": self.escalated,
        }

    @classmethod
    def from_record(cls, value: Mapping[str, Any]) -> Story:
        return cls(
            id=str(value["id"]),
            first_article=str(value["first_article"]),
            signature=Signature.from_record(value["signature"]),
            created=float(value["created"]),
            last_seen=float(value["last_seen"]),
            langs=list(value.get("langs", [])),
            sources=list(value.get("sources", [])),
            articles=int(value.get("articles", 0)),
            alerted=dict(value.get("alerted", {})),
            escalated=dict(value.get("escalated", {})),
        )


@dataclass(frozen=True)
class Assignment:
    """Where one article goes: ``role`` is ``new``, ``joined`` or ``update``."""

    story_id: str
    role: str
    similarity: float = 1.0


def assign(
    article_id: str,
    sig: Signature,
    lang: str,
    *,
    known_story: str | None,
    candidates: Iterable[Story],
) -> Assignment:
    """The decision for one article.

    ``known_story``: the story this article id already belongs to (a revision or a
    re-delivery is an update of its own story, whatever its text now says);
    ``candidates``: the live stories that share a band key with ``sig``.  The best
    candidate by text similarity wins, ties broken by the older story, then its id.
    """
    if known_story is not None:
        return Assignment(known_story, ROLE_UPDATE)
    best: tuple[float, float, str] | None = None
    for story in candidates:
        text = similarity(sig.text, story.signature.text)
        ok = text >= TEXT_JOIN
        score = text
        if not ok and lang not in story.langs and lang != "und":
            names = similarity(sig.names, story.signature.names)
            ok = names >= NAMES_JOIN
            score = names
        if ok:
            rank = (-score, story.created, story.id)
            if best is None or rank < best:
                best = rank
    if best is None:
        return Assignment(story_id_for(article_id), ROLE_NEW)
    return Assignment(best[2], ROLE_JOINED, -best[0])


def new_story(article_id: str, sig: Signature, *, at: float) -> Story:
    return Story(
        id=story_id_for(article_id),
        first_article=article_id,
        signature=sig,
        created=at,
        last_seen=at,
    )


@dataclass(frozen=True)
class StoryAlert:
    """An alert the story decision asks for: ``kind`` new_story or story_escalation."""

    kind: str
    theme: str
    reason: str = ""  # for escalations: "lang:de" or "sources:3"


def observe(
    story: Story,
    *,
    new_article: bool,
    lang: str,
    source: str,
    themes: Sequence[str],
    origin: str,
    at: float,
    sources_threshold: int,
) -> list[StoryAlert]:
    """Count one article into ``story`` (mutated) and return the alerts it causes.

    ``new_article``: the article id is not in the story yet (a revision or a redelivery
    of an article already counted is not counted again, but may bring a language or source).

    - ``new_story`` for each theme in ``themes`` (the article's matched themes whose alert
      mode is new_story) that the story has not alerted for yet; the first such article of
      the story is the one the alert names.
    - ``story_escalation`` for each theme the story has alerted, when the article brings
      a language the story had no article in (``lang:<code>``), or when the story's
      distinct sources reach ``sources_threshold`` (``sources:<n>``), once per reason.

    A record delivered again (same ``origin``) gets the same alerts again: its outputs may
    have been lost in a crash after the table remembered them, and consumers de-duplicate
    the repeated ``alert_id``.  Another record (a replay, a revision) gets none it already had.
    """
    out: list[StoryAlert] = []
    story.last_seen = max(story.last_seen, at)
    if new_article:
        story.articles += 1
    new_lang = lang != "und" and lang not in story.langs and bool(story.langs)
    if lang != "und" and lang not in story.langs:
        story.langs.append(lang)
    if source and source not in story.sources:
        story.sources.append(source)
    for theme in themes:
        first = story.alerted.get(theme)
        if first is None:
            story.alerted[theme] = origin
        if first is None or first == origin:
            out.append(StoryAlert("new_story", theme))
    reasons: list[str] = []
    if new_lang:
        reasons.append(f"lang:{lang}")
    if sources_threshold > 1 and len(story.sources) >= sources_threshold:
        reasons.append(f"sources:{sources_threshold}")
    for reason in reasons:
        first = story.escalated.get(reason)
        if first is None:
            story.escalated[reason] = origin
        if first is None or first == origin:
            # only themes alerted by earlier records: a theme first alerted now gets new_story instead
            for theme in sorted(t for t, o in story.alerted.items() if o != origin):
                out.append(StoryAlert("story_escalation", theme, reason))
    return out


def expired(story: Story, *, now: float, window_seconds: float) -> bool:
    """A story with no article for ``window_seconds`` is over: a later copy opens a new story."""
    return now - story.last_seen > window_seconds


def bucket_of(at: float, bucket_seconds: float) -> int:
    """The expiry bucket of a time (the index sweeps whole buckets)."""
    return int(at // bucket_seconds)
