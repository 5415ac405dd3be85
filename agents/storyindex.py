"""The live stories' lookup structures, in memory: LSH band keys, expiry hours, member articles.

Everything here is derived from the stories table (each story record lists its band keys
and its latest article's time; each article entry names its story), so it needs no
changelog of its own: a worker that takes over the stories partition rebuilds it from the
table (:meth:`StoryIndex.add_story` and :meth:`StoryIndex.add_article` over every entry).
Keeping it out of the table saves a table write per band key of every new story, and
the expiry lists' writes for every article.

A band key maps to *every* live story that has it (not only the latest), so candidates do
not depend on the order stories were created in, nor on the order of a rebuild.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class StoryIndex:
    """Band key -> story ids; expiry bucket -> story ids; story id -> article ids (plain values, no I/O)."""

    bands: dict[str, set[str]] = field(default_factory=dict)
    buckets: dict[int, set[str]] = field(default_factory=dict)
    bucket_of: dict[str, int] = field(default_factory=dict)
    story_bands: dict[str, tuple[str, ...]] = field(default_factory=dict)
    articles: dict[str, set[str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.bucket_of)

    def add_story(self, story_id: str, bands: Iterable[str], bucket: int) -> None:
        """A live story, its band keys, and the expiry bucket of its latest article."""
        keys = tuple(bands)
        self.story_bands[story_id] = keys
        for band in keys:
            self.bands.setdefault(band, set()).add(story_id)
        self.touch(story_id, bucket)

    def touch(self, story_id: str, bucket: int) -> None:
        """The story's latest article is in ``bucket`` now."""
        before = self.bucket_of.get(story_id)
        if before == bucket:
            return
        if before is not None:
            self._discard(self.buckets, before, story_id)
        self.bucket_of[story_id] = bucket
        self.buckets.setdefault(bucket, set()).add(story_id)

    def add_article(self, story_id: str, article_id: str) -> None:
        """``article_id`` has an entry naming ``story_id`` (deleted with the story)."""
        self.articles.setdefault(story_id, set()).add(article_id)

    def candidates(self, band_keys: Iterable[str]) -> list[str]:
        """The stories sharing at least one of ``band_keys``, each once, in a fixed order."""
        found: set[str] = set()
        for band in band_keys:
            ids = self.bands.get(band)
            if ids:
                found |= ids
        return sorted(found)

    def due(self, before_bucket: int) -> list[str]:
        """Stories whose latest article is in a bucket before ``before_bucket``, oldest bucket first."""
        out: list[str] = []
        for bucket in sorted(b for b in self.buckets if b < before_bucket):
            out += sorted(self.buckets[bucket])
        return out

    def remove(self, story_id: str) -> list[str]:
        """Forget a story; the ids of the articles listed for it, sorted."""
        for band in self.story_bands.pop(story_id, ()):
            self._discard(self.bands, band, story_id)
        bucket = self.bucket_of.pop(story_id, None)
        if bucket is not None:
            self._discard(self.buckets, bucket, story_id)
        return sorted(self.articles.pop(story_id, ()))

    @staticmethod
    def _discard(index: dict[Any, set[str]], key: Any, story_id: str) -> None:
        ids = index.get(key)
        if ids is not None:
            ids.discard(story_id)
            if not ids:
                del index[key]
