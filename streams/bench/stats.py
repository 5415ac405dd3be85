"""Targets and statistics of the benchmark: parsing a target, judging a figure, percentiles."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from streams.bench.model import Result

__all__ = ["Target", "judged", "parse_target", "percentile"]

_TARGET = re.compile(r"^\s*(>=|<=|>|<|≥|≤)\s*([-+]?\d+(?:[.,]\d+)*(?:\.\d+)?)\s*(%?)")


@dataclass(frozen=True)
class Target:
    """A parsed target such as ``">= 10x"`` or ``"<= 100 ms"``: comparison and threshold."""

    op: str  # ">=" or "<=" (">" and "<" are kept as written)
    threshold: float

    def met(self, value: float) -> bool:
        if math.isnan(value):
            return False
        return {
            ">=": value >= self.threshold,
            "<=": value <= self.threshold,
            ">": value > self.threshold,
            "<": value < self.threshold,
        }[self.op]

    def score(self, value: float) -> float:
        """How far the value is from the target, as a factor where >= 1 means met (for the chart)."""
        if self.op in (">=", ">"):
            return value / self.threshold if self.threshold else math.inf
        return self.threshold / value if value > 0 else math.inf


def parse_target(text: str | None) -> Target | None:
    """``">= 1,000 articles/s"`` -> Target(">=", 1000.0); a trailing ``%`` divides by 100.  None when unparseable."""
    if not text:
        return None
    match = _TARGET.match(text)
    if not match:
        return None
    op = {"≥": ">=", "≤": "<="}.get(match.group(1), match.group(1))
    threshold = float(match.group(2).replace(",", ""))
    if match.group(3):
        threshold /= 100
    return Target(op, threshold)


def judged(name: str, value: float, unit: str, target: str | None, **kwargs: Any) -> Result:
    """A Result whose ``met`` is computed from ``target`` (None when there is no target)."""
    parsed = parse_target(target)
    met = parsed.met(value) if parsed is not None else None
    return Result(name=name, value=value, unit=unit, target=target, met=met, **kwargs)


def percentile(values: Iterable[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"q must be within 0..100, not {q}")
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
