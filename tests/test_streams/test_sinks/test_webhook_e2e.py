"""The worker's real alerts on the seeds, through `newsmon deliver webhook`, across a receiver outage and a SIGKILL."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from aiohttp import web
from support import REPO, Env, WorkerProcess, collect, values
from webhook_support import Deliverer, Received, Receiver, docs_verify

from agents.seeds import parse_seed_file
from streams.kafka.consumers import committed_offsets, end_offsets, read_to_end
from streams.kafka.topics import ALERTS

pytestmark = pytest.mark.kafka

SEEDS = REPO / "seeds"
SECRET = b"e2e-secret"


def seed_ids() -> set[str]:
    """The article ids of the seed files, parsed by the same code the replay uses."""
    return {
        parse_seed_file(p.read_bytes(), path=str(p), fetched_at="2026-12-03T12:00:00Z")[0]["id"]
        for p in SEEDS.glob("*.txt")
    }


async def test_every_real_alert_arrives_verified_across_an_outage_and_a_kill(newsmon_env: Env, tmp_path: Path) -> None:
    env = newsmon_env
    result = await asyncio.to_thread(env.cli, "replay", "--create-topics", "--quiet", str(SEEDS))
    assert result.returncode == 0, result.stderr
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        wanted = seed_ids()
        await collect(
            env.bootstrap,
            [env.topic("news.articles.tagged")],
            lambda rs: {v["id"] for v in values(rs)} >= wanted,
            alive=lambda: worker.alive,
        )
    finally:
        worker.stop()  # SIGTERM: every alert of the seeds is on news.alerts once it has exited
    alerts = values(await read_to_end(env.bootstrap, [env.topic(ALERTS)]))
    expected = {a["id"] for a in alerts}
    assert len(expected) >= 4, "the seeds should raise several alerts"

    receiver = await Receiver().start()
    gate = asyncio.Event()
    outage = 3
    kill_at = outage + len(expected) // 2 + 1

    async def plan(_r: Received, _n: int) -> web.StreamResponse:
        if len(receiver.requests) <= outage:
            return web.Response(status=503, text="down for maintenance")
        if len(receiver.requests) >= kill_at:
            await gate.wait()  # held: the sink is SIGKILLed with this POST in flight
        return web.Response(status=200)

    receiver.plan = plan
    secret = tmp_path / "hook.secret"
    secret.write_bytes(SECRET)
    os.chmod(secret, 0o600)
    log = tmp_path / "deliver.log"
    try:
        first = await Deliverer(env, receiver.url, secret, log).start()
        try:
            await receiver.wait_for(lambda rs: len(rs) >= kill_at)
        finally:
            await first.kill()
        before = len(receiver.requests)
        in_flight = receiver.requests[kill_at - 1].key
        gate.set()
        second = await Deliverer(env, receiver.url, secret, log).start()
        try:
            # every alert, and the one in flight at the kill again (it counts in the first set already)
            await receiver.wait_for(
                lambda rs: {r.key for r in rs[outage:]} >= expected and in_flight in {r.key for r in rs[before:]}
            )
        finally:
            assert await second.terminate() == 0, log.read_text()
    finally:
        await receiver.stop()

    by_id = {a["id"]: a for a in alerts}
    for r in receiver.requests:
        assert docs_verify(SECRET, r.headers["Newsmon-Signature"], r.body)
        assert json.loads(r.body) == by_id[r.key]
    assert [r.headers["Newsmon-Delivery-Attempt"] for r in receiver.requests[:outage]] == ["1", "2", "3"]
    delivered = {r.key for r in receiver.requests[outage:]}
    assert delivered == expected  # every alert, none invented
    repeats = [r.key for r in receiver.requests[outage:]]
    assert len(repeats) - len(set(repeats)) <= 1, "only the alert in flight at the kill may arrive twice"
    assert in_flight in {r.key for r in receiver.requests[before:]}, "the alert in flight at the kill is sent again"
    tps = list(await end_offsets(env.bootstrap, [env.topic(ALERTS)]))
    done = await committed_offsets(env.bootstrap, f"{env.prefix}webhook", tps)
    ends = await end_offsets(env.bootstrap, [env.topic(ALERTS)])
    assert {tp: done[tp] or 0 for tp in ends} == dict(ends)
