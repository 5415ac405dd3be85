"""The one Kafka message-size limit, used by the broker, every topic, producer and consumer.

The content limit of a raw article (``agents.records.MAX_VALUE_BYTES``, 2 MiB) is a
record rule, enforced by the decoder.  This is the transport limit around it: large
enough for the dead letter of any raw value the broker lets through (the DLQ keeps at
most ``MAX_VALUE_BYTES`` of the original value, base64-encoded, plus its envelope).
"""

from __future__ import annotations

from agents.dlq import MAX_DLQ_VALUE_BYTES

MAX_MESSAGE_BYTES = 4 * 1024 * 1024

# A dead letter: 4/3 of the kept original bytes (base64), the key likewise, and the
# envelope (reason, topic, timestamps); a generous 64 KiB covers the envelope.
_DLQ_RECORD_BYTES = (MAX_DLQ_VALUE_BYTES * 4) // 3 + 64 * 1024
assert _DLQ_RECORD_BYTES <= MAX_MESSAGE_BYTES, "a dead letter must fit in one Kafka message"
