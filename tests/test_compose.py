"""docker-compose.yml and the Dockerfile, checked without a Docker engine.

The compose file is validated against the Compose Specification JSON schema that
check-jsonschema vendors (``vendor.compose-spec``), then against newsmon's own
rules, on the file as a user gets it with no variable set (``${VAR:-default}``
resolved to its default): the services exist, the newsmon services wait for a
healthy broker, are configured only through variables the settings object names,
every long-running service has a healthcheck and a restart policy, state lives in
named volumes, and ports are published on loopback only. ``make compose-test``
(tests/compose/run.py) builds and runs the stack for real.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from streams.settings import env_var_names

REPO = Path(__file__).resolve().parent.parent
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
NEWSMON_SERVICES = ("worker", "replay", "alerts")


def compose_schema() -> dict[str, Any]:
    """The Compose Specification schema shipped inside the installed check-jsonschema package.

    The package is located, not imported: importing it loads its CLI, which needs a newer
    click than the one faust-streaming's environment may have.
    """
    spec = importlib.util.find_spec("check_jsonschema")
    assert spec is not None, "check-jsonschema is not installed (the dev extra)"
    assert spec.origin is not None
    path = Path(spec.origin).parent / "builtin_schemas" / "vendor" / "compose-spec.json"
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def schema_errors(document: object) -> list[str]:
    schema = compose_schema()
    # The schema names draft 7 by an https URL jsonschema does not list: say which draft to use
    # (otherwise jsonschema warns that it falls back to the latest one).
    validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in validator.iter_errors(document)
    ]


_VARIABLE = re.compile(r"\$\{(?P<name>[A-Z_][A-Z0-9_]*)(?::?-(?P<default>[^}]*))?\}")


def interpolate(value: Any, env: dict[str, str] | None = None) -> Any:
    """``value`` with every ``${NAME}`` / ``${NAME:-default}`` replaced, as compose does (env empty by default)."""
    env = env or {}
    if isinstance(value, str):
        return _VARIABLE.sub(lambda m: env.get(m["name"]) or (m["default"] or ""), value)
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    return value


@pytest.fixture(scope="module")
def raw_compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def compose(raw_compose: dict[str, Any]) -> dict[str, Any]:
    """The file as a user without any variable set gets it."""
    document: dict[str, Any] = interpolate(raw_compose)
    return document


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    result = compose["services"]
    assert isinstance(result, dict)
    return result


def environment(service: dict[str, Any]) -> dict[str, str | None]:
    """A service's environment as a mapping (compose allows a mapping or a list of NAME=value)."""
    env = service.get("environment", {})
    if isinstance(env, list):
        pairs = (item.split("=", 1) for item in env)
        return {p[0]: (p[1] if len(p) > 1 else None) for p in pairs}
    return {str(k): (None if v is None else str(v)) for k, v in env.items()}


# --------------------------------------------------------------------------- the schema


def test_compose_file_matches_the_compose_specification(raw_compose: dict[str, Any], compose: dict[str, Any]) -> None:
    assert schema_errors(raw_compose) == []
    assert schema_errors(compose) == []


def test_compose_v1_reads_the_file(raw_compose: dict[str, Any]) -> None:
    # docker-compose 1.29 (Debian's, used by `make compose-test`) refuses a top-level `name:` and `version:`
    # is obsolete in v2: the project is named after the directory (or -p / COMPOSE_PROJECT_NAME).
    assert set(raw_compose) <= {"services", "volumes", "networks", "configs", "secrets"} | {
        key for key in raw_compose if key.startswith("x-")
    }


def test_interpolation_resolves_defaults_and_values() -> None:
    assert interpolate("a:${X:-1}:${Y}:${Z-2}") == "a:1::2"
    assert interpolate({"k": ["${X:-1}"]}, {"X": "9"}) == {"k": ["9"]}


