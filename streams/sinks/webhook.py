"""Webhook delivery: ``news.alerts`` to an HTTP endpoint, signed, retried, never skipped.

One consumer group per webhook reads the alerts topic; each alert is POSTed as a
CloudEvents structured JSON body (the record's value, byte for byte), signed with
HMAC-SHA256 (``agents.delivery``). A partition's offset is committed only once its
event got a 2xx answer or went to the undelivered topic, in offset order: the group
never advances past an event that is neither. One event is in flight at a time.
The contract is in docs/alerts.md, "Webhook delivery".
"""

from __future__ import annotations

import asyncio
import base64
import logging
import random
import stat
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import aiohttp
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import CommitFailedError, IllegalStateError
from aiokafka.structs import ConsumerRecord, TopicPartition

from agents.delivery import (
    ATTEMPT_HEADER,
    CONTENT_TYPE,
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    AlertFilter,
    NotAnEvent,
    RetryPolicy,
    classify_status,
    event_id,
    parse_retry_after,
    redact_url,
    signature_header,
    undelivered_record,
)
from agents.feeds.status import iso_time
from agents.records import InvalidRecord, decode_json, encode
from agents.text import for_terminal
from streams import __version__
from streams.kafka.admin import ensure_topics
from streams.kafka.consumers import topic_partitions
from streams.kafka.limits import MAX_MESSAGE_BYTES
from streams.kafka.producer import make_producer
from streams.kafka.topics import TopicSpec
from streams.sinks.alerts import SeenIds

log = logging.getLogger("newsmon.webhook")

MAX_SECRET_BYTES = 4096


class SecretFileError(ValueError):
    """The secret file cannot be used; ``str()`` says why and what to do."""


def load_secret(path: Path) -> bytes:
    """The signing secret: the file's content without surrounding whitespace.

    Refused: a missing or unreadable file, a directory, an empty file, one over 4 KiB,
    and one that other users can read or write (``chmod 600`` it).
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        raise SecretFileError(f"secret file {str(path)!r} does not exist") from None
    except OSError as exc:
        raise SecretFileError(f"cannot read secret file {str(path)!r}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise SecretFileError(f"secret file {str(path)!r} is not a regular file")
    if info.st_mode & (stat.S_IROTH | stat.S_IWOTH):
        raise SecretFileError(
            f"secret file {str(path)!r} is readable or writable by other users (mode "
            f"{stat.S_IMODE(info.st_mode):04o}): run `chmod 600 {path}`"
        )
    if info.st_size > MAX_SECRET_BYTES:
        raise SecretFileError(f"secret file {str(path)!r} is over {MAX_SECRET_BYTES} bytes")
    try:
        secret = path.read_bytes().strip()
    except OSError as exc:
        raise SecretFileError(f"cannot read secret file {str(path)!r}: {exc.strerror or exc}") from None
    if not secret:
        raise SecretFileError(f"secret file {str(path)!r} is empty")
    return secret


@dataclass(frozen=True)
class WebhookTarget:
    url: str
    secret: bytes = field(repr=False)
    timeout: float = 10.0  # one whole request, connect to last response byte
    connect_timeout: float = 5.0
    max_response_bytes: int = 64 * 1024  # read of a response body; the rest is dropped


@dataclass(frozen=True)
class Attempt:
    """One POST: its status (None when no answer) or the error, and a Retry-After in seconds."""

    status: int | None
    error: str | None = None
    retry_after: float | None = None
    excerpt: str = ""

    def describe(self) -> str:
        if self.status is None:
            return self.error or "no answer"
        tail = f": {self.excerpt}" if self.excerpt else ""
        return f"HTTP {self.status}{tail}"


@dataclass(frozen=True)
class Delivery:
    """How one event ended: delivered, given up (``reason``) or abandoned because of a stop."""

    delivered: bool
    attempts: int
    last_status: int | None
    reason: str | None
    first_attempt_at: str | None
    stopped: bool = False


class WebhookSender:
    """POSTs events to one URL with retries; use as ``async with WebhookSender(...) as sender``."""

    def __init__(
        self,
        target: WebhookTarget,
        policy: RetryPolicy,
        *,
        stop: asyncio.Event | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.target = target
        self.policy = policy
        self.stop = stop or asyncio.Event()
        self.rng = rng or random.Random()
        self.clock = clock
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> WebhookSender:
        timeout = aiohttp.ClientTimeout(total=self.target.timeout, sock_connect=self.target.connect_timeout)
        self._session = aiohttp.ClientSession(
            timeout=timeout,
            headers={"User-Agent": f"newsmon/{__version__} (webhook)"},
            auto_decompress=False,
        )
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def attempt(self, body: bytes, alert_id: str, number: int) -> Attempt:
        """One signed POST of ``body``; never raises for HTTP or network trouble."""
        assert self._session is not None, "use the sender as an async context manager"
        timestamp = int(self.clock())
        headers = {
            "Content-Type": CONTENT_TYPE,
            SIGNATURE_HEADER: signature_header(self.target.secret, timestamp, body),
            IDEMPOTENCY_HEADER: alert_id,
            ATTEMPT_HEADER: str(number),
        }
        try:
            async with self._session.post(self.target.url, data=body, headers=headers, allow_redirects=False) as resp:
                excerpt = await self._excerpt(resp)
                retry_after = parse_retry_after(resp.headers.get("Retry-After"), now=self.clock())
                return Attempt(resp.status, retry_after=retry_after, excerpt=excerpt)
        except TimeoutError:
            return Attempt(None, error=f"timed out after {self.target.timeout:g}s")
        except aiohttp.ClientError as exc:
            return Attempt(None, error=f"{type(exc).__name__}: {for_terminal(str(exc), 200)}")

    async def _excerpt(self, resp: aiohttp.ClientResponse) -> str:
        """Up to ``max_response_bytes`` of the answer (for reasons), as one short terminal-safe line."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(8192):
            chunks.append(chunk)
            size += len(chunk)
            if size >= self.target.max_response_bytes:
                break
        text = b"".join(chunks)[: self.target.max_response_bytes].decode("utf-8", "replace")
        return for_terminal(text, 200)

    async def deliver(self, body: bytes, alert_id: str) -> Delivery:
        """POST until a 2xx, a permanent answer, ``max_attempts`` failures, or a stop during a wait."""
        first_at = iso_time(self.clock())
        last: Attempt | None = None
        for number in range(1, self.policy.max_attempts + 1):
            last = await self.attempt(body, alert_id, number)
            outcome = classify_status(last.status) if last.status is not None else "retry"
            if outcome == "delivered":
                return Delivery(True, number, last.status, None, first_at)
            if outcome == "permanent":
                reason = f"permanent failure: {last.describe()}"
                return Delivery(False, number, last.status, reason, first_at)
            if number == self.policy.max_attempts:
                break
            wait = self.policy.delay(number, self.rng, last.retry_after if last.status in (429, 503) else None)
            log.warning(
                "alert %s to %s: attempt %d failed (%s); retrying in %.2fs",
                alert_id,
                redact_url(self.target.url),
                number,
                last.describe(),
                wait,
            )
            if await _stopped_within(self.stop, wait):
                return Delivery(False, number, last.status, "stopped", first_at, stopped=True)
        assert last is not None
        reason = f"gave up after {self.policy.max_attempts} attempt(s): {last.describe()}"
        return Delivery(False, self.policy.max_attempts, last.status, reason, first_at)


