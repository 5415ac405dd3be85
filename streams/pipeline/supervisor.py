"""``newsmon worker --processes N``: N worker processes on one machine, under one supervisor.

The processes are ordinary workers with the same app id, so they form one consumer group
and Kafka shares the raw topic's partitions between them (and with workers on other
machines).  The supervisor only starts, restarts and stops them:

- a child that exits on its own (a crash, an OOM kill) is started again after a delay
  that doubles with each recent crash; more than ``max_restarts`` crashes within
  ``window`` seconds means something is wrong with the deployment, not with one
  process: the supervisor stops the others and exits 1;
- SIGTERM or SIGINT stops every child with SIGTERM (each flushes and commits), waits up
  to ``stop_timeout`` seconds, then SIGKILLs what is left; the supervisor exits 0.

Each child gets its own slot number: its table state lives in its own directory and its
web server on ``NEWSMON_WEB_PORT + slot``.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger("newsmon.supervisor")


@dataclass(frozen=True)
class RestartPolicy:
    """When to restart a crashed child, and when to give up."""

    max_restarts: int = 5
    window: float = 60.0
    base_delay: float = 1.0
    max_delay: float = 30.0

    def delay(self, recent_crashes: int) -> float:
        """Seconds to wait before the restart that follows ``recent_crashes`` crashes (>= 1)."""
        return float(min(self.max_delay, self.base_delay * 2 ** max(0, recent_crashes - 1)))

    def recent(self, crash_times: Sequence[float], now: float) -> int:
        return sum(1 for t in crash_times if now - t <= self.window)

    def gives_up(self, crash_times: Sequence[float], now: float) -> bool:
        return self.recent(crash_times, now) > self.max_restarts


class Process(Protocol):
    pid: int

    def poll(self) -> int | None: ...

    def send_signal(self, sig: int) -> None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def kill(self) -> None: ...


Spawn = Callable[[int], Process]


@dataclass
class Slot:
    index: int
    process: Process | None = None
    crashes: list[float] = field(default_factory=list)
    restart_at: float | None = None


class Supervisor:
    """Keeps ``count`` children running until stopped; ``spawn(slot)`` starts one."""

    def __init__(
        self,
        count: int,
        spawn: Spawn,
        *,
        policy: RestartPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        stop_timeout: float = 60.0,
        tick: float = 0.2,
    ) -> None:
        if count < 1:
            raise ValueError(f"count must be at least 1, not {count}")
        self.slots = [Slot(i) for i in range(count)]
        self.spawn = spawn
        self.policy = policy or RestartPolicy()
        self.clock = clock
        self.stop_timeout = stop_timeout
        self.tick = tick
        self.stopping = threading.Event()
        self.restarts = 0

    def request_stop(self, *_: object) -> None:
        self.stopping.set()

    def start(self) -> None:
        for slot in self.slots:
            self._start(slot)

    def _start(self, slot: Slot) -> None:
        slot.process = self.spawn(slot.index)
        slot.restart_at = None
        log.info("worker %d started (pid %d)", slot.index, slot.process.pid)

    def step(self) -> bool:
        """One round: notice exited children, restart those due.  False when the supervisor gives up."""
        now = self.clock()
        for slot in self.slots:
            proc = slot.process
            if proc is not None and (code := proc.poll()) is not None:
                slot.process = None
                slot.crashes.append(now)
                if self.policy.gives_up(slot.crashes, now):
                    log.error(
                        "worker %d exited (%s) %d times within %.0fs; giving up",
                        slot.index, code, self.policy.recent(slot.crashes, now), self.policy.window,
                    )  # fmt: skip
                    return False
                delay = self.policy.delay(self.policy.recent(slot.crashes, now))
                slot.restart_at = now + delay
                log.warning("worker %d (pid %d) exited with %s; restarting in %.1fs", slot.index, proc.pid, code, delay)
            if slot.process is None and slot.restart_at is not None and now >= slot.restart_at:
                self._start(slot)
                self.restarts += 1
        return True

    def run(self) -> int:
        """Start the children, keep them running until a stop is requested; the exit code."""
        self.start()
        healthy = True
        while not self.stopping.is_set():
            if not self.step():
                healthy = False
                break
            self.stopping.wait(self.tick)
        self.stop_all()
        return 0 if healthy else 1

    def stop_all(self) -> None:
        running = [s.process for s in self.slots if s.process is not None and s.process.poll() is None]
        for proc in running:
            proc.send_signal(signal.SIGTERM)
        deadline = self.clock() + self.stop_timeout
        for proc in running:
            try:
                proc.wait(timeout=max(0.0, deadline - self.clock()))
            except subprocess.TimeoutExpired:
                log.warning("worker pid %d did not stop within %.0fs; killing it", proc.pid, self.stop_timeout)
                proc.kill()
                proc.wait()
        for slot in self.slots:
            slot.process = None


def worker_command(slot: int, *, app_id: str, web: bool) -> list[str]:
    cmd = [sys.executable, "-m", "streams", "worker", "--app-id", app_id, "--slot", str(slot)]
    return cmd + ([] if web else ["--no-web"])


def spawn_worker(*, app_id: str, web: bool, web_port: int) -> Spawn:
    """Start ``newsmon worker --slot N`` with this process's environment and terminal."""

    def spawn(slot: int) -> Process:
        env = dict(os.environ)
        env["NEWSMON_WEB_PORT"] = str(web_port + slot)
        # A session of its own: Ctrl-C reaches the supervisor only, which stops the children in order.
        return subprocess.Popen(
            worker_command(slot, app_id=app_id, web=web), env=env, stdin=subprocess.DEVNULL, start_new_session=True
        )

    return spawn


def supervise(count: int, *, app_id: str, web: bool, web_port: int) -> int:
    """Run ``count`` workers until SIGTERM/SIGINT; the exit code (0 stopped cleanly, 1 gave up)."""
    supervisor = Supervisor(count, spawn_worker(app_id=app_id, web=web, web_port=web_port))
    previous = {sig: signal.signal(sig, supervisor.request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return supervisor.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
