"""The worker's /metrics and /health on the real broker: counters move by exactly what a test sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import SHIPPED_THEMES, Env, collect, produce, values
from web_support import Samples, scrape, settle, total, wait_ready, web_worker

from agents.enrich import enrich
from agents.records import decode_raw_article, encode
from agents.themes import Tagger, load_theme_file

pytestmark = pytest.mark.kafka

ARTICLES = [
    {"title": "Greenland in the news", "body": "Trump repeats his demand to buy Greenland from Denmark."},
    {"title": "Copenhagen answers", "body": "Denmark's prime minister says Greenland is not for sale to the US."},
    {"title": "Weather", "body": "Light rain is expected in the afternoon, clearing by the evening."},
]
BAD = [b'{"title": "unterminated', json.dumps({"url": "https://example.test/x"}).encode()]


def expected_alerts(articles: list[dict[str, str]]) -> int:
    tagger = Tagger(load_theme_file(SHIPPED_THEMES))
    return sum(len(enrich(decode_raw_article(encode(a)), tagger, processed_at="t")["themes"]) for a in articles)


def counts(samples: Samples, env: Env) -> dict[str, float]:
    return {
        "in": total(samples, "newsmon_articles_in_total", topic=env.topic("news.articles.raw")),
        "out": total(samples, "newsmon_articles_out_total", topic=env.topic("news.articles.tagged")),
        "alerts": total(samples, "newsmon_alerts_total", kind="theme_match"),
        "dlq": total(samples, "newsmon_dead_letters_total", stage="decode"),
        "latency": total(samples, "newsmon_processing_seconds_count"),
    }


async def test_metrics_count_exactly_what_was_sent_and_health_reports_ready(newsmon_env: Env, tmp_path: Path) -> None:
    env = newsmon_env
    n_alerts = expected_alerts(ARTICLES)
    assert n_alerts >= 2, "the on-theme articles must alert"
    worker = web_worker(env, tmp_path / "worker.log").start()
    try:
        health = await wait_ready(worker, worker.url + "/health")
        assert health["themes_loaded"] is True
        assert health["partitions_assigned"] is True
        assert len(health["partitions"]) == 6  # type: ignore[arg-type]
        text, before = await scrape(worker.url + "/metrics")
        assert "# TYPE newsmon_processing_seconds histogram" in text
        assert total(before, "newsmon_ready") == 1
        start = counts(before, env)

        await produce(
            env.bootstrap,
            env.topic("news.articles.raw"),
            [(f"a{i}".encode(), encode(a)) for i, a in enumerate(ARTICLES)] + [(b"bad", v) for v in BAD],
        )
        alerts = await collect(
            env.bootstrap, [env.topic("news.alerts")], lambda rs: len(rs) >= n_alerts, alive=lambda: worker.alive
        )
        await collect(
            env.bootstrap, [env.topic("news.dlq")], lambda rs: len(rs) >= len(BAD), alive=lambda: worker.alive
        )
        sent = len(ARTICLES) + len(BAD)
        want = {"in": sent, "out": len(ARTICLES), "alerts": n_alerts, "dlq": len(BAD), "latency": sent}
        after = await settle(
            worker.url + "/metrics", lambda s: all(counts(s, env)[k] - start[k] >= v for k, v in want.items())
        )
        delta = {k: v - start[k] for k, v in counts(after, env).items()}
        assert delta == want
        assert len(values(alerts)) == n_alerts
        by_theme = {a["data"]["theme"] for a in values(alerts)}
        for theme in by_theme:
            assert total(after, "newsmon_alerts_total", theme=theme) >= 1
        lag = {dict(ls)["partition"]: v for (n, ls), v in after.items() if n == "newsmon_consumer_lag"}
        assert sorted(lag, key=int) == [str(p) for p in range(6)]
        assert all(v >= 0 for v in lag.values())
    finally:
        worker.stop()
