"""The one settings object: every environment variable newsmon reads is named here.

Values come from the environment (or a ``.env`` file in the working directory);
keyword arguments are for tests.  Nothing else in the project calls ``os.environ``
for configuration, so this module *is* the configuration reference, and the README
table is checked against it by ``tests/test_settings.py``.
"""

from __future__ import annotations

import ipaddress
import os
import re
import typing
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import annotated_types
from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

#: Every variable is NEWSMON_*, except these two, which are contracts shared with other tools.
ENV_PREFIX = "NEWSMON_"
UNPREFIXED = frozenset({"KAFKA_BOOTSTRAP_SERVERS", "JAVA_HOME"})

_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)$")
_TOPIC_CHARS = re.compile(r"^[A-Za-z0-9._-]*$")
_HEAP = re.compile(r"^[1-9][0-9]*[kKmMgG]?$")


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


def check_bootstrap(value: str) -> str:
    """``value`` stripped if it is a comma-separated host:port list, else ValueError saying what is allowed."""
    for part in value.strip().split(","):
        host, sep, port = part.strip().rpartition(":")
        if not sep or not _HOST.match(host) or not port.isascii() or not port.isdigit():
            raise ValueError("must be a comma-separated list of host:port (e.g. broker1:9092,broker2:9092)")
        if not 1 <= int(port) <= 65535:
            raise ValueError("must be a comma-separated list of host:port with ports 1..65535")
    return value.strip()


