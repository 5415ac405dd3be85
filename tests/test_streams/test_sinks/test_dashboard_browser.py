"""The dashboard in headless Chromium while the pipeline runs on the real broker.

The seed alerts render; a newly replayed on-theme article appears without a reload; a
title made of markup is shown as text and runs nothing (no dialog, no console error, no
request); the story view highlights the evidence.  ``NEWSMON_DASHBOARD_SCREENSHOT=docs/dashboard.png``
writes the README's screenshot (else it goes to the test's temporary directory).
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest
from browser_support import CHROMIUM_ARGS, ensure_chromium
from support import REPO, Env, collect, values
from web_support import ServedProcess, settle, total, wait_ready, web_worker

from agents.records import article_id, document_text

playwright_api = pytest.importorskip("playwright.async_api", reason="Playwright's Python package is not installed")

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(600)]

SEEDS = REPO / "seeds"
XSS_TITLE = "<script>alert(1)</script><img src=x onerror=alert(2)>"
LIVE = {
    "title": "Denmark rejects new US pressure on Greenland",
    "body": "Trump said again that the United States wants control of Greenland; Copenhagen and Nuuk refused.",
    "source": "test:live",
}
HOSTILE = {  # the worker strips markup from titles: this one arrives empty
    "title": XSS_TITLE,
    "body": "The White House repeated its demand to buy Greenland, and Denmark's government said no again.",
    "source": "<b>test</b>:raw <img src=x onerror=alert(3)>",
}
ENCODED = {  # escaped markup, as feeds carry it: after stripping, the title is the literal XSS string
    "title": XSS_TITLE.replace("<", "&lt;").replace(">", "&gt;"),
    "body": "Nuuk and Copenhagen again rejected Washington's plan to take over Greenland, said the Danish minister.",
    "source": "<b>test</b>:encoded <script>alert(4)</script>",
}
APPEAR_MS = 10_000  # "within a few seconds": replay, worker, topic, dashboard, browser


@pytest.fixture(scope="module")
def chromium() -> str:
    return ensure_chromium()


async def replay(env: Env, *paths: str) -> None:
    result = await asyncio.to_thread(env.cli, "replay", "--create-topics", "--quiet", *paths)
    assert result.returncode == 0, result.stderr


def jsonl(path: Path, article: dict[str, str]) -> str:
    path.write_text(json.dumps(article) + "\n", encoding="utf-8")
    return str(path)


async def test_dashboard_in_chromium(newsmon_env: Env, tmp_path: Path, chromium: str) -> None:
    env = newsmon_env
    n_seeds = len(list(SEEDS.glob("*.txt")))
    worker = web_worker(env, tmp_path / "worker.log").start()
    board = ServedProcess("dashboard", ["dashboard"], env, tmp_path / "dashboard.log", "NEWSMON_DASHBOARD_PORT")
    try:
        await wait_ready(worker, worker.url + "/health")
        await replay(env, str(SEEDS))
        tagged = await collect(
            env.bootstrap,
            [env.topic("news.articles.tagged")],
            lambda rs: len(rs) >= n_seeds,
            alive=lambda: worker.alive,
        )
        # The worker counts each alert just before sending it: once every seed is tagged, that is how many to expect.
        samples = await settle(worker.url + "/metrics", lambda s: total(s, "newsmon_alerts_total") > 0)
        n_alerts = int(total(samples, "newsmon_alerts_total"))
        found = await collect(
            env.bootstrap, [env.topic("news.alerts")], lambda rs: len(rs) >= n_alerts, alive=lambda: worker.alive
        )
        seed_alerts = {a["data"]["alert_id"]: a["data"] for a in values(found)}
        assert len(seed_alerts) == n_alerts
        records = {r["id"]: r for r in values(tagged)}
        board.start()
        await wait_ready(board, board.url + "/health")
        await in_browser(env, board, chromium, tmp_path, seed_alerts, records)
    finally:
        board.stop()
        worker.stop()


async def in_browser(
    env: Env,
    board: ServedProcess,
    chromium: str,
    tmp_path: Path,
    seed_alerts: dict[str, dict[str, Any]],
    records: dict[str, dict[str, Any]],
) -> None:
    dialogs: list[str] = []
    console: list[str] = []
    errors: list[str] = []
    foreign: list[str] = []
    async with playwright_api.async_playwright() as p:
        context = await p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),  # a fresh, empty profile
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            page = context.pages[0] if context.pages else await context.new_page()

            async def on_dialog(dialog: Any) -> None:
                dialogs.append(dialog.message)
                await dialog.dismiss()

            page.on("dialog", on_dialog)
            page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("request", lambda r: None if r.url.startswith(board.url) else foreign.append(r.url))

            response = await page.goto(board.url + "/")
            assert response is not None
            assert response.ok
            csp = response.headers["content-security-policy"]
            assert "script-src 'self'" in csp
            assert "default-src 'none'" in csp
            await page.evaluate("window.__loadedOnce = true")  # gone if the page reloads

            # 1. every seed alert renders, newest first
            ids = sorted(seed_alerts)
            await page.wait_for_function(
                "ids => ids.every(id => document.querySelector(`#alerts tr[data-alert-id='${id}']`))", arg=ids
            )
            times = await page.eval_on_selector_all("#alerts tbody tr td.time", "tds => tds.map(td => td.textContent)")
            assert times == sorted(times, reverse=True)
            titles = await page.eval_on_selector_all(
                "#alerts tbody tr",
                "rows => rows.map(r => [r.dataset.alertId, r.querySelector('td.title').textContent])",
            )
            shown = dict(titles)
            for alert_id, data in seed_alerts.items():
                assert shown[alert_id] == data["title"]

            # 2. the story view highlights the evidence in the article text
            first = seed_alerts[ids[0]]
            await page.click(f"#alerts tr[data-alert-id='{ids[0]}'] td.title a")
            await page.wait_for_selector("#story mark")
            marks = await page.eval_on_selector_all("#story mark", "ms => ms.map(m => m.textContent)")
            record = records[first["article_id"]]
            text = document_text(record["title"], record["body"])  # the tagged record's text is stripped already
            for e in first["evidence"]:
                assert any(text[e["start"] : e["end"]] in m for m in marks), (e, marks)
            assert await page.text_content("#story h3") == first["title"]
            await page.wait_for_selector("#themes .theme[data-theme='greenland']")
            await page.wait_for_function("document.querySelector('#volume polyline') !== null")
            shot = Path(os.environ.get("NEWSMON_DASHBOARD_SCREENSHOT") or tmp_path / "dashboard.png")
            await page.screenshot(path=str(shot))

            # 3. a newly replayed on-theme article appears without a reload, on top
            live_id = article_id(url=None, title=LIVE["title"], body=LIVE["body"])
            await replay(env, jsonl(tmp_path / "live.jsonl", LIVE))
            row = f"#alerts tbody tr[data-article-id='{live_id}']"
            await page.wait_for_selector(row, timeout=APPEAR_MS)
            assert await page.eval_on_selector("#alerts tbody tr", "r => r.dataset.articleId") == live_id
            assert await page.text_content(row + " td.title") == LIVE["title"]

            # 4. markup in titles and sources is text: no element, no script, no request
            hostile = tmp_path / "hostile.jsonl"
            hostile.write_text(json.dumps(HOSTILE) + "\n" + json.dumps(ENCODED) + "\n", encoding="utf-8")
            await replay(env, str(hostile))
            find = (
                "src => [...document.querySelectorAll('#alerts tbody tr')]"
                ".find(r => r.querySelector('td.source').textContent === src)"
            )
            for article in (HOSTILE, ENCODED):
                await page.wait_for_function(f"src => !!({find})(src)", arg=article["source"], timeout=APPEAR_MS)
            title_of = f"src => ({find})(src).querySelector('td.title').textContent"
            assert await page.evaluate(title_of, ENCODED["source"]) == XSS_TITLE
            assert await page.evaluate(title_of, HOSTILE["source"]) == "(no title)"  # stripped by the worker
            await page.evaluate(f"src => ({find})(src).querySelector('td.title a').click()", ENCODED["source"])
            await page.wait_for_function("t => document.querySelector('#story h3')?.textContent === t", arg=XSS_TITLE)
            story_text = await page.text_content("#story .text")
            assert story_text is not None
            assert story_text.startswith(XSS_TITLE)
            assert await page.evaluate("document.querySelectorAll('img, script:not([src]), b').length") == 0
            assert await page.evaluate("window.__loadedOnce") is True, "the page reloaded"
        finally:
            await context.close()
    assert dialogs == [], f"a script ran: {dialogs}"
    assert errors == [], errors
    assert [c for c in console if c.startswith("error")] == [], console
    assert foreign == [], f"requests to other hosts: {foreign}"
