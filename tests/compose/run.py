"""`make compose-test`: docker-compose.yml and the Dockerfile built and run for real.

Steps, each timed and printed:

1. a Docker engine: used when it answers; otherwise installed from Debian's packages (docker.io,
   docker-compose, debootstrap) and/or started (dockerd in the background). Where none can be
   started the test is skipped with a message saying why (exit 0; NEWSMON_COMPOSE_TEST_REQUIRED=1
   makes that a failure).
2. local stand-ins for the official images, for machines that cannot pull them, cached under
   ~/.cache/newsmon/docker (NEWSMON_DOCKER_CACHE) and in the engine's image store:
   a Debian bookworm rootfs made with debootstrap and loaded with `docker import`; on top of it
   local/python:3.11 (tests/compose/python-image, with a wheelhouse of the project's dependencies
   downloaded on the host with pip) and local/kafka:<version> (tests/compose/kafka-image, Java 17 and
   the Apache Kafka jars resolved on the host with Maven).
3. the newsmon image, built by `docker build` from the committed tree (`git archive HEAD`).
4. `docker-compose up -d`: every service of a plain `up` (broker, worker, replay, and any other
   service without a profile); waits on the healthchecks and on replay's exit status.
5. reads every alert in news.alerts through the broker's host-mapped port with aiokafka.
6. the restart check, twice: (a) stop the worker, replay the seeds again while it is down, start it;
   (b) replay the seeds again and SIGKILL the worker right after, start it. After each,
   wait until it has consumed everything: every alert id must still be there and no new one may
   appear (the same alert id delivered twice is allowed and counted).
7. `--scale worker=2`: two workers in one consumer group, each owning some of the raw topic's
   partitions; another replay adds no alert.
8. `docker-compose down -v`: containers, network and volumes removed, also on failure.

Run it with the project's virtual environment (aiokafka, pyyaml): `.venv/bin/python tests/compose/run.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CACHE = Path(os.environ.get("NEWSMON_DOCKER_CACHE", Path.home() / ".cache" / "newsmon" / "docker"))
PROJECT = "newsmon-compose-test"
BASE_IMAGE = "local/bookworm:minbase"
PYTHON_IMAGE = "local/python:3.11"
NEWSMON_IMAGE = "newsmon:compose-test"
RAW, ALERTS, GROUP = "news.articles.raw", "news.alerts", "newsmon"
HEALTH_TIMEOUT = 300.0
CATCH_UP_TIMEOUT = 180.0

T0 = time.monotonic()


class Skip(Exception):
    """No Docker engine can be used here."""


def say(message: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f}s] {message}", flush=True)


def run(
    cmd: Sequence[str], *, check: bool = True, capture: bool = False, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(cmd), text=True, capture_output=capture, check=False, **kwargs)
    if check and result.returncode != 0:
        detail = f"\n{result.stdout}\n{result.stderr}" if capture else ""
        raise RuntimeError(f"exit {result.returncode}: {' '.join(cmd)}{detail}")
    return result


@contextlib.contextmanager
def step(title: str, timings: dict[str, float]) -> Iterator[None]:
    say(f"== {title}")
    started = time.monotonic()
    yield
    timings[title] = time.monotonic() - started
    say(f"   {title}: {timings[title]:.1f}s")


def sha12(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


# --------------------------------------------------------------------------- the engine


def engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    return run(["docker", "info"], check=False, capture=True).returncode == 0


def ensure_engine() -> list[str]:
    """A working engine, installed and started when needed; returns the compose command."""
    missing = [tool for tool in ("dockerd", "docker", "docker-compose", "debootstrap") if shutil.which(tool) is None]
    if missing and not engine_answers():
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            raise Skip(f"{', '.join(missing)} missing, and they cannot be installed here (needs root and apt-get)")
        say(f"installing {' '.join(missing)} from Debian's packages (docker.io docker-compose debootstrap)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        run(["apt-get", "update", "-qq"], env=env)
        packages = ["docker.io", "docker-compose", "debootstrap"]
        run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages], env=env)
    if not engine_answers():
        if shutil.which("dockerd") is None:
            raise Skip("no Docker engine answers and dockerd is not installed")
        if os.geteuid() != 0:
            raise Skip("no Docker engine answers and only root can start dockerd here")
        CACHE.mkdir(parents=True, exist_ok=True)
        log = CACHE / "dockerd.log"
        say(f"starting dockerd in the background (log: {log})")
        with log.open("ab") as out:
            subprocess.Popen(["dockerd"], stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while not engine_answers():
            if time.monotonic() > deadline:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
                raise Skip(f"dockerd did not answer within 60 s:\n{tail}")
            time.sleep(1)
    info = run(
        ["docker", "info", "--format", "{{.ServerVersion}} {{.Driver}} cgroup v{{.CgroupVersion}}"], capture=True
    )
    say(f"engine: Docker {info.stdout.strip()}")
    if shutil.which("docker-compose"):
        compose = ["docker-compose"]
    elif run(["docker", "compose", "version"], check=False, capture=True).returncode == 0:
        compose = ["docker", "compose"]
    else:
        raise Skip("neither docker-compose nor the docker compose plugin is installed")
    say(f"compose: {run([*compose, 'version', '--short'], capture=True).stdout.strip()}")
    return compose


# --------------------------------------------------------------------------- local base images


def image_exists(tag: str) -> bool:
    return run(["docker", "image", "inspect", tag], check=False, capture=True).returncode == 0


def apt_mirror() -> str | None:
    """The Debian mirror apt on this machine uses, so debootstrap reaches the same one."""
    candidates = [Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list")]
    for path in candidates:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            words = line.split()
            if words[:1] == ["URIs:"] and len(words) > 1 and not words[1].endswith("-security"):
                return words[1]
            if words[:1] == ["deb"] and len(words) > 2 and "security" not in words[1]:
                return words[1] if not words[1].startswith("[") else words[2]
    return None


def ensure_base_image() -> None:
    if image_exists(BASE_IMAGE):
        say(f"{BASE_IMAGE}: present")
        return
    tarball = CACHE / "bookworm-minbase.tar"
    if not tarball.exists():
        rootfs = CACHE / "rootfs.partial"
        shutil.rmtree(rootfs, ignore_errors=True)
        mirror = apt_mirror()
        say("debootstrap --variant=minbase bookworm (from the mirror apt uses), about two minutes")
        run(["debootstrap", "--variant=minbase", "bookworm", str(rootfs), *([mirror] if mirror else [])], capture=True)
        partial = tarball.with_suffix(".tar.partial")
        run(["tar", "-C", str(rootfs), "-cf", str(partial), "."])
        partial.rename(tarball)
        shutil.rmtree(rootfs, ignore_errors=True)
    say(f"docker import {tarball.name} {BASE_IMAGE}")
    with tarball.open("rb") as data:
        run(["docker", "import", "-", BASE_IMAGE], stdin=data, capture=True)


def prune_siblings(kept: Path) -> None:
    """Delete the cache directories an older pyproject.toml or pom.xml made (``<prefix>-<digest>``)."""
    prefix = kept.name.rsplit("-", 1)[0] + "-"
    for old in kept.parent.glob(prefix + "*"):
        if old != kept and old.is_dir() and len(old.name) == len(kept.name):
            shutil.rmtree(old, ignore_errors=True)


def wheelhouse(src: Path) -> Path:
    """The project's runtime dependencies as wheels (and setuptools), downloaded on the host with pip."""
    target = CACHE / f"wheels-{sha12(src / 'pyproject.toml')}"
    if (target / ".complete").exists():
        return target
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    say(f"pip wheel: the dependencies of {src / 'pyproject.toml'} into {target}")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    run([*pip, "wheel", "--wheel-dir", str(partial), str(src)])
    run([*pip, "download", "--only-binary", ":all:", "--dest", str(partial), "setuptools>=68"])
    for own in partial.glob("newsmon-*.whl"):
        own.unlink()  # the image builds the project itself from its sources
    (partial / ".complete").touch()
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    prune_siblings(target)
    return target


