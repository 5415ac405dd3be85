"""The benchmark's result record (one row of the table and of the JSON ``results`` list)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Result:
    """One figure: ``value`` in ``unit``, compared with ``baseline`` (same run) against ``target``.

    ``met`` is None when there is no target.  ``detail`` carries the raw numbers behind
    a ratio (for the docs and the chart).
    """

    name: str
    value: float
    unit: str
    baseline: float | None = None
    target: str | None = None
    met: bool | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
