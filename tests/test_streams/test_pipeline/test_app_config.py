"""The Faust app's configuration comes from ``create_app`` alone, never from Faust's environment variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.pipeline.app import create_app
from streams.settings import Settings


def test_faust_reads_no_environment_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Each of these would override create_app's value if Faust read os.environ.
    monkeypatch.setenv("BROKER_SESSION_TIMEOUT", "99")
    monkeypatch.setenv("PROCESSING_GUARANTEE", "exactly_once")
    monkeypatch.setenv("WEB_PORT", "1234")
    monkeypatch.setenv("APP_ENV_PREFIX", "OTHER")
    monkeypatch.setenv("OTHER_BROKER_HEARTBEAT_INTERVAL", "30")
    settings = Settings(_env_file=None, state_dir=tmp_path, worker_web_port=7070, replication_factor=2)
    conf = create_app(settings, "127.0.0.1:9092", web_enabled=False).conf
    assert conf.env == {}
    assert conf.broker_session_timeout == 15.0
    assert conf.broker_heartbeat_interval == 3.0
    assert str(conf.processing_guarantee) == "ProcessingGuarantee.AT_LEAST_ONCE"
    assert conf.web_port == 7070
    assert conf.topic_replication_factor == 2
    assert conf.producer_max_batch_size == 256 * 1024  # fewer produce requests (docs/reliability.md)