def kafka_version(pom: Path) -> str:
    text = pom.read_text()
    return text.split("<kafka.version>", 1)[1].split("</kafka.version>", 1)[0].strip()


def kafka_jars(src: Path) -> Path:
    """The local Kafka image's jars, resolved on the host with Maven (tests/compose/kafka-image/pom.xml)."""
    pom = src / "tests" / "compose" / "kafka-image" / "pom.xml"
    target = CACHE / f"kafka-image-{kafka_version(pom)}-{sha12(pom)}"
    if (target / ".complete").exists():
        return target
    if shutil.which("mvn") is None:
        raise RuntimeError("Maven (mvn) is needed once, to resolve the local Kafka image's jars")
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    say(f"mvn dependency:copy-dependencies: Apache Kafka {kafka_version(pom)} into {target}")
    mvn = ["mvn", "-B", "-q", "-f", str(pom), "dependency:copy-dependencies", "-DincludeScope=runtime"]
    run([*mvn, f"-DoutputDirectory={partial}"], capture=True)
    (partial / ".complete").touch()
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    prune_siblings(target)
    return target


def staged_context(name: str, files: Path, extra: dict[str, Path]) -> Path:
    """A build context: the files of ``files`` plus directories hard-linked from the cache."""
    context = CACHE / f"context-{name}"
    shutil.rmtree(context, ignore_errors=True)
    shutil.copytree(files, context)
    for subdir, source in extra.items():
        (context / subdir).mkdir()
        for item in source.iterdir():
            if item.is_file() and not item.name.startswith("."):
                os.link(item, context / subdir / item.name)
    return context