def test_schema_check_rejects_a_broken_file(compose: dict[str, Any]) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["kafka"]["ports"] = "127.0.0.1:9092:29092"  # must be a list
    broken["services"]["worker"]["depends_on"] = 42  # must be a list or a mapping
    broken["services"]["replay"]["restart_policy"] = "never"  # no such service property
    errors = schema_errors(broken)
    assert len(errors) >= 3, errors
    joined = "\n".join(errors)
    assert "services/kafka/ports" in joined
    assert "services/worker/depends_on" in joined
    assert "restart_policy" in joined


def test_the_schema_is_the_vendored_compose_spec() -> None:
    schema = compose_schema()
    assert schema.get("title") == "Compose Specification"
    assert "services" in schema["properties"]


# --------------------------------------------------------------------------- services


def test_services_exist(services: dict[str, Any]) -> None:
    assert {"kafka", "worker", "replay", "alerts"} <= set(services)


def test_kafka_is_a_single_node_kraft_broker_with_a_healthcheck(services: dict[str, Any]) -> None:
    from streams.kafka.embedded import kafka_version

    kafka = services["kafka"]
    # The official image by default, of the same Apache Kafka release as the embedded broker.
    assert kafka["image"] == f"apache/kafka:{kafka_version()}"
    env = environment(kafka)
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_NODE_ID"] == "1"
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] == "CONTROLLER"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert env["KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS"] == "0"
    for name in ("OFFSETS_TOPIC", "TRANSACTION_STATE_LOG", "DEFAULT"):
        assert env[f"KAFKA_{name}_REPLICATION_FACTOR"] == "1"

    from streams.kafka.limits import MAX_MESSAGE_BYTES

    assert env["KAFKA_MESSAGE_MAX_BYTES"] == str(MAX_MESSAGE_BYTES)

    test = kafka["healthcheck"]["test"]
    command = " ".join(test) if isinstance(test, list) else test
    assert "/opt/kafka/bin/" in command
    assert "--bootstrap-server" in command


def test_the_image_variables_default_to_the_official_images(raw_compose: dict[str, Any]) -> None:
    services = raw_compose["services"]
    assert services["kafka"]["image"].startswith("${KAFKA_IMAGE:-apache/kafka:")
    for name in NEWSMON_SERVICES:
        assert services[name]["image"] == "${NEWSMON_IMAGE:-newsmon:local}"
        assert services[name]["build"]["args"]["PYTHON_IMAGE"] == "${PYTHON_IMAGE:-python:3.11-slim}"


def test_the_local_kafka_image_has_the_embedded_brokers_release() -> None:
    from streams.kafka.embedded import kafka_version, pom_path

    local = (REPO / "tests" / "compose" / "kafka-image" / "pom.xml").read_text(encoding="utf-8")
    embedded = pom_path().read_text(encoding="utf-8")
    assert f"<kafka.version>{kafka_version()}</kafka.version>" in local
    log4j = re.search(r"<log4j.version>([^<]+)<", embedded)
    assert log4j is not None
    assert f"<log4j.version>{log4j[1]}</log4j.version>" in local


def long_running(services: dict[str, Any]) -> list[str]:
    """The services a plain `up` starts and keeps running (not one-shots, not profile-only tools)."""
    return [n for n, s in services.items() if not s.get("profiles") and str(s.get("restart", "no")) != "no"]


def test_long_running_services(services: dict[str, Any]) -> None:
    assert {"kafka", "worker"} <= set(long_running(services))
    assert "replay" not in long_running(services)


def test_every_long_running_service_has_a_healthcheck_and_a_restart_policy(services: dict[str, Any]) -> None:
    for name in long_running(services):
        service = services[name]
        assert service.get("healthcheck", {}).get("test"), f"{name}: no healthcheck"
        assert not service["healthcheck"].get("disable"), f"{name}: healthcheck disabled"
        assert service["restart"] in {"always", "unless-stopped", "on-failure"}, f"{name}: restart {service['restart']}"


