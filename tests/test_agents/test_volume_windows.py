"""Spikes and budgets as pure decisions: windows, thresholds, one alert per surge, redeliveries, budgets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents.volume import (
    RESEND,
    SEND,
    SUPPRESS,
    SUPPRESSED,
    Budget,
    SpikeRule,
    Volume,
    budget_verdict,
    close_budget,
    digest_parts,
    observe_volume,
    roll,
    window_of,
)

RULE = SpikeRule(window_seconds=100.0, factor=2.0, min_count=3, baseline_windows=4)


def feed(counts_per_window: list[int], rule: SpikeRule = RULE) -> list[tuple[int, int]]:
    """Articles spread over consecutive windows; the (window, count at the spike) of every spike raised."""
    volume: Volume | None = None
    spikes = []
    n = 0
    for window, count in enumerate(counts_per_window):
        for i in range(count):
            n += 1
            volume, spike = observe_volume(
                volume, at=window * rule.window_seconds + i * 0.01, counted=True, origin=f"t:0:{n}", rule=rule
            )
            if spike is not None:
                spikes.append((spike.window, spike.count))
    return spikes


def test_window_of_cuts_epoch_time_into_aligned_windows() -> None:
    assert [window_of(t, 100.0) for t in (0, 99.999, 100, 250)] == [0, 0, 1, 2]


def test_threshold_is_factor_times_mean_plus_minimum() -> None:
    assert RULE.threshold([]) == 6.0  # quiet: factor x min_count
    assert RULE.threshold([2, 4]) == 2.0 * (3 + 3)


def test_steady_coverage_never_spikes() -> None:
    assert feed([4] * 30) == []  # 4 < 2 x (0 + 3) in the first window, and 4 < 2 x (4 + 3) after


def test_a_burst_spikes_once_when_it_crosses_the_threshold() -> None:
    # baseline 4/window -> threshold 14; the burst window reaches 40
    assert feed([4, 4, 4, 4, 40, 4, 4]) == [(4, 14)]


def test_a_surge_over_several_windows_is_one_spike_and_a_later_surge_another() -> None:
    spikes = feed([4, 4, 4, 4, 40, 60, 80, 4, 4, 4, 4, 4, 4, 200])
    assert [w for w, _ in spikes] == [4, 13]


def test_windows_without_articles_count_as_zero_and_end_a_surge() -> None:
    volume = Volume(window=0, count=30, history=[1, 1], surging=True)
    roll(volume, 3, RULE)  # windows 1 and 2 passed without an article
    assert volume.history == [1, 30, 0, 0]
    assert not volume.surging
    assert (volume.window, volume.count) == (3, 0)


def test_a_long_quiet_gap_rolls_in_bounded_time() -> None:
    volume = Volume(window=0, count=5)
    roll(volume, 10**12, RULE)
    assert volume.history == [0, 0, 0, 0]


def test_a_record_from_an_earlier_window_counts_in_the_current_one() -> None:
    volume = Volume(window=5, count=1, history=[1])
    volume, _ = observe_volume(volume, at=250.0, counted=True, origin="t:0:9", rule=RULE)
    assert (volume.window, volume.count, volume.history) == (5, 2, [1])


def test_the_record_that_spiked_spikes_again_when_redelivered_and_no_other_does() -> None:
    volume = Volume(window=0, count=5)
    volume, spike = observe_volume(volume, at=1.0, counted=True, origin="t:0:6", rule=RULE)
    assert spike is not None
    assert (spike.window, spike.count, spike.threshold) == (0, 6, 6.0)
    again, spike_again = observe_volume(volume, at=1.0, counted=False, origin="t:0:6", rule=RULE)
    assert spike_again is not None
    assert spike_again.window == 0
    assert again.count == 6  # a redelivery is not counted twice
    again.count = 9  # later articles of the window: the redelivered record still raises the same spike
    assert observe_volume(again, at=1.0, counted=False, origin="t:0:6", rule=RULE)[1] == spike
    _, other = observe_volume(again, at=2.0, counted=True, origin="t:0:7", rule=RULE)
    assert other is None


def test_state_round_trips_through_its_record() -> None:
    volume = Volume(
        window=3, count=2, history=[1, 2], surging=True, spike_window=3, spike_origin="t:0:1", spike_count=2
    )
    assert Volume.from_record(volume.as_record()) == volume
    budget = Budget(window=4, sent=["al-1"], folded=2, digest_window=3, digest_origin="t:0:2")
    assert Budget.from_record(budget.as_record()) == budget


def test_budget_verdicts() -> None:
    assert budget_verdict("a", sent=[], suppressed=False, budget=2) == SEND
    assert budget_verdict("c", sent=["a", "b"], suppressed=False, budget=2) == SUPPRESS
    assert budget_verdict("a", sent=["a", "b"], suppressed=False, budget=2) == RESEND
    assert budget_verdict("c", sent=["a", "b"], suppressed=True, budget=2) == SUPPRESSED
    assert budget_verdict("z", sent=["a"] * 1000, suppressed=False, budget=0) == SEND  # no budget


def test_a_window_closes_with_a_digest_only_when_alerts_were_folded() -> None:
    budget = Budget(window=0, sent=["a"], folded=0)
    assert close_budget(budget, at=150.0, origin="t:0:1", window_seconds=100.0) is None
    assert (budget.window, budget.sent) == (1, [])
    budget.folded = 3
    assert close_budget(budget, at=199.0, origin="t:0:2", window_seconds=100.0) is None  # not over yet
    assert close_budget(budget, at=420.0, origin="t:0:3", window_seconds=100.0) == 1
    assert (budget.window, budget.folded, budget.digest_window) == (4, 0, 1)
    # the record that closed it closes it again (redelivery); another record does not
    assert close_budget(budget, at=420.0, origin="t:0:3", window_seconds=100.0) == 1
    assert close_budget(budget, at=421.0, origin="t:0:4", window_seconds=100.0) is None


@given(st.lists(st.integers(0, 1000), max_size=50), st.integers(1, 100))
def test_digest_parts_keep_every_item_in_order(items: list[int], size: int) -> None:
    parts = digest_parts([{"n": i} for i in items], size)
    assert [i["n"] for part in parts for i in part] == items
    assert all(1 <= len(part) <= size for part in parts)


@pytest.mark.parametrize("counts", [[0, 0, 50], [10, 10, 10, 10, 100, 0, 0, 0, 0, 100]])
def test_spikes_are_deterministic(counts: list[int]) -> None:
    assert feed(counts) == feed(counts)