def docker_build(tag: str, context: Path, *build_args: str) -> None:
    args = [arg for pair in build_args for arg in ("--build-arg", pair)]
    result = run(["docker", "build", "-q", "-t", tag, *args, str(context)], check=False, capture=True)
    if result.returncode != 0:
        raise RuntimeError(f"docker build {tag} failed:\n{result.stdout}\n{result.stderr}")
    size = run(["docker", "image", "inspect", "-f", "{{.Size}}", tag], capture=True).stdout.strip()
    say(f"{tag}: {result.stdout.strip()[:19]} ({int(size) / 1e6:.0f} MB)")


def build_local_images(src: Path) -> str:
    CACHE.mkdir(parents=True, exist_ok=True)
    ensure_base_image()
    wheels = wheelhouse(src)
    docker_build(
        PYTHON_IMAGE, staged_context("python", HERE / "python-image", {"wheels": wheels}), f"BASE_IMAGE={BASE_IMAGE}"
    )
    jars = kafka_jars(src)
    kafka_image = f"local/kafka:{kafka_version(src / 'streams' / 'kafka' / 'pom.xml')}"
    docker_build(kafka_image, staged_context("kafka", HERE / "kafka-image", {"libs": jars}), f"BASE_IMAGE={BASE_IMAGE}")
    return kafka_image


# --------------------------------------------------------------------------- the committed tree


def committed_tree(workdir: Path) -> tuple[Path, str]:
    """The tree at HEAD (what CI tests), or the working tree when this is not a git checkout."""
    ref = os.environ.get("NEWSMON_COMPOSE_TEST_REF", "HEAD")
    probe = run(["git", "-C", str(REPO), "rev-parse", "--short", ref], check=False, capture=True)
    if probe.returncode != 0:
        return REPO, "working tree (not a git checkout)"
    src = workdir / "src"
    src.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", ref], capture_output=True, check=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(src, filter="data")
    dirty = run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"], capture=True).stdout
    note = " (uncommitted changes in the working tree are not part of this test)" if dirty.strip() else ""
    return src, f"{ref} = {probe.stdout.strip()}{note}"


# --------------------------------------------------------------------------- compose


def feeds_override(src: Path) -> dict[str, Any]:
    """The test's additions to the compose file: a feed served inside the compose network.

    When the compose file has a ``feeds`` service, it polls tests/compose/feed/feed.xml, served by a
    ``feed-server`` container, instead of the shipped feeds file (public news sites): nothing in
    the test fetches anything from outside the machine.
    """
    feed = src / "tests" / "compose" / "feed"
    probe = "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/feed.xml', timeout=5)"
    return {
        "services": {
            "feed-server": {
                "image": NEWSMON_IMAGE,
                "entrypoint": ["python", "-m", "http.server", "8000", "--directory", "/srv/feed"],
                "volumes": [f"{feed}:/srv/feed:ro"],
                "healthcheck": {"test": ["CMD", "python", "-c", probe], "interval": "2s", "retries": 30},
                "restart": "unless-stopped",
            },
            "feeds": {
                "depends_on": {
                    "kafka": {"condition": "service_healthy"},
                    "feed-server": {"condition": "service_healthy"},
                },
                "volumes": [f"{feed / 'feeds.toml'}:/etc/newsmon/feeds.toml:ro"],
                "environment": {"NEWSMON_FEEDS_FILE": "/etc/newsmon/feeds.toml"},
            },
        }
    }


def feed_items(src: Path) -> int:
    return (src / "tests" / "compose" / "feed" / "feed.xml").read_text().count("<item>")


