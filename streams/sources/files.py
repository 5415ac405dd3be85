"""Article files on disk: which files a PATH stands for, and reading them (no Kafka).

``newsmon replay`` and ``newsmon classify`` share these rules (``docs/replay.md``);
the parsing itself is pure (``agents.seeds``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from agents.records import RawArticle
from agents.seeds import SUFFIXES, SeedFileError, parse_seed_file


@dataclass(frozen=True)
class SeedSource:
    """One input file and the articles read from it."""

    path: Path
    articles: list[RawArticle]


def expand(path: Path, *, note: Callable[[str], None] = lambda _: None, any_suffix: bool = False) -> list[Path]:
    """The files one PATH stands for: the file itself, or a directory's ``*.txt``/``*.jsonl`` sorted by name.

    Directories are not searched recursively; other entries in them are skipped with a
    ``note``.  A file given explicitly must have a supported suffix unless ``any_suffix``.
    Raises :class:`SeedFileError` for a missing path, a directory without article
    files, or (without ``any_suffix``) a file of another type.
    """
    if path.is_dir():
        entries = sorted(path.iterdir(), key=lambda p: p.name)
        chosen = [p for p in entries if p.suffix.lower() in SUFFIXES and p.is_file()]
        for other in entries:
            if other not in chosen:
                kind = "directory" if other.is_dir() else "file"
                note(f"skipping {kind} {other} (only *.txt and *.jsonl files are read, not subdirectories)")
        if not chosen:
            raise SeedFileError(str(path), "the directory has no *.txt or *.jsonl files")
        return chosen
    if path.exists():
        if not any_suffix and path.suffix.lower() not in SUFFIXES:
            raise SeedFileError(str(path), f"unsupported file type {path.suffix or '(none)'!r}; use .txt or .jsonl")
        return [path]
    raise SeedFileError(str(path), "no such file or directory")


def discover(paths: Sequence[Path], *, note: Callable[[str], None] = lambda _: None) -> list[Path]:
    """The input files of all ``paths`` (see :func:`expand`), in order; a file named twice is read once."""
    unique: dict[Path, Path] = {}
    for path in paths:
        for found in expand(path, note=note):
            unique.setdefault(found.resolve(), found)
    return list(unique.values())


def read_bytes(path: Path) -> bytes:
    """The file's bytes, or :class:`SeedFileError` naming why it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SeedFileError(str(path), f"cannot read the file: {exc.strerror or exc}") from None


def load(files: Iterable[Path], *, fetched_at: str) -> list[SeedSource]:
    """Read and check every file; the first problem raises :class:`SeedFileError` (nothing is half-read)."""
    return [
        SeedSource(path, parse_seed_file(read_bytes(path), path=str(path), fetched_at=fetched_at)) for path in files
    ]
