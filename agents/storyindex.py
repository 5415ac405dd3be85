"""The live stories' lookup structures, outside the stories table: LSH band keys, expiry hours, member articles.

Everything here is derived from the stories table (each story record holds its signature,
whose band keys are recomputed, and its latest article's time; each article entry names
its story), so it needs no changelog of its own: a worker that takes over the stories
partition rebuilds it from the table.  Keeping it out of the table saves a changelog
record per band key of every new story, and the expiry lists' records for every article.

The band map (band key -> story ids, and each story's article ids) is the large part, 25
entries per story: it is a
mapping the caller chooses, a dict in tests and the benchmark, a local RocksDB store in
the worker (``streams.pipeline.stories.LocalBands``), so the worker's memory does not grow
with the number of live stories.  A map with ``get_many(keys)`` and ``put_many(items)``
is read and written a story at a time.  A band key maps to *every* live story that has it (its value
is their ids, space-separated), so candidates do not depend on the order in which
stories were created, nor on the order of a rebuild.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping

MEMBERS = "m:"  # key prefix, in the band map, of a story's article ids (band keys are decimal numbers)


class StoryIndex:
    """Band key -> story ids and ``m:<story id>`` -> article ids (in ``bands``); expiry bucket -> story ids."""

    def __init__(self, bands: MutableMapping[str, str] | None = None) -> None:
        self.bands: MutableMapping[str, str] = {} if bands is None else bands
        self.buckets: dict[int, set[str]] = {}
        self.bucket_of: dict[str, int] = {}
        # the band keys and values ``candidates`` read last, until the band map changes: ``add_story`` of
        # the same keys (a new story, right after the search for it) writes without reading them again
        self._looked_up: tuple[list[str], list[str | None]] | None = None

    def __len__(self) -> int:
        return len(self.bucket_of)

    def add_story(self, story_id: str, bands: Iterable[str], bucket: int) -> None:
        """A live story, its band keys, and the expiry bucket of its latest article."""
        keys = list(bands)
        looked_up, self._looked_up = self._looked_up, None
        values = looked_up[1] if looked_up is not None and looked_up[0] == keys else self._get_many(keys)
        updates: dict[str, str] = {}
        for band, ids in zip(keys, values, strict=True):
            if not ids:
                updates[band] = story_id
            elif story_id not in (known := ids.split(" ")):
                updates[band] = " ".join(sorted([*known, story_id]))  # sorted: the same value in any order
        self._put_many(updates)
        self.touch(story_id, bucket)

    def touch(self, story_id: str, bucket: int) -> None:
        """The story's latest article is in ``bucket`` now."""
        before = self.bucket_of.get(story_id)
        if before == bucket:
            return
        if before is not None:
            _discard(self.buckets, before, story_id)
        self.bucket_of[story_id] = bucket
        self.buckets.setdefault(bucket, set()).add(story_id)

    def add_article(self, story_id: str, article_id: str) -> None:
        """``article_id`` has an entry naming ``story_id`` (to delete with the story).

        Kept with the band keys, off the heap: most live stories have one article, and
        their ids would otherwise be most of the index's memory."""
        self._looked_up = None
        key = MEMBERS + story_id
        ids = self.bands.get(key)
        self.bands[key] = f"{ids} {article_id}" if ids else article_id

    def add_articles(self, members: dict[str, list[str]]) -> None:
        """``add_article`` for many stories at once (story id -> article ids)."""
        self._looked_up = None
        self._put_many({MEMBERS + story_id: " ".join(ids) for story_id, ids in members.items()})

    def candidates(self, band_keys: Iterable[str]) -> list[str]:
        """The stories sharing at least one of ``band_keys``, each once, sorted."""
        keys = list(band_keys)
        values = self._get_many(keys)
        self._looked_up = (keys, values)
        found: set[str] = set()
        for ids in values:
            if ids:
                found.update(ids.split(" "))
        return sorted(found)

    def _put_many(self, items: dict[str, str]) -> None:
        """Write ``items`` to the band map, in one call when the map offers ``put_many``."""
        put_many = getattr(self.bands, "put_many", None)
        if put_many is not None:
            put_many(items)
        else:
            self.bands.update(items)

    def _get_many(self, keys: list[str]) -> list[str | None]:
        """The band map's values of ``keys`` (None where absent), in one call when the map offers ``get_many``."""
        get_many = getattr(self.bands, "get_many", None)
        if get_many is not None:
            values: list[str | None] = get_many(keys)
            return values
        return [self.bands.get(key) for key in keys]

    def due(self, before_bucket: int) -> list[str]:
        """Stories whose latest article is in a bucket before ``before_bucket``, oldest bucket first."""
        out: list[str] = []
        for bucket in sorted(b for b in self.buckets if b < before_bucket):
            out += sorted(self.buckets[bucket])
        return out

    def remove(self, story_id: str, bands: Iterable[str]) -> list[str]:
        """Forget a story (``bands``: its band keys); the ids of the articles listed for it, sorted."""
        self._looked_up = None
        for band in bands:
            ids = self.bands.get(band)
            if ids is None:
                continue
            rest = [i for i in ids.split(" ") if i != story_id]
            if rest:
                self.bands[band] = " ".join(rest)
            else:
                del self.bands[band]
        bucket = self.bucket_of.pop(story_id, None)
        if bucket is not None:
            _discard(self.buckets, bucket, story_id)
        members = self.bands.get(MEMBERS + story_id)
        if members is None:
            return []
        del self.bands[MEMBERS + story_id]
        return sorted(set(members.split(" ")))

    def state(self) -> tuple[dict[str, str | set[str]], dict[int, set[str]]]:
        """Everything it holds, as plain values (for comparisons; members as sets)."""
        bands: dict[str, str | set[str]] = {
            key: set(value.split(" ")) if key.startswith(MEMBERS) else value for key, value in self.bands.items()
        }
        return bands, {b: set(s) for b, s in self.buckets.items()}


def _discard(index: dict[int, set[str]], key: int, story_id: str) -> None:
    ids = index.get(key)
    if ids is not None:
        ids.discard(story_id)
        if not ids:
            del index[key]
