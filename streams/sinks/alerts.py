"""Reading ``news.alerts`` like any downstream service would: a plain Kafka consumer."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Collection
from typing import Any

from agents.delivery import AlertFilter
from agents.records import InvalidRecord, decode_json
from streams.kafka.consumers import TopicReader

log = logging.getLogger("newsmon.alerts")


class SeenIds:
    """A bounded set of recently seen alert ids: redeliveries are dropped, memory stays flat."""

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, alert_id: object) -> bool:
        return alert_id in self._ids

    def add(self, alert_id: str) -> bool:
        """True when ``alert_id`` is new."""
        if alert_id in self._ids:
            self._ids.move_to_end(alert_id)
            return False
        self._ids[alert_id] = None
        if len(self._ids) > self.capacity:
            self._ids.popitem(last=False)
        return True


def wanted(event: Any, themes: Collection[str] = (), kinds: Collection[str] = ()) -> bool:
    """True for an alert of one of ``themes`` and one of ``kinds`` (an empty collection allows all)."""
    return AlertFilter.of(themes, kinds).matches(event)


async def subscribe(
    bootstrap: str,
    topic: str,
    *,
    themes: Collection[str] = (),
    kinds: Collection[str] = (),
    from_beginning: bool,
    follow: bool,
    stop: asyncio.Event | None = None,
) -> AsyncIterator[tuple[dict[str, Any], bytes]]:
    """Yield (event, raw bytes) for each new alert of ``themes`` and ``kinds``.

    Without ``follow`` it stops once caught up; an alert id already yielded is not yielded again.
    """
    seen = SeenIds()
    wanted_alerts = AlertFilter.of(themes, kinds)
    async with TopicReader(bootstrap, [topic], from_beginning=from_beginning) as reader:
        async for batch in reader.batches(follow=follow, stop=stop):
            for record in batch:
                try:
                    event = decode_json(record.value)
                except InvalidRecord as exc:
                    log.warning("skipping undecodable alert at offset %s: %s", record.offset, exc)
                    continue
                if not wanted_alerts.matches(event):
                    continue
                assert isinstance(event, dict)
                if seen.add(str(event.get("id"))):
                    yield event, record.value or b""
