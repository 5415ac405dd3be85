"""Every human-readable command on hostile input, through a pseudo-terminal: no raw escape byte comes out.

Hostile text (ESC sequences, BEL, the one-character CSI U+009B, bidi overrides and isolates)
is put where each command prints data from files or topics: theme files (names, terms,
example texts, the file name itself), article files, and records on news.themes and news.alerts.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import pytest
from support import Env, produce

from agents.records import encode
from agents.text import escape_controls, for_terminal, json_for_terminal
from streams.kafka.admin import ensure_topics
from streams.kafka.topics import ALERTS, THEMES, specs
from streams.settings import Settings

EVIL = "\x1b[2J\x1b]0;owned\x07\x9b31m\u202egnp.exe\u202c\u2066x\u2069\u2067\u2068\u202a\u202b\u202d\x7f"
# What must never reach the terminal: ESC, BEL, C1 CSI (as the UTF-8 of U+009B), DEL and every bidi override.
BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
FORBIDDEN = [b"\x1b", b"\x07", b"\x7f", "\u009b".encode()] + [c.encode() for c in BIDI]

VALID_THEME = """
[[theme]]
id = "evil"
name = "Evil examples"
description = "Examples that hold terminal escapes."
[theme.terms.t]
en = ["greenland"]
[[theme.rules]]
id = "r"
any = ["t"]
[theme.examples]
positive = [{evil}]
negative = [{evil_neg}]
"""


def _toml_string(text: str) -> str:
    return json.dumps(text)  # JSON's \\uXXXX escapes are TOML escapes too


def theme_file(tmp_path: Path, *, invalid: bool) -> Path:
    text = VALID_THEME.format(evil=_toml_string(f"nothing here {EVIL}"), evil_neg=_toml_string(f"greenland {EVIL}"))
    if invalid:
        text = text.replace('name = "Evil examples"', f"name = {_toml_string('Evil ' + EVIL)}")
        text = text.replace('en = ["greenland"]', f"en = [{_toml_string('green' + EVIL)}]")
    path = tmp_path / ("invalid.toml" if invalid else "valid.toml")
    path.write_text(text, encoding="utf-8")
    return path


def run_in_pty(args: list[str], env: Mapping[str, str] | None = None, timeout: float = 120.0) -> tuple[int, bytes]:
    """``newsmon ARGS`` with stdin, stdout and stderr on a pseudo-terminal; (exit code, all output)."""
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streams", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=dict(env if env is not None else os.environ),
        close_fds=True,
    )
    os.close(slave)
    out = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while True:
            if time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"newsmon {args} did not finish in {timeout}s: {bytes(out)[-2000:]!r}")
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(master)
    return proc.wait(timeout=30), bytes(out)


def assert_terminal_safe(output: bytes, expect: str) -> None:
    assert expect.encode() in output, output[-3000:]
    for raw in FORBIDDEN:
        assert raw not in output, f"raw {raw!r} reached the terminal: {output[-3000:]!r}"


def test_hostile_text_has_every_forbidden_character() -> None:
    """The test input holds what the assertions look for (else they prove nothing)."""
    encoded = EVIL.encode()
    assert all(raw in encoded for raw in FORBIDDEN)
    assert not any(raw in for_terminal(EVIL).encode() for raw in FORBIDDEN)
    assert not any(raw in escape_controls(EVIL).encode() for raw in FORBIDDEN)
    dumped = json_for_terminal({"x": EVIL})
    assert not any(raw in dumped.encode() for raw in FORBIDDEN)
    assert json.loads(dumped) == {"x": EVIL}


def test_themes_test_failure_lines(tmp_path: Path) -> None:
    code, out = run_in_pty(["themes", "test", str(theme_file(tmp_path, invalid=False))])
    assert code == 1
    assert_terminal_safe(out, "FAIL evil")


@pytest.mark.parametrize(
    "args",
    [
        ["themes", "test", "{invalid}"],
        ["themes", "put", "--skip-examples", "{invalid}"],
        ["classify", "--themes", "{invalid}", "{article}"],
        ["themes", "test", "{evil_path}"],
        ["classify", "--themes", "{evil_path}", "{article}"],
    ],
    ids=["test-invalid", "put-invalid", "classify-themes-invalid", "test-evil-path", "classify-evil-path"],
)
def test_theme_file_errors(tmp_path: Path, args: list[str]) -> None:
    article = tmp_path / "a.txt"
    article.write_text("Title\n\nBody about greenland.\n", encoding="utf-8")
    names = {
        "invalid": str(theme_file(tmp_path, invalid=True)),
        "article": str(article),
        "evil_path": str(tmp_path / f"missing{EVIL}.toml"),
    }
    code, out = run_in_pty([a.format(**names) for a in args])
    assert code == 2
    assert_terminal_safe(out, "newsmon: error:")


def test_classify_output(tmp_path: Path) -> None:
    """Hostile ids, titles and file names in classify's JSON lines are escaped (and still JSON)."""
    jsonl = tmp_path / f"evil{EVIL}.jsonl"
    jsonl.write_text(json.dumps({"id": f"id{EVIL}", "title": f"Greenland {EVIL}", "body": "Greenland."}) + "\n")
    code, out = run_in_pty(["classify", str(jsonl)])
    assert code == 0, out
    assert_terminal_safe(out, '"lang"')


