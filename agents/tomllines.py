"""Where things are in a TOML file of ``[[table]]`` arrays: line numbers for error messages.

``tomllib`` gives values without positions; theme and feed files report problems as
``FILE:LINE``, so they find the block of the n-th ``[[name]]`` table by its header line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache


@lru_cache(maxsize=8)
def _header(name: str) -> re.Pattern[str]:
    return re.compile(rf"^\s*\[\[\s*{re.escape(name)}\s*\]\]\s*(?:#.*)?$")


def table_blocks(lines: Sequence[str], name: str) -> list[tuple[int, int]]:
    """(first, end) 0-based line indexes of each ``[[name]]`` block, in file order."""
    header = _header(name)
    heads = [i for i, line in enumerate(lines) if header.match(line)]
    return [(h, heads[k + 1] if k + 1 < len(heads) else len(lines)) for k, h in enumerate(heads)]
