"""`newsmon worker --processes 2` on the real broker: both alert, a killed one comes back, SIGTERM stops all."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from support import REPO, Env, collect, values

from streams.kafka.topics import ALERTS

pytestmark = pytest.mark.kafka


def children(proc: subprocess.Popen[bytes]) -> list[psutil.Process]:
    return [c for c in psutil.Process(proc.pid).children() if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]


def wait_for(condition: object, what: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90.0) -> None:
    """Poll the process table (nothing to await there) until ``condition()`` holds."""
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(
                f"the supervisor exited ({proc.returncode}) waiting for {what}:\n{log.read_text()[-3000:]}"
            )
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


async def test_two_processes_alert_restart_a_killed_one_and_stop_on_sigterm(newsmon_env: Env, tmp_path: Path) -> None:
    env = newsmon_env
    log = tmp_path / "supervisor.log"
    with open(log, "wb") as out:
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "streams", "worker", "--processes", "2", "--no-web", "--app-id", env.app_id],
            env=env.environ(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: len(children(supervisor)) == 2, "two worker processes", supervisor, log)
        first_pids = {c.pid for c in children(supervisor)}
        replay = env.cli("replay", "--create-topics", str(REPO / "seeds"))
        assert replay.returncode == 0, replay.stderr
        alerts = await collect(env.bootstrap, [env.topic(ALERTS)], lambda rs: len(rs) >= 3, timeout=120)
        assert {a["data"]["theme"] for a in values(alerts)}, alerts

        victim = psutil.Process(min(first_pids))
        victim.kill()
        wait_for(
            lambda: len(children(supervisor)) == 2 and {c.pid for c in children(supervisor)} != first_pids,
            "the killed worker to be restarted",
            supervisor,
            log,
        )
        assert "restarting in" in log.read_text()

        survivors = children(supervisor)
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=90) == 0, log.read_text()[-3000:]
        _gone, alive = psutil.wait_procs(survivors, timeout=10)
        assert not alive, f"children left running after the supervisor stopped: {alive}"
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
            supervisor.wait()
