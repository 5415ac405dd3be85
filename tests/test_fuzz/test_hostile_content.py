"""Hostile content: text is never interpreted, anything shown is escaped, services stay on loopback."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from support import SHIPPED_THEMES

from agents.alerting import alert_event, format_alert_line
from agents.enrich import enrich
from agents.records import InvalidRecord, decode_raw_article, encode, normalize_text
from agents.text import for_html, for_terminal, strip_markup
from agents.themes import Tagger, load_theme_file
from streams.kafka.embedded import server_properties
from streams.pipeline.app import create_app
from streams.settings import Settings

UNSAFE_TERMINAL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
TAGGER = Tagger(load_theme_file(SHIPPED_THEMES))

ANSI = "\x1b[2J\x1b[H\x1b]0;owned\x07\x1b[31mGreenland\x1b[0m"
BIDI = "\u202eGreenland\u202c \u2066x\u2069 \u200fmark"
BOMB = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{"&lol;" * 10}">' for i in range(1, 10))
    + "]><p>&lol9;&lol9;</p>"
)


@pytest.mark.parametrize(
    "text",
    [ANSI, BIDI, "a\x00b\x9bc", "\ud800 lone", "x" * 10_000, "line\nbreak\rreturn\ttab"],
    ids=["ansi", "bidi", "nul-c1", "surrogate", "huge", "newlines"],
)
def test_for_terminal_leaves_one_safe_line(text: str) -> None:
    out = for_terminal(text, 200)
    assert not UNSAFE_TERMINAL.search(out), repr(out)
    assert "\n" not in out
    assert len(out) <= 200
    out.encode("utf-8")  # printable to a UTF-8 terminal: no lone surrogate


def test_alert_line_of_hostile_alert_is_terminal_safe() -> None:
    event = {
        "id": "al-\x1b[31m",
        "time": "t\x1b[2J",
        "data": {"theme": ANSI, "title": BIDI + ANSI, "url": "javascript:\x00alert(1)", "lang": "\x1b", "score": 1},
    }
    line = format_alert_line(event)
    assert "\x1b" not in line
    assert not UNSAFE_TERMINAL.search(line), repr(line)


def test_for_html_escapes_markup() -> None:
    out = for_html('<script>alert("x")</script><img src=x onerror=alert(1)>&amp;')
    assert not set('<>"') & set(out)
    assert "&amp;amp;" in out


def test_strip_markup_never_executes_or_expands_entities() -> None:
    text = '<script>alert(1)</script><style>p{}</style><p onclick="x()">Greenland</p><iframe src="//x"></iframe>'
    assert strip_markup(text) == "Greenland"
    started = time.perf_counter()
    out = strip_markup(BOMB)
    assert time.perf_counter() - started < 1.0
    assert len(out) < len(BOMB)  # custom entities are not expanded (HTML's own only)
    assert "lollol" not in out


def test_hostile_articles_are_tagged_as_text() -> None:
    for title, body in [
        (ANSI, "Trump says the US must buy Greenland."),
        (BIDI, "Denmark rejects the offer to buy Greenland.\x00"),
        ("Huge token", "Greenland " + "A" * 900_000),
        ("Entity bomb", BOMB + " Trump wants to buy Greenland."),
        ("<script>Greenland</script>", "<b>Trump</b> wants to <i>buy</i> Greenland &amp; more"),
    ]:
        article = decode_raw_article(encode({"title": title, "body": body}))
        started = time.perf_counter()
        tagged = enrich(article, TAGGER, processed_at="t")
        assert time.perf_counter() - started < 5.0
        text = f"{tagged['title']}\n\n{tagged['body']}" if tagged["title"] else tagged["body"]
        for theme in tagged["themes"]:
            for ev in theme["evidence"]:
                assert 0 <= ev["start"] < ev["end"] <= len(text)
        for match in tagged["themes"]:
            line = format_alert_line(alert_event(tagged, match, detected_at="t"))
            assert not UNSAFE_TERMINAL.search(line), repr(line)
            json.loads(encode(alert_event(tagged, match, detected_at="t")))


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b'{"title": "\\ud800", "body": "x"}', "surrogate"),
        (b'{"title": "t", "body": "x", "feed": {"k": "\\udfff"}}', "surrogate"),
        (b"[" * 200_000 + b"]" * 200_000, "nested too deeply"),
        (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "nested too deeply"),
        (b"\x00\x00\x00", "JSON"),
        (b'{"title": "t", "body": "x", "title": Infinity}', "not a JSON number"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
)
def test_hostile_json_is_refused_with_a_reason(value: bytes, reason: str) -> None:
    with pytest.raises(InvalidRecord, match=reason):
        decode_raw_article(value)


def test_normalize_text_drops_nul_and_controls() -> None:
    assert normalize_text("a\x00b\x07c\x1b[0m") == "abc[0m"


# --------------------------------------------------------------------------- exposure


def test_web_server_binds_loopback_by_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NEWSMON_WEB_BIND", raising=False)
    settings = Settings(state_dir=tmp_path, kafka_bootstrap_servers=None, _env_file=None)  # type: ignore[call-arg]
    assert settings.worker_web_bind == "127.0.0.1"
    app = create_app(settings, "127.0.0.1:9092", app_id="loopback-check")
    assert app.conf.web_bind == "127.0.0.1"


def test_embedded_broker_listens_on_loopback_only(tmp_path: Path) -> None:
    props = dict(
        line.split("=", 1) for line in server_properties(port=1, controller_port=2, data_dir=tmp_path).splitlines()
    )
    for key in ("listeners", "advertised.listeners", "controller.quorum.voters"):
        hosts = re.findall(r"(?://|@)([^:,/]+):\d+", props[key])
        assert hosts, (key, props[key])
        assert set(hosts) == {"127.0.0.1"}, (key, props[key])