def test_replay_errors(tmp_path: Path) -> None:
    bad = tmp_path / f"bad{EVIL}.jsonl"
    bad.write_text(json.dumps({"title": EVIL, "body": 5}) + "\n", encoding="utf-8")
    code, out = run_in_pty(["replay", str(bad)])
    assert code != 0
    assert_terminal_safe(out, "newsmon: error:")


# --------------------------------------------------------------------------- commands that read topics


def hostile_alert(index: int) -> dict[str, object]:
    return {
        "specversion": "1.0",
        "id": f"al-evil-{index}",
        "type": "io.newsmon.alert.theme_match.v1",
        "source": EVIL,
        "time": EVIL,
        "data": {
            "alert_id": f"al-evil-{index}{EVIL}",
            "theme": f"evil{EVIL}",
            "theme_name": EVIL,
            "title": f"Greenland {EVIL}",
            "url": f"https://example.org/{EVIL}",
            "article_id": EVIL,
            "lang": EVIL,
            "score": EVIL,
            "detected_at": EVIL,
        },
    }


async def _publish(env: Env, tmp_path: Path) -> None:
    settings = Settings(topic_prefix=env.prefix, kafka_bootstrap_servers=env.bootstrap)
    await ensure_topics(env.bootstrap, specs(settings), replication_factor=1)
    from agents.themes import load_theme_file, theme_to_record

    [theme] = load_theme_file(theme_file(tmp_path, invalid=False))
    await produce(
        env.bootstrap,
        env.topic(THEMES),
        [
            (b"evil", encode(theme_to_record(theme))),  # valid: its examples hold the escapes
            (f"bad{EVIL}".encode(), encode({"schema_version": 1, "id": EVIL, "name": EVIL})),
        ],
    )
    await produce(env.bootstrap, env.topic(ALERTS), [(b"evil", encode(hostile_alert(i))) for i in range(2)])


@pytest.mark.kafka
@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["themes", "list"], "evil"),
        (["themes", "show", "evil"], '"positive"'),
        (["alerts"], "Greenland"),
        (["alerts", "--json"], '"specversion"'),
    ],
    ids=["themes-list", "themes-show", "alerts", "alerts-json"],
)
def test_topic_commands(newsmon_env: Env, tmp_path: Path, args: list[str], expect: str) -> None:
    asyncio.run(_publish(newsmon_env, tmp_path))
    code, out = run_in_pty(args, env=newsmon_env.environ())
    assert code == 0, out[-3000:]
    assert_terminal_safe(out, expect)
