"""Coverage volume per theme: spikes and alert budgets, as pure decisions over plain values.

Both count in windows of *stream time*: the ``processed_at`` of the record being handled
(an article, or a worker's tick), cut into consecutive windows of ``window_seconds``
aligned to the epoch. A redelivered record sees the same clock, so it gets the same
answers. A record older than the theme's current window counts in the current one.

**Spikes.** Per theme: how many distinct articles matched it in the current window, and
the counts of up to ``baseline_windows`` windows before it. The theme spikes when the
current count reaches ``factor * (mean of the previous counts + min_count)`` (the mean
is 0 before the first window closes). A spike raises one alert; the surge lasts until
a window closes below its own threshold, and only then can the theme spike again, so a
surge that spans several windows is one alert.

**Budgets.** Per theme, at most ``budget`` story alerts (``new_story``,
``story_escalation``) per window. Alerts beyond it are folded into the window's digest,
which lists every one of them and is emitted once stream time passes the window's end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

SEND: Final = "send"  # within the budget: send the alert
RESEND: Final = "resend"  # sent before in this window (a redelivery): send the same alert again, not counted
SUPPRESS: Final = "suppress"  # over the budget: fold it into the window's digest
SUPPRESSED: Final = "suppressed"  # folded before (a redelivery): nothing to do

Verdict = Literal["send", "resend", "suppress", "suppressed"]


def window_of(at: float, window_seconds: float) -> int:
    """The index of the window holding epoch time ``at``."""
    return int(at // window_seconds)


@dataclass(frozen=True)
class SpikeRule:
    window_seconds: float = 3600.0
    factor: float = 3.0
    min_count: int = 5
    baseline_windows: int = 24

    def threshold(self, history: Sequence[int]) -> float:
        """Articles in a window at which the theme spikes, given the counts of the windows before it."""
        return self.factor * (baseline(history) + self.min_count)


def baseline(history: Sequence[int]) -> float:
    """The mean count of the windows before the current one (0 before the first closes)."""
    return sum(history) / len(history) if history else 0.0


@dataclass
class Volume:
    """One theme's coverage counts (a table value, as JSON)."""

    window: int
    count: int = 0
    history: list[int] = field(default_factory=list)  # counts of the windows before ``window``, oldest first
    surging: bool = False
    spike_window: int | None = None  # the window in which the current (or last) surge was alerted
    spike_origin: str | None = None  # the input record that raised it
    spike_count: int | None = None  # the window's count when it was raised

    def as_record(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "count": self.count,
            "history": self.history,
            "surging": self.surging,
            "spike_window": self.spike_window,
            "spike_origin": self.spike_origin,
            "spike_count": self.spike_count,
        }

    @classmethod
    def from_record(cls, value: Mapping[str, Any]) -> Volume:
        spike_window = value.get("spike_window")
        spike_origin = value.get("spike_origin")
        spike_count = value.get("spike_count")
        return cls(
            window=int(value["window"]),
            count=int(value.get("count", 0)),
            history=[int(c) for c in value.get("history", [])],
            surging=bool(value.get("surging", False)),
            spike_window=None if spike_window is None else int(spike_window),
            spike_origin=None if spike_origin is None else str(spike_origin),
            spike_count=None if spike_count is None else int(spike_count),
        )


@dataclass(frozen=True)
class Spike:
    """A spike to alert: the window it started in, its count then, and what it was compared with."""

    window: int
    count: int
    baseline: float  # mean of the previous windows' counts
    threshold: float


def roll(volume: Volume, window: int, rule: SpikeRule) -> None:
    """Close the windows before ``window`` (mutates ``volume``): their counts join the history.

    A surge ends when a window closes below its threshold; windows without an article
    close with a count of 0.
    """
    if window <= volume.window:
        return
    closed = [volume.count] + [0] * min(window - volume.window - 1, rule.baseline_windows + 1)
    for count in closed:
        if volume.surging and count < rule.threshold(volume.history):
            volume.surging = False
        volume.history = [*volume.history, count][-rule.baseline_windows :] if rule.baseline_windows else []
    volume.window = window
    volume.count = 0


