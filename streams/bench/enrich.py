"""Benchmark section ``enrich``: the worker's per-article CPU, in-process, step by step.

Articles: the bench corpus (``build_corpus(n, seed=CORPUS_SEED)``), as the raw records the
end-to-end section publishes (ids given), encoded once.  Themes: the shipped theme file.

The figure, ``enrich.cpu_ms_per_article``, is the CPU time (``time.process_time``) of what
the worker decides for one article: ``agents.enrich.enrich`` (markup stripping, language,
tagging with scores and evidence) plus the alert decisions (``new_alert_themes`` and one
``alert_event`` per new theme).  Every article is processed once per round after a warm-up
round; the value is the median over the rounds.  Target: <= 1.0 ms.

Baseline, same run: the naive path the end-to-end section's naive app runs
(``langdetect.detect`` on the full text and one regex per theme, ``streams.bench.naive``),
on the first articles of the same corpus.

``detail`` breaks the time down by step (each timed on its own over the same articles,
medians over the rounds): ``decode`` (bytes -> validated raw article), ``strip`` (markup
and document text), ``language``, ``fold``, ``scan`` (the key pass and hits), ``score``
(rules, scores, evidence: tagging minus fold and scan), ``alerts`` and ``encode`` (tagged
record and alert events to bytes), and ``pipeline_ms`` = decode + enrich + alerts + encode.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from agents.alerting import alert_event, new_alert_themes
from agents.enrich import enrich
from agents.language import detect_language
from agents.records import RawArticle, decode_raw_article, document_text, encode
from agents.text import strip_markup
from agents.textfold import fold
from agents.themes import Tagger, load_theme_file
from agents.warmup import warm_up
from streams.bench.model import Result
from streams.bench.stats import judged
from streams.settings import get_settings

CORPUS_SEED = 7
TARGET = "<= 1.0 ms"
# (articles, rounds, naive articles) per mode
SIZES = {"full": (2_000, 5, 60), "quick": (500, 3, 20), "tiny": (12, 1, 2)}
PROCESSED_AT = "2026-01-01T00:00:00.000Z"

Step = Callable[[], object]


def raw_values(n: int, seed: int = CORPUS_SEED) -> list[bytes]:
    """The first ``n`` corpus articles as the raw-article bytes the end-to-end section publishes."""
    from streams.bench.corpus import build_corpus
    from streams.bench.e2e import raw_record

    return [encode(raw_record(a.title, a.body, a.id)) for a in build_corpus(n, seed=seed)]


def decide(article: RawArticle, tagger: Tagger) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """What the worker decides for one article: the tagged record and the alert events of its new themes."""
    tagged = enrich(article, tagger, processed_at=PROCESSED_AT)
    matches = {m["theme"]: m for m in tagged["themes"]}
    alerts = [
        alert_event(tagged, matches[theme], detected_at=PROCESSED_AT)
        for theme in new_alert_themes(matches, tagged["id"], {})
    ]
    return tagged, alerts


def per_article_ms(step: Step, articles: int, rounds: int) -> float:
    """Median CPU milliseconds per article of ``step`` (which handles every article once), after a warm-up."""
    step()
    times = []
    for _ in range(max(1, rounds)):
        start = time.process_time()
        step()
        times.append(time.process_time() - start)
    return statistics.median(times) * 1000 / max(1, articles)


def measure(values: Sequence[bytes], tagger: Tagger, rounds: int) -> dict[str, float]:
    """Per-article CPU milliseconds of the whole decision and of each step (see the module doc)."""
    articles = [decode_raw_article(v) for v in values]
    texts = [document_text(strip_markup(a["title"]), strip_markup(a["body"])) for a in articles]
    folded = [fold(t) for t in texts]
    decided = [decide(a, tagger) for a in articles]
    n = len(values)

    def run_decide() -> None:
        for article in articles:
            decide(article, tagger)

    def run_pipeline() -> None:
        for value in values:
            tagged, alerts = decide(decode_raw_article(value), tagger)
            encode(tagged)
            for alert in alerts:
                encode(alert)

    def run_alerts() -> None:
        for tagged, _alerts in decided:
            matches = {m["theme"]: m for m in tagged["themes"]}
            for theme in new_alert_themes(matches, tagged["id"], {}):
                alert_event(tagged, matches[theme], detected_at=PROCESSED_AT)

    def run_encode() -> None:
        for tagged, alerts in decided:
            encode(tagged)
            for alert in alerts:
                encode(alert)

    steps: dict[str, Step] = {
        "enrich": run_decide,
        "pipeline": run_pipeline,
        "decode": lambda: [decode_raw_article(v) for v in values],
        "strip": lambda: [document_text(strip_markup(a["title"]), strip_markup(a["body"])) for a in articles],
        "language": lambda: [detect_language(t) for t in texts],
        "fold": lambda: [fold(t) for t in texts],
        # the key pass on its own: Tagger.tag is fold + this + the rules
        "scan": lambda: [tagger._scan(t, f) for t, f in zip(texts, folded, strict=True)],
        "tag": lambda: [tagger.tag(t) for t in texts],
        "alerts": run_alerts,
        "encode": run_encode,
    }
    ms = {name: per_article_ms(step, n, rounds) for name, step in steps.items()}
    ms["score"] = max(0.0, ms.pop("tag") - ms["fold"] - ms["scan"])
    return ms


def naive_ms(values: Sequence[bytes], themes_file: Any) -> float:
    """CPU milliseconds per article of the naive path: full-text langdetect and one regex per theme."""
    from streams.bench.naive import naive_language, naive_tag, theme_patterns

    patterns = theme_patterns(load_theme_file(themes_file))
    articles = [decode_raw_article(v) for v in values]

    def run() -> None:
        for article in articles:
            text = document_text(article["title"], article["body"])
            naive_language(text)
            naive_tag(text, patterns)

    return per_article_ms(run, len(articles), 1)


def run(mode: str, say: Callable[[str], None]) -> list[Result]:
    n, rounds, n_naive = SIZES.get(mode, SIZES["quick"])
    themes_file = get_settings().themes_file
    warm_up()
    tagger = Tagger(load_theme_file(themes_file))
    values = raw_values(n)
    say(f"enrich: {len(values)} corpus articles, {rounds} rounds, {len(tagger)} themes")
    ms = measure(values, tagger, rounds)
    baseline = naive_ms(values[:n_naive], themes_file)
    value = ms["enrich"]
    steps = ", ".join(f"{k} {v:.3f}" for k, v in ms.items() if k not in ("enrich", "pipeline"))
    say(f"enrich: {value:.3f} ms CPU per article (naive {baseline:.1f} ms); steps: {steps}")
    detail: dict[str, Any] = {
        "articles": len(values),
        "rounds": rounds,
        "naive_articles": min(n_naive, len(values)),
        "steps_ms": {k: round(v, 4) for k, v in ms.items() if k not in ("enrich", "pipeline")},
        "pipeline_ms": round(ms["pipeline"], 4),
        "vs_naive": round(baseline / value, 1) if value > 0 else None,
        "timer": "time.process_time, median over rounds",
    }
    return [
        judged("enrich.cpu_ms_per_article", round(value, 4), "ms", TARGET, baseline=round(baseline, 3), detail=detail)
    ]