async def _stopped_within(stop: asyncio.Event, seconds: float) -> bool:
    """Wait ``seconds`` or until ``stop``; True when stopped."""
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return False
    return True


@dataclass
class DeliveryStats:
    delivered: int = 0
    undelivered: int = 0
    skipped: int = 0  # not wanted by the filters
    repeats: int = 0  # an alert id already delivered by this process (a redelivery on news.alerts)


Handled = Literal["delivered", "undelivered", "skipped", "stopped"]


@dataclass
class WebhookSink:
    """The consumer-group loop: fetch, filter, deliver or dead-letter, commit in order."""

    bootstrap: str
    topic: str
    undelivered: TopicSpec
    group: str
    target: WebhookTarget
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    filter: AlertFilter = field(default_factory=AlertFilter)
    start: Literal["earliest", "latest"] = "earliest"
    replication_factor: int = 1
    rng: random.Random | None = None
    stats: DeliveryStats = field(default_factory=DeliveryStats)
    ready: asyncio.Event = field(default_factory=asyncio.Event)  # set once partitions are assigned
    committed: dict[TopicPartition, int] = field(default_factory=dict)  # offsets this sink has committed
    _progress: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def wait_committed(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Return once this sink has committed at least ``offsets`` (a partition at 0 needs nothing)."""

        def reached() -> bool:
            return all(self.committed.get(tp, 0) >= offset for tp, offset in offsets.items())

        async with self._progress:
            await self._progress.wait_for(reached)

    def _max_poll_interval_ms(self) -> int:
        """Long enough for one event's whole retry schedule, so the group does not evict a busy sink."""
        per_attempt = self.target.timeout + max(self.policy.cap, self.policy.max_retry_after)
        return int((self.policy.max_attempts * per_attempt + 60) * 1000)

    async def run(self, stop: asyncio.Event) -> DeliveryStats:
        """Deliver until ``stop``; the in-flight POST finishes, an event waiting to be retried stays uncommitted."""
        await topic_partitions(self.bootstrap, [self.topic])  # MissingTopic (a LookupError) when absent
        await ensure_topics(self.bootstrap, [self.undelivered], replication_factor=self.replication_factor)
        consumer = AIOKafkaConsumer(
            self.topic,
            bootstrap_servers=self.bootstrap,
            group_id=self.group,
            enable_auto_commit=False,
            auto_offset_reset=self.start,
            max_partition_fetch_bytes=MAX_MESSAGE_BYTES,
            max_poll_interval_ms=self._max_poll_interval_ms(),
        )
        seen = SeenIds()
        await consumer.start()
        try:
            async with (
                make_producer(self.bootstrap) as producer,
                WebhookSender(self.target, self.policy, stop=stop, rng=self.rng) as sender,
            ):
                while not stop.is_set():
                    batch = await consumer.getmany(timeout_ms=500, max_records=100)
                    if consumer.assignment():
                        self.ready.set()
                    for tp, records in batch.items():
                        done = await self._partition(consumer, producer, sender, seen, tp, records, stop)
                        if not done:
                            return self.stats
        finally:
            await consumer.stop()
        return self.stats

    async def _partition(
        self,
        consumer: AIOKafkaConsumer,
        producer: Any,
        sender: WebhookSender,
        seen: SeenIds,
        tp: TopicPartition,
        records: list[ConsumerRecord[bytes, bytes]],
        stop: asyncio.Event,
    ) -> bool:
        """Handle one partition's records in order; False when a stop left one of them unhandled."""
        skipped_to: int | None = None
        try:
            for record in records:
                if stop.is_set():
                    return False
                if tp not in consumer.assignment():  # revoked by a rebalance: its new owner takes over
                    return True
                handled = await self._record(producer, sender, seen, record)
                if handled == "stopped":
                    return False
                if handled == "skipped":
                    skipped_to = record.offset + 1
                    continue
                skipped_to = None
                await self._commit(consumer, tp, record.offset + 1)
            return True
        finally:
            if skipped_to is not None:
                await self._commit(consumer, tp, skipped_to)

    async def _commit(self, consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int) -> None:
        try:
            await consumer.commit({tp: offset})
            async with self._progress:
                self.committed[tp] = offset
                self._progress.notify_all()
        except (CommitFailedError, IllegalStateError) as exc:
            # A rebalance took the partition: its new owner re-sends from the last commit (same ids).
            log.warning(
                "commit of %s[%d] at %d failed (%s); it will be redelivered", tp.topic, tp.partition, offset, exc
            )

    async def _record(
        self, producer: Any, sender: WebhookSender, seen: SeenIds, record: ConsumerRecord[bytes, bytes]
    ) -> Handled:
        try:
            event = decode_json(record.value, limit=MAX_MESSAGE_BYTES)
            alert_id = event_id(event)
        except (InvalidRecord, NotAnEvent) as exc:
            await self._dead_letter(producer, record, None, None, f"not deliverable: {exc}", 0, None, None)
            return "undelivered"
        if not self.filter.matches(event):
            self.stats.skipped += 1
            return "skipped"
        if alert_id in seen:
            self.stats.repeats += 1
            return "skipped"
        body = record.value or b""
        result = await sender.deliver(body, alert_id)
        if result.stopped:
            return "stopped"
        if result.delivered:
            seen.add(alert_id)
            self.stats.delivered += 1
            log.info("alert %s delivered (HTTP %s, %d attempt(s))", alert_id, result.last_status, result.attempts)
            return "delivered"
        await self._dead_letter(
            producer,
            record,
            alert_id,
            event,
            result.reason or "undelivered",
            result.attempts,
            result.last_status,
            result.first_attempt_at,
        )
        return "undelivered"

    async def _dead_letter(
        self,
        producer: Any,
        record: ConsumerRecord[bytes, bytes],
        alert_id: str | None,
        event: object | None,
        reason: str,
        attempts: int,
        last_status: int | None,
        first_attempt_at: str | None,
    ) -> None:
        value = undelivered_record(
            alert_id=alert_id,
            reason=reason,
            attempts=attempts,
            last_status=last_status,
            url=self.target.url,
            group=self.group,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            event=event,
            value_b64=None if event is not None else base64.b64encode(record.value or b"").decode("ascii"),
            first_attempt_at=first_attempt_at,
            failed_at=iso_time(time.time()) or "",
        )
        key = alert_id.encode() if alert_id else record.key
        await producer.send_and_wait(self.undelivered.name, encode(value), key=key)
        self.stats.undelivered += 1
        log.error(
            "alert %s not delivered: %s (to %s)",
            alert_id or f"at offset {record.offset}",
            reason,
            self.undelivered.name,
        )
