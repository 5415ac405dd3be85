"""JSON values in a Faust table (or any mapping of str to str): the stories agent's access to its table.

A list that grows one entry at a time is kept in *chunks*, ``<prefix>:0``, ``<prefix>:1``, ...
of at most ``CHUNK`` entries each, so appending rewrites one short value (one small
changelog record) however long the list gets.

Values are written by orjson (compact, keys sorted: the same value always gives the same
string; non-ASCII characters as UTF-8, not ``\\u`` escapes) and read by orjson, with the
standard library's ``json`` for what orjson refuses (see ``loads`` and ``dumps``).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

CHUNK = 64  # entries per chunk of a chunked list


def loads(value: str | bytes) -> Any:
    """``json.loads(value)``, faster: orjson, and ``json`` for what orjson refuses (lone surrogates,
    ``NaN``, encodings other than UTF-8, ...), so the same value or the same error.

    One difference: orjson reads an integer beyond 64 bits as a float.  Neither the table's values
    nor the enriched records (validated article strings; ids, counts, offsets, epoch seconds) hold any.
    """
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return json.loads(value)


def dumps(value: Any) -> str:
    """The stored form of a value: compact JSON with sorted keys (deterministic).

    What orjson cannot write (lone surrogates, integers beyond 64 bits, keys that are not
    strings) is written by ``json`` as before this used orjson.  orjson writes a float that is
    not finite (inf, NaN) as ``null``: the table holds none (epoch seconds, rounded means)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, separators=(",", ":"), sort_keys=True)


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
