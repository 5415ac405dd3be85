"""Fetching feeds and article pages over HTTP: polite, bounded, and never blocking the other feeds.

aiohttp is the client because faust-streaming already installs it (no new dependency),
it is asyncio-native (one event loop with the Kafka producer), and it lets us switch off
its own redirect following and decompression, so redirects and decompressed sizes are
counted here.

Every fetch is bounded: connect and read timeouts plus a deadline for the whole
exchange, a cap on the *decompressed* body (bytes are counted while streaming and the
download is aborted over the cap, so a gzip bomb never expands in memory), at most
``max_redirects`` hops (loops detected), http(s) only.  A global semaphore and one per
host (``host:port``) bound concurrency, so a slow server only ever holds its own slots.
Failures are data: :meth:`Fetcher.fetch` never raises for a network or HTTP problem, it
returns a :class:`FetchResult` with an ``error`` reason.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

import aiohttp
from yarl import URL

from streams import __version__

# A placeholder until the project has a public home; operators add a contact with NEWSMON_FEEDS_CONTACT.
PROJECT_URL = "https://newsmon.invalid/"
FEED_ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
REDIRECTS = frozenset({301, 302, 303, 307, 308})
PERMANENT = frozenset({301, 308})
_CHUNK = 64 * 1024


def user_agent(contact: str = "") -> str:
    """``newsmon/0.1.0 (+https://newsmon.invalid/; ops@example.org)``: who we are and how to reach us."""
    extra = f"; {contact.strip()}" if contact.strip() else ""
    return f"newsmon/{__version__} (+{PROJECT_URL}{extra})"


@dataclass(frozen=True)
class FetchLimits:
    """The bounds of every fetch (defaults are the NEWSMON_FEEDS_* settings' defaults)."""

    connect_timeout: float = 10.0  # seconds to open the TCP (and TLS) connection
    read_timeout: float = 30.0  # seconds without a byte from the server
    total_timeout: float = 60.0  # seconds for the whole exchange, redirects included
    max_bytes: int = 10 * 1024 * 1024  # decompressed body
    max_redirects: int = 5
    per_host: int = 2
    global_limit: int = 32
    contact: str = ""


@dataclass(frozen=True)
class FetchResult:
    """The outcome of one fetch.  ``error`` is None when an HTTP response was read completely."""

    url: str  # as requested
    final_url: str  # after redirects
    status: int | None  # None when no response was read
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names, of the final response
    body: bytes = b""
    permanent_redirect: str | None = None  # the new URL when every hop from ``url`` was 301/308
    error: str | None = None
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300


class BodyTooLarge(Exception):
    pass


class _Decoder:
    """Incremental gzip/deflate decoding that never produces more than ``limit`` bytes."""

    def __init__(self, encoding: str, limit: int) -> None:
        encoding = encoding.strip().lower()
        self.limit = limit
        self.size = 0
        self.parts: list[bytes] = []
        self._zlib: zlib._Decompress | None = None
        self._raw_fallback = False
        if encoding in ("", "identity"):
            return
        if encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            # RFC 9110 "deflate" is zlib-wrapped, but some servers send raw deflate: decided on the first bytes.
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS)
            self._raw_fallback = True
        else:
            raise ValueError(f"unsupported Content-Encoding {encoding!r}")

    def _keep(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise BodyTooLarge
        if data:
            self.parts.append(data)

    def feed(self, chunk: bytes) -> None:
        if self._zlib is None:
            self._keep(chunk)
            return
        data = chunk
        while data:
            room = self.limit - self.size + 1  # one byte over the cap is enough to know
            try:
                out = self._zlib.decompress(data, room)
            except zlib.error:
                if self._raw_fallback and self.size == 0:
                    self._raw_fallback = False
                    self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise
            self._raw_fallback = False
            self._keep(out)
            data = self._zlib.unconsumed_tail
            if self._zlib.eof:
                return

    def finish(self) -> bytes:
        if self._zlib is not None:
            self._keep(self._zlib.flush())
        return b"".join(self.parts)


class Fetcher:
    """One HTTP client session with newsmon's limits; use as ``async with Fetcher(limits) as f``."""

    def __init__(self, limits: FetchLimits | None = None) -> None:
        self.limits = limits or FetchLimits()
        self._global = asyncio.Semaphore(self.limits.global_limit)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        limits = self.limits
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=limits.global_limit, limit_per_host=limits.per_host),
            timeout=aiohttp.ClientTimeout(
                total=None,
                connect=limits.connect_timeout,
                sock_connect=limits.connect_timeout,
                sock_read=limits.read_timeout,
            ),
            headers={"User-Agent": user_agent(limits.contact), "Accept-Encoding": "gzip, deflate"},
            auto_decompress=False,  # decompressed here, counting every byte against the cap
            cookie_jar=aiohttp.DummyCookieJar(),  # feeds need no cookies; nothing is kept between hosts
        )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _host_slot(self, url: URL) -> asyncio.Semaphore:
        key = f"{url.host}:{url.port}"
        slot = self._hosts.get(key)
        if slot is None:
            slot = self._hosts[key] = asyncio.Semaphore(self.limits.per_host)
        return slot

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = FEED_ACCEPT,
    ) -> FetchResult:
        """GET ``url`` (conditionally when ``etag``/``last_modified`` are given) within the limits."""
        started = time.monotonic()
        state: dict[str, object] = {"final": url, "permanent": None}
        try:
            async with asyncio.timeout(self.limits.total_timeout):
                result = await self._follow(url, etag=etag, last_modified=last_modified, accept=accept, state=state)
        except TimeoutError:
            reason = f"timed out after {self.limits.total_timeout:g}s"
            result = FetchResult(url, str(state["final"]), None, error=reason)
        return FetchResult(
            result.url,
            result.final_url,
            result.status,
            result.headers,
            result.body,
            result.permanent_redirect,
            result.error,
            time.monotonic() - started,
        )

    async def _follow(
        self, url: str, *, etag: str | None, last_modified: str | None, accept: str, state: dict[str, object]
    ) -> FetchResult:
        assert self._session is not None, "use the Fetcher as an async context manager"
        try:
            current = URL(url)
        except (ValueError, TypeError) as exc:
            return FetchResult(url, url, None, error=f"invalid URL: {exc}")
        seen: set[str] = set()
        permanent: str | None = None
        all_permanent = True
        for _hop in range(self.limits.max_redirects + 1):
            if current.scheme not in ("http", "https") or not current.host:
                return FetchResult(
                    url,
                    str(current),
                    None,
                    permanent_redirect=permanent,
                    error=f"not an http(s) URL: {str(current)[:200]}",
                )
            if str(current) in seen:
                return FetchResult(url, str(current), None, permanent_redirect=permanent, error="redirect loop")
            seen.add(str(current))
            state["final"] = str(current)
            headers = {"Accept": accept}
            if etag:
                headers["If-None-Match"] = etag
            if last_modified:
                headers["If-Modified-Since"] = last_modified
            try:
                # Host slot first: a task queued behind a slow host must not hold one of the global slots.
                async with (
                    self._host_slot(current),
                    self._global,
                    self._session.get(current, headers=headers, allow_redirects=False) as response,
                ):
                    status = response.status
                    got = {k.lower(): v for k, v in response.headers.items()}
                    if status in REDIRECTS and "location" in got:
                        target = current.join(URL(got["location"]))
                        if status in PERMANENT and all_permanent:
                            permanent = str(target)
                        else:
                            all_permanent = False
                        current = target
                        continue
                    body = await self._read(response, got.get("content-encoding", ""))
            except BodyTooLarge:
                return FetchResult(
                    url,
                    str(current),
                    None,
                    permanent_redirect=permanent,
                    error=f"response larger than {self.limits.max_bytes} bytes (aborted)",
                )
            except TimeoutError:
                return FetchResult(
                    url,
                    str(current),
                    None,
                    permanent_redirect=permanent,
                    error=f"no data for {self.limits.read_timeout:g}s (read timeout) or no connection within "
                    f"{self.limits.connect_timeout:g}s",
                )
            except (aiohttp.ClientError, OSError, ValueError, zlib.error) as exc:
                return FetchResult(
                    url,
                    str(current),
                    None,
                    permanent_redirect=permanent,
                    error=f"{type(exc).__name__}: {str(exc)[:300] or 'connection failed'}",
                )
            return FetchResult(url, str(current), status, got, body, permanent)
        return FetchResult(
            url,
            str(current),
            None,
            permanent_redirect=permanent,
            error=f"more than {self.limits.max_redirects} redirects",
        )

    async def _read(self, response: aiohttp.ClientResponse, encoding: str) -> bytes:
        declared = response.content_length
        if declared is not None and not encoding and declared > self.limits.max_bytes:
            raise BodyTooLarge
        decoder = _Decoder(encoding, self.limits.max_bytes)
        async for chunk in response.content.iter_chunked(_CHUNK):
            decoder.feed(chunk)
        return decoder.finish()