class Stack:
    def __init__(self, compose: list[str], src: Path, env: dict[str, str]) -> None:
        self.src = src
        self.env = env
        self.document = yaml.safe_load((src / "docker-compose.yml").read_text())
        files = ["-f", str(src / "docker-compose.yml")]
        self.feeds = "feeds" in self.document["services"]
        if self.feeds:
            override = feeds_override(src)
            (src / "compose-test.override.yml").write_text(yaml.safe_dump(override, sort_keys=False))
            files += ["-f", str(src / "compose-test.override.yml")]
            self.document["services"].update({"feed-server": override["services"]["feed-server"]})
        self.base = [*compose, "-p", PROJECT, *files]

    def __call__(self, *args: str, check: bool = True, capture: bool = False) -> subprocess.CompletedProcess[str]:
        return run([*self.base, *args], check=check, capture=capture, env=self.env, cwd=self.src)

    def plain_up_services(self) -> list[str]:
        return [name for name, spec in self.document["services"].items() if not spec.get("profiles")]

    def long_running(self) -> list[str]:
        return [n for n in self.plain_up_services() if str(self.document["services"][n].get("restart", "no")) != "no"]

    def containers(self, service: str) -> list[str]:
        ids = self("ps", "-q", service, capture=True).stdout.split()
        return ids

    def state(self, container: str) -> dict[str, Any]:
        out = run(["docker", "inspect", "-f", "{{json .State}}", container], capture=True).stdout
        state: dict[str, Any] = json.loads(out)
        return state

    def wait_healthy(self, services: Sequence[str], count: dict[str, int] | None = None) -> dict[str, float]:
        """Wait until every container of these services reports healthy (its healthcheck passes)."""
        started, ready = time.monotonic(), {}
        while True:
            for service in services:
                if service in ready:
                    continue
                ids = self.containers(service)
                want = (count or {}).get(service, 1)
                states = [self.state(c) for c in ids]
                for st in states:
                    if st.get("Status") == "exited" or (st.get("Health") or {}).get("Status") == "unhealthy":
                        self("logs", "--tail", "40", service, check=False)
                        raise RuntimeError(
                            f"{service}: {st.get('Status')}, health {(st.get('Health') or {}).get('Status')}"
                        )
                if len(ids) >= want and all((st.get("Health") or {}).get("Status") == "healthy" for st in states):
                    ready[service] = time.monotonic() - started
                    say(f"   {service}: healthy after {ready[service]:.1f}s ({len(ids)} container(s))")
            if len(ready) == len(services):
                return ready
            if time.monotonic() - started > HEALTH_TIMEOUT:
                missing = sorted(set(services) - set(ready))
                for service in missing:
                    self("logs", "--tail", "40", service, check=False)
                raise RuntimeError(f"not healthy within {HEALTH_TIMEOUT:.0f}s: {missing}")
            time.sleep(1)

    def container_names_by_ip(self, service: str) -> dict[str, str]:
        names = {}
        for container in self.containers(service):
            fmt = "{{.Name}} {{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}"
            name, *ips = run(["docker", "inspect", "-f", fmt, container], capture=True).stdout.split()
            names.update({ip: name.lstrip("/") for ip in ips})
        return names

    def wait_exited(self, service: str) -> int:
        ids = self("ps", "-a", "-q", service, capture=True).stdout.split()
        if not ids:
            raise RuntimeError(f"{service}: no container")
        code = int(run(["docker", "wait", ids[0]], capture=True).stdout.strip())
        return code


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- Kafka, from the host


async def partition_ids(bootstrap: str, topic: str) -> list[int]:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(
        p["partition"] for t in described if t["topic"] == topic and not t["error_code"] for p in t["partitions"]
    )


async def _read_alerts(bootstrap: str) -> list[dict[str, Any]]:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        partitions = [TopicPartition(ALERTS, p) for p in await partition_ids(bootstrap, ALERTS)]
        if not partitions:
            raise RuntimeError(f"{ALERTS}: no such topic on {bootstrap}")
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[dict[str, Any]] = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            batch = await consumer.getmany(timeout_ms=1000)
            for tp_records in batch.values():
                for record in tp_records:
                    event = json.loads(record.value)
                    event["_partition"], event["_offset"] = record.partition, record.offset
                    records.append(event)
        return records
    finally:
        await consumer.stop()


def read_alerts(bootstrap: str) -> list[dict[str, Any]]:
    return asyncio.run(_read_alerts(bootstrap))


