"""Benchmark section: language identification (``agents.language``) against plain langdetect.

Figures, all measured in the same run:

- ``langid.speedup``: articles/s of ``detect_language`` over articles/s of
  ``langdetect.detect(full_text)`` on the synthetic 2-10 KB corpus (``corpus.py``);
  target >= 10x.  Both are warmed up first (profiles loaded); the two are timed in
  alternating chunks so that a noisy machine slows both alike.
- ``langid.accuracy``: share of single sentences (``langid-sentences/<lang>.txt``, every
  language langdetect supports) identified correctly; baseline = langdetect's share;
  target: within 0.5 points of langdetect, or better.
- ``langid.baseline_accuracy``: langdetect's share on the same sentences
  (``DetectorFactory.seed = 0``; computed in worker processes, it is not timed).
- ``langid.article_accuracy`` / ``langid.baseline_article_accuracy``: the same on the corpus.

langdetect's ``zh-cn`` and ``zh-tw`` count as ``zh``; a langdetect error counts as wrong.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

from agents.language import detect_language, warm_up
from streams.bench.corpus import build_corpus, corpus_languages, load_sentences
from streams.bench.model import Result

SPEEDUP_TARGET = 10.0
ACCURACY_TOLERANCE = 0.5  # percentage points below langdetect's accuracy that still meet the target
QUICK_SENTENCES, FULL_SENTENCES = 100, 1000  # per language
QUICK_ARTICLES, FULL_ARTICLES = 150, 400
CORPUS_SEED = 7
_TIMING_CHUNK = 10  # articles per alternating timing chunk


def run(quick: bool, say: Callable[[str], None]) -> list[Result]:
    """Measure speed and accuracy; ``quick`` uses fewer sentences and articles (< 45 s)."""
    sentences_per_language = QUICK_SENTENCES if quick else FULL_SENTENCES
    n_articles = QUICK_ARTICLES if quick else FULL_ARTICLES
    languages = corpus_languages()
    say(f"langid: {len(languages)} languages, {sentences_per_language} sentences each, {n_articles} articles")

    started = time.perf_counter()
    warm_up()
    project_load = time.perf_counter() - started
    started = time.perf_counter()
    _langdetect_labels(["warm up the profiles"])
    naive_load = time.perf_counter() - started

    articles = build_corpus(n_articles, seed=CORPUS_SEED)
    texts = [f"{a.title}\n\n{a.body}" for a in articles]
    expected_articles = [a.lang for a in articles]
    say(f"langid: timing {len(texts)} articles (mean {sum(len(t.encode()) for t in texts) // len(texts)} bytes)")
    naive_s, project_s, naive_labels, project_labels = _time_articles(texts)

    sentences: list[str] = []
    expected: list[str] = []
    for lang in languages:
        chosen = load_sentences(lang)[:sentences_per_language]
        sentences.extend(chosen)
        expected.extend([lang] * len(chosen))
    say(f"langid: accuracy on {len(sentences)} sentences (langdetect in worker processes, not timed)")
    baseline_labels, ours = _langdetect_parallel(sentences, lambda: [detect_language(s).lang for s in sentences])

    naive_rate = len(texts) / naive_s
    project_rate = len(texts) / project_s
    speedup = project_rate / naive_rate
    accuracy = _percent(ours, expected)
    baseline = _percent(baseline_labels, expected)
    article_accuracy = _percent(project_labels, expected_articles)
    baseline_article_accuracy = _percent(naive_labels, expected_articles)
    per_language: dict[str, list[float]] = {}
    for lang in languages:
        picked = [i for i, e in enumerate(expected) if e == lang]
        truth = [lang] * len(picked)
        per_language[lang] = [
            round(_percent([ours[i] for i in picked], truth), 1),
            round(_percent([baseline_labels[i] for i in picked], truth), 1),
        ]
    say(f"langid: {speedup:.1f}x faster; accuracy {accuracy:.2f}% vs langdetect {baseline:.2f}%")
    return [
        Result(
            name="langid.speedup",
            value=round(speedup, 2),
            unit="x",
            baseline=round(naive_rate, 2),
            target=f">= {SPEEDUP_TARGET:g}x",
            met=speedup >= SPEEDUP_TARGET,
            detail={
                "articles": len(texts),
                "mean_bytes": sum(len(t.encode()) for t in texts) / len(texts),
                "naive_articles_per_s": round(naive_rate, 2),
                "project_articles_per_s": round(project_rate, 2),
                "naive_ms_per_article": round(1000 * naive_s / len(texts), 3),
                "project_ms_per_article": round(1000 * project_s / len(texts), 3),
                "naive_load_s": round(naive_load, 3),
                "project_load_s": round(project_load, 3),
            },
        ),
        Result(
            name="langid.accuracy",
            value=round(accuracy, 2),
            unit="%",
            baseline=round(baseline, 2),
            target=f"within {ACCURACY_TOLERANCE:g} points of langdetect or better",
            met=accuracy >= baseline - ACCURACY_TOLERANCE,
            detail={
                "sentences": len(sentences),
                "languages": len(languages),
                "per_language": per_language,  # [ours, langdetect]
            },
        ),
        Result(
            name="langid.baseline_accuracy",
            value=round(baseline, 2),
            unit="%",
            detail={"sentences": len(sentences), "method": "langdetect.detect, DetectorFactory.seed = 0"},
        ),
        Result(
            name="langid.article_accuracy",
            value=round(article_accuracy, 2),
            unit="%",
            baseline=round(baseline_article_accuracy, 2),
            detail={"articles": len(texts), "seed": CORPUS_SEED},
        ),
        Result(
            name="langid.baseline_article_accuracy",
            value=round(baseline_article_accuracy, 2),
            unit="%",
            detail={"articles": len(texts), "method": "langdetect.detect(full_text), DetectorFactory.seed = 0"},
        ),
    ]


def _time_articles(texts: Sequence[str]) -> tuple[float, float, list[str], list[str]]:
    """Seconds for langdetect and for ``detect_language`` over ``texts``, timed in alternating chunks."""
    naive_s = project_s = 0.0
    naive: list[str] = []
    project: list[str] = []
    for start in range(0, len(texts), _TIMING_CHUNK):
        chunk = texts[start : start + _TIMING_CHUNK]
        began = time.perf_counter()
        naive.extend(_langdetect_labels(chunk))
        naive_s += time.perf_counter() - began
        began = time.perf_counter()
        project.extend(detect_language(text).lang for text in chunk)
        project_s += time.perf_counter() - began
    return naive_s, project_s, naive, project


def _langdetect_labels(texts: Sequence[str]) -> list[str]:
    """``langdetect.detect`` per text, seeded, with ``zh-cn``/``zh-tw`` as ``zh`` and errors as ``und``."""
    from langdetect import DetectorFactory, LangDetectException, detect

    DetectorFactory.seed = 0
    labels = []
    for text in texts:
        try:
            label = str(detect(text))
        except LangDetectException:
            label = "und"
        labels.append("zh" if label.startswith("zh-") else label)
    return labels


def _langdetect_parallel(texts: list[str], meanwhile: Callable[[], list[str]]) -> tuple[list[str], list[str]]:
    """``_langdetect_labels(texts)`` in worker processes (same labels as a serial run), and ``meanwhile()`` here."""
    workers = max(1, min(4, os.cpu_count() or 1))
    if workers == 1 or len(texts) < 500:
        return _langdetect_labels(texts), meanwhile()
    size = -(-len(texts) // (workers * 4))
    chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(_langdetect_labels, chunk) for chunk in chunks]
        ours = meanwhile()
        return [label for future in futures for label in future.result()], ours


def _percent(labels: Sequence[str], expected: Sequence[str]) -> float:
    if not expected:
        return 0.0
    return 100.0 * sum(a == b for a, b in zip(labels, expected, strict=True)) / len(expected)