class Settings(BaseSettings):
    """newsmon configuration.  Field ``description`` doubles as documentation."""

    model_config = SettingsConfigDict(
        frozen=True,
        extra="ignore",
        populate_by_name=True,
        env_file=".env",
        env_file_encoding="utf-8",
    )

    kafka_bootstrap_servers: str | None = Field(
        default=None,
        validation_alias=_env("KAFKA_BOOTSTRAP_SERVERS"),
        description=(
            "Comma-separated host:port list of an existing Kafka cluster. When set, every "
            "command uses it and the embedded broker is never started."
        ),
    )
    topic_prefix: str = Field(
        default="",
        validation_alias=_env("NEWSMON_TOPIC_PREFIX"),
        description="Prefix added to every topic name (for sharing one cluster between environments).",
    )
    state_dir: Path = Field(
        default=REPO_ROOT / ".newsmon",
        validation_alias=_env("NEWSMON_STATE_DIR"),
        description="Where the embedded broker keeps its data, log and pid file, and the worker its tables.",
    )
    cache_dir: Path = Field(
        default=Path.home() / ".cache" / "newsmon",
        validation_alias=_env("NEWSMON_CACHE_DIR"),
        description="Cache for the broker's jars resolved by Maven (outside git, shared by checkouts).",
    )
    broker_port: int = Field(
        default=19092,
        ge=1,
        le=65535,
        validation_alias=_env("NEWSMON_BROKER_PORT"),
        description="Preferred client port of the embedded broker; a free one is chosen if it is taken.",
    )
    broker_heap: str = Field(
        default="512m",
        validation_alias=_env("NEWSMON_BROKER_HEAP"),
        description="Maximum Java heap of the embedded broker (-Xmx).",
    )
    broker_start_timeout: float = Field(
        default=90.0,
        gt=0,
        allow_inf_nan=False,
        validation_alias=_env("NEWSMON_BROKER_START_TIMEOUT"),
        description="Seconds to wait for the embedded broker to answer a metadata request.",
    )
    kafka_connect_timeout: float = Field(
        default=15.0,
        gt=0,
        allow_inf_nan=False,
        validation_alias=_env("NEWSMON_KAFKA_CONNECT_TIMEOUT"),
        description=(
            "Seconds a command waits for the Kafka cluster to answer before it gives up with one error line (exit 1)."
        ),
    )
    java_home: Path | None = Field(
        default=None,
        validation_alias=_env("JAVA_HOME"),
        description="Java installation used for the embedded broker (Java 17+); default: `java` on PATH.",
    )
    replication_factor: int = Field(
        default=1,
        ge=1,
        validation_alias=_env("NEWSMON_REPLICATION_FACTOR"),
        description="Replication factor of the topics newsmon creates (use 3 on a multi-broker cluster).",
    )
    raw_partitions: int = Field(
        default=6,
        ge=1,
        le=1000,
        validation_alias=_env("NEWSMON_RAW_PARTITIONS"),
        description=(
            "Partitions of news.articles.raw and news.articles.tagged when newsmon creates them: the most "
            "worker processes that can share the work (an existing topic keeps its count)."
        ),
    )
    story_window_hours: int = Field(
        default=48,
        ge=1,
        le=8760,
        validation_alias=_env("NEWSMON_STORY_WINDOW_HOURS"),
        description=(
            "Hours a story stays open without a new article; then the worker forgets it and a later copy "
            "opens a new story."
        ),
    )
    story_sources_threshold: int = Field(
        default=3,
        ge=2,
        le=1000,
        validation_alias=_env("NEWSMON_STORY_SOURCES_THRESHOLD"),
        description="Distinct sources at which a story that has alerted raises one story_escalation alert.",
    )
    alert_window_seconds: int = Field(
        default=3600,
        ge=10,
        le=31_536_000,
        validation_alias=_env("NEWSMON_ALERT_WINDOW_SECONDS"),
        description=(
            "Length of the windows (aligned to the epoch, in stream time) in which spikes are counted and "
            "alert budgets apply."
        ),
    )
    spike_factor: float = Field(
        default=3.0,
        ge=1.0,
        le=1000.0,
        validation_alias=_env("NEWSMON_SPIKE_FACTOR"),
        description=(
            "A theme spikes when a window's matching articles reach this factor times (the mean of the previous "
            "windows + NEWSMON_SPIKE_MIN_COUNT)."
        ),
    )
    spike_min_count: int = Field(
        default=5,
        ge=1,
        le=1_000_000,
        validation_alias=_env("NEWSMON_SPIKE_MIN_COUNT"),
        description=(
            "Added to the baseline mean before the factor is applied: a quiet theme spikes at factor times this "
            "many articles in a window."
        ),
    )
    spike_baseline_windows: int = Field(
        default=24,
        ge=1,
        le=1000,
        validation_alias=_env("NEWSMON_SPIKE_BASELINE_WINDOWS"),
        description="How many previous windows the spike baseline (their mean article count) covers.",
    )
    alert_budget: int = Field(
        default=0,
        ge=0,
        le=1_000_000,
        validation_alias=_env("NEWSMON_ALERT_BUDGET"),
        description=(
            "Story alerts (new_story, story_escalation) per theme per window; the rest go into one digest alert at "
            "the window's end. 0: no budget."
        ),
    )
    tick_seconds: float = Field(
        default=30.0,
        ge=0.5,
        le=3600.0,
        validation_alias=_env("NEWSMON_TICK_SECONDS"),
        description=(
            "How often each worker writes a clock tick to news.articles.enriched, so that a window's digest is "
            "emitted at its end even when no article follows."
        ),
    )
    batch_size: int = Field(
        default=1,
        ge=1,
        le=10_000,
        validation_alias=_env("NEWSMON_BATCH_SIZE"),
        description=(
            "Input events each agent takes at a time (commits never pass an unfinished batch). 1: one event at a "
            "time, with no wait (measured no slower on 2 cores: docs/benchmarks.md)."
        ),
    )
    batch_wait_ms: int = Field(
        default=5,
        ge=0,
        le=10_000,
        validation_alias=_env("NEWSMON_BATCH_WAIT_MS"),
        description=(
            "How long an agent waits for a batch to fill before it processes what it has: the most a quiet "
            "stream's article waits for company."
        ),
    )
    themes_file: Path = Field(
        default=REPO_ROOT / "themes" / "themes.toml",
        validation_alias=_env("NEWSMON_THEMES_FILE"),
        description="Theme file that seeds the themes topic on first start and is used offline by `classify`.",
    )
    log_level: LogLevel = Field(
        default="INFO",
        validation_alias=_env("NEWSMON_LOG_LEVEL"),
        description="Log level of the worker and CLI.",
    )
    worker_web_port: int = Field(
        default=6066,
        ge=1,
        le=65535,
        validation_alias=_env("NEWSMON_WEB_PORT"),
        description="Port of the worker's Faust web server (bound to NEWSMON_WEB_BIND).",
    )
    worker_web_bind: str = Field(
        default="127.0.0.1",
        validation_alias=_env("NEWSMON_WEB_BIND"),
        description="Address the worker's web server binds to; loopback unless set explicitly.",
    )
    feeds_web_port: int = Field(
        default=6067,
        ge=1,
        le=65535,
        validation_alias=_env("NEWSMON_FEEDS_WEB_PORT"),
        description="Port of `newsmon feeds run`'s /metrics and /health server (bound to NEWSMON_WEB_BIND).",
    )
    dashboard_port: int = Field(
        default=6068,
        ge=1,
        le=65535,
        validation_alias=_env("NEWSMON_DASHBOARD_PORT"),
        description="Port of `newsmon dashboard` (bound to NEWSMON_WEB_BIND).",
    )
    # --- feeds poller (streams/sources/feeds, docs/feeds.md)
    feeds_file: Path = Field(
        default=REPO_ROOT / "feeds" / "feeds.toml",
        validation_alias=_env("NEWSMON_FEEDS_FILE"),
        description="Feeds file polled by `newsmon feeds run` and `poll`, and merged into by `import-opml`.",
    )
    feeds_contact: str = Field(
        default="",
        validation_alias=_env("NEWSMON_FEEDS_CONTACT"),
        description="Contact (e-mail or URL) added to the poller's User-Agent so feed operators can reach you.",
    )
    feeds_connect_timeout: float = Field(
        default=10.0,
        gt=0,
        allow_inf_nan=False,
        validation_alias=_env("NEWSMON_FEEDS_CONNECT_TIMEOUT"),
        description="Seconds to open a connection to a feed server.",
    )
    feeds_read_timeout: float = Field(
        default=30.0,
        gt=0,
        allow_inf_nan=False,
        validation_alias=_env("NEWSMON_FEEDS_READ_TIMEOUT"),
        description="Seconds a feed server may stay silent while answering.",
    )
    feeds_total_timeout: float = Field(
        default=60.0,
        gt=0,
        allow_inf_nan=False,
        validation_alias=_env("NEWSMON_FEEDS_TOTAL_TIMEOUT"),
        description="Seconds for one whole fetch, redirects included.",
    )
    feeds_max_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1024,
        validation_alias=_env("NEWSMON_FEEDS_MAX_BYTES"),
        description="Largest feed or article page accepted, in bytes after decompression; bigger ones are aborted.",
    )
    feeds_max_redirects: int = Field(
        default=5,
        ge=0,
        le=20,
        validation_alias=_env("NEWSMON_FEEDS_MAX_REDIRECTS"),
        description="Redirects followed per fetch.",
    )
    feeds_concurrency: int = Field(
        default=32,
        ge=1,
        validation_alias=_env("NEWSMON_FEEDS_CONCURRENCY"),
        description="Fetches in flight at a time, all hosts together.",
    )
    feeds_per_host: int = Field(
        default=2,
        ge=1,
        validation_alias=_env("NEWSMON_FEEDS_PER_HOST"),
        description="Fetches in flight at a time to one host (host:port).",
    )

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _host_port_list(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return check_bootstrap(value)

    @field_validator("topic_prefix")
    @classmethod
    def _topic_chars(cls, value: str) -> str:
        if not _TOPIC_CHARS.match(value) or len(value) > 200:
            raise ValueError("must be at most 200 of the characters Kafka allows in topic names: A-Z a-z 0-9 . _ -")
        return value

    @field_validator("broker_heap")
    @classmethod
    def _heap_size(cls, value: str) -> str:
        if not _HEAP.match(value):
            raise ValueError("must be a Java heap size: a number with an optional k, m or g suffix (e.g. 512m)")
        return value

    @field_validator("worker_web_bind")
    @classmethod
    def _bind_address(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            if not _HOST.match(value):
                raise ValueError("must be an IP address or a host name (e.g. 127.0.0.1, 0.0.0.0, ::1)") from None
        return value

    @field_validator("state_dir", "cache_dir", "themes_file", mode="before")
    @classmethod
    def _path_not_blank(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            raise ValueError("must be a path (it is empty)")
        return value

    @field_validator("java_home", mode="before")
    @classmethod
    def _blank_java_home_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @property
    def uses_external_cluster(self) -> bool:
        return self.kafka_bootstrap_servers is not None


def env_var_names() -> dict[str, str]:
    """Map each field to the environment variable that sets it."""
    names: dict[str, str] = {}
    for field_name, info in Settings.model_fields.items():
        alias = info.validation_alias
        assert isinstance(alias, AliasChoices)
        first = alias.choices[0]
        assert isinstance(first, str)
        names[field_name] = first
    return names


class SettingsError(ValueError):
    """Invalid configuration: ``lines`` holds one message per bad variable."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("; ".join(lines))
        self.lines = lines


def _allowed(field: str) -> str:
    """What a field accepts, from its type and constraints: "an integer 1..65535"."""
    info = Settings.model_fields[field]
    annotation: Any = info.annotation
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is Literal:
        return "one of " + ", ".join(str(a) for a in args) + " (any case)"
    kind = annotation if not args else args[0]
    noun = {int: "an integer", float: "a number", Path: "a path", str: "text"}.get(kind, str(kind))
    low = high = None
    bounds: list[str] = []
    if any(getattr(meta, "allow_inf_nan", True) is False for meta in info.metadata):
        noun = f"a finite {noun.removeprefix('a ')}"
    for meta in info.metadata:
        if isinstance(meta, annotated_types.Ge):
            low = meta.ge
        elif isinstance(meta, annotated_types.Le):
            high = meta.le
        elif isinstance(meta, annotated_types.Gt):
            bounds.append(f"> {meta.gt}")
        elif isinstance(meta, annotated_types.Lt):
            bounds.append(f"< {meta.lt}")
    if low is not None and high is not None:
        bounds.insert(0, f"{low}..{high}")
    elif low is not None:
        bounds.insert(0, f">= {low}")
    elif high is not None:
        bounds.insert(0, f"<= {high}")
    return " ".join([noun, *bounds])


def describe_errors(exc: ValidationError, environ: Mapping[str, str] | None = None) -> list[str]:
    """One line per bad variable: ``NAME='given': must be ...`` (what the variable allows)."""
    environ = os.environ if environ is None else environ
    field_of = {name: field for field, name in env_var_names().items()}
    lines: dict[str, str] = {}
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "settings"
        if name in lines:
            continue  # one line per variable, however many checks its value failed
        field = field_of.get(name, name)
        given = environ.get(name, error.get("input"))
        shown = repr(given if not isinstance(given, str) or len(given) <= 80 else given[:77] + "...")
        if error["type"] == "value_error" and "error" in error.get("ctx", {}):
            reason = str(error["ctx"]["error"])
        elif field in Settings.model_fields:
            reason = f"must be {_allowed(field)}"
        else:
            reason = error["msg"]
        lines[name] = f"{name}={shown}: {reason}"
    return list(lines.values())


#: Variables Faust reads from the environment at import time, whatever the app is given
#: (faust/types/_env.py and faust/__init__.py, with the prefixes FAUST_ and F_).
FAUST_IMPORT_VARIABLES = (
    "DEBUG",
    "WORKDIR",
    "DATADIR",
    "BLOCKING_TIMEOUT",
    "FORCE_BLOCKING_TIMEOUT",
    "CONSOLE_PORT",
    "STRICT",
    "WEB_PORT",
    "WEB_BIND",
    "F_WEB_BIND",
    "WEB_TRANSPORT",
    "LOOP",
)


def faust_variable_errors(environ: Mapping[str, str] | None = None) -> list[str]:
    """One line per Faust variable that is set: newsmon configures Faust only through its settings."""
    environ = os.environ if environ is None else environ
    names = {prefix + name for prefix in ("FAUST_", "F_") for name in FAUST_IMPORT_VARIABLES}
    return [
        f"{name}={environ[name]!r}: Faust variables are not supported; newsmon configures Faust itself "
        "(see docs/configuration.md): unset it"
        for name in sorted(environ)
        if name in names or name.startswith("FAUST_")
    ]


def load_settings() -> Settings:
    """Settings from the environment, or :class:`SettingsError` naming every bad variable."""
    problems = faust_variable_errors()
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = describe_errors(exc) + problems
    if problems:
        raise SettingsError(problems)
    return settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment (:class:`SettingsError` if invalid)."""
    return load_settings()
