"""The dashboard's web server: static page, JSON views, server-sent events, fed by one Kafka reader.

The reader assigns every partition of the alerts, tagged, themes and feed-status topics
outside any consumer group (it commits nothing, writes nothing), reads them from the
beginning and keeps following.  ``/health`` answers 200 once it has read up to the end
offsets it found at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

from aiohttp import web
from aiokafka.errors import KafkaError

from streams.kafka.consumers import MissingTopic, TopicReader, topic_partitions
from streams.kafka.topics import ALERTS, FEEDS_STATUS, TAGGED, THEMES, topic_name
from streams.settings import Settings
from streams.sinks.dashboard.state import DashboardState, Topics
from streams.web import security_headers

log = logging.getLogger("newsmon.dashboard")

STATIC = ("index.html", "app.js", "style.css")
CONTENT_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
SNAPSHOT_ALERTS = 200  # alerts a newly connected page gets before the live ones
CLIENT_QUEUE = 1000  # events buffered per page; a page that falls further behind is disconnected
HEARTBEAT = 15.0
RETRY_TOPICS = 2.0  # seconds between looks for topics that do not exist yet


def topics_of(settings: Settings) -> Topics:
    return Topics(
        alerts=topic_name(settings, ALERTS),
        tagged=topic_name(settings, TAGGED),
        themes=topic_name(settings, THEMES),
        feeds_status=topic_name(settings, FEEDS_STATUS),
    )


class Dashboard:
    """The state, the browsers connected to it, and the Kafka reader that feeds both."""

    def __init__(self, bootstrap: str, topics: Topics) -> None:
        self.bootstrap = bootstrap
        self.state = DashboardState(topics)
        self.clients: set[asyncio.Queue[str | None]] = set()
        self.caught_up = asyncio.Event()

    # ----------------------------------------------------------------- reading Kafka

    async def read(self) -> None:
        """Follow the topics until cancelled; retries while the cluster or a topic is missing."""
        while True:
            try:
                await self._read_once()
            except (KafkaError, MissingTopic, OSError) as exc:
                log.warning("dashboard reader: %s; retrying in %.0fs", exc, RETRY_TOPICS)
                await asyncio.sleep(RETRY_TOPICS)

    async def _topics(self) -> list[str]:
        """The topics to read: all four, but news.feeds.status only where feeds have written it."""
        t = self.state.topics
        names = [t.themes, t.alerts, t.tagged]
        try:
            await topic_partitions(self.bootstrap, [t.feeds_status])
        except MissingTopic:  # no feeds configured is normal
            return names
        return [*names, t.feeds_status]

    async def _read_once(self) -> None:
        async with TopicReader(self.bootstrap, await self._topics(), max_records=2000) as reader:
            if reader.caught_up:
                self.caught_up.set()
            async for batch in reader.batches(follow=True):
                live = self.caught_up.is_set()  # what arrives while catching up is state, not news
                for record in batch:
                    event = self.state.apply(record.topic, record.key, record.value)
                    if event is not None and live:
                        self.broadcast(*event)
                if reader.caught_up and not live:
                    self.caught_up.set()
                    log.info(
                        "dashboard caught up: %d alerts, %d themes", len(self.state.alerts), len(self.state.themes)
                    )

    # ----------------------------------------------------------------- browsers

    def broadcast(self, event: str, payload: dict[str, Any]) -> None:
        message = sse(event, payload)
        for queue in list(self.clients):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:  # too far behind: end its stream (the page reconnects and resyncs)
                self.clients.discard(queue)
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(None)

    async def events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: the newest alerts oldest first, then each new alert and feed status."""
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        )
        await response.prepare(request)
        queue: asyncio.Queue[str | None] = asyncio.Queue(CLIENT_QUEUE)
        await self.caught_up.wait()
        snapshot = sorted(self.state.alerts, key=lambda a: a["time"])[-SNAPSHOT_ALERTS:]
        self.clients.add(queue)
        try:
            await response.write(b"retry: 2000\n\n")
            for alert in snapshot:
                await response.write(sse("alert", alert).encode())
            await response.write(sse("ready", {"alerts": len(snapshot)}).encode())
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), HEARTBEAT)
                except TimeoutError:
                    message = ": keep-alive\n\n"
                if message is None:
                    break
                await response.write(message.encode())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.clients.discard(queue)
        return response

    # ----------------------------------------------------------------- JSON views

    async def alerts(self, request: web.Request) -> web.Response:
        return web.json_response(sorted(self.state.alerts, key=lambda a: a["time"], reverse=True)[:SNAPSHOT_ALERTS])

    async def article(self, request: web.Request) -> web.Response:
        found = self.state.article(request.match_info["article_id"])
        if found is None:
            return web.json_response({"error": "no such article (yet)"}, status=404)
        return web.json_response(found)

    async def themes(self, request: web.Request) -> web.Response:
        return web.json_response(sorted(self.state.themes.values(), key=lambda t: t["id"]))

    async def feeds(self, request: web.Request) -> web.Response:
        return web.json_response(sorted(self.state.feeds.values(), key=lambda f: str(f.get("feed_url"))))

    async def volume(self, request: web.Request) -> web.Response:
        return web.json_response(self.state.volume_view(time.time()))

    async def health(self, request: web.Request) -> web.Response:
        ready = self.caught_up.is_set()
        body = {"status": "ready" if ready else "starting", "alerts": len(self.state.alerts)}
        return web.json_response(body, status=200 if ready else 503)


def sse(event: str, payload: dict[str, Any]) -> str:
    """One server-sent event; JSON never contains a raw newline, so one data line is enough."""
    return f"event: {event}\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n"


async def static(request: web.Request) -> web.Response:
    name = request.match_info.get("name") or "index.html"
    if name not in STATIC:
        raise web.HTTPNotFound()
    body = resources.files("streams.sinks.dashboard").joinpath("static", name).read_bytes()
    suffix = name[name.rindex(".") :]
    return web.Response(body=body, content_type=CONTENT_TYPES[suffix], headers={"Cache-Control": "no-cache"})


async def no_icon(request: web.Request) -> web.Response:
    return web.Response(status=204)


def make_app(dashboard: Dashboard) -> web.Application:
    app = web.Application(middlewares=[security_headers])
    app.router.add_get("/", static)
    app.router.add_get("/static/{name}", static)
    app.router.add_get("/events", dashboard.events)
    app.router.add_get("/api/alerts", dashboard.alerts)
    app.router.add_get("/api/articles/{article_id}", dashboard.article)
    app.router.add_get("/api/themes", dashboard.themes)
    app.router.add_get("/api/feeds", dashboard.feeds)
    app.router.add_get("/api/volume", dashboard.volume)
    app.router.add_get("/health", dashboard.health)
    app.router.add_get("/favicon.ico", no_icon)

    async def end_streams(app: web.Application) -> None:
        for queue in list(dashboard.clients):  # the event streams end, so the server stops at once
            while not queue.empty():
                queue.get_nowait()
            queue.put_nowait(None)

    app.on_shutdown.append(end_streams)

    async def reader(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(dashboard.read(), name="dashboard-reader")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.append(reader)
    return app
