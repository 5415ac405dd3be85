"""Topic names, partition counts and configs: the contract documented in docs/topics.md."""

from __future__ import annotations

from dataclasses import dataclass, field

from streams.kafka.limits import MAX_MESSAGE_BYTES
from streams.settings import Settings

RAW = "news.articles.raw"
TAGGED = "news.articles.tagged"
# Internal: enriched articles on their way to the stories agent.  One partition: the story
# index must see every article (docs/architecture.md, "Stories").
ENRICHED = "news.articles.enriched"
ALERTS = "news.alerts"
ALERTS_UNDELIVERED = "news.alerts.undelivered"
DLQ = "news.dlq"
THEMES = "news.themes"
FEEDS_STATUS = "news.feeds.status"
FEEDS_STATE = "news.feeds.state"
FEEDS_SEEN = "news.feeds.seen"

# Raw values may be large (the decoder enforces its own limits and dead-letters the rest).
_LARGE = {"max.message.bytes": str(MAX_MESSAGE_BYTES)}


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)
    description: str = ""


SPECS: tuple[TopicSpec, ...] = (
    TopicSpec(RAW, 6, {**_LARGE, "retention.ms": str(7 * 24 * 3600 * 1000)}, "raw articles, key: article id"),
    TopicSpec(TAGGED, 6, {"retention.ms": str(7 * 24 * 3600 * 1000)}, "articles with language and themes"),
    TopicSpec(
        ENRICHED,
        1,
        {**_LARGE, "retention.ms": str(7 * 24 * 3600 * 1000)},
        "enriched articles for the stories agent (internal, one partition)",
    ),
    TopicSpec(ALERTS, 3, {"retention.ms": str(30 * 24 * 3600 * 1000)}, "CloudEvents alerts, key: theme id"),
    # Webhook sinks (streams/sinks/webhook.py): alerts given up on, with the reason and attempts.
    TopicSpec(
        ALERTS_UNDELIVERED,
        1,
        {**_LARGE, "retention.ms": str(30 * 24 * 3600 * 1000)},
        "alerts a webhook sink gave up on, key: alert id",
    ),
    TopicSpec(DLQ, 1, {**_LARGE, "retention.ms": str(30 * 24 * 3600 * 1000)}, "rejected messages with reasons"),
    TopicSpec(THEMES, 1, {"cleanup.policy": "compact"}, "theme definitions, key: theme id (compacted)"),
    # Feeds (streams/sources/feeds, docs/feeds.md): poll outcomes, conditional-GET state, published entry keys.
    TopicSpec(
        FEEDS_STATUS,
        1,
        {"cleanup.policy": "compact,delete", "retention.ms": str(7 * 24 * 3600 * 1000)},
        "feed poll outcomes and feed_stale events, key: feed url (compacted, 7 days)",
    ),
    TopicSpec(FEEDS_STATE, 1, {"cleanup.policy": "compact"}, "feed conditional-GET state, key: feed url (compacted)"),
    TopicSpec(
        FEEDS_SEEN,
        3,
        {"cleanup.policy": "compact,delete", "retention.ms": str(90 * 24 * 3600 * 1000)},
        "published feed entry keys, key: dedup key (compacted, 90 days)",
    ),
)


def topic_name(settings: Settings, base: str) -> str:
    """The topic's name on the cluster: NEWSMON_TOPIC_PREFIX + base."""
    return f"{settings.topic_prefix}{base}"


def partitions_of(settings: Settings, spec: TopicSpec) -> int:
    """The partition count newsmon creates ``spec`` with: NEWSMON_RAW_PARTITIONS for the article topics."""
    return settings.raw_partitions if spec.name in (RAW, TAGGED) else spec.partitions


def specs(settings: Settings) -> list[TopicSpec]:
    return [
        TopicSpec(topic_name(settings, s.name), partitions_of(settings, s), dict(s.config), s.description)
        for s in SPECS
    ]
