"""Themes as code: run each theme's positive and negative examples through the real engine."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from agents.themes.engine import Tagger
from agents.themes.model import Theme

__all__ = ["ExampleFailure", "ExampleReport", "ThemeScore", "evaluate_examples"]


@dataclass(frozen=True)
class ExampleFailure:
    """An example the theme got wrong: ``expected`` / ``got`` say whether it should be / was tagged."""

    theme: str
    text: str
    expected: bool
    got: bool
    score: float
    threshold: float


@dataclass(frozen=True)
class ThemeScore:
    """Counts over one theme's own examples.  With nothing predicted (or nothing to find)
    precision (recall) is 1.0: there was no way to be wrong."""

    theme: str
    positives: int
    negatives: int
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


@dataclass(frozen=True)
class ExampleReport:
    scores: tuple[ThemeScore, ...]
    failures: tuple[ExampleFailure, ...]

    @property
    def ok(self) -> bool:
        return not self.failures


def evaluate_examples(themes: Sequence[Theme]) -> ExampleReport:
    """Tag every theme's examples with a tagger over all ``themes``; score each theme on its own examples."""
    tagger = Tagger(themes)
    scores: list[ThemeScore] = []
    failures: list[ExampleFailure] = []
    for theme in themes:
        tp = fp = fn = 0
        cases = [(text, True) for text in theme.examples.positive] + [(text, False) for text in theme.examples.negative]
        for text, expected in cases:
            match = next((m for m in tagger.tag(text) if m.theme == theme.id), None)
            got = match is not None
            if expected and got:
                tp += 1
            elif expected:
                fn += 1
            elif got:
                fp += 1
            if got != expected:
                score = match.score if match else _score_below_threshold(theme, text)
                failures.append(ExampleFailure(theme.id, text, expected, got, score, theme.threshold))
        scores.append(ThemeScore(theme.id, len(theme.examples.positive), len(theme.examples.negative), tp, fp, fn))
    return ExampleReport(tuple(scores), tuple(failures))


def _score_below_threshold(theme: Theme, text: str) -> float:
    """The theme's score on a text it did not tag (threshold lowered to see it)."""
    matches = Tagger([replace(theme, threshold=1e-9)]).tag(text)
    return matches[0].score if matches else 0.0
