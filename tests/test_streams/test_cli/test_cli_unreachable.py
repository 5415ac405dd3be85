"""Every command that talks to Kafka, against a cluster that is not there: one line, exit 1.

Each command runs as ``python -m streams ...`` in a subprocess with
``KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:1`` (nothing listens on port 1), a clean
environment and an empty working directory.  It must print exactly one stderr line,
``newsmon: error: cannot reach Kafka at 127.0.0.1:1 ...``, no traceback, no
"Unclosed AIOKafkaConsumer", and exit 1.  A listener that accepts connections and
never answers shows that ``NEWSMON_KAFKA_CONNECT_TIMEOUT`` bounds the wait.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.settings import env_var_names

REPO = Path(__file__).resolve().parents[3]
NOWHERE = "127.0.0.1:1"

COMMANDS: dict[str, list[str]] = {
    "alerts": ["alerts"],
    "alerts --follow": ["alerts", "--follow"],
    "themes list": ["themes", "list"],
    "themes show": ["themes", "show", "greenland"],
    "themes put": ["themes", "put", str(REPO / "themes" / "themes.toml")],
    "themes rm": ["themes", "rm", "greenland"],
    "worker": ["worker", "--no-web"],
    "demo": ["demo"],
    "bench": ["bench", "--tiny", "--only", "e2e"],
    "bench, every section": ["bench", "--quick"],
    "replay": ["replay", str(REPO / "seeds")],
    "broker status": ["broker", "status"],
    "dashboard": ["dashboard"],
}


def newsmon(args: list[str], cwd: Path, *, timeout: float = 60.0, **variables: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in env_var_names().values()}
    env.update({"NEWSMON_STATE_DIR": str(cwd / "state"), "PYTHONPATH": str(REPO), **variables})
    return subprocess.run(
        [sys.executable, "-m", "streams", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_one_clean_line(result: subprocess.CompletedProcess[str], address: str) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    assert "Unclosed" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"newsmon: error: cannot reach Kafka at {address}"), lines[0]
    assert result.returncode == 1, (result.returncode, result.stderr)
    return lines[0]


@pytest.mark.parametrize("args", COMMANDS.values(), ids=list(COMMANDS))
def test_an_unreachable_cluster_is_one_line_and_exit_1(args: list[str], tmp_path: Path) -> None:
    started = time.monotonic()
    result = newsmon(args, tmp_path, KAFKA_BOOTSTRAP_SERVERS=NOWHERE)
    line = assert_one_clean_line(result, NOWHERE)
    assert "KAFKA_BOOTSTRAP_SERVERS" in line, "the line says what to check"
    assert result.stdout == "", "nothing ran before the check"
    # a refused connection is known at once; bench in particular ran no section first
    assert time.monotonic() - started < 30


@pytest.fixture
def silent_listener() -> Iterator[str]:
    """A TCP port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield f"127.0.0.1:{server.getsockname()[1]}"


@pytest.mark.parametrize("args", [COMMANDS["alerts"], COMMANDS["broker status"]], ids=["alerts", "broker status"])
def test_the_wait_is_bounded_by_the_connect_timeout(args: list[str], tmp_path: Path, silent_listener: str) -> None:
    started = time.monotonic()
    result = newsmon(args, tmp_path, KAFKA_BOOTSTRAP_SERVERS=silent_listener, NEWSMON_KAFKA_CONNECT_TIMEOUT="1.5")
    elapsed = time.monotonic() - started
    line = assert_one_clean_line(result, silent_listener)
    assert "no answer within 1.5s" in line
    assert 1.5 <= elapsed < 20, elapsed


def test_no_embedded_broker_is_one_line_and_exit_1(tmp_path: Path) -> None:
    result = newsmon(["alerts"], tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "newsmon: error: No Kafka broker: run `newsmon broker start` (embedded broker) or set KAFKA_BOOTSTRAP_SERVERS."
    ]


@pytest.mark.kafka
def test_broker_status_of_a_reachable_external_cluster_exits_0(kafka_bootstrap: str, tmp_path: Path) -> None:
    result = newsmon(["broker", "status"], tmp_path, KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"external cluster (KAFKA_BOOTSTRAP_SERVERS): {kafka_bootstrap}, answering"


@pytest.mark.parametrize(
    "args",
    [["alerts", "--bogus"], ["no-such-command"], ["replay"], ["replay", "--rate", "-1", "seeds"]],
    ids=["unknown option", "unknown command", "missing argument", "bad value"],
)
def test_usage_errors_use_the_same_prefix(args: list[str], tmp_path: Path) -> None:
    result = newsmon(args, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Usage: ")
    assert lines[-1].startswith("newsmon: error: "), result.stderr
    assert not any(line.startswith("Error:") for line in lines)


def test_replay_refuses_a_malformed_bootstrap_option(tmp_path: Path) -> None:
    result = newsmon(["replay", "--bootstrap-servers", "host:notaport", str(REPO / "seeds")], tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "newsmon: error: --bootstrap-servers 'host:notaport': "
        "must be a comma-separated list of host:port (e.g. broker1:9092,broker2:9092)"
    ]
