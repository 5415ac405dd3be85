"""The worker's /metrics and /health on the real broker: counters move by exactly what a test sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import Env, collect, produce, values
from web_support import Samples, scrape, settle, total, wait_ready, web_worker

from agents.records import encode

pytestmark = pytest.mark.kafka

ARTICLES = [
    {"title": "Greenland in the news", "body": "Trump repeats his demand to buy Greenland from Denmark."},
    {"title": "Copenhagen answers", "body": "Denmark's prime minister says Greenland is not for sale to the US."},
    {"title": "Weather", "body": "Light rain is expected in the afternoon, clearing by the evening."},
]
BAD = [b'{"title": "unterminated', json.dumps({"url": "https://example.test/x"}).encode()]


def counts(samples: Samples, env: Env) -> dict[str, float]:
    return {
        "in": total(samples, "newsmon_articles_in_total", topic=env.topic("news.articles.raw")),
        "out": total(samples, "newsmon_articles_out_total", topic=env.topic("news.articles.tagged")),
        "enriched": total(samples, "newsmon_articles_out_total", topic=env.topic("news.articles.enriched")),
        "alerts": total(samples, "newsmon_alerts_total"),
        "dlq": total(samples, "newsmon_dead_letters_total", stage="decode"),
        "latency": total(samples, "newsmon_processing_seconds_count"),
    }


async def test_metrics_count_exactly_what_was_sent_and_health_reports_ready(newsmon_env: Env, tmp_path: Path) -> None:
    env = newsmon_env
    worker = web_worker(env, tmp_path / "worker.log").start()
    try:
        health = await wait_ready(worker, worker.url + "/health")
        assert health["themes_loaded"] is True
        assert health["partitions_assigned"] is True
        assert len([p for p in health["partitions"] if "articles.raw" in p]) == 6  # type: ignore[attr-defined]
        text, before = await scrape(worker.url + "/metrics")
        assert "# TYPE newsmon_processing_seconds histogram" in text
        assert total(before, "newsmon_ready") == 1
        start = counts(before, env)

        await produce(
            env.bootstrap,
            env.topic("news.articles.raw"),
            [(f"a{i}".encode(), encode(a)) for i, a in enumerate(ARTICLES)] + [(b"bad", v) for v in BAD],
        )
        sent = len(ARTICLES) + len(BAD)
        want = {"in": sent, "out": len(ARTICLES), "enriched": len(ARTICLES), "dlq": len(BAD), "latency": sent}
        await collect(
            env.bootstrap,
            [env.topic("news.articles.tagged")],
            lambda rs: len(rs) >= len(ARTICLES),
            alive=lambda: worker.alive,
        )
        await collect(
            env.bootstrap, [env.topic("news.dlq")], lambda rs: len(rs) >= len(BAD), alive=lambda: worker.alive
        )
        after = await settle(
            worker.url + "/metrics", lambda s: all(counts(s, env)[k] - start[k] >= v for k, v in want.items())
        )
        delta = {k: v - start[k] for k, v in counts(after, env).items()}
        n_alerts = int(delta.pop("alerts"))
        assert delta == want
        assert n_alerts >= 2, "the two Greenland articles alert"
        # Each alert is counted just before it is sent: the topic gets exactly that many.
        alerts = await collect(
            env.bootstrap, [env.topic("news.alerts")], lambda rs: len(rs) >= n_alerts, alive=lambda: worker.alive
        )
        assert len(values(alerts)) == n_alerts
        for alert in values(alerts):
            kind, theme = alert["data"]["kind"], alert["data"]["theme"]
            assert total(after, "newsmon_alerts_total", kind=kind, theme=theme) >= 1
        lag = {dict(ls)["partition"]: v for (n, ls), v in after.items() if n == "newsmon_consumer_lag"}
        assert sorted(lag, key=int) == [str(p) for p in range(6)]
        assert all(v >= 0 for v in lag.values())
    finally:
        worker.stop()
