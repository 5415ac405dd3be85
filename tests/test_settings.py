"""The settings object: every environment variable it names, its validation, and the docs that list them.

``Settings()`` is built directly (never the cached ``get_settings``) with every
variable cleared first and the working directory moved to an empty temporary
one, so neither the developer's environment nor a ``.env`` file leaks in.

The configuration table in ``docs/configuration.md`` is checked row by row
against the field descriptions and defaults; ``python tests/test_settings.py``
prints the rows to paste when a setting changes.  README.md must list every
variable too.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from pydantic.fields import FieldInfo

from streams.settings import (
    ENV_PREFIX,
    FAUST_IMPORT_VARIABLES,
    REPO_ROOT,
    UNPREFIXED,
    Settings,
    SettingsError,
    env_var_names,
    faust_variable_errors,
    load_settings,
)

REPO = Path(__file__).resolve().parent.parent
CONFIG_DOC = REPO / "docs" / "configuration.md"
README = REPO / "README.md"
ENV_VAR = re.compile(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in env_var_names().values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def make(**kwargs: Any) -> Settings:
    return Settings(_env_file=None, **kwargs)


# --------------------------------------------------------------------------- reading the environment

# One (raw environment value, expected field value) per variable; a new setting must be added here.
READS: dict[str, tuple[str, object]] = {
    "KAFKA_BOOTSTRAP_SERVERS": ("broker-a:9092,broker-b:9092", "broker-a:9092,broker-b:9092"),
    "NEWSMON_TOPIC_PREFIX": ("staging.", "staging."),
    "NEWSMON_STATE_DIR": ("/srv/newsmon/state", Path("/srv/newsmon/state")),
    "NEWSMON_CACHE_DIR": ("/srv/newsmon/cache", Path("/srv/newsmon/cache")),
    "NEWSMON_BROKER_PORT": ("29092", 29092),
    "NEWSMON_BROKER_HEAP": ("1g", "1g"),
    "NEWSMON_REPLICATION_FACTOR": ("3", 3),
    "NEWSMON_RAW_PARTITIONS": ("12", 12),
    "NEWSMON_STORY_WINDOW_HOURS": ("72", 72),
    "NEWSMON_STORY_SOURCES_THRESHOLD": ("5", 5),
    "NEWSMON_ALERT_WINDOW_SECONDS": ("900", 900),
    "NEWSMON_SPIKE_FACTOR": ("2.5", 2.5),
    "NEWSMON_SPIKE_MIN_COUNT": ("3", 3),
    "NEWSMON_SPIKE_BASELINE_WINDOWS": ("12", 12),
    "NEWSMON_ALERT_BUDGET": ("10", 10),
    "NEWSMON_TICK_SECONDS": ("5", 5.0),
    "NEWSMON_BATCH_SIZE": ("200", 200),
    "NEWSMON_BATCH_WAIT_MS": ("20", 20),
    "NEWSMON_BROKER_START_TIMEOUT": ("12.5", 12.5),
    "NEWSMON_KAFKA_CONNECT_TIMEOUT": ("2.5", 2.5),
    "JAVA_HOME": ("/opt/jdk-21", Path("/opt/jdk-21")),
    "NEWSMON_THEMES_FILE": ("/etc/newsmon/themes.toml", Path("/etc/newsmon/themes.toml")),
    "NEWSMON_LOG_LEVEL": ("debug", "DEBUG"),
    "NEWSMON_WEB_PORT": ("8066", 8066),
    "NEWSMON_WEB_BIND": ("0.0.0.0", "0.0.0.0"),
    "NEWSMON_FEEDS_WEB_PORT": ("8067", 8067),
    "NEWSMON_DASHBOARD_PORT": ("8068", 8068),
    "NEWSMON_FEEDS_FILE": ("/etc/newsmon/feeds.toml", Path("/etc/newsmon/feeds.toml")),
    "NEWSMON_FEEDS_CONTACT": ("ops@example.org", "ops@example.org"),
    "NEWSMON_FEEDS_CONNECT_TIMEOUT": ("3.5", 3.5),
    "NEWSMON_FEEDS_READ_TIMEOUT": ("7.5", 7.5),
    "NEWSMON_FEEDS_TOTAL_TIMEOUT": ("20", 20.0),
    "NEWSMON_FEEDS_MAX_BYTES": ("2097152", 2097152),
    "NEWSMON_FEEDS_MAX_REDIRECTS": ("3", 3),
    "NEWSMON_FEEDS_CONCURRENCY": ("8", 8),
    "NEWSMON_FEEDS_PER_HOST": ("1", 1),
}
FIELD_OF = {env: field for field, env in env_var_names().items()}


def test_every_variable_has_a_read_test() -> None:
    assert set(READS) == set(env_var_names().values())


def test_variable_names_are_unique() -> None:
    names = list(env_var_names().values())
    assert len(names) == len(set(names))


@pytest.mark.parametrize(("name", "case"), READS.items(), ids=list(READS))
def test_each_variable_is_read(monkeypatch: pytest.MonkeyPatch, name: str, case: tuple[str, object]) -> None:
    raw, expected = case
    field = FIELD_OF[name]
    assert getattr(make(), field) != expected, "pick a test value that differs from the default"
    monkeypatch.setenv(name, raw)
    assert getattr(make(), field) == expected


def test_defaults() -> None:
    settings = make()
    assert settings.kafka_bootstrap_servers is None
    assert not settings.uses_external_cluster
    assert settings.topic_prefix == ""
    assert settings.state_dir == REPO_ROOT / ".newsmon"
    assert settings.broker_port == 19092
    assert settings.log_level == "INFO"
    assert settings.worker_web_bind == "127.0.0.1", "the web server must default to loopback"


@pytest.mark.parametrize("blank", ["", "   ", "\t"])
def test_blank_bootstrap_servers_means_unset(monkeypatch: pytest.MonkeyPatch, blank: str) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", blank)
    settings = make()
    assert settings.kafka_bootstrap_servers is None
    assert not settings.uses_external_cluster


def test_bootstrap_servers_are_stripped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "  kafka:9092 ")
    settings = make()
    assert settings.kafka_bootstrap_servers == "kafka:9092"
    assert settings.uses_external_cluster


def test_keyword_arguments_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # tests/conftest.py relies on this: Settings(kafka_bootstrap_servers=None, ...) ignores the variable.
    monkeypatch.setenv("NEWSMON_BROKER_PORT", "5555")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "elsewhere:9092")
    settings = make(broker_port=1234, kafka_bootstrap_servers=None)
    assert settings.broker_port == 1234
    assert settings.kafka_bootstrap_servers is None


def test_dotenv_in_the_working_directory_is_read_and_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("NEWSMON_LOG_LEVEL=debug\nNEWSMON_TOPIC_PREFIX=dev.\n", encoding="utf-8")
    monkeypatch.setenv("NEWSMON_TOPIC_PREFIX", "ci.")
    settings = Settings()
    assert settings.log_level == "DEBUG"
    assert settings.topic_prefix == "ci."


def test_settings_are_frozen() -> None:
    settings = make()
    with pytest.raises(ValidationError, match="frozen"):
        settings.broker_port = 1  # type: ignore[misc]


# --------------------------------------------------------------------------- invalid values


@pytest.mark.parametrize(
    ("name", "raw", "reason"),
    [
        ("NEWSMON_BROKER_PORT", "0", "greater than or equal to 1"),
        ("NEWSMON_BROKER_PORT", "65536", "less than or equal to 65535"),
        ("NEWSMON_BROKER_PORT", "kafka", "valid integer"),
        ("NEWSMON_WEB_PORT", "0", "greater than or equal to 1"),
        ("NEWSMON_LOG_LEVEL", "verbose", "'DEBUG', 'INFO', 'WARNING', 'ERROR' or 'CRITICAL'"),
        ("NEWSMON_BROKER_START_TIMEOUT", "0", "greater than 0"),
        ("NEWSMON_BROKER_START_TIMEOUT", "soon", "valid number"),
    ],
)
def test_invalid_values_name_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, raw: str, reason: str) -> None:
    monkeypatch.setenv(name, raw)
    with pytest.raises(ValidationError) as caught:
        make()
    errors = caught.value.errors()
    assert [e["loc"] for e in errors] == [(name,)], "the error must point at the environment variable"
    message = str(caught.value)
    assert name in message
    assert reason in message


def test_several_invalid_values_are_reported_together(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSMON_BROKER_PORT", "0")
    monkeypatch.setenv("NEWSMON_LOG_LEVEL", "loud")
    with pytest.raises(ValidationError) as caught:
        make()
    assert {e["loc"] for e in caught.value.errors()} == {("NEWSMON_BROKER_PORT",), ("NEWSMON_LOG_LEVEL",)}


# --------------------------------------------------------------------------- one line per bad variable

_ENV_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
_WORD = st.from_regex(r"[A-Za-z]{1,12}", fullmatch=True).filter(lambda s: s.lower() not in {"inf", "nan", "infinity"})
_HOSTNAME = st.from_regex(r"[a-z0-9]([a-z0-9.-]{0,20}[a-z0-9])?", fullmatch=True)
_PATHS = (_ENV_TEXT.filter(lambda s: s.strip() != ""), st.from_regex(r"[ \t]*", fullmatch=True))


def _ints(low: int, high: int | None = None) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(str)


def _numbers_above_zero() -> st.SearchStrategy[str]:
    return st.floats(min_value=0.001, max_value=1e6).map(repr)


# Per variable: (raw values that must parse, raw values that must be refused, or None when every
# value is valid).  A new setting must be added here.
PROPERTIES: dict[str, tuple[st.SearchStrategy[str], st.SearchStrategy[str] | None]] = {
    "KAFKA_BOOTSTRAP_SERVERS": (
        st.lists(st.tuples(_HOSTNAME, st.integers(1, 65535)), min_size=1, max_size=3).map(
            lambda hosts: ",".join(f"{h}:{p}" for h, p in hosts)
        ),
        st.one_of(
            _WORD,  # no port
            st.tuples(_HOSTNAME, _WORD).map(lambda hp: f"{hp[0]}:{hp[1]}"),  # host:notaport
            st.tuples(_HOSTNAME, st.sampled_from([0, 65536, 99999])).map(lambda hp: f"{hp[0]}:{hp[1]}"),
            _HOSTNAME.map(lambda h: f"{h}:9092,"),  # an empty entry
        ),
    ),
    "NEWSMON_TOPIC_PREFIX": (
        st.from_regex(r"[A-Za-z0-9._-]{0,40}", fullmatch=True),
        st.tuples(_ENV_TEXT, st.sampled_from("/ :*#é\t")).map(lambda t: t[0] + t[1]),
    ),
    "NEWSMON_STATE_DIR": _PATHS,
    "NEWSMON_CACHE_DIR": _PATHS,
    "NEWSMON_BROKER_PORT": (_ints(1, 65535), st.one_of(_WORD, _ints(-1000, 0), _ints(65536))),
    "NEWSMON_BROKER_HEAP": (
        st.from_regex(r"[1-9][0-9]{0,4}[kKmMgG]?", fullmatch=True),
        st.one_of(_WORD, st.just(""), st.just("0"), st.just("512 m"), st.just("-1g")),
    ),
    "NEWSMON_BROKER_START_TIMEOUT": (
        _numbers_above_zero(),
        st.one_of(_WORD, st.floats(max_value=0).map(repr), st.sampled_from(["inf", "nan"])),
    ),
    "NEWSMON_KAFKA_CONNECT_TIMEOUT": (
        _numbers_above_zero(),
        st.one_of(_WORD, st.floats(max_value=0).map(repr), st.sampled_from(["inf", "nan"])),
    ),
    "JAVA_HOME": (_ENV_TEXT, None),
    "NEWSMON_REPLICATION_FACTOR": (_ints(1, 1000), st.one_of(_WORD, _ints(-1000, 0))),
    "NEWSMON_RAW_PARTITIONS": (_ints(1, 1000), st.one_of(_WORD, _ints(-1000, 0), _ints(1001, 100000))),
    "NEWSMON_STORY_WINDOW_HOURS": (_ints(1, 8760), st.one_of(_WORD, _ints(-1000, 0), _ints(8761, 100000))),
    "NEWSMON_STORY_SOURCES_THRESHOLD": (_ints(2, 1000), st.one_of(_WORD, _ints(-1000, 1), _ints(1001, 100000))),
    "NEWSMON_ALERT_WINDOW_SECONDS": (
        _ints(10, 31_536_000),
        st.one_of(_WORD, _ints(-1000, 9), _ints(31_536_001, 10**9)),
    ),
    "NEWSMON_SPIKE_FACTOR": (
        st.floats(min_value=1.0, max_value=1000.0).map(repr),
        st.one_of(_WORD, st.floats(max_value=0.999).map(repr), st.floats(min_value=1000.001).map(repr)),
    ),
    "NEWSMON_SPIKE_MIN_COUNT": (_ints(1, 1_000_000), st.one_of(_WORD, _ints(-1000, 0), _ints(1_000_001))),
    "NEWSMON_SPIKE_BASELINE_WINDOWS": (_ints(1, 1000), st.one_of(_WORD, _ints(-1000, 0), _ints(1001, 100000))),
    "NEWSMON_ALERT_BUDGET": (_ints(0, 1_000_000), st.one_of(_WORD, _ints(-1000, -1), _ints(1_000_001))),
    "NEWSMON_BATCH_SIZE": (_ints(1, 10_000), st.one_of(_WORD, _ints(-1000, 0), _ints(10_001))),
    "NEWSMON_BATCH_WAIT_MS": (_ints(0, 10_000), st.one_of(_WORD, _ints(-1000, -1), _ints(10_001))),
    "NEWSMON_TICK_SECONDS": (
        st.floats(min_value=0.5, max_value=3600.0).map(repr),
        st.one_of(_WORD, st.floats(max_value=0.499).map(repr), st.floats(min_value=3600.001).map(repr)),
    ),
    "NEWSMON_THEMES_FILE": _PATHS,
    "NEWSMON_LOG_LEVEL": (
        st.tuples(st.sampled_from(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]), st.randoms()).map(
            lambda t: "".join(c.lower() if t[1].random() < 0.5 else c for c in t[0])
        ),
        _WORD.filter(lambda s: s.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}),
    ),
    "NEWSMON_WEB_PORT": (_ints(1, 65535), st.one_of(_WORD, _ints(-1000, 0), _ints(65536))),
    "NEWSMON_FEEDS_WEB_PORT": (_ints(1, 65535), st.one_of(_WORD, _ints(-1000, 0), _ints(65536))),
    "NEWSMON_DASHBOARD_PORT": (_ints(1, 65535), st.one_of(_WORD, _ints(-1000, 0), _ints(65536))),
    "NEWSMON_WEB_BIND": (
        st.one_of(st.ip_addresses().map(str), _HOSTNAME),
        st.one_of(st.just(""), st.tuples(_HOSTNAME, st.sampled_from(" /@\t")).map(lambda t: t[0] + t[1])),
    ),
    "NEWSMON_FEEDS_FILE": (_PATHS[0], None),
    "NEWSMON_FEEDS_CONTACT": (_ENV_TEXT, None),
    "NEWSMON_FEEDS_CONNECT_TIMEOUT": (
        _numbers_above_zero(),
        st.one_of(_WORD, st.floats(max_value=0).map(repr), st.sampled_from(["inf", "nan"])),
    ),
    "NEWSMON_FEEDS_READ_TIMEOUT": (
        _numbers_above_zero(),
        st.one_of(_WORD, st.floats(max_value=0).map(repr), st.sampled_from(["inf", "nan"])),
    ),
    "NEWSMON_FEEDS_TOTAL_TIMEOUT": (
        _numbers_above_zero(),
        st.one_of(_WORD, st.floats(max_value=0).map(repr), st.sampled_from(["inf", "nan"])),
    ),
    "NEWSMON_FEEDS_MAX_BYTES": (_ints(1024, 10**10), st.one_of(_WORD, _ints(-1000, 1023))),
    "NEWSMON_FEEDS_MAX_REDIRECTS": (_ints(0, 20), st.one_of(_WORD, _ints(-100, -1), _ints(21))),
    "NEWSMON_FEEDS_CONCURRENCY": (_ints(1, 1000), st.one_of(_WORD, _ints(-1000, 0))),
    "NEWSMON_FEEDS_PER_HOST": (_ints(1, 1000), st.one_of(_WORD, _ints(-1000, 0))),
}


def test_every_variable_has_a_property_test() -> None:
    assert set(PROPERTIES) == set(env_var_names().values())


def test_every_variable_has_one_prefix() -> None:
    names = set(env_var_names().values())
    assert {n for n in names if not n.startswith(ENV_PREFIX)} == UNPREFIXED


def _load(name: str, raw: str) -> Settings:
    with mock.patch.dict(os.environ, {name: raw}):
        return load_settings()


@pytest.mark.parametrize("name", list(PROPERTIES))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_valid_values_parse_and_invalid_ones_give_one_line_naming_the_variable(name: str, data: st.DataObject) -> None:
    valid, invalid = PROPERTIES[name]
    _load(name, data.draw(valid, label="valid"))  # raises on a refused valid value
    if invalid is None:
        return
    raw = data.draw(invalid, label="invalid")
    with pytest.raises(SettingsError) as caught:
        _load(name, raw)
    assert len(caught.value.lines) == 1, caught.value.lines
    line = caught.value.lines[0]
    assert line.startswith(f"{name}={raw!r}: must be "), line
    assert "\n" not in line


def test_each_bad_variable_gets_its_own_line() -> None:
    bad = {"NEWSMON_BROKER_PORT": "abc", "NEWSMON_LOG_LEVEL": "LOUD", "NEWSMON_REPLICATION_FACTOR": "0"}
    with mock.patch.dict(os.environ, bad), pytest.raises(SettingsError) as caught:
        load_settings()
    assert caught.value.lines == [
        "NEWSMON_BROKER_PORT='abc': must be an integer 1..65535",
        "NEWSMON_REPLICATION_FACTOR='0': must be an integer >= 1",
        "NEWSMON_LOG_LEVEL='LOUD': must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (any case)",
    ]


def test_faust_variables_are_refused() -> None:
    with mock.patch.dict(os.environ, {"FAUST_LOOP": "eventlet", "F_DEBUG": "1"}), pytest.raises(SettingsError) as c:
        load_settings()
    assert [line.split("=")[0] for line in c.value.lines] == ["FAUST_LOOP", "F_DEBUG"]
    assert all("Faust variables are not supported" in line for line in c.value.lines)
    assert faust_variable_errors({"F_UNRELATED": "x", "PATH": "/bin"}) == []


def test_the_refused_faust_variables_cover_what_faust_reads_at_import() -> None:
    import faust

    source = Path(faust.__file__).parent
    read = set(re.findall(r'_getenv\("([A-Z_]+)"', (source / "types" / "_env.py").read_text(encoding="utf-8")))
    read |= {m.removeprefix("FAUST_") for m in re.findall(r'"(FAUST_[A-Z_]+)"', (source / "__init__.py").read_text())}
    assert read, "faust's environment reading moved: update FAUST_IMPORT_VARIABLES"
    assert read <= set(FAUST_IMPORT_VARIABLES)


CLI_COMMANDS = [
    ["alerts"],
    ["worker"],
    ["demo"],
    ["bench", "--quick"],
    ["replay", "seeds"],
    ["classify", "seeds/001_25711ed6ec3fc9a9.txt"],
    ["themes", "list"],
    ["themes", "test"],
    ["broker", "status"],
    ["broker", "start"],
    ["broker", "stop"],
]


@pytest.mark.parametrize("args", CLI_COMMANDS, ids=[" ".join(a) for a in CLI_COMMANDS])
def test_every_command_refuses_invalid_settings_with_one_line_each_and_exit_2(args: list[str], tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in env_var_names().values()}
    env.update(
        NEWSMON_BROKER_PORT="abc",
        NEWSMON_LOG_LEVEL="LOUD",
        NEWSMON_REPLICATION_FACTOR="0",
        KAFKA_BOOTSTRAP_SERVERS="host:notaport",
        PYTHONPATH=str(REPO),
    )
    result = subprocess.run(
        [sys.executable, "-m", "streams", *(str(REPO / a) if a.startswith("seeds") else a for a in args)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert [line.split("=")[0] for line in lines] == [
        "newsmon: error: KAFKA_BOOTSTRAP_SERVERS",
        "newsmon: error: NEWSMON_BROKER_PORT",
        "newsmon: error: NEWSMON_REPLICATION_FACTOR",
        "newsmon: error: NEWSMON_LOG_LEVEL",
    ], result.stderr
    assert result.stdout == ""


# --------------------------------------------------------------------------- documentation


def _default_text(info: FieldInfo) -> str:
    """A field's default as the docs show it: paths relative to the checkout or home, unset as "unset"."""
    default = info.default
    if default is None:
        return "unset"
    if isinstance(default, Path):
        if default.is_relative_to(REPO_ROOT):
            return f"`<repo>/{default.relative_to(REPO_ROOT).as_posix()}`"
        if default.is_relative_to(Path.home()):
            return f"`~/{default.relative_to(Path.home()).as_posix()}`"
        return f"`{default}`"
    if default == "":
        return "empty"
    return f"`{default}`"


