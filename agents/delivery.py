"""Webhook delivery decisions, without any I/O: filters, signatures, retry schedule, outcomes.

The webhook sink (``streams/sinks/webhook.py``) does the HTTP and Kafka work; every
choice it makes is a function here, so it can be tested without a network. The wire
contract (headers, signature scheme) is documented in docs/alerts.md, "Webhook delivery".
"""

from __future__ import annotations

import hashlib
import hmac
import random
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import urlsplit

SIGNATURE_HEADER = "Newsmon-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
ATTEMPT_HEADER = "Newsmon-Delivery-Attempt"
CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"

#: A receiver should refuse a signature whose timestamp is further than this from its clock.
SIGNATURE_TOLERANCE_S = 300

#: ``io.newsmon.alert.<kind>.v1``: the kind is the part between ``alert.`` and ``.v<n>``.
_TYPE_KIND = re.compile(r"\.alert\.([A-Za-z0-9_]+)\.v[0-9]+$")
KIND_PATTERN = re.compile(r"^[a-z0-9_]{1,64}$")


# --- filters -------------------------------------------------------------------------------


def alert_kind(event: Mapping[str, Any]) -> str | None:
    """The alert's kind: ``data.kind``, else the ``<kind>`` of its CloudEvents type."""
    data = event.get("data")
    if isinstance(data, Mapping) and isinstance(data.get("kind"), str):
        return str(data["kind"])
    kind_type = event.get("type")
    if isinstance(kind_type, str):
        match = _TYPE_KIND.search(kind_type)
        if match:
            return match.group(1)
    return None


@dataclass(frozen=True)
class AlertFilter:
    """Which alerts a subscriber wants: any of ``themes`` (empty: all) and any of ``kinds`` (empty: all)."""

    themes: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()

    @classmethod
    def of(cls, themes: Collection[str] = (), kinds: Collection[str] = ()) -> AlertFilter:
        return cls(frozenset(themes), frozenset(kinds))

    def matches(self, event: object) -> bool:
        if not isinstance(event, Mapping) or not isinstance(event.get("data"), Mapping):
            return False
        if self.themes and event["data"].get("theme") not in self.themes:
            return False
        return not self.kinds or alert_kind(event) in self.kinds


# --- signature -----------------------------------------------------------------------------


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``<timestamp>.<body>`` under ``secret``."""
    return hmac.new(secret, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def signature_header(secret: bytes, timestamp: int, body: bytes) -> str:
    """The ``Newsmon-Signature`` value: ``t=<unix seconds>,v1=<hex>``."""
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify_signature(
    secret: bytes, header: str, body: bytes, *, now: float, tolerance: float = SIGNATURE_TOLERANCE_S
) -> bool:
    """What a receiver checks: a ``v1`` that matches, with a timestamp within ``tolerance`` of ``now``."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if sep:
            parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", []))


# --- retries -------------------------------------------------------------------------------

Outcome = Literal["delivered", "retry", "permanent"]


def classify_status(status: int) -> Outcome:
    """2xx delivered; 408, 429 and 5xx worth retrying; anything else (other 4xx, 3xx) permanent."""
    if 200 <= status < 300:
        return "delivered"
    if status in (408, 429) or 500 <= status < 600:
        return "retry"
    return "permanent"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: attempt ``n`` failed, wait ``min(cap, base * 2**(n-1))`` times U(0.5, 1).

    ``max_attempts`` counts every POST, the first included. A ``Retry-After`` answer is
    honoured instead of the backoff, up to ``max_retry_after`` seconds.
    """

    max_attempts: int = 8
    base: float = 1.0
    cap: float = 60.0
    max_retry_after: float = 300.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base <= 0 or self.cap < self.base:
            raise ValueError("backoff needs 0 < base <= cap")
        if self.max_retry_after < 0:
            raise ValueError("max_retry_after must not be negative")

    def backoff(self, failed_attempt: int, rng: random.Random) -> float:
        """Seconds to wait after attempt ``failed_attempt`` (1-based) failed."""
        ceiling = min(self.cap, self.base * 2.0 ** min(failed_attempt - 1, 62))
        return ceiling * rng.uniform(0.5, 1.0)

    def delay(self, failed_attempt: int, rng: random.Random, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return self.backoff(failed_attempt, rng)


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)


# --- records -------------------------------------------------------------------------------


class NotAnEvent(ValueError):
    """A value on the alerts topic that cannot be POSTed as a CloudEvent; ``str()`` says why."""


def event_id(event: object) -> str:
    """The CloudEvents ``id`` (the idempotency key) of a decoded alert; NotAnEvent when it is not one."""
    if not isinstance(event, Mapping):
        raise NotAnEvent("value is not a JSON object")
    for field in ("specversion", "id", "type", "source"):
        value = event.get(field)
        if not isinstance(value, str) or not value:
            raise NotAnEvent(f"not a CloudEvent: {field!r} missing or not a string")
    if len(event["id"]) > 256 or not event["id"].isprintable():
        raise NotAnEvent("CloudEvent id is over 256 characters or has control characters")
    return str(event["id"])


def redact_url(url: str) -> str:
    """``url`` without credentials, query or fragment: safe for logs and the undelivered topic."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def check_url(url: str) -> str | None:
    """None when ``url`` can be a webhook target, else what is wrong with it."""
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError as exc:
        return f"invalid URL: {exc}"
    if parts.scheme not in ("http", "https"):
        return "the URL must start with http:// or https://"
    if not parts.hostname:
        return "the URL has no host"
    return None


def undelivered_record(
    *,
    alert_id: str | None,
    reason: str,
    attempts: int,
    last_status: int | None,
    url: str,
    group: str,
    topic: str,
    partition: int,
    offset: int,
    event: object | None,
    value_b64: str | None,
    first_attempt_at: str | None,
    failed_at: str,
) -> dict[str, Any]:
    """The ``news.alerts.undelivered`` value (docs/topics.md)."""
    return {
        "schema_version": 1,
        "alert_id": alert_id,
        "reason": reason,
        "attempts": attempts,
        "last_status": last_status,
        "url": redact_url(url),
        "group": group,
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "event": event,
        "value_b64": value_b64,
        "first_attempt_at": first_attempt_at,
        "failed_at": failed_at,
    }
