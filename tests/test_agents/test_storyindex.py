"""The story index outside the table: band candidates, expiry buckets, member articles, and its rebuild."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from agents.storyindex import StoryIndex


def test_a_band_key_finds_every_live_story_that_has_it() -> None:
    index = StoryIndex()
    index.add_story("st-b", ["t0:1", "t1:9"], bucket=11)
    index.add_story("st-a", ["t0:1", "t1:2"], bucket=10)
    index.add_story("st-a", ["t0:1"], bucket=10)  # twice: listed once
    assert index.bands["t0:1"] == "st-a st-b"
    assert index.candidates(["t0:1"]) == ["st-a", "st-b"]
    assert index.candidates(["t1:9", "t1:2", "t1:9"]) == ["st-a", "st-b"]
    assert index.candidates(["n0:5"]) == []


def test_touch_moves_a_story_to_its_latest_bucket() -> None:
    index = StoryIndex()
    index.add_story("st-a", ["t0:1"], bucket=10)
    index.add_story("st-b", ["t0:2"], bucket=10)
    index.touch("st-a", 12)
    assert index.due(11) == ["st-b"]
    assert index.due(13) == ["st-b", "st-a"]  # oldest bucket first
    assert index.buckets == {10: {"st-b"}, 12: {"st-a"}}


def test_remove_forgets_bands_bucket_and_returns_the_articles() -> None:
    index = StoryIndex()
    index.add_story("st-a", ["t0:1", "t1:2"], bucket=10)
    index.add_story("st-b", ["t0:1"], bucket=10)
    index.add_article("st-a", "a2")
    index.add_article("st-a", "a1")
    assert index.remove("st-a", ["t0:1", "t1:2"]) == ["a1", "a2"]
    assert index.candidates(["t0:1", "t1:2"]) == ["st-b"]
    assert dict(index.bands) == {"t0:1": "st-b"}
    assert index.due(99) == ["st-b"]
    assert index.remove("st-a", ["t0:1", "t1:2"]) == []  # twice: nothing left
    assert len(index) == 1


def test_the_band_map_can_be_any_mapping() -> None:
    class Store(dict[str, str]):
        """Stands in for the worker's RocksDB store: a mapping of str to str."""

    store = Store()
    index = StoryIndex(store)
    index.add_story("st-a", ["t0:1"], bucket=1)
    assert store == {"t0:1": "st-a"}


def test_a_new_story_after_its_search_reads_its_bands_once() -> None:
    """The agent searches a new article's band keys, then adds its story under them: one read, not two."""

    class Store(dict[str, str]):
        reads = 0

        def get_many(self, keys: list[str]) -> list[str | None]:
            self.reads += 1
            return [self.get(key) for key in keys]

    store = Store({"t0:1": "st-a"})
    index = StoryIndex(store)
    assert index.candidates(["t0:1", "t1:2"]) == ["st-a"]
    index.add_story("st-b", ["t0:1", "t1:2"], bucket=1)
    assert store.reads == 1
    assert store == {"t0:1": "st-a st-b", "t1:2": "st-b"}
    index.add_story("st-c", ["t0:1"], bucket=1)  # no search before it: read
    assert store.reads == 2
    assert store["t0:1"] == "st-a st-b st-c"


operations = st.lists(
    st.tuples(
        st.sampled_from("abcdef"), st.lists(st.sampled_from(["b1", "b2", "b3", "b4"]), max_size=3), st.integers(0, 5)
    ),
    max_size=30,
)


@given(operations, st.integers(0, 6))
def test_an_index_rebuilt_from_what_is_left_equals_the_live_one(
    ops: list[tuple[str, list[str], int]], cut: int
) -> None:
    """Adds, touches and removes in any order; rebuilding from the stories left gives the same index."""
    live = StoryIndex()
    state: dict[str, tuple[list[str], int]] = {}
    for story, bands, bucket in ops:
        sid = f"st-{story}"
        if sid in state and bucket == 0:
            live.remove(sid, state.pop(sid)[0])
        elif sid in state:
            live.touch(sid, bucket)
            state[sid] = (state[sid][0], bucket)
        else:
            live.add_story(sid, bands, bucket)
            state[sid] = (bands, bucket)
    for sid in live.due(cut):
        live.remove(sid, state.pop(sid)[0])
    rebuilt = StoryIndex()
    for sid in sorted(state, reverse=True):
        rebuilt.add_story(sid, state[sid][0], state[sid][1])
    assert rebuilt.state() == live.state()


few_bands = st.lists(st.sampled_from(["b1", "b2"]), min_size=1, max_size=2)
searches_and_operations = st.lists(
    st.one_of(st.tuples(st.just("search"), few_bands), st.tuples(st.sampled_from("abc"), few_bands)), max_size=30
)


@settings(max_examples=300)
@given(searches_and_operations)
def test_searches_between_adds_and_removes_change_nothing(ops: list[tuple[str, list[str]]]) -> None:
    """A search remembers what it read for the next add of the same keys; a write in between
    (another add, a remove) makes the add read again: the index is the one built without searches."""
    searched, plain = StoryIndex(), StoryIndex()
    bands_of: dict[str, list[str]] = {}
    for what, bands in ops:
        if what == "search":
            expected = {sid for band in bands for sid in (plain.bands.get(band) or "").split()}
            assert searched.candidates(bands) == sorted(expected)  # (plain never searches)
            continue
        sid = f"st-{what}"
        for index in (searched, plain):
            if sid in bands_of:
                index.remove(sid, bands_of[sid])
            else:
                index.add_story(sid, bands, 1)
        if sid in bands_of:
            del bands_of[sid]
        else:
            bands_of[sid] = bands
        assert searched.state() == plain.state()
