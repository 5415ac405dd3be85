"""Child processes of newsmon: a worker (or another app) for one isolated deployment.

The demo, the benchmark and the tests start workers the same way: ``python -m streams
worker`` with the deployment's environment, its output in a log file, stopped with
SIGTERM.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from streams.settings import Settings


class ChildExited(RuntimeError):
    """A child process died while it was needed; the message carries the end of its log."""


@dataclass(frozen=True)
class Deployment:
    """One isolated pipeline on the broker: its own topic prefix, app id and state directory."""

    bootstrap: str
    prefix: str
    app_id: str
    state_dir: Path
    themes_file: Path
    extra: dict[str, str] = field(default_factory=dict)  # more environment for the child (not Faust: it reads none)

    def topic(self, base: str) -> str:
        return f"{self.prefix}{base}"

    @property
    def settings(self) -> Settings:
        return Settings(
            kafka_bootstrap_servers=self.bootstrap,
            topic_prefix=self.prefix,
            state_dir=self.state_dir,
            themes_file=self.themes_file,
        )

    def environ(self) -> dict[str, str]:
        """This process's environment, newsmon's variables replaced by the deployment's."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
        env.update(
            {
                "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
                "NEWSMON_TOPIC_PREFIX": self.prefix,
                "NEWSMON_STATE_DIR": str(self.state_dir),
                "NEWSMON_THEMES_FILE": str(self.themes_file),
                "NEWSMON_LOG_LEVEL": "INFO",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.extra)
        return env


class Child:
    """A measured process (worker or baseline app), its output in a log file; stopped with SIGTERM."""

    def __init__(self, name: str, cmd: Sequence[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.cmd = list(cmd)
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.killed = False

    def start(self) -> Child:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM and wait; SIGKILL after ``timeout`` (``killed`` says so).  The exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.killed = True
                self.kill()
        return self.proc.returncode

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def check(self) -> None:
        if not self.alive:
            code = self.proc.returncode if self.proc is not None else None
            raise ChildExited(f"{self.name} exited ({code}); last lines of {self.log_path}:\n{self.log_tail()}")


def worker_child(dep: Deployment, log_path: Path, *, slot: int = 0) -> Child:
    """``newsmon worker`` for ``dep`` (no web server), logging to ``log_path``.

    Several workers of one deployment on one machine need distinct ``slot`` numbers (each
    keeps its table state in its own directory).
    """
    cmd = [sys.executable, "-m", "streams", "worker", "--no-web", "--app-id", dep.app_id]
    if slot:
        cmd += ["--slot", str(slot)]
    return Child(f"worker-{slot}" if slot else "worker", cmd, dep.environ(), log_path)
