"""``newsmon bench``: the pure parts (targets, percentiles, table, JSON, profile summary, baselines)
and one smoke test of the end-to-end section against the real broker.  Nothing here asserts speed."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import NEEDS_SENTENCE_CORPUS

from agents.records import decode_raw_article
from agents.themes import load_theme_file
from streams.bench import runner
from streams.bench.e2e import Drain, Latency, _e2e_results, story_lead, story_template, template
from streams.bench.model import Result
from streams.bench.naive import naive_tag, term_regex, theme_patterns
from streams.bench.resources import parse_collapsed, split_frame, summarize_profile
from streams.bench.runner import REQUIRED_NAMES, Report, format_table, missing_names
from streams.bench.stats import judged, parse_target, percentile

REPO = Path(__file__).resolve().parents[3]
THEMES = REPO / "themes" / "themes.toml"

# --------------------------------------------------------------------------- percentiles


def test_percentile_interpolates_between_closest_ranks() -> None:
    values = [10.0, 20.0, 30.0, 40.0]
    assert percentile(values, 0) == 10.0
    assert percentile(values, 100) == 40.0
    assert percentile(values, 50) == pytest.approx(25.0)
    assert percentile(values, 99) == pytest.approx(39.7)


def test_percentile_ignores_input_order_and_handles_one_value() -> None:
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([7.5], 99) == 7.5


@pytest.mark.parametrize("q", [-1, 101])
def test_percentile_rejects_out_of_range(q: float) -> None:
    with pytest.raises(ValueError, match="q must be"):
        percentile([1.0], q)


def test_percentile_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)


def test_percentile_matches_a_sorted_rank_on_a_large_sample() -> None:
    values = [float(v) for v in range(1, 1001)]  # 1..1000
    assert percentile(values, 99) == pytest.approx(990.01)
    assert percentile(values, 50) == pytest.approx(500.5)


# --------------------------------------------------------------------------- targets


@pytest.mark.parametrize(
    ("text", "op", "threshold"),
    [
        (">= 10x", ">=", 10.0),
        ("<= 100 ms", "<=", 100.0),
        (">= 1,000 articles/s", ">=", 1000.0),
        (">= 0.4x", ">=", 0.4),
        (">= 40%", ">=", 0.4),
        ("≤ 3", "<=", 3.0),
        ("> 2", ">", 2.0),
    ],
)
def test_parse_target(text: str, op: str, threshold: float) -> None:
    target = parse_target(text)
    assert target is not None
    assert (target.op, target.threshold) == (op, pytest.approx(threshold))


@pytest.mark.parametrize("text", [None, "", "fast", "about 10"])
def test_unparseable_targets_are_none(text: str | None) -> None:
    assert parse_target(text) is None


@pytest.mark.parametrize(
    ("value", "target", "met"),
    [
        (10.0, ">= 10x", True),
        (9.99, ">= 10x", False),
        (100.0, "<= 100 ms", True),
        (100.1, "<= 100 ms", False),
        (0.5, ">= 0.4x", True),
        (1.2, "<= 1.1x", False),
        (float("nan"), ">= 1x", False),
    ],
)
def test_met_is_computed_from_the_target(value: float, target: str, met: bool) -> None:
    assert judged("x.y", value, "x", target).met is met


def test_no_target_means_met_is_none() -> None:
    result = judged("x.y", 3.0, "x", None, baseline=1.0)
    assert result.met is None
    assert result.baseline == 1.0


def test_target_score_is_at_least_one_when_met() -> None:
    higher = parse_target(">= 10x")
    lower = parse_target("<= 100 ms")
    assert higher is not None
    assert lower is not None
    assert higher.score(20) == pytest.approx(2.0)
    assert lower.score(50) == pytest.approx(2.0)
    assert lower.score(200) == pytest.approx(0.5)
    assert math.isinf(lower.score(0))


# --------------------------------------------------------------------------- table and JSON


def _results() -> list[Result]:
    out = [judged(name, 2.0, "x", ">= 1x", baseline=1.0) for name in REQUIRED_NAMES]
    out.append(Result(name="worker.peak_rss_mb", value=123.4, unit="MB"))
    return out


def test_table_has_a_header_and_one_row_per_result() -> None:
    results = [
        judged("e2e.throughput", 1234.5, "articles/s", ">= 1000 articles/s", baseline=80.25),
        judged("e2e.latency_p99_ms", 150.0, "ms", "<= 100 ms"),
        Result(name="worker.peak_rss_mb", value=0.5, unit="MB"),
    ]
    lines = format_table(results).splitlines()
    assert lines[0].split() == ["name", "value", "unit", "baseline", "target", "met"]
    assert set(lines[1]) <= {"-", " "}
    assert len(lines) == 2 + len(results)
    assert lines[2].split() == ["e2e.throughput", "1,234", "articles/s", "80.2", ">=", "1000", "articles/s", "yes"]
    assert lines[3].split()[-1] == "NO"
    assert lines[4].split() == ["worker.peak_rss_mb", "0.500", "MB", "-", "-", "-"]


def test_table_columns_line_up() -> None:
    lines = format_table(_results()).splitlines()
    met_column = lines[0].index("met")
    assert all(line[met_column:].strip() in {"met", "---", "yes", "NO", "-"} for line in lines)


def test_markdown_table_escapes_nothing_it_should_not() -> None:
    text = runner.format_markdown([judged("a.b", 1.0, "x", ">= 2x", baseline=0.5)])
    assert text.splitlines()[2] == "| `a.b` | 1.00 | x | 0.500 | >= 2x | NO |"


def test_json_shape_has_machine_and_every_required_result() -> None:
    report = Report(machine=runner.machine_info("4.1.2"), mode="quick", results=_results(), started_at="2026-01-01")
    data = json.loads(json.dumps(report.to_json()))
    assert {"cpu", "cores", "python", "kafka"} <= set(data["machine"])
    assert data["machine"]["kafka"] == "4.1.2"
    names = [r["name"] for r in data["results"]]
    assert set(REQUIRED_NAMES) <= set(names)
    for result in data["results"]:
        assert {"name", "value", "unit", "baseline", "target", "met"} <= set(result)
    assert missing_names(report.results) == []
    assert missing_names(report.results[1:]) == [REQUIRED_NAMES[0]]


def test_plot_writes_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    report = Report(machine={"cores": 2, "python": "3.11", "kafka": "4.1.2"}, mode="quick", results=_results())
    path = tmp_path / "chart.png"
    runner.plot(report, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_e2e_results_carry_names_baselines_and_targets() -> None:
    drains = {
        "worker": Drain("worker", 1001, 2.0, 0.004, 200 * 2**20),
        "naive": Drain("naive", 101, 4.0, 0.08, 150 * 2**20),
        "passthrough": Drain("passthrough", 1001, 0.5, 0.001, 100 * 2**20),
    }
    latency = {
        "worker": Latency(100, 200.0, [10.0] * 100, [12.0] * 99 + [120.0], 0, 0),
        "passthrough": Latency(50, 200.0, [5.0] * 50, [], 0, 0),
    }
    results = {r.name: r for r in _e2e_results(drains, latency)}
    assert results["e2e.throughput"].value == pytest.approx(500.0)
    assert results["e2e.throughput"].baseline == pytest.approx(25.0)
    assert results["e2e.vs_naive"].value == pytest.approx(20.0)
    assert results["e2e.vs_naive"].met is True
    assert results["e2e.vs_passthrough"].value == pytest.approx(0.25)
    assert results["e2e.vs_passthrough"].met is False
    p99 = results["e2e.latency_p99_ms"]
    assert p99.target == "<= 100 ms"
    assert p99.baseline == pytest.approx(5.0)
    assert p99.value == pytest.approx(percentile([12.0] * 99 + [120.0], 99))
    assert all(r.baseline is not None for name, r in results.items() if r.target)


# --------------------------------------------------------------------------- baselines and articles


def test_term_regex_handles_stems_case_marker_and_phrases() -> None:
    assert term_regex("Greenland*") == r"Greenland\w*"
    assert term_regex("=US") == "US"
    assert term_regex("White House") == r"White\s+House"


def test_naive_tagger_finds_a_shipped_theme() -> None:
    patterns = theme_patterns(load_theme_file(THEMES))
    assert len(patterns) == len(load_theme_file(THEMES))
    found = naive_tag("Trump threatens to buy Greenland, Denmark says it is not for sale.", patterns)
    assert "greenland" in {m["theme"] for m in found}
    assert naive_tag("A quiet afternoon in the garden.", patterns) == []


def test_template_splices_unique_ids_into_a_valid_raw_article() -> None:
    article = template('A "quoted" title', "Body text\n\nwith paragraphs.")
    decoded = decode_raw_article(article.value("bench-42"))
    assert decoded["id"] == "bench-42"
    assert decoded["title"] == 'A "quoted" title'
    assert decode_raw_article(article.value("bench-43"))["id"] == "bench-43"


def test_story_template_makes_each_send_its_own_story_tagged_alike() -> None:
    from agents.enrich import enrich
    from agents.stories import TEXT_JOIN, signature, similarity
    from agents.themes import Tagger

    body = (
        "President Trump said the United States will take control of Greenland, and Danish Prime Minister "
        "Mette Frederiksen answered that the island is not for sale. NATO allies met in Brussels."
    )
    story = story_template('A "Greenland" title', body)
    sends = [decode_raw_article(story.value(f"lat-{i}")) for i in range(4)]
    assert [s["id"] for s in sends] == [f"lat-{i}" for i in range(4)]
    assert all(s["body"].endswith(body) for s in sends)
    assert len({len(s["body"]) for s in sends}) == 1  # the lead has one length: same language sample offsets
    tagger = Tagger(load_theme_file(THEMES))
    tagged = [enrich(s, tagger, processed_at="2026-01-01T00:00:00Z") for s in sends]
    assert len({(t["lang"], tuple(m["theme"] for m in t["themes"])) for t in tagged}) == 1
    assert tagged[0]["themes"]
    sigs = [signature(s["title"], s["body"]) for s in sends]
    assert all(similarity(sigs[0].text, sig.text) < TEXT_JOIN for sig in sigs[1:])
    assert story_lead("lat-1") == story_lead("lat-1") != story_lead("lat-2")


# --------------------------------------------------------------------------- profile summary

COLLAPSED = """\
<module> (streams/__main__.py:5);run (asyncio/runners.py:118);process_articles (streams/pipeline/wiring.py:104);\
enrich (agents/enrich.py:60);tag (agents/themes/engine.py:260);fold (agents/textfold.py:190) 60
<module> (streams/__main__.py:5);run (asyncio/runners.py:118);process_articles (streams/pipeline/wiring.py:104);\
enrich (agents/enrich.py:58);detect_language (agents/language.py:120) 20
<module> (streams/__main__.py:5);run (asyncio/runners.py:118);_run_once (asyncio/base_events.py:1900);\
send (aiokafka/producer/producer.py:400) 20
garbage line without a count
"""


def test_split_frame() -> None:
    assert split_frame("fold (agents/textfold.py:190)") == ("fold", "agents/textfold.py")
    assert split_frame("<module> (<string>)") == ("<module>", "<string>")


def test_profile_summary_attributes_time_to_areas_and_functions() -> None:
    assert len(parse_collapsed(COLLAPSED)) == 3
    summary = summarize_profile(COLLAPSED)
    assert summary["samples"] == 100
    areas = {row["name"]: row["share"] for row in summary["areas"]}
    assert areas["tagging: text folding (agents/textfold.py)"] == pytest.approx(0.6)
    assert areas["language detection (agents/language.py)"] == pytest.approx(0.2)
    assert areas["Kafka client (aiokafka)"] == pytest.approx(0.2)
    assert summary["self"][0] == {"name": "fold (agents/textfold.py)", "share": 0.6, "samples": 60}
    inclusive = {row["name"]: row["share"] for row in summary["inclusive"]}
    assert inclusive["enrich (agents/enrich.py)"] == pytest.approx(0.8)


def test_empty_profile() -> None:
    assert summarize_profile("")["samples"] == 0


# --------------------------------------------------------------------------- CLI


def test_cli_help_lists_the_options() -> None:
    from streams.cli import main

    result = CliRunner().invoke(main, ["bench", "--help"])
    assert result.exit_code == 0
    for option in ("--quick", "--json", "--plot", "--only", "--profile"):
        assert option in result.output
    assert "--tiny" not in result.output


@pytest.mark.kafka
@pytest.mark.timeout(240)
@NEEDS_SENTENCE_CORPUS
def test_bench_e2e_smoke(kafka_bootstrap: str, tmp_path: Path) -> None:
    """The e2e section in its tiny mode writes throughput with a baseline (no speed is asserted)."""
    out = tmp_path / "bench.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    env["KAFKA_BOOTSTRAP_SERVERS"] = kafka_bootstrap
    env["NEWSMON_STATE_DIR"] = str(tmp_path / "state")
    proc = subprocess.run(
        [sys.executable, "-m", "streams", "bench", "--tiny", "--only", "e2e", "--json", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=220,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(out.read_text())
    assert data["machine"]["cores"] >= 1
    results = {r["name"]: r for r in data["results"]}
    assert results["e2e.throughput"]["value"] > 0
    assert results["e2e.throughput"]["baseline"] > 0
    for name in ("e2e.vs_naive", "e2e.vs_passthrough", "e2e.latency_p99_ms"):
        assert results[name]["baseline"] is not None
        assert results[name]["met"] in (True, False)
    # Scale-out: two worker processes and two pass-through apps drained the same articles.
    for name in (
        "e2e.throughput_1proc",
        "e2e.throughput_2proc",
        "e2e.scaling_2proc",
        "e2e.passthrough_throughput_2proc",
        "e2e.throughput_batched",
    ):
        assert results[name]["value"] > 0, results[name]
        assert results[name]["baseline"] > 0, results[name]
    assert results["e2e.throughput"]["detail"]["processes"] in (1, 2)
    # Distinct articles: what the group processed again across its rebalance counts once.
    for name in ("e2e.throughput_2proc", "e2e.throughput_batched"):
        assert results[name]["detail"]["articles"] == results["e2e.throughput_1proc"]["detail"]["articles"]
    assert "e2e.throughput" in proc.stdout
