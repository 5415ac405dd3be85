"""Test modules need distinct file names: pytest imports them by basename (prepend import mode)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_test_module_basenames_are_unique() -> None:
    names = Counter(p.name for p in TESTS.rglob("test_*.py"))
    assert names, "no test modules found"
    clashes = sorted(name for name, count in names.items() if count > 1)
    assert not clashes, f"test modules with the same file name (rename one): {clashes}"
