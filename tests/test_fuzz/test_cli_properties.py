"""CLI options from outside: random values are accepted or refused with a usage error, never a traceback."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.cli import main
from streams.settings import get_settings

CLI = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
option_text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=30)


@CLI
@given(rate=option_text | st.floats(allow_nan=True, allow_infinity=True).map(str))
def test_replay_rate_is_validated_before_anything_is_published(rate: str) -> None:
    result = CliRunner().invoke(main, ["replay", "--rate", rate, "/nonexistent/seeds"])
    assert result.exit_code == 2, result.output  # bad option or bad path: exit 2, nothing published
    assert isinstance(result.exception, SystemExit)


HOSTILE_TITLES = [
    "\x1b]0;pwned\x07\x1b[2J\x1b[31mred",
    "\u202eevil\u202c \u2066isolate\u2069",
    "NUL\x00byte\r\nnext line",
    "\ud800 lone surrogate",
    "C1\x9bcontrol",
]


@CLI
@given(themes=st.lists(option_text, max_size=3), title=st.sampled_from(HOSTILE_TITLES) | st.text(max_size=40))
def test_alerts_theme_filter_and_hostile_alerts_print_safely(
    themes: list[str], title: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")
    get_settings.cache_clear()
    seen: dict[str, Any] = {}

    async def fake_subscribe(bootstrap: str, topic: str, *, themes: Any = (), **_: Any) -> AsyncIterator[Any]:
        seen["themes"] = tuple(themes)
        event = {"id": "al-x", "data": {"theme": title, "title": title, "url": title, "lang": title, "score": 1}}
        yield event, json.dumps(event).encode("utf-8", "surrogatepass")

    monkeypatch.setattr("streams.sinks.alerts.subscribe", fake_subscribe)
    monkeypatch.setattr("streams.cli.alerts.require_reachable", lambda settings: "127.0.0.1:9")
    try:
        result = CliRunner().invoke(main, ["alerts", *(arg for t in themes for arg in ("--theme", t))])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert seen["themes"] == tuple(themes)
    line = result.stdout.splitlines()[0]
    assert not UNSAFE.search(line), repr(line)
    assert "\x1b" not in line


@CLI
@given(text=st.text(max_size=400))
def test_classify_any_text_prints_one_json_line(text: str) -> None:
    result = CliRunner().invoke(main, ["classify", "-"], input=text.encode("utf-8", "surrogateescape"))
    assert result.exit_code in (0, 1), result.output
    assert isinstance(result.exception, SystemExit | None)
    for line in result.stdout.splitlines():
        json.loads(line)
