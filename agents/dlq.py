"""Dead-letter records: what could not be processed, where it came from, and why."""

from __future__ import annotations

import base64
from typing import Any

from agents.records import MAX_VALUE_BYTES, SCHEMA_VERSION

# Pipeline stages named in dead-letter records (docs/topics.md).
STAGE_DECODE = "decode"
STAGE_PROCESS = "process"
STAGE_THEMES = "themes"

MAX_REASON_CHARS = 2_000
# A dead letter keeps the original value whole up to the raw-article limit; of a larger
# value (which the decoder refuses anyway) it keeps the first MAX_DLQ_VALUE_BYTES bytes, so
# that every dead letter fits in one Kafka message (streams/kafka/limits.py).
MAX_DLQ_VALUE_BYTES = MAX_VALUE_BYTES


def dead_letter(
    *,
    stage: str,
    reason: str,
    topic: str,
    partition: int | None,
    offset: int | None,
    key: bytes | None,
    value: bytes | None,
    failed_at: str,
    worker: str = "",
) -> dict[str, Any]:
    """The JSON value of a ``news.dlq`` record: the original bytes (base64) and a human-readable reason."""
    kept = value[:MAX_DLQ_VALUE_BYTES] if value is not None else None
    return {
        "schema_version": SCHEMA_VERSION,
        "stage": stage,
        "reason": reason[:MAX_REASON_CHARS],
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "key_b64": base64.b64encode(key).decode("ascii") if key is not None else None,
        "value_b64": base64.b64encode(kept).decode("ascii") if kept is not None else None,
        "value_size": len(value) if value is not None else 0,
        "value_truncated": value is not None and len(value) > MAX_DLQ_VALUE_BYTES,
        "failed_at": failed_at,
        "worker": worker,
    }
