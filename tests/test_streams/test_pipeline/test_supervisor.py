"""The worker supervisor's decisions and loop, with fake processes and a fake clock."""

from __future__ import annotations

import signal
import subprocess

import pytest

from streams.pipeline.supervisor import RestartPolicy, Supervisor, worker_command


class FakeProcess:
    _next_pid = 100

    def __init__(self, slot: int, *, ignores_sigterm: bool = False) -> None:
        FakeProcess._next_pid += 1
        self.pid = FakeProcess._next_pid
        self.slot = slot
        self.code: int | None = None
        self.signals: list[int] = []
        self.ignores_sigterm = ignores_sigterm
        self.killed = False

    def poll(self) -> int | None:
        return self.code

    def send_signal(self, sig: int) -> None:
        self.signals.append(sig)
        if sig == signal.SIGTERM and not self.ignores_sigterm:
            self.code = 0

    def wait(self, timeout: float | None = None) -> int:
        if self.code is None:
            raise subprocess.TimeoutExpired("worker", timeout or 0)
        return self.code

    def kill(self) -> None:
        self.killed = True
        self.code = -9


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make(count: int = 2, **policy: float) -> tuple[Supervisor, list[FakeProcess], Clock]:
    spawned: list[FakeProcess] = []
    clock = Clock()

    def spawn(slot: int) -> FakeProcess:
        proc = FakeProcess(slot)
        spawned.append(proc)
        return proc

    supervisor = Supervisor(count, spawn, policy=RestartPolicy(**policy), clock=clock, stop_timeout=5)  # type: ignore[arg-type]
    return supervisor, spawned, clock


def test_restart_delay_doubles_up_to_a_cap() -> None:
    policy = RestartPolicy(base_delay=1, max_delay=10)
    assert [policy.delay(n) for n in (1, 2, 3, 4, 5, 6)] == [1, 2, 4, 8, 10, 10]


def test_giving_up_counts_only_recent_crashes() -> None:
    policy = RestartPolicy(max_restarts=2, window=60)
    assert not policy.gives_up([0, 10], now=20)
    assert policy.gives_up([0, 10, 20], now=20)
    assert not policy.gives_up([0, 10, 20], now=75)  # the first two are out of the window


def test_starts_one_process_per_slot() -> None:
    supervisor, spawned, _clock = make(3)
    supervisor.start()
    assert [p.slot for p in spawned] == [0, 1, 2]


def test_a_crashed_child_is_restarted_after_its_delay() -> None:
    supervisor, spawned, clock = make(2, base_delay=2)
    supervisor.start()
    spawned[1].code = -9  # SIGKILLed from outside
    assert supervisor.step()
    assert len(spawned) == 2  # not yet: the restart is delayed
    clock.now += 2
    assert supervisor.step()
    assert [p.slot for p in spawned] == [0, 1, 1]
    assert supervisor.restarts == 1


def test_a_crash_loop_makes_the_supervisor_give_up() -> None:
    supervisor, spawned, clock = make(2, max_restarts=2, window=60, base_delay=1)
    supervisor.start()
    for _ in range(2):
        spawned[-1].code = 1
        assert supervisor.step()
        clock.now += 10
        assert supervisor.step()
    spawned[-1].code = 1
    assert not supervisor.step()


def test_stop_sends_sigterm_and_kills_what_does_not_stop() -> None:
    stubborn = FakeProcess(1, ignores_sigterm=True)
    procs = [FakeProcess(0), stubborn]
    supervisor = Supervisor(2, lambda slot: procs[slot], clock=Clock(), stop_timeout=0)
    supervisor.start()
    supervisor.stop_all()
    assert procs[0].signals == [signal.SIGTERM]
    assert procs[0].killed is False
    assert stubborn.killed is True


def test_run_returns_0_after_a_requested_stop() -> None:
    supervisor, spawned, _clock = make(2)
    supervisor.request_stop()
    assert supervisor.run() == 0
    assert all(p.signals == [signal.SIGTERM] for p in spawned)


def test_at_least_one_process() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Supervisor(0, lambda slot: FakeProcess(slot))


def test_worker_command_names_the_slot_and_the_app_id() -> None:
    cmd = worker_command(1, app_id="newsmon-x", web=False)
    assert cmd[1:4] == ["-m", "streams", "worker"]
    assert cmd[cmd.index("--slot") + 1] == "1"
    assert cmd[cmd.index("--app-id") + 1] == "newsmon-x"
    assert "--no-web" in cmd
    assert "--no-web" not in worker_command(0, app_id="a", web=True)
