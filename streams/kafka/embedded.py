"""The embedded broker: a real single-node Apache Kafka 4.x (KRaft) on loopback.

No Docker and no tarball: the broker's jars are resolved from Maven Central with
Maven (``streams/kafka/pom.xml``) into a cache outside git, storage is formatted on
first use, and the JVM runs in the background with its data, log and pid file
under ``<state dir>/broker``.  Decisions (ports, properties, version parsing) are
small pure functions; the class around them does the I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from streams.kafka.limits import MAX_MESSAGE_BYTES
from streams.settings import Settings

KAFKA_MAIN = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"
MIN_JAVA = 17

log = logging.getLogger(__name__)


class BrokerError(RuntimeError):
    """Anything that stops the embedded broker from starting, stopping or answering."""


@dataclass(frozen=True)
class BrokerState:
    """What ``broker.json`` remembers between starts."""

    port: int
    controller_port: int
    cluster_id: str

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@dataclass(frozen=True)
class BrokerStatus:
    running: bool
    pid: int | None
    address: str | None
    external: bool = False


# --------------------------------------------------------------------------- pure helpers


def parse_java_major(version_output: str) -> int | None:
    """The major version from ``java -version`` output (``"17.0.15"`` -> 17, ``"1.8.0"`` -> 8)."""
    match = re.search(r'version "(\d+)(?:\.(\d+))?', version_output)
    if not match:
        return None
    major = int(match.group(1))
    if major == 1 and match.group(2):
        return int(match.group(2))
    return major


def server_properties(*, port: int, controller_port: int, data_dir: Path) -> str:
    """The single-node KRaft configuration, loopback only."""
    lines = {
        "process.roles": "broker,controller",
        "node.id": "1",
        # Static voters (not a dynamic quorum) so a restart may move the controller port.
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(data_dir),
        "num.partitions": "1",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        # newsmon creates its topics explicitly, with the partitions and configs it documents.
        "auto.create.topics.enable": "false",
        "message.max.bytes": str(MAX_MESSAGE_BYTES),
        "replica.fetch.max.bytes": str(MAX_MESSAGE_BYTES),
        "log.retention.hours": "168",
        "log.cleaner.enable": "true",
    }
    return "".join(f"{key}={value}\n" for key, value in lines.items())


def new_cluster_id(random_bytes: Callable[[], bytes] = lambda: uuid.uuid4().bytes) -> str:
    """16 random bytes, URL-safe base64 without padding (what ``random-uuid`` prints).

    An id that starts with ``-`` is drawn again: the storage tool would read it as an option
    (``format -t -Abc...`` fails with "--cluster-id expected one argument").
    """
    import base64

    while True:
        cluster_id = base64.urlsafe_b64encode(random_bytes()).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def choose_port(preferred: list[int], taken: set[int], is_free: Callable[[int], bool]) -> int:
    """The first preferred port that is free and not already taken, else any free port."""
    for port in preferred:
        if port not in taken and is_free(port):
            return port
    while True:
        port = free_port()
        if port not in taken:
            return port


def tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def pom_path() -> Path:
    return Path(str(resources.files("streams.kafka").joinpath("pom.xml")))


def log4j_config_path() -> Path:
    return Path(str(resources.files("streams.kafka").joinpath("log4j2.xml")))


def kafka_version() -> str:
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", pom_path().read_text())
    if not match:
        raise BrokerError(f"{pom_path()}: no <kafka.version> property")
    return match.group(1)


# --------------------------------------------------------------------------- readiness


async def _answers_metadata(address: str, timeout: float) -> bool:
    from aiokafka.client import AIOKafkaClient  # local import: the CLI starts fast without it

    client = AIOKafkaClient(bootstrap_servers=address, request_timeout_ms=int(timeout * 1000), retry_backoff_ms=100)
    try:
        await asyncio.wait_for(client.bootstrap(), timeout)
        return bool(client.cluster.brokers())
    except Exception:
        return False
    finally:
        with contextlib.suppress(Exception):
            await client.close()


def answers_metadata(address: str, timeout: float = 3.0) -> bool:
    """True when a broker at ``address`` answers a metadata request with at least one broker."""
    quiet = logging.getLogger("aiokafka")
    previous = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        return asyncio.run(_answers_metadata(address, timeout))
    finally:
        quiet.setLevel(previous)


# --------------------------------------------------------------------------- the broker


class EmbeddedBroker:
    """Start, stop and inspect the embedded broker for one state directory."""

    def __init__(self, settings: Settings, *, say: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.home = settings.state_dir / "broker"
        self.data_dir = self.home / "data"
        self.pid_file = self.home / "broker.pid"
        self.state_file = self.home / "broker.json"
        self.properties_file = self.home / "server.properties"
        self.log_file = self.home / "broker.log"
        self.console_file = self.home / "console.log"
        self._say = say or (lambda message: log.info("%s", message))

    # ---- prerequisites

    def java(self) -> str:
        if self.settings.java_home is not None:
            candidate = self.settings.java_home / "bin" / "java"
            if not candidate.exists():
                raise BrokerError(f"JAVA_HOME={self.settings.java_home} has no bin/java")
            java = str(candidate)
        else:
            found = shutil.which("java")
            if found is None:
                raise BrokerError(
                    f"Java not found: the embedded broker needs Java {MIN_JAVA}+ on PATH "
                    "(or JAVA_HOME), or set KAFKA_BOOTSTRAP_SERVERS to use an existing cluster."
                )
            java = found
        result = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
        major = parse_java_major(result.stderr + result.stdout)
        if major is None or major < MIN_JAVA:
            raise BrokerError(f"{java} is Java {major or 'unknown'}; Apache Kafka 4.x needs Java {MIN_JAVA} or newer.")
        return java

    def jars_dir(self) -> Path:
        digest = hashlib.sha256(pom_path().read_bytes()).hexdigest()[:12]
        return self.settings.cache_dir / f"kafka-{kafka_version()}-{digest}"

    def resolve_jars(self) -> Path:
        """The broker's classpath directory, resolved with Maven on first use only."""
        target = self.jars_dir()
        marker = target / ".complete"
        if marker.exists():
            return target
        mvn = shutil.which("mvn")
        if mvn is None:
            raise BrokerError(
                "Maven (mvn) not found: it resolves the broker's jars on first use. "
                "Install Maven, or set KAFKA_BOOTSTRAP_SERVERS to use an existing cluster."
            )
        self._say(f"Resolving Apache Kafka {kafka_version()} jars with Maven into {target} (first run only)...")
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        result = subprocess.run(
            [
                mvn,
                "-B",
                "-q",
                "-f",
                str(pom_path()),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={partial}",
                "-DincludeScope=runtime",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            output = "\n".join((result.stdout + result.stderr).splitlines()[-25:])
            raise BrokerError(f"Maven could not resolve the broker's jars:\n{output}")
        (partial / ".complete").write_text(kafka_version())
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
        return target

    # ---- state

    def _load_state(self) -> BrokerState | None:
        try:
            raw = json.loads(self.state_file.read_text())
            return BrokerState(int(raw["port"]), int(raw["controller_port"]), str(raw["cluster_id"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _save_state(self, state: BrokerState) -> None:
        self.state_file.write_text(
            json.dumps(
                {"port": state.port, "controller_port": state.controller_port, "cluster_id": state.cluster_id},
                indent=2,
            )
        )

    def _read_pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if self._is_our_process(pid) else None

    def _is_our_process(self, pid: int) -> bool:
        """True when ``pid`` is a live broker started for this state directory (not a recycled pid)."""
        import psutil

        try:
            proc = psutil.Process(pid)
            if proc.status() == psutil.STATUS_ZOMBIE:
                return False
            return str(self.properties_file) in proc.cmdline()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return False

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.home / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # ---- commands

    def status(self) -> BrokerStatus:
        if self.settings.kafka_bootstrap_servers:
            return BrokerStatus(True, None, self.settings.kafka_bootstrap_servers, external=True)
        pid = self._read_pid()
        state = self._load_state()
        address = state.address if state else None
        return BrokerStatus(pid is not None, pid, address)

    def start(self) -> str:
        """Start (or find running) and return the bootstrap address once it answers."""
        if self.settings.kafka_bootstrap_servers:
            return self.settings.kafka_bootstrap_servers
        with self._locked():
            pid = self._read_pid()
            state = self._load_state()
            if pid is not None and state is not None:
                if answers_metadata(state.address):
                    return state.address
                return self._wait_ready(pid, state, None)
            java = self.java()
            jars = self.resolve_jars()
            state = self._plan(state)
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self.properties_file.write_text(
                server_properties(port=state.port, controller_port=state.controller_port, data_dir=self.data_dir)
            )
            self._save_state(state)
            if not (self.data_dir / "meta.properties").exists():
                self._format(java, jars, state)
            proc = self._launch(java, jars)
            self.pid_file.write_text(str(proc.pid))
            return self._wait_ready(proc.pid, state, proc)

    def _plan(self, previous: BrokerState | None) -> BrokerState:
        taken: set[int] = set()
        preferred = [previous.port] if previous else []
        preferred.append(self.settings.broker_port)
        port = choose_port(preferred, taken, port_is_free)
        if previous and port != previous.port:
            self._say(f"Port {previous.port} is in use; the broker moves to {port}.")
        elif not previous and port != self.settings.broker_port:
            self._say(f"Port {self.settings.broker_port} is in use; using free port {port}.")
        taken.add(port)
        controller_pref = [previous.controller_port] if previous else [self.settings.broker_port + 1]
        controller_port = choose_port(controller_pref, taken, port_is_free)
        cluster_id = previous.cluster_id if previous else self._new_cluster_id()
        return BrokerState(port, controller_port, cluster_id)

    @staticmethod
    def _new_cluster_id() -> str:
        return new_cluster_id()

    def _java_cmd(self, java: str, jars: Path, main: str, *args: str, heap: str = "256m") -> list[str]:
        return [
            java,
            "-Xms128m",
            f"-Xmx{heap}",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={log4j_config_path()}",
            f"-Dnewsmon.broker.log={self.log_file}",
            "-cp",
            str(jars / "*"),
            main,
            *args,
        ]

    def _format(self, java: str, jars: Path, state: BrokerState) -> None:
        self._say(f"Formatting broker storage in {self.data_dir} (first start only)...")
        result = subprocess.run(
            self._java_cmd(
                java,
                jars,
                STORAGE_TOOL,
                "format",
                "-t",
                state.cluster_id,
                "-c",
                str(self.properties_file),
                "--ignore-formatted",
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BrokerError(
                f"formatting broker storage failed:\n{result.stdout}{result.stderr}\n{tail(self.log_file)}"
            )

    def _launch(self, java: str, jars: Path) -> subprocess.Popen[bytes]:
        cmd = self._java_cmd(java, jars, KAFKA_MAIN, str(self.properties_file), heap=self.settings.broker_heap)
        console = open(self.console_file, "ab")  # noqa: SIM115 - handed to the child
        try:
            return subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.home,
            )
        finally:
            console.close()

    def _wait_ready(self, pid: int, state: BrokerState, proc: subprocess.Popen[bytes] | None) -> str:
        deadline = time.monotonic() + self.settings.broker_start_timeout
        while time.monotonic() < deadline:
            exited = proc.poll() is not None if proc is not None else not self._is_our_process(pid)
            if exited:
                self.pid_file.unlink(missing_ok=True)
                raise BrokerError(self._failure_message("the broker exited during start-up"))
            if answers_metadata(state.address, timeout=2.0):
                return state.address
            time.sleep(0.2)
        raise BrokerError(
            self._failure_message(
                f"the broker did not answer a metadata request within {self.settings.broker_start_timeout:.0f}s "
                f"(pid {pid} is still running; `newsmon broker stop` stops it)"
            )
        )

    def _failure_message(self, what: str) -> str:
        logs = tail(self.log_file)
        console = tail(self.console_file, 10)
        hint = ""
        if "Address already in use" in logs + console:
            hint = "\nA port it needs is in use by another process: set NEWSMON_BROKER_PORT or free the port."
        return f"{what}.{hint}\n--- last lines of {self.log_file} ---\n{logs}\n--- {self.console_file} ---\n{console}"

    def stop(self, timeout: float = 30.0, *, kill: bool = False) -> bool:
        """SIGTERM and wait.  Returns False when nothing was running."""
        if self.settings.kafka_bootstrap_servers:
            return False
        with self._locked():
            pid = self._read_pid()
            if pid is None:
                self.pid_file.unlink(missing_ok=True)
                return False
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if not _alive(pid):
                    self.pid_file.unlink(missing_ok=True)
                    return True
                time.sleep(0.1)
            if kill:
                os.kill(pid, signal.SIGKILL)
                while _alive(pid):
                    time.sleep(0.05)
                self.pid_file.unlink(missing_ok=True)
                return True
            raise BrokerError(
                f"the broker (pid {pid}) did not stop within {timeout:.0f}s of SIGTERM; it is still running. "
                f"Look at {self.log_file}, or run `newsmon broker stop --kill`."
            )


def _alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (reaps our own children)."""
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"