def test_the_worker_is_healthy_when_its_web_server_answers_on_loopback(services: dict[str, Any]) -> None:
    worker = services["worker"]
    command = " ".join(worker["healthcheck"]["test"])
    assert "http://127.0.0.1:" in command
    assert "/health'" in command  # 200 once partitions are assigned and themes loaded (streams/pipeline/metrics.py)
    assert "NEWSMON_WEB_PORT" in command
    assert environment(worker)["NEWSMON_WEB_PORT"] == "6066"


def test_the_workers_state_is_in_a_named_volume(compose: dict[str, Any], services: dict[str, Any]) -> None:
    state_dir = environment(services["worker"])["NEWSMON_STATE_DIR"]
    mounts = [v.split(":") for v in services["worker"]["volumes"] if isinstance(v, str)]
    named = [source for source, target, *_ in mounts if target == state_dir]
    assert named, f"no volume mounted at NEWSMON_STATE_DIR={state_dir}"
    assert named[0] in compose["volumes"]


def test_kafka_keeps_its_data_in_a_named_volume(compose: dict[str, Any], services: dict[str, Any]) -> None:
    volumes = services["kafka"]["volumes"]
    log_dirs = environment(services["kafka"])["KAFKA_LOG_DIRS"]
    named = [v.split(":")[0] for v in volumes if isinstance(v, str) and v.split(":")[1] == log_dirs]
    assert named, f"no volume mounted at KAFKA_LOG_DIRS={log_dirs}"
    assert named[0] in compose["volumes"]


@pytest.mark.parametrize("name", NEWSMON_SERVICES)
def test_newsmon_services_wait_for_a_healthy_broker(services: dict[str, Any], name: str) -> None:
    depends = services[name]["depends_on"]
    assert isinstance(depends, dict), "depends_on must be a mapping to carry a condition"
    assert depends["kafka"]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", NEWSMON_SERVICES)
def test_newsmon_services_are_built_from_the_dockerfile(services: dict[str, Any], name: str) -> None:
    build = services[name]["build"]
    context = build if isinstance(build, str) else build.get("context", ".")
    dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
    assert (REPO / context / dockerfile).resolve() == DOCKERFILE


def test_commands(services: dict[str, Any]) -> None:
    assert services["worker"]["command"] == ["worker"]
    # --create-topics: replay may run before the worker has created the topics (no auto-creation).
    assert services["replay"]["command"] == ["replay", "--create-topics", "seeds/"]
    assert services["alerts"]["command"] == ["alerts", "--follow"]


@pytest.mark.parametrize("name", NEWSMON_SERVICES)
def test_commands_parse_with_the_real_cli(services: dict[str, Any], name: str) -> None:
    import click

    from streams.cli import main

    command = [str(part) for part in services[name]["command"]]
    sub = main.commands.get(command[0])
    assert sub is not None, f"{name}: `newsmon {command[0]}` is not a command"
    with sub.make_context(command[0], command[1:]) as ctx:  # parses the arguments, runs nothing
        assert isinstance(ctx, click.Context)


def test_the_images_default_command_is_the_worker() -> None:
    cmds = [json.loads(args) for kw, args in dockerfile_instructions() if kw == "CMD"]
    assert cmds[-1] == ["worker"]


def test_replay_is_one_shot_and_part_of_a_plain_up(services: dict[str, Any]) -> None:
    assert services["replay"]["restart"] == "no"
    assert "profiles" not in services["replay"]
    assert "profiles" not in services["worker"]
    assert services["alerts"]["profiles"] == ["tools"]


@pytest.mark.parametrize("name", NEWSMON_SERVICES)
def test_newsmon_services_use_only_settings_variables(services: dict[str, Any], name: str) -> None:
    known = set(env_var_names().values())
    env = environment(services[name])
    assert env, f"{name} sets no environment"
    unknown = sorted(set(env) - known)
    assert not unknown, f"{name} sets variables the settings object does not read: {unknown}"
    assert "env_file" not in services[name], "configure newsmon services through `environment` only"


