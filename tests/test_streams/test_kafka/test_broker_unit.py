"""The embedded broker's pure helpers and its prerequisite checks; no broker, Java or Maven needed."""

from __future__ import annotations

import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

import streams.kafka.embedded as broker_module
from streams.kafka.cluster import bootstrap_servers
from streams.kafka.embedded import (
    BrokerError,
    EmbeddedBroker,
    choose_port,
    new_cluster_id,
    parse_java_major,
    server_properties,
)
from streams.kafka.limits import MAX_MESSAGE_BYTES
from streams.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings isolated from the developer's: own state and (empty) jar cache, no external cluster."""
    return Settings(
        _env_file=None,
        state_dir=tmp_path / "state",
        cache_dir=tmp_path / "cache",
        kafka_bootstrap_servers=None,
        java_home=None,
    )


# --------------------------------------------------------------------------- parse_java_major


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment (build 17.0.15+6)', 17),
        ('java version "1.8.0_392"\nJava(TM) SE Runtime Environment (build 1.8.0_392-b08)', 8),
        ('openjdk version "21" 2023-09-19', 21),
        ('openjdk version "25-ea" 2025-09-16', 25),
        ('Picked up JAVA_TOOL_OPTIONS: -Xss2m\nopenjdk version "11.0.2" 2019-01-15', 11),
    ],
)
def test_parse_java_major(output: str, major: int) -> None:
    assert parse_java_major(output) == major


@pytest.mark.parametrize(
    "output",
    ["", "bash: java: command not found", "17.0.15", 'version "abc"', "Error: could not create the Java VM"],
)
def test_parse_java_major_without_a_version_line(output: str) -> None:
    assert parse_java_major(output) is None


# --------------------------------------------------------------------------- server_properties


