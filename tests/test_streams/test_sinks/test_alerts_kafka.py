"""``newsmon alerts`` filters (--theme, --kind) and de-duplication on the real broker."""

from __future__ import annotations

import json

import pytest
from support import Env, produce

from agents.records import encode
from streams.kafka.admin import ensure_topics
from streams.kafka.topics import ALERTS, specs
from streams.sinks.alerts import subscribe

pytestmark = pytest.mark.kafka


def event(n: int, theme: str, kind: str, *, with_data_kind: bool = True) -> bytes:
    data: dict[str, object] = {"alert_id": f"al-{n}", "theme": theme, "title": f"title {n}"}
    if with_data_kind:
        data["kind"] = kind
    return encode(
        {"specversion": "1.0", "id": f"al-{n}", "source": "urn:t", "type": f"io.newsmon.alert.{kind}.v1", "data": data}
    )


ALERTS_SENT = [
    (b"greenland", event(1, "greenland", "theme_match")),
    (b"greenland", event(2, "greenland", "new_story")),
    (b"greenland", event(2, "greenland", "new_story")),  # a redelivery: same id
    (b"ukraine", event(3, "ukraine", "spike")),
    (b"ukraine", event(4, "ukraine", "new_story", with_data_kind=False)),  # kind only in the type
    (b"nato", event(5, "nato", "digest")),
    (b"nato", b"not json"),
]


async def publish(env: Env) -> str:
    topic = env.topic(ALERTS)
    await ensure_topics(env.bootstrap, [s for s in specs(env.settings) if s.name == topic])
    await produce(env.bootstrap, topic, ALERTS_SENT)
    return topic


async def read(env: Env, topic: str, **filters: tuple[str, ...]) -> list[str]:
    out = []
    async for got, _raw in subscribe(env.bootstrap, topic, from_beginning=True, follow=False, **filters):
        out.append(got["id"])
    return sorted(out)


async def test_subscribe_filters_by_kind_and_theme_and_drops_repeats(newsmon_env: Env) -> None:
    topic = await publish(newsmon_env)
    assert await read(newsmon_env, topic) == ["al-1", "al-2", "al-3", "al-4", "al-5"]
    assert await read(newsmon_env, topic, kinds=("new_story",)) == ["al-2", "al-4"]
    assert await read(newsmon_env, topic, kinds=("spike", "digest")) == ["al-3", "al-5"]
    assert await read(newsmon_env, topic, themes=("greenland",), kinds=("new_story",)) == ["al-2"]
    assert await read(newsmon_env, topic, themes=("ukraine", "nato")) == ["al-3", "al-4", "al-5"]
    assert await read(newsmon_env, topic, themes=("greenland",), kinds=("spike",)) == []


async def test_cli_alerts_kind_and_theme(newsmon_env: Env) -> None:
    await publish(newsmon_env)
    result = newsmon_env.cli("alerts", "--kind", "new_story", "--kind", "theme_match", "--theme", "greenland", "--json")
    assert result.returncode == 0, result.stderr
    assert sorted(json.loads(line)["id"] for line in result.stdout.splitlines()) == ["al-1", "al-2"]
    assert "2 alert(s)" in result.stderr