@pytest.mark.parametrize("name", NEWSMON_SERVICES)
def test_bootstrap_servers_point_at_the_kafka_service(services: dict[str, Any], name: str) -> None:
    advertised = environment(services["kafka"])["KAFKA_ADVERTISED_LISTENERS"] or ""
    addresses = {entry.split("://", 1)[1] for entry in advertised.split(",")}
    bootstrap = environment(services[name])["KAFKA_BOOTSTRAP_SERVERS"]
    assert bootstrap == "kafka:9092"
    assert bootstrap in addresses, f"{bootstrap} is not an advertised listener of kafka: {sorted(addresses)}"


def test_the_worker_web_server_is_reachable_only_through_loopback(services: dict[str, Any]) -> None:
    worker = services["worker"]
    port = environment(worker)["NEWSMON_WEB_PORT"]
    # A range of host ports, so each worker of `--scale worker=N` gets one (the first is the web port).
    assert f"127.0.0.1:{port}-6069:{port}" in worker["ports"]


def test_host_clients_reach_the_broker_at_the_address_it_advertises(raw_compose: dict[str, Any]) -> None:
    for env in ({}, {"KAFKA_HOST_PORT": "29999"}):
        kafka = interpolate(raw_compose, env)["services"]["kafka"]
        kafka_env = environment(kafka)
        listeners = dict(entry.split("://", 1) for entry in (kafka_env["KAFKA_LISTENERS"] or "").split(","))
        advertised = dict(entry.split("://", 1) for entry in (kafka_env["KAFKA_ADVERTISED_LISTENERS"] or "").split(","))
        host_ip, host_port, container_port = kafka["ports"][0].split(":")
        assert advertised["HOST"] == f"{host_ip}:{host_port}", "host clients are sent to an address not published"
        assert listeners["HOST"] == f":{container_port}"
        assert host_port == env.get("KAFKA_HOST_PORT", "9092")
        assert "CONTROLLER" not in advertised


def _published_host_ips(port: object) -> list[str | None]:
    """The host addresses a ``ports`` entry binds to (None means every interface)."""
    if isinstance(port, dict):
        return [port.get("host_ip")]
    text = str(port)
    if text.startswith("["):  # [::1]:8080:80
        return [text[1 : text.index("]")]]
    parts = text.split(":")
    return [parts[0]] if len(parts) == 3 else [None]


def test_every_published_port_is_on_loopback(services: dict[str, Any]) -> None:
    published = {name: service.get("ports", []) for name, service in services.items()}
    assert published["kafka"], "kafka publishes no port for host clients"
    exposed = {
        f"{name}: {port}"
        for name, ports in published.items()
        for port in ports
        if any(ip != "127.0.0.1" for ip in _published_host_ips(port))
    }
    assert not exposed, f"ports not bound to 127.0.0.1: {sorted(exposed)}"


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("127.0.0.1:9092:29092", ["127.0.0.1"]),
        ("9092:9092", [None]),
        ("9092", [None]),
        ("0.0.0.0:80:80", ["0.0.0.0"]),
        ("[::1]:80:80", ["::1"]),
        ({"target": 80, "published": "8080", "host_ip": "127.0.0.1"}, ["127.0.0.1"]),
        ({"target": 80, "published": "8080"}, [None]),
    ],
)
def test_published_port_parsing(entry: object, expected: list[str | None]) -> None:
    assert _published_host_ips(entry) == expected


# --------------------------------------------------------------------------- Dockerfile


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    result = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, args = line.strip().partition(" ")
            result.append((keyword.upper(), args.strip()))
    return result


def test_dockerfile_base_image_is_a_build_argument_defaulting_to_the_official_image() -> None:
    instructions = dockerfile_instructions()
    assert instructions[0] == ("ARG", "PYTHON_IMAGE=python:3.11-slim")
    assert instructions[1] == ("FROM", "${PYTHON_IMAGE}")
    assert [kw for kw, _ in instructions].count("FROM") == 1