async def _lag(bootstrap: str) -> tuple[int, int]:
    """(end offsets summed, the worker group's lag) on the raw topic."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await consumer.start()
    await admin.start()
    try:
        partitions = [TopicPartition(RAW, p) for p in await partition_ids(bootstrap, RAW)]
        ends = await consumer.end_offsets(partitions)
        committed = await admin.list_consumer_group_offsets(GROUP)
        lag = sum(
            end - (committed[tp].offset if tp in committed and committed[tp].offset >= 0 else 0)
            for tp, end in ends.items()
        )
        return sum(ends.values()), lag
    finally:
        await consumer.stop()
        await admin.close()


def wait_caught_up(bootstrap: str, minimum_end: int) -> tuple[int, float]:
    """Wait until the worker group has committed every raw article (at least ``minimum_end`` of them)."""
    started, last = time.monotonic(), "no answer yet"
    while True:
        try:
            end, lag = asyncio.run(_lag(bootstrap))
            if end >= minimum_end and lag == 0:
                return end, time.monotonic() - started
            last = f"{end} raw articles (waiting for {minimum_end}), lag {lag}"
        except Exception as exc:
            last = f"{type(exc).__name__}: {exc}"
        if time.monotonic() - started > CATCH_UP_TIMEOUT:
            raise RuntimeError(
                f"the worker group {GROUP!r} did not catch up with {RAW} within {CATCH_UP_TIMEOUT:.0f}s: {last}"
            )
        time.sleep(1)


def describe_group(stack: Stack) -> list[list[str]]:
    """kafka-consumer-groups.sh --describe rows for the raw topic (run inside the broker container)."""
    tool = ["/opt/kafka/bin/kafka-consumer-groups.sh", "--bootstrap-server", "localhost:9092"]
    out = stack("exec", "-T", "kafka", *tool, "--describe", "--group", GROUP, capture=True, check=False).stdout
    return [line.split() for line in out.splitlines() if line.split()[1:2] == [RAW]]


# --------------------------------------------------------------------------- the test


def alert_line(event: dict[str, Any]) -> str:
    data = event["data"]
    where = f"p{event['_partition']}@{event['_offset']}"
    source = str(data.get("source", ""))[:30]
    return f"  {data['theme']:<23} {event['id']}  {where:<6} {source:<30} {str(data.get('title', ''))[:60]}"


def summarize(records: list[dict[str, Any]]) -> tuple[set[str], int]:
    ids = Counter(event["id"] for event in records)
    return set(ids), sum(count - 1 for count in ids.values())


def main() -> int:
    timings: dict[str, float] = {}
    try:
        with step("engine", timings):
            compose = ensure_engine()
    except Skip as exc:
        print(f"SKIP compose-test: {exc}", flush=True)
        return 1 if os.environ.get("NEWSMON_COMPOSE_TEST_REQUIRED") == "1" else 0

    workdir = Path(tempfile.mkdtemp(prefix="newsmon-compose-test-"))
    stack: Stack | None = None
    try:
        src, described = committed_tree(workdir)
        say(f"source: {described}")
        with step("local base images", timings):
            kafka_image = build_local_images(src)
        with step("newsmon image", timings):
            docker_build(NEWSMON_IMAGE, src, f"PYTHON_IMAGE={PYTHON_IMAGE}")

        port = free_port()
        bootstrap = f"127.0.0.1:{port}"
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("NEWSMON_", "KAFKA_", "COMPOSE_"))},
            "KAFKA_IMAGE": kafka_image,
            "KAFKA_HOST_PORT": str(port),
            "NEWSMON_IMAGE": NEWSMON_IMAGE,
            "PYTHON_IMAGE": PYTHON_IMAGE,
        }
        stack = Stack(compose, src, env)
        stack("down", "-v", "--remove-orphans", check=False, capture=True)  # leftovers of an interrupted run
        services, long_running = stack.plain_up_services(), stack.long_running()
        say(f"services of a plain up: {', '.join(services)}; long-running: {', '.join(long_running)}")

        with step("up", timings):
            stack("up", "-d", "--no-build")
            stack.wait_healthy(long_running)
            code = stack.wait_exited("replay")
            if code != 0:
                stack("logs", "replay", check=False)
                raise RuntimeError(f"replay exited with {code}")
            say("   replay: exited 0")
            seeds = len(list((src / "seeds").glob("*.txt")))
            from_feed = feed_items(src) if stack.feeds else 0
            articles, waited = wait_caught_up(bootstrap, seeds + from_feed)
            say(f"   worker group caught up with {articles} raw articles ({seeds} seeds, {from_feed} feed entries)"
                f" after {waited:.1f}s")  # fmt: skip

        with step("read alerts from the host", timings):
            first = read_alerts(bootstrap)
            ids_first, _ = summarize(first)
            print(f"alerts read from {ALERTS} at {bootstrap} ({len(first)} records, {len(ids_first)} distinct):")
            for event in sorted(first, key=lambda e: (e["data"]["theme"], e["data"]["article_id"])):
                print(alert_line(event))
            if not ids_first:
                raise RuntimeError("no alert was produced from the seeds")

        with step("restart check", timings):
            print("restart check:")
            before, ids_before, consumed = first, ids_first, articles
            for how in ("stop, replay while stopped, start", "replay, SIGKILL right after, start"):
                if how.startswith("stop"):
                    stack("stop", "worker")
                    stack("run", "--rm", "replay", capture=True)  # the same seeds again, while no worker runs
                else:
                    stack("run", "--rm", "replay", capture=True)
                    stack("kill", "-s", "SIGKILL", "worker", capture=True)
                stack("start", "worker")
                stack.wait_healthy(["worker"])
                now_consumed, waited = wait_caught_up(bootstrap, consumed + seeds)
                after = read_alerts(bootstrap)
                ids_after, redelivered = summarize(after)
                lost, added = ids_first - ids_after, ids_after - ids_first
                print(f"  worker {how}:")
                print(f"    raw articles consumed: {consumed} before, {now_consumed} after ({waited:.1f}s to catch up)")
                print(f"    alert records: {len(before)} before, {len(after)} after")
                print(f"    distinct alert ids: {len(ids_before)} before, {len(ids_after)} after")
                print(f"    lost: {len(lost)}; added: {len(added)}; redeliveries of an existing id: {redelivered}")
                if lost or added:
                    raise RuntimeError(f"restart check failed: lost {sorted(lost)}, added {sorted(added)}")
                before, ids_before, consumed = after, ids_after, now_consumed
            articles2 = consumed

        with step("scale worker=2", timings):
            stack("up", "-d", "--no-build", "--no-recreate", "--scale", "worker=2", "worker")
            stack.wait_healthy(["worker"], {"worker": 2})
            names = stack.container_names_by_ip("worker")
            deadline, owners = time.monotonic() + CATCH_UP_TIMEOUT, dict[str, list[str]]()
            while time.monotonic() < deadline:
                rows = describe_group(stack)
                owners = {}
                for row in rows:  # GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID
                    if len(row) > 7 and row[6] != "-":
                        owners.setdefault(names.get(row[7].lstrip("/"), row[7]), []).append(row[2])
                if len(rows) == 6 and sum(map(len, owners.values())) == 6 and len(owners) == 2:
                    break
                time.sleep(1)
            else:
                raise RuntimeError(f"the raw topic's partitions were not shared by two workers: {owners}")
            print(f"{RAW} (6 partitions) with two workers in the consumer group {GROUP!r}:")
            for name, parts in sorted(owners.items()):
                print(f"  {name}: partitions {', '.join(sorted(parts))}")
            stack("run", "--rm", "replay", capture=True)
            articles3, _ = wait_caught_up(bootstrap, articles2 + seeds)
            third = read_alerts(bootstrap)
            ids_third, dup_third = summarize(third)
            added, lost = ids_third - ids_first, ids_first - ids_third
            print(f"  one more replay with two workers: {articles3} raw articles consumed, {len(third)} alert records,")
            print(f"  {len(ids_third)} distinct ids: added {len(added)}, lost {len(lost)}, redeliveries {dup_third}")
            if ids_third != ids_first:
                raise RuntimeError("alerts changed with two workers")
    finally:
        if stack is not None and os.environ.get("NEWSMON_COMPOSE_TEST_KEEP") == "1":
            say(f"NEWSMON_COMPOSE_TEST_KEEP=1: left running; stop with {' '.join(stack.base)} down -v (in {stack.src})")
        elif stack is not None:
            with step("down -v", timings):
                stack("down", "-v", "--remove-orphans", check=False, capture=True)
                left = run(["docker", "volume", "ls", "-q", "--filter", f"name={PROJECT}"], capture=True).stdout.split()
                say(f"   volumes left: {len(left)}")
        if os.environ.get("NEWSMON_COMPOSE_TEST_KEEP") != "1":
            shutil.rmtree(workdir, ignore_errors=True)
    print("timings: " + ", ".join(f"{name} {seconds:.1f}s" for name, seconds in timings.items()))
    print(f"compose-test passed in {time.monotonic() - T0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