def parse_properties(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return {key: value for key, value in pairs}


@pytest.fixture
def properties(tmp_path: Path) -> dict[str, str]:
    return parse_properties(server_properties(port=19092, controller_port=19093, data_dir=tmp_path / "data"))


def test_server_properties_is_one_key_per_line(tmp_path: Path) -> None:
    text = server_properties(port=1, controller_port=2, data_dir=tmp_path)
    lines = text.splitlines()
    assert text.endswith("\n")
    assert all("=" in line for line in lines)
    assert len({line.split("=", 1)[0] for line in lines}) == len(lines)


def test_server_properties_listen_on_loopback_only(properties: dict[str, str]) -> None:
    assert properties["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert properties["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert properties["controller.quorum.voters"] == "1@127.0.0.1:19093"
    for key in ("listeners", "advertised.listeners"):
        for listener in properties[key].split(","):
            host = listener.split("://", 1)[1].rsplit(":", 1)[0]
            assert host == "127.0.0.1", f"{key}: {listener} is not on loopback"


def test_server_properties_is_a_single_node_kraft_combined_server(properties: dict[str, str]) -> None:
    assert properties["process.roles"] == "broker,controller"
    assert properties["node.id"] == "1"
    assert properties["controller.listener.names"] == "CONTROLLER"
    assert properties["listener.security.protocol.map"] == "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
    assert "zookeeper.connect" not in properties


def test_server_properties_replication_factors_are_one(properties: dict[str, str]) -> None:
    factors = {key: value for key, value in properties.items() if "replication.factor" in key}
    assert set(factors) >= {
        "default.replication.factor",
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
    }
    assert set(factors.values()) == {"1"}
    assert properties["min.insync.replicas"] == "1"
    assert properties["transaction.state.log.min.isr"] == "1"


def test_server_properties_topics_are_created_explicitly(properties: dict[str, str]) -> None:
    assert properties["auto.create.topics.enable"] == "false"
    assert properties["group.initial.rebalance.delay.ms"] == "0"


def test_server_properties_accept_large_messages(properties: dict[str, str], tmp_path: Path) -> None:
    assert properties["message.max.bytes"] == str(MAX_MESSAGE_BYTES)
    assert int(properties["replica.fetch.max.bytes"]) >= MAX_MESSAGE_BYTES
    assert properties["log.dirs"] == str(tmp_path / "data")


# --------------------------------------------------------------------------- choose_port


def test_choose_port_prefers_the_first_free_preferred_port() -> None:
    assert choose_port([19092, 19094], set(), lambda port: True) == 19092


def test_choose_port_skips_ports_in_use() -> None:
    assert choose_port([19092, 19094], set(), lambda port: port != 19092) == 19094


def test_choose_port_skips_ports_already_taken() -> None:
    assert choose_port([19092, 19094], {19092}, lambda port: True) == 19094


def test_choose_port_falls_back_to_a_free_port() -> None:
    port = choose_port([19092], set(), lambda port: False)
    assert port != 19092
    assert 0 < port < 65536
    with socket.socket() as sock:  # it really is free
        sock.bind(("127.0.0.1", port))


def test_choose_port_fallback_never_returns_a_taken_port(monkeypatch: pytest.MonkeyPatch) -> None:
    offered: Iterator[int] = iter([40001, 40001, 40002])
    monkeypatch.setattr(broker_module, "free_port", lambda host="127.0.0.1": next(offered))
    assert choose_port([19092], {40001}, lambda port: False) == 40002


def test_choose_port_with_no_preference() -> None:
    assert 0 < choose_port([], set(), lambda port: True) < 65536


# --------------------------------------------------------------------------- prerequisites


def test_java_home_without_bin_java_is_a_clear_error(settings: Settings, tmp_path: Path) -> None:
    java_home = tmp_path / "not-a-jdk"
    java_home.mkdir()
    broker = EmbeddedBroker(settings.model_copy(update={"java_home": java_home}))
    with pytest.raises(BrokerError, match=r"JAVA_HOME=.*not-a-jdk has no bin/java"):
        broker.java()


def test_no_java_on_path_is_a_clear_error(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(BrokerError, match="Java not found") as caught:
        EmbeddedBroker(settings).java()
    assert "KAFKA_BOOTSTRAP_SERVERS" in str(caught.value)


def _fake_java(java_home: Path, version_line: str) -> None:
    script = java_home / "bin" / "java"
    script.parent.mkdir(parents=True)
    script.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def test_a_java_older_than_17_is_refused(settings: Settings, tmp_path: Path) -> None:
    _fake_java(tmp_path / "jdk8", 'java version "1.8.0_392"')
    broker = EmbeddedBroker(settings.model_copy(update={"java_home": tmp_path / "jdk8"}))
    with pytest.raises(BrokerError, match=r"is Java 8; Apache Kafka 4.x needs Java 17 or newer"):
        broker.java()


def test_java_17_from_java_home_is_used(settings: Settings, tmp_path: Path) -> None:
    _fake_java(tmp_path / "jdk17", 'openjdk version "17.0.15" 2025-04-15')
    broker = EmbeddedBroker(settings.model_copy(update={"java_home": tmp_path / "jdk17"}))
    assert broker.java() == str(tmp_path / "jdk17" / "bin" / "java")


def test_resolve_jars_without_maven_is_a_clear_error(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    broker = EmbeddedBroker(settings)
    with pytest.raises(BrokerError, match=r"Maven \(mvn\) not found") as caught:
        broker.resolve_jars()
    assert "KAFKA_BOOTSTRAP_SERVERS" in str(caught.value)
    assert not broker.jars_dir().exists(), "nothing is left behind in the cache"


def test_resolve_jars_uses_a_complete_cache_without_maven(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker = EmbeddedBroker(settings)
    cached = broker.jars_dir()
    assert cached.is_relative_to(settings.cache_dir)
    cached.mkdir(parents=True)
    (cached / ".complete").write_text("done")
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    assert broker.resolve_jars() == cached


def test_jars_dir_names_the_kafka_version(settings: Settings) -> None:
    name = EmbeddedBroker(settings).jars_dir().name
    assert name.startswith(f"kafka-{broker_module.kafka_version()}-")
    assert broker_module.kafka_version().startswith("4.")


# --------------------------------------------------------------------------- external cluster and status


def test_an_external_cluster_is_used_without_starting_anything(settings: Settings) -> None:
    external = settings.model_copy(update={"kafka_bootstrap_servers": "kafka:9092"})
    broker = EmbeddedBroker(external)
    assert broker.start() == "kafka:9092"
    assert broker.stop() is False
    assert broker.status().external
    assert bootstrap_servers(external) == "kafka:9092"
    assert not broker.home.exists(), "nothing is written for an external cluster"


def test_no_running_broker_is_a_clear_error(settings: Settings) -> None:
    status = EmbeddedBroker(settings).status()
    assert not status.running
    assert status.pid is None
    with pytest.raises(BrokerError, match="newsmon broker start"):
        bootstrap_servers(settings)


def test_stop_when_nothing_runs(settings: Settings) -> None:
    assert EmbeddedBroker(settings).stop() is False


def test_a_stale_pid_file_is_not_our_broker(settings: Settings) -> None:
    broker = EmbeddedBroker(settings)
    broker.home.mkdir(parents=True)
    broker.pid_file.write_text("1")  # pid 1 exists but is not this state dir's broker
    assert broker.status().running is False


def test_cluster_ids_never_start_with_a_dash() -> None:
    draws = iter([b"\xf8" + bytes(15), b"\x00" * 16])  # the first encodes to "-A...", the second to "AAAA..."
    assert new_cluster_id(lambda: next(draws)) == "A" * 22
    ids = {new_cluster_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)
