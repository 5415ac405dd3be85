"""Webhook delivery decisions: signature, verification, retry schedule, status classes, filters."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from webhook_support import docs_verify

from agents.delivery import (
    AlertFilter,
    NotAnEvent,
    RetryPolicy,
    alert_kind,
    check_url,
    classify_status,
    event_id,
    parse_retry_after,
    redact_url,
    signature,
    signature_header,
    verify_signature,
)

SECRET = b"s3cret"
BODY = b'{"a":1}'
T = 1_700_000_000


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    # printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac s3cret
    assert signature(SECRET, T, BODY) == "1698a50bc74d1ff1db85c4e0a5297c2ad9fdba245d5737cdb789e4cc6e098940"
    assert (
        signature_header(SECRET, T, BODY)
        == f"t={T},v1=1698a50bc74d1ff1db85c4e0a5297c2ad9fdba245d5737cdb789e4cc6e098940"
    )


def test_verify_accepts_its_own_signature_and_nothing_else() -> None:
    header = signature_header(SECRET, T, BODY)
    assert verify_signature(SECRET, header, BODY, now=T + 10)
    assert not verify_signature(SECRET, header, BODY + b" ", now=T)
    assert not verify_signature(b"other", header, BODY, now=T)
    assert not verify_signature(SECRET, header, BODY, now=T + 301)  # stale: a replay
    assert not verify_signature(SECRET, header.replace(f"t={T}", f"t={T + 1}"), BODY, now=T)
    for bad in ("", "t=abc,v1=00", f"t={T}", "v1=" + signature(SECRET, T, BODY), "garbage"):
        assert not verify_signature(SECRET, bad, BODY, now=T), bad
    rotated = f"t={T},v1={'0' * 64},v1={signature(SECRET, T, BODY)}"
    assert verify_signature(SECRET, rotated, BODY, now=T)


def test_the_documented_snippet_verifies_the_signature() -> None:
    import time

    now = int(time.time())
    header = signature_header(SECRET, now, BODY)
    assert docs_verify(SECRET, header, BODY)
    assert not docs_verify(SECRET, header, BODY.replace(b"1", b"2"))
    assert not docs_verify(b"wrong", header, BODY)
    assert not docs_verify(SECRET, signature_header(SECRET, now - 3600, BODY), BODY)
    assert not docs_verify(SECRET, "nonsense", BODY)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, "delivered"),
        (202, "delivered"),
        (204, "delivered"),
        (299, "delivered"),
        (500, "retry"),
        (502, "retry"),
        (503, "retry"),
        (599, "retry"),
        (408, "retry"),
        (429, "retry"),
        (400, "permanent"),
        (401, "permanent"),
        (404, "permanent"),
        (410, "permanent"),
        (422, "permanent"),
        (301, "permanent"),
        (302, "permanent"),
        (100, "permanent"),
    ],
)
def test_status_classes(status: int, outcome: str) -> None:
    assert classify_status(status) == outcome


def test_backoff_is_exponential_capped_and_jittered_within_bounds() -> None:
    policy = RetryPolicy(max_attempts=20, base=0.5, cap=30.0)
    rng = random.Random(7)
    delays = [policy.backoff(n, rng) for n in range(1, 20)]
    for n, delay in enumerate(delays, start=1):
        ceiling = min(30.0, 0.5 * 2 ** (n - 1))
        assert ceiling / 2 <= delay <= ceiling, (n, delay)
    assert max(delays) <= 30.0
    assert len({round(d, 9) for d in delays[8:]}) > 1  # capped, still jittered
    again = random.Random(7)
    assert [policy.backoff(n, again) for n in range(1, 20)] == delays  # seeded: reproducible


def test_backoff_of_huge_attempt_numbers_stays_at_the_cap() -> None:
    policy = RetryPolicy()
    assert 30.0 <= policy.backoff(10_000, random.Random(1)) <= 60.0


def test_retry_after_replaces_the_backoff_up_to_its_cap() -> None:
    policy = RetryPolicy(base=1.0, cap=60.0, max_retry_after=120.0)
    rng = random.Random(0)
    assert policy.delay(1, rng, 7.0) == 7.0
    assert policy.delay(1, rng, 10_000.0) == 120.0
    assert policy.delay(1, rng, -5.0) == 0.0
    assert 0.5 <= policy.delay(1, rng, None) <= 1.0


def test_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="base"):
        RetryPolicy(base=2.0, cap=1.0)
    with pytest.raises(ValueError, match="base"):
        RetryPolicy(base=0.0)


def test_parse_retry_after() -> None:
    now = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC).timestamp()
    assert parse_retry_after(None, now=now) is None
    assert parse_retry_after("120", now=now) == 120.0
    assert parse_retry_after(" 0 ", now=now) == 0.0
    later = format_datetime(datetime(2026, 12, 3, 12, 0, 30, tzinfo=UTC), usegmt=True)
    assert parse_retry_after(later, now=now) == pytest.approx(30.0)
    earlier = format_datetime(datetime(2026, 12, 3, 11, 0, 0, tzinfo=UTC), usegmt=True)
    assert parse_retry_after(earlier, now=now) == 0.0
    for junk in ("soon", "-1", "1.5", "", "Mon, 99 Foo 2026"):
        assert parse_retry_after(junk, now=now) is None, junk


def alert(theme: str, kind: str | None = "theme_match", *, type_kind: str | None = None) -> dict[str, object]:
    data: dict[str, object] = {"theme": theme, "alert_id": "al-1"}
    if kind is not None:
        data["kind"] = kind
    return {"id": "al-1", "type": f"io.newsmon.alert.{type_kind or kind or 'x'}.v1", "data": data}


def test_filter_by_theme_and_kind() -> None:
    everything = AlertFilter.of()
    greenland = AlertFilter.of(themes=["greenland"])
    spikes = AlertFilter.of(kinds=["spike", "digest"])
    both = AlertFilter.of(themes=["greenland", "nato-article-5"], kinds=["spike"])
    assert everything.matches(alert("greenland"))
    assert greenland.matches(alert("greenland"))
    assert not greenland.matches(alert("ukraine"))
    assert spikes.matches(alert("ukraine", "spike"))
    assert spikes.matches(alert("x", "digest"))
    assert not spikes.matches(alert("ukraine", "theme_match"))
    assert both.matches(alert("nato-article-5", "spike"))
    assert not both.matches(alert("nato-article-5", "new_story"))
    assert not both.matches(alert("ukraine", "spike"))
    for junk in (None, [], "x", {"data": None}, {"data": []}):
        assert not everything.matches(junk)


def test_kind_comes_from_data_else_from_the_type() -> None:
    assert alert_kind(alert("g", "spike")) == "spike"
    assert alert_kind(alert("g", None, type_kind="story_escalation")) == "story_escalation"
    assert alert_kind({"type": "io.newsmon.alert.new_story.v12", "data": {}}) == "new_story"
    assert alert_kind({"type": "io.newsmon.alerting", "data": {}}) is None
    assert AlertFilter.of(kinds=["digest"]).matches(alert("g", None, type_kind="digest"))


def test_event_id_requires_a_cloudevent() -> None:
    event = {"specversion": "1.0", "id": "al-abc", "type": "io.newsmon.alert.theme_match.v1", "source": "urn:x"}
    assert event_id(event) == "al-abc"
    for field in ("specversion", "id", "type", "source"):
        with pytest.raises(NotAnEvent, match=field):
            event_id({k: v for k, v in event.items() if k != field})
    with pytest.raises(NotAnEvent):
        event_id([1])
    with pytest.raises(NotAnEvent, match="control"):
        event_id({**event, "id": "al-\n1"})


def test_urls_are_checked_and_redacted() -> None:
    assert check_url("https://hooks.example.org/x") is None
    assert check_url("http://127.0.0.1:8080/in?token=1") is None
    assert "http" in (check_url("ftp://x/y") or "")
    assert "host" in (check_url("http:///path") or "")
    assert check_url("http://x:99999/") is not None
    assert redact_url("https://user:pw@Hooks.example.org:8443/in?token=abc#f") == "https://hooks.example.org:8443/in"
    assert redact_url("http://[::1]:80/a") == "http://[::1]:80/a"