def observe_volume(
    volume: Volume | None, *, at: float, counted: bool, origin: str, rule: SpikeRule
) -> tuple[Volume, Spike | None]:
    """Count one article matching the theme; the spike it raises, if any.

    ``counted``: the article id is new to the worker (a revision or a redelivery is not
    counted again). ``origin``: the input record (``topic:partition:offset``); the record
    that raised a spike raises the same spike (same count) again when it is delivered again.
    """
    window = window_of(at, rule.window_seconds)
    if volume is None:
        volume = Volume(window=window)
    roll(volume, window, rule)
    if counted:
        volume.count += 1
    threshold = rule.threshold(volume.history)
    if volume.surging:
        if volume.spike_origin == origin and volume.spike_window == volume.window:
            return volume, _spike(volume, threshold)
        return volume, None
    if volume.count >= threshold:
        volume.surging = True
        volume.spike_window = volume.window
        volume.spike_origin = origin
        volume.spike_count = volume.count
        return volume, _spike(volume, threshold)
    return volume, None


def _spike(volume: Volume, threshold: float) -> Spike:
    count = volume.count if volume.spike_count is None else volume.spike_count
    mean = round(baseline(volume.history), 3)
    return Spike(window=volume.window, count=count, baseline=mean, threshold=round(threshold, 3))


def budget_verdict(alert_id: str, *, sent: Sequence[str], suppressed: bool, budget: int) -> Verdict:
    """What to do with one story alert, given this window's sent alert ids and whether it was folded already.

    ``budget`` 0 means no budget: everything is sent.
    """
    if alert_id in sent:
        return RESEND
    if suppressed:
        return SUPPRESSED
    if budget <= 0 or len(sent) < budget:
        return SEND
    return SUPPRESS


def digest_parts(items: Sequence[Mapping[str, Any]], part_size: int) -> list[list[Mapping[str, Any]]]:
    """A window's folded alerts in digest-sized parts (one digest event each), in the order they were folded."""
    return [list(items[i : i + part_size]) for i in range(0, len(items), part_size)]


@dataclass
class Budget:
    """One theme's alert budget in the current window (a table value, as JSON)."""

    window: int
    sent: list[str] = field(default_factory=list)  # ids of the story alerts sent in ``window``
    folded: int = 0  # alerts folded into ``window``'s digest so far
    digest_window: int | None = None  # the last window whose digest was emitted
    digest_origin: str | None = None  # the input record that emitted it

    def as_record(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "sent": self.sent,
            "folded": self.folded,
            "digest_window": self.digest_window,
            "digest_origin": self.digest_origin,
        }

    @classmethod
    def from_record(cls, value: Mapping[str, Any]) -> Budget:
        digest_window = value.get("digest_window")
        digest_origin = value.get("digest_origin")
        return cls(
            window=int(value["window"]),
            sent=[str(s) for s in value.get("sent", [])],
            folded=int(value.get("folded", 0)),
            digest_window=None if digest_window is None else int(digest_window),
            digest_origin=None if digest_origin is None else str(digest_origin),
        )


def close_budget(budget: Budget, *, at: float, origin: str, window_seconds: float) -> int | None:
    """Advance ``budget`` (mutated) to the window of ``at``; the window whose digest to emit now, if any.

    A window closes with a digest when alerts were folded into it. The record that
    closed it gets the same digest again when it is delivered again.
    """
    window = window_of(at, window_seconds)
    if window > budget.window:
        closing = budget.window if budget.folded else None
        budget.window, budget.sent, budget.folded = window, [], 0
        if closing is not None:
            budget.digest_window, budget.digest_origin = closing, origin
        return closing
    if budget.digest_origin == origin and budget.digest_window is not None:
        return budget.digest_window
    return None
