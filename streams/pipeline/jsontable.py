"""JSON values in a Faust table (or any mapping of str to str): the stories agent's access to its table.

A list that grows one entry at a time is kept in *chunks*, ``<prefix>:0``, ``<prefix>:1``, ...
of at most ``CHUNK`` entries each, so appending rewrites one short value (one small
changelog record) however long the list gets.
"""

from __future__ import annotations

import json
from typing import Any

CHUNK = 64  # entries per chunk of a chunked list


class JsonTable:
    """Reads and writes JSON values under string keys; a write is one changelog record."""

    def __init__(self, table: Any) -> None:
        self.table = table

    def get(self, key: str) -> Any:
        value = self.table.get(key)
        return None if value is None else json.loads(value)

    def put(self, key: str, value: Any) -> None:
        self.table[key] = json.dumps(value, separators=(",", ":"), sort_keys=True)

    def delete(self, key: str) -> None:
        """Delete ``key`` if it is there (no changelog record otherwise)."""
        if self.table.get(key) is not None:
            del self.table[key]

    def has(self, key: str) -> bool:
        return self.table.get(key) is not None

    def append_chunked(self, prefix: str, position: int, item: Any) -> None:
        """Store ``item`` as entry ``position`` (0-based, the list's length so far) of the chunked list ``prefix``."""
        key = f"{prefix}:{position // CHUNK}"
        self.put(key, [*(self.get(key) or []), item])

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
