"""Bench section ``enrich``: its figure's plumbing (names, baseline, target, detail); nothing is timed here."""

from __future__ import annotations

from support import NEEDS_SENTENCE_CORPUS

from streams.bench import enrich, runner
from streams.cli.bench import SECTION_CHOICES


def test_section_is_wired_and_its_figure_required() -> None:
    assert "enrich" in runner.SECTIONS
    assert runner.SECTIONS.index("enrich") == runner.SECTIONS.index("tagging") + 1  # offline, before Kafka
    assert tuple(SECTION_CHOICES) == runner.SECTIONS
    assert "enrich.cpu_ms_per_article" in runner.REQUIRED_NAMES


def test_per_article_ms_warms_up_then_takes_the_median_of_the_rounds() -> None:
    calls: list[int] = []
    ms = enrich.per_article_ms(lambda: calls.append(1), articles=10, rounds=3)
    assert len(calls) == 4  # one warm-up, three timed
    assert ms >= 0


@NEEDS_SENTENCE_CORPUS
def test_tiny_run_reports_the_figure_with_baseline_target_and_steps() -> None:
    said: list[str] = []
    [result] = enrich.run("tiny", said.append)
    assert result.name == "enrich.cpu_ms_per_article"
    assert result.unit == "ms"
    assert result.target == enrich.TARGET == "<= 1.0 ms"
    assert result.baseline is not None
    assert result.baseline > 0
    assert result.met == (result.value <= 1.0)
    steps = result.detail["steps_ms"]
    assert set(steps) == {"decode", "strip", "language", "fold", "scan", "score", "alerts", "encode"}
    assert all(v >= 0 for v in steps.values())
    assert result.detail["articles"] == enrich.SIZES["tiny"][0]
    assert result.detail["pipeline_ms"] >= 0
    assert any("ms CPU per article" in line for line in said)


@NEEDS_SENTENCE_CORPUS
def test_decide_is_the_worker_decision() -> None:
    from agents.alerting import new_alert_themes
    from agents.enrich import enrich as enrich_article
    from agents.records import decode_raw_article
    from agents.themes import Tagger, load_theme_file
    from streams.settings import get_settings

    tagger = Tagger(load_theme_file(get_settings().themes_file))
    values = enrich.raw_values(30)
    assert len(values) == 30
    alerted = 0
    for value in values:
        article = decode_raw_article(value)
        tagged, alerts = enrich.decide(article, tagger)
        assert tagged == enrich_article(article, tagger, processed_at=enrich.PROCESSED_AT)
        themes = new_alert_themes({m["theme"]: m for m in tagged["themes"]}, tagged["id"], {})
        assert [a["data"]["theme"] for a in alerts] == themes
        alerted += len(alerts)
    assert alerted > 0
