"""``newsmon worker``: prepare topics and themes, then run the Faust worker."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import faust

from agents.themes import Theme, load_theme_file
from agents.warmup import warm_up
from streams.kafka.admin import ensure_topics
from streams.kafka.consumers import topic_partitions
from streams.kafka.topics import RAW, THEMES, TopicSpec, specs, topic_name
from streams.pipeline import metrics
from streams.pipeline.app import DEFAULT_APP_ID, NewsmonApp, create_app
from streams.pipeline.themes_live import LiveThemes, seed_if_empty
from streams.pipeline.wiring import Pipeline, wire
from streams.settings import Settings

log = logging.getLogger("newsmon.worker")


async def prepare(settings: Settings, bootstrap: str, themes: Sequence[Theme], *, app_id: str | None = None) -> int:
    """Create missing topics and seed the themes topic on first start; the raw topic's partition count.

    With ``app_id``, the tables' changelog topics too: Faust creates a missing changelog at
    start and subscribes at once, and a changelog the broker's metadata does not show yet is
    left out of the assignment (the stories agent then stops on a partition mismatch).
    """
    await ensure_topics(bootstrap, specs(settings), replication_factor=settings.replication_factor)
    await seed_if_empty(bootstrap, topic_name(settings, THEMES), themes)
    partitions = len(await topic_partitions(bootstrap, [topic_name(settings, RAW)]))
    if app_id is not None:
        await ensure_topics(
            bootstrap, changelog_specs(app_id, partitions), replication_factor=settings.replication_factor
        )
    return partitions


def changelog_specs(app_id: str, raw_partitions: int) -> list[TopicSpec]:
    """The changelog topics of the worker's tables, as Faust names and configures them."""
    compact = {"cleanup.policy": "compact"}
    return [
        TopicSpec(f"{app_id}-alerted-changelog", raw_partitions, dict(compact), "alerted table changelog"),
        TopicSpec(f"{app_id}-stories-changelog", 1, dict(compact), "stories table changelog"),
    ]


def build(
    settings: Settings,
    bootstrap: str,
    *,
    app_id: str = DEFAULT_APP_ID,
    web: bool = True,
    partitions: int | None = None,
    slot: int = 0,
) -> Pipeline:
    app: NewsmonApp = create_app(settings, bootstrap, app_id=app_id, web_enabled=web, partitions=partitions, slot=slot)
    pipeline = wire(app, settings, LiveThemes())
    if web:  # /metrics and /health on Faust's web server (docs/dashboard.md)
        metrics.install(app, raw_topic=topic_name(settings, RAW), themes_ready=pipeline.themes.ready)
    return pipeline


def run(settings: Settings, bootstrap: str, *, app_id: str = DEFAULT_APP_ID, web: bool = True, slot: int = 0) -> None:
    """Blocks until SIGTERM/SIGINT; Faust flushes producers and commits offsets on the way out."""
    themes = load_theme_file(settings.themes_file)  # refuse to start on an invalid theme file
    warm_up()  # load language profiles and folding tables now, not on the first article
    partitions = asyncio.run(prepare(settings, bootstrap, themes, app_id=app_id))
    log.info("%s has %d partitions", topic_name(settings, RAW), partitions)
    pipeline = build(settings, bootstrap, app_id=app_id, web=web, partitions=partitions, slot=slot)
    # debug and console_port would otherwise come from FAUST_DEBUG / FAUST_CONSOLE_PORT.
    worker = faust.Worker(pipeline.app, loglevel=settings.log_level, quiet=True, debug=False)
    worker.execute_from_commandline()
