"""The one settings object: every environment variable newsmon reads is named here.

Values come from the environment (or a ``.env`` file in the working directory);
keyword arguments are for tests.  Nothing else in the project calls ``os.environ``
for configuration, so this module *is* the configuration reference, and the README
table is checked against it by ``tests/test_settings.py``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


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
        validation_alias=_env("NEWSMON_BROKER_START_TIMEOUT"),
        description="Seconds to wait for the embedded broker to answer a metadata request.",
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
    def _blank_is_unset(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return value.strip()

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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
