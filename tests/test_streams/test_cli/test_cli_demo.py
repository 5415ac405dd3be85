"""`newsmon demo` end to end on the test broker: the README's first command."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from support import Env

pytestmark = pytest.mark.kafka


async def test_demo_prints_the_seed_alerts_and_a_summary(newsmon_env: Env) -> None:
    first = await asyncio.to_thread(newsmon_env.cli, "demo", "--timeout", "240", timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    out = first.stdout
    assert "articles replayed: 5; processed: 5; dead-lettered: 0" in out
    assert "languages: en=5" in out
    assert re.search(r"^alerts greenland: 3 new$", out, re.M), out
    assert re.search(r"^alerts nato-article-5: [1-9]\d* new", out, re.M), out
    printed = [line for line in out.splitlines() if line.startswith("ALERT ")]
    assert sum(" greenland " in line for line in printed) == 3

    again = await asyncio.to_thread(newsmon_env.cli, "demo", "--timeout", "240", timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert re.search(r"^alerts greenland: 0 new \(\+3 already emitted by an earlier run\)$", again.stdout, re.M)


def test_demo_names_a_bad_seed_file(newsmon_env: Env, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "ok", "body": "fine"}\n{"title": 3}\n')
    result = newsmon_env.cli("demo", str(bad))
    assert result.returncode != 0
    assert f"{bad}:2:" in result.stderr
