"""The per-article decision: language, themes, and the tagged record (pure; no Kafka)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, fields
from typing import Any, Protocol

from agents.language import LanguageGuess, detect_language
from agents.records import SCHEMA_VERSION, RawArticle, document_text
from agents.text import strip_markup


class TaggerLike(Protocol):
    def tag(self, text: str, lang: str | None = None) -> Sequence[Any]: ...


def match_to_json(match: Any) -> dict[str, Any]:
    return {
        "theme": match.theme,
        "name": match.name,
        "score": round(float(match.score), 4),
        "evidence": [_evidence_to_json(e) for e in match.evidence],
    }


_ATOMIC = (str, int, float, bool, type(None))
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _evidence_to_json(evidence: Any) -> dict[str, Any]:
    """``dataclasses.asdict(evidence)`` without its deep copies when every field is an immutable scalar."""
    names = _FIELD_NAMES.get(type(evidence))
    if names is None:
        names = _FIELD_NAMES[type(evidence)] = tuple(f.name for f in fields(evidence))
    out = {name: getattr(evidence, name) for name in names}
    if all(type(value) in _ATOMIC for value in out.values()):
        return out
    return asdict(evidence)


def enrich(
    article: RawArticle,
    tagger: TaggerLike,
    *,
    processed_at: str,
    detect: Callable[[str], LanguageGuess] = detect_language,
) -> dict[str, Any]:
    """Raw article -> tagged article: the raw fields plus ``lang``, ``lang_confidence`` and ``themes``.

    Markup is stripped from title and body before anything reads them; evidence offsets
    index into ``document_text(title, body)`` of the stripped text (``text_basis`` says so).
    """
    title = strip_markup(article["title"])
    body = strip_markup(article["body"])
    text = document_text(title, body)
    guess = detect(text)
    matches = tagger.tag(text, guess.lang)
    tagged: dict[str, Any] = dict(article)
    tagged.update(
        {
            "schema_version": SCHEMA_VERSION,
            "lang": guess.lang,
            "lang_confidence": round(guess.confidence, 4),
            "themes": [match_to_json(m) for m in matches],
            "text_basis": "title\\n\\nbody, markup stripped",
            "processed_at": processed_at,
        }
    )
    if title != article["title"] or body != article["body"]:
        tagged["title"], tagged["body"] = title, body
    return tagged