def test_dockerfile_runs_newsmon_as_a_non_root_user() -> None:
    instructions = dockerfile_instructions()
    entrypoints = [args for kw, args in instructions if kw == "ENTRYPOINT"]
    assert entrypoints, "no ENTRYPOINT"
    assert json.loads(entrypoints[-1]) == ["newsmon"]
    users = [args for kw, args in instructions if kw == "USER"]
    assert users, "no USER: the container would run as root"
    assert users[-1] not in {"root", "0"}


def test_dockerfile_installs_the_project_and_copies_the_data() -> None:
    instructions = dockerfile_instructions()
    runs = " ".join(args for kw, args in instructions if kw == "RUN")
    assert re.search(r"pip install (\.|/\S+)", runs)
    copied = [args.split()[-2] for kw, args in instructions if kw == "COPY"]
    assert "seeds/" in copied
    assert "themes/" in copied


def test_dockerfile_copy_sources_exist_and_are_not_ignored() -> None:
    ignored = {
        line.strip().rstrip("/")
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for kw, args in dockerfile_instructions():
        if kw != "COPY" or "--from=" in args:
            continue
        sources = [a for a in args.split()[:-1] if not a.startswith("--")]
        for source in sources:
            assert (REPO / source).exists(), f"COPY {source}: no such path in the repository"
            assert source.rstrip("/") not in ignored, f"COPY {source}: excluded by .dockerignore"


def test_the_images_theme_file_is_in_the_repository() -> None:
    env = " ".join(args for kw, args in dockerfile_instructions() if kw == "ENV")
    match = re.search(r"NEWSMON_THEMES_FILE=/app/(\S+)", env)
    assert match, "the image must point NEWSMON_THEMES_FILE at the copied themes/"
    assert (REPO / match.group(1)).is_file(), f"the image's theme file {match.group(1)} is not in the repository"


def test_dockerfile_sets_only_settings_variables() -> None:
    known = set(env_var_names().values())
    names: set[str] = set()
    for kw, args in dockerfile_instructions():
        if kw == "ENV":
            names.update(re.findall(r"(?:^|\s)([A-Z_][A-Z0-9_]*)=", args))
    ours = {n for n in names if n.startswith(("NEWSMON_", "KAFKA_"))}
    assert ours, "the image should name its state dir and theme file"
    assert ours <= known, f"unknown settings variables: {sorted(ours - known)}"


def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    ignored = {
        line.strip()
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".newsmon", ".git", ".env", "**/__pycache__", ".pytest_cache", ".mypy_cache"} <= ignored


# --------------------------------------------------------------------------- make compose-test


def test_compose_test_runs_in_ci_after_make_test() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^compose-test: \$\(STAMP\)\n\t\$\(BIN\)/python tests/compose/run.py$", makefile, re.M)
    ci = [line.strip() for line in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    commands = [line for line in ci if line and not line.startswith("#")]
    assert "make test" in commands
    assert "make compose-test" in commands
    assert commands.index("make test") < commands.index("make compose-test")


def test_the_local_images_are_built_from_the_repository() -> None:
    for name in ("python-image", "kafka-image"):
        dockerfile = (REPO / "tests" / "compose" / name / "Dockerfile").read_text(encoding="utf-8")
        assert "ARG BASE_IMAGE=local/bookworm:minbase" in dockerfile
        assert "--no-install-recommends" in dockerfile
    kafka = REPO / "tests" / "compose" / "kafka-image"
    for script in ("kafka-broker-api-versions.sh", "kafka-topics.sh", "kafka-consumer-groups.sh", "kafka-run-class.sh"):
        assert (kafka / "bin" / script).stat().st_mode & 0o111, f"{script} is not executable"
    assert (kafka / "run").stat().st_mode & 0o111
