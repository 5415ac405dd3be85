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

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from pydantic.fields import FieldInfo

from streams.settings import REPO_ROOT, Settings, env_var_names

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
    "NEWSMON_BROKER_START_TIMEOUT": ("12.5", 12.5),
    "JAVA_HOME": ("/opt/jdk-21", Path("/opt/jdk-21")),
    "NEWSMON_THEMES_FILE": ("/etc/newsmon/themes.toml", Path("/etc/newsmon/themes.toml")),
    "NEWSMON_LOG_LEVEL": ("debug", "DEBUG"),
    "NEWSMON_WEB_PORT": ("8066", 8066),
    "NEWSMON_WEB_BIND": ("0.0.0.0", "0.0.0.0"),
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