def expected_rows() -> dict[str, str]:
    """The configuration table's rows (variable | default | meaning), from the settings object."""
    rows: dict[str, str] = {}
    for field, name in env_var_names().items():
        info = Settings.model_fields[field]
        assert info.description, f"Settings.{field} has no description"
        meaning = info.description.replace("|", "\\|")
        rows[name] = f"| `{name}` | {_default_text(info)} | {meaning} |"
    return rows


def documented_rows(path: Path) -> dict[str, str]:
    """Rows of markdown tables in ``path`` whose first cell is an environment variable in backticks."""
    rows: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = ENV_VAR.match(line.strip())
        if match:
            rows[match.group(1)] = line.strip()
    return rows


def test_configuration_doc_matches_the_settings() -> None:
    documented = documented_rows(CONFIG_DOC)
    expected = expected_rows()
    missing = [expected[name] for name in expected if name not in documented]
    assert not missing, f"{CONFIG_DOC.name} lacks these rows:\n" + "\n".join(missing)
    stale = sorted(set(documented) - set(expected))
    assert not stale, f"{CONFIG_DOC.name} documents variables newsmon does not read: {stale}"
    wrong = [f"  has: {documented[n]}\n want: {row}" for n, row in expected.items() if documented[n] != row]
    assert not wrong, f"{CONFIG_DOC.name} is out of date (python tests/test_settings.py prints the rows):\n" + (
        "\n".join(wrong)
    )


def test_readme_lists_every_variable() -> None:
    documented = documented_rows(README)
    missing = [name for name in env_var_names().values() if name not in documented]
    assert not missing, (
        f"README.md's configuration table lacks rows (`| \\`NAME\\` | ...`) for: {missing}; "
        f"see {CONFIG_DOC.relative_to(REPO)}"
    )
    stale = sorted(set(documented) - set(env_var_names().values()))
    assert not stale, f"README.md documents variables newsmon does not read: {stale}"


def test_row_pattern() -> None:
    assert ENV_VAR.match("| `NEWSMON_LOG_LEVEL` | `INFO` | Log level |")
    assert not ENV_VAR.match("| `newsmon demo` | runs everything |")
    assert not ENV_VAR.match("| variable | default | meaning |")


if __name__ == "__main__":
    print("| variable | default | meaning |")
    print("|---|---|---|")
    for row in expected_rows().values():
        print(row)
