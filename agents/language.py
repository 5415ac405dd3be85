"""Language identification (placeholder interface; the real implementation replaces this)."""

from __future__ import annotations

from dataclasses import dataclass

UNDETERMINED = "und"


@dataclass(frozen=True)
class LanguageGuess:
    lang: str  # ISO 639-1, or "und"
    confidence: float  # 0..1


def detect_language(text: str) -> LanguageGuess:
    from langdetect import DetectorFactory, LangDetectException, detect_langs

    DetectorFactory.seed = 0
    try:
        best = detect_langs(text[:2000])[0]
    except LangDetectException:
        return LanguageGuess(UNDETERMINED, 0.0)
    return LanguageGuess(str(best.lang).split("-")[0], float(best.prob))
