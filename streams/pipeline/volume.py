"""Spikes and alert budgets in the stories agent: the decisions of ``agents.volume`` over the ``stories`` table.

The stories agent sees every enriched article on one partition, in order, so it can count
coverage per theme and hold back story alerts over a theme's budget. Keys it adds to the
``stories`` table (JSON values):

- ``v:<theme>``: the theme's coverage counts (``agents.volume.Volume``);
- ``g:<theme>``: the theme's budget in the current window (``agents.volume.Budget``);
- ``g:<theme>:<window>:<n>``: the alerts folded into that window's digest (a chunked list,
  ``streams.pipeline.jsontable``); ``g:<theme>:x:<alert id>``: "this alert was folded" (the window), so a
  redelivery does not fold it twice;
- ``g:pending``: the themes with folded alerts in their current window; ``g:last``: the
  input record that emitted digests last, and for which themes (sent again when that
  record is delivered again).

A window's folded alerts stay until the theme's next window closes, so the digest can be
sent again for a redelivered record. Every write happens while the input record is the
current event (``streams.pipeline.delivery.processing``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agents.alerting import digest_alert_event, folded_item, spike_alert_event
from agents.volume import (
    RESEND,
    SEND,
    SUPPRESS,
    Budget,
    SpikeRule,
    Volume,
    budget_verdict,
    close_budget,
    digest_parts,
    observe_volume,
    window_of,
)
from streams.pipeline.jsontable import JsonTable

DIGEST_PART = 200  # folded alerts listed per digest event
PENDING = "g:pending"
LAST = "g:last"


@dataclass(frozen=True)
class VolumeRules:
    """The settings behind spikes and budgets (NEWSMON_ALERT_WINDOW_SECONDS, NEWSMON_SPIKE_*, NEWSMON_ALERT_BUDGET)."""

    spike: SpikeRule
    budget: int = 0

    @property
    def window_seconds(self) -> float:
        return self.spike.window_seconds


class VolumeSteps:
    """Coverage counts, spikes, the budget of story alerts and the digests, on one table."""

    def __init__(self, table: Any, rules: VolumeRules, *, theme_name: Callable[[str], str], now: Callable[[], str]):
        self.json = JsonTable(table)
        self.rules = rules
        self.theme_name = theme_name
        self.now = now

    # ---------------------------------------------------------------- spikes

    def spikes(
        self, record: Mapping[str, Any], themes: list[str], *, at: float, counted: bool, origin: str
    ) -> list[dict[str, Any]]:
        """Count the article into each matched theme; the spike alerts that raises."""
        out: list[dict[str, Any]] = []
        for theme in themes:
            stored = self.json.get(f"v:{theme}")
            volume, spike = observe_volume(
                None if stored is None else Volume.from_record(stored),
                at=at,
                counted=counted,
                origin=origin,
                rule=self.rules.spike,
            )
            self.json.put(f"v:{theme}", volume.as_record())
            if spike is not None:
                out.append(
                    spike_alert_event(
                        record,
                        theme=theme,
                        theme_name=self.theme_name(theme),
                        window=spike.window,
                        window_seconds=self.rules.window_seconds,
                        count=spike.count,
                        baseline=spike.baseline,
                        threshold=spike.threshold,
                        detected_at=self.now(),
                    )
                )
        return out

    # ---------------------------------------------------------------- budgets

    def admit(self, event: Mapping[str, Any], *, at: float, origin: str) -> bool:
        """Whether to send a story alert now; False when it is folded into its theme's digest (or was)."""
        if self.rules.budget <= 0:
            return True
        theme = str(event["data"]["theme"])
        budget = self._budget(theme, at)
        # A window this closes has no folded alerts (``digests`` closed those first): no digest here.
        close_budget(budget, at=at, origin=origin, window_seconds=self.rules.window_seconds)
        alert = str(event["id"])
        marker = f"g:{theme}:x:{alert}"
        verdict = budget_verdict(alert, sent=budget.sent, suppressed=self.json.has(marker), budget=self.rules.budget)
        if verdict == SEND:
            budget.sent.append(alert)
        elif verdict == SUPPRESS:
            self.json.append_chunked(f"g:{theme}:{budget.window}", budget.folded, folded_item(event))
            self.json.put(marker, budget.window)
            budget.folded += 1
            pending = self.json.get(PENDING) or []
            if theme not in pending:
                self.json.put(PENDING, sorted([*pending, theme]))
        self.json.put(f"g:{theme}", budget.as_record())
        return verdict in (SEND, RESEND)

    def digests(self, *, at: float, origin: str) -> list[dict[str, Any]]:
        """Close the windows that ended before ``at``: one digest (in parts) per theme with folded alerts.

        Called first for every record of the stories agent (articles and ticks); the record
        that closed windows gets the same digests again when it is delivered again.
        """
        if self.rules.budget <= 0:
            return []
        pending: list[str] = self.json.get(PENDING) or []
        last = self.json.get(LAST) or {}
        again = list(last.get("themes", [])) if last.get("origin") == origin else []
        out: list[dict[str, Any]] = []
        closed: list[str] = []
        still: list[str] = []  # pending themes that have folded alerts in their (new) current window
        for theme in sorted(set(pending) | set(again)):
            budget = self._budget(theme, at)
            before = budget.digest_window
            window = close_budget(budget, at=at, origin=origin, window_seconds=self.rules.window_seconds)
            if budget.folded and theme in pending:
                still.append(theme)
            if window is None:
                continue
            if before is not None and before != window:
                self._forget(theme, before)
            self.json.put(f"g:{theme}", budget.as_record())
            closed.append(theme)
            out += self._digest_events(theme, window)
        if closed:
            if still != pending:
                self.json.put(PENDING, still)
            if last != {"origin": origin, "themes": closed}:
                self.json.put(LAST, {"origin": origin, "themes": closed})
        return out

    def _budget(self, theme: str, at: float) -> Budget:
        stored = self.json.get(f"g:{theme}")
        if stored is None:
            return Budget(window=window_of(at, self.rules.window_seconds))
        return Budget.from_record(stored)

    def _forget(self, theme: str, window: int) -> None:
        """Delete what was folded into an older window of ``theme`` (its digest went out)."""
        for item in self.json.drop_chunked(f"g:{theme}:{window}"):
            self.json.delete(f"g:{theme}:x:{item['alert_id']}")

    def _digest_events(self, theme: str, window: int) -> list[dict[str, Any]]:
        parts = digest_parts(self.json.chunked(f"g:{theme}:{window}"), DIGEST_PART)
        return [
            digest_alert_event(
                theme=theme,
                theme_name=self.theme_name(theme),
                window=window,
                window_seconds=self.rules.window_seconds,
                budget=self.rules.budget,
                items=list(items),
                part=number,
                parts=len(parts),
                detected_at=self.now(),
            )
            for number, items in enumerate(parts, start=1)
        ]
