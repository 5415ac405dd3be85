"""Bench section ``stories``: its figure's plumbing and that it runs the real stories steps; nothing is timed here."""

from __future__ import annotations

import json

import pytest
from support import NEEDS_SENTENCE_CORPUS

from streams.bench import enrich, runner, stories
from streams.cli.bench import SECTION_CHOICES


def test_section_is_wired_and_its_figure_required() -> None:
    assert runner.SECTIONS.index("stories") == runner.SECTIONS.index("enrich") + 1  # offline, before Kafka
    assert tuple(SECTION_CHOICES) == runner.SECTIONS
    assert "stories.cpu_ms_per_article" in runner.REQUIRED_NAMES


@NEEDS_SENTENCE_CORPUS
def test_enriched_values_are_one_second_apart_and_carry_the_worker_decision() -> None:
    from agents.themes import Tagger, load_theme_file
    from streams.settings import get_settings

    tagger = Tagger(load_theme_file(get_settings().themes_file))
    values = enrich.raw_values(5)
    records = [json.loads(v) for v in stories.enriched_values(values, tagger)]
    assert [r["processed_at"][17:19] for r in records] == ["00", "01", "02", "03", "04"]
    assert [r["id"] for r in records] == [enrich.decide(json.loads(v), tagger)[0]["id"] for v in values]


@NEEDS_SENTENCE_CORPUS
def test_tiny_run_reports_the_figure_with_its_baseline_and_the_alerts_the_steps_sent() -> None:
    said: list[str] = []
    result, bands = stories.run("tiny", said.append)
    assert result.name == "stories.cpu_ms_per_article"
    assert (result.unit, result.target) == ("ms", stories.TARGET)
    assert result.baseline is not None
    assert result.baseline > 0
    assert result.met == (result.value <= 0.3)
    assert result.detail["articles"] == enrich.SIZES["tiny"][0]
    assert result.detail["signature_ms"] >= 0
    # the corpus has on-theme English articles: the steps really ran and alerted
    assert result.detail["alerts_sent"].get("new_story", 0) >= 1
    assert any("ms CPU per article" in line for line in said)
    assert bands.name == "stories.band_lookup_ms"
    assert bands.detail["stories"] == stories.BAND_STORIES["tiny"]


def test_band_lookups_report_the_last_tenth_against_the_first() -> None:
    said: list[str] = []
    result = stories.band_lookups(300, said.append)
    assert (result.name, result.unit, result.target, result.met) == ("stories.band_lookup_ms", "ms", None, None)
    assert result.baseline is not None
    assert result.detail["stories"] == 300
    assert result.detail["keys_per_lookup"] == 24
    if result.baseline > 0:  # (a lookup under the timer's resolution reads as 0)
        assert result.detail["growth"] == pytest.approx(result.value / result.baseline, abs=0.01, rel=0.01)
    assert any("band store lookup" in line for line in said)
