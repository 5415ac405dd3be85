"""JSON values in a Faust table (or any mapping of str to str): the stories agent's access to its table.

A list that grows one entry at a time is kept in *chunks*, ``<prefix>:0``, ``<prefix>:1``, ...
of at most ``CHUNK`` entries each, so appending rewrites one short value (one small
changelog record) however long the list gets.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

CHUNK = 64  # entries per chunk of a chunked list

# the scanner json.loads ends up in (set by JSONDecoder.__init__; not in the type stubs)
_SCAN_ONCE: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
# what json.dumps(value, separators=(",", ":"), sort_keys=True) uses, built once instead of per call
_ENCODER = json.JSONEncoder(separators=(",", ":"), sort_keys=True)


def loads(value: str | bytes) -> Any:
    """``json.loads(value)``, without its per-call overhead for a str that starts with a JSON value and ends with it."""
    if isinstance(value, str):
        try:
            obj, end = _SCAN_ONCE(value, 0)
        except StopIteration:  # leading whitespace, or not JSON: json.loads says which
            return json.loads(value)
        if end == len(value):
            return obj
    return json.loads(value)


def dumps(value: Any) -> str:
    """The stored form of a value: compact JSON with sorted keys (deterministic)."""
    return _ENCODER.encode(value)


class JsonTable:
    """Reads and writes JSON values under string keys; a write is one changelog record."""

    def __init__(self, table: Any) -> None:
        self.table = table

    def get(self, key: str) -> Any:
        value = self.table.get(key)
        return None if value is None else loads(value)

    def put(self, key: str, value: Any) -> None:
        self.table[key] = dumps(value)

    def delete(self, key: str) -> None:
        """Delete ``key`` if it is there (no changelog record otherwise)."""
        if self.table.get(key) is not None:
            del self.table[key]

    def has(self, key: str) -> bool:
        return self.table.get(key) is not None

    def append_chunked(self, prefix: str, position: int, item: Any) -> None:
        """Store ``item`` as entry ``position`` (0-based, the list's length so far) of the chunked list ``prefix``."""
        self.extend_chunked(prefix, position, [item])

    def extend_chunked(self, prefix: str, position: int, items: list[Any]) -> None:
        """Store ``items`` as entries ``position``, ``position + 1``, ... of the chunked list ``prefix``:
        one read and one write per chunk they fall in."""
        done = 0
        while done < len(items):
            chunk, at = divmod(position + done, CHUNK)
            take = items[done : done + CHUNK - at]
            key = f"{prefix}:{chunk}"
            self.put(key, [*(self.get(key) or []), *take])
            done += len(take)

    def chunked(self, prefix: str) -> list[Any]:
        """Every entry of the chunked list ``prefix``, in order."""
        return self._chunks(prefix, drop=False)

    def drop_chunked(self, prefix: str) -> list[Any]:
        """Every entry of the chunked list ``prefix``, in order; the list is deleted."""
        return self._chunks(prefix, drop=True)

    def _chunks(self, prefix: str, *, drop: bool) -> list[Any]:
        out: list[Any] = []
        n = 0
        while (part := self.get(f"{prefix}:{n}")) is not None:
            out += part
            if drop:
                del self.table[f"{prefix}:{n}"]
            n += 1
        return out
