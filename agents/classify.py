"""Per-article classification: language and themes, as the pipeline and ``newsmon classify`` do it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agents.language import detect_language
from agents.records import document_text
from agents.themes import Tagger, ThemeMatch

__all__ = ["Classification", "classification_to_json", "classify_text"]


@dataclass(frozen=True)
class Classification:
    """``text`` is the string the evidence offsets index into: ``document_text(title, body)``."""

    text: str
    lang: str
    lang_confidence: float
    themes: tuple[ThemeMatch, ...]


def classify_text(tagger: Tagger, *, body: str, title: str = "") -> Classification:
    """Detect the language of title + body and tag it with every theme of ``tagger``."""
    text = document_text(title, body)
    guess = detect_language(text)
    return Classification(text, guess.lang, guess.confidence, tuple(tagger.tag(text, guess.lang)))


def classification_to_json(article_id: str, result: Classification) -> dict[str, Any]:
    """The JSON object ``newsmon classify`` prints for one article."""
    return {
        "id": article_id,
        "lang": result.lang,
        "themes": [
            {
                "theme": match.theme,
                "score": match.score,
                "evidence": [{"term": e.term, "start": e.start, "end": e.end, "rule": e.rule} for e in match.evidence],
            }
            for match in result.themes
        ],
    }
