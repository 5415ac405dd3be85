"""JSON values in a Faust table (or any mapping of str to str): the stories agent's access to its table."""

from __future__ import annotations

import json
from typing import Any


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
