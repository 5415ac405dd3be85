"""Benchmark section ``stories``: the stories agent's CPU per article, in-process.

Articles: the bench corpus (as in section ``enrich``), enriched once with the shipped themes
and encoded as the records the article agent writes to ``news.articles.enriched``, one
second apart in ``processed_at``, so that the run spans several alert windows.

The figure, ``stories.cpu_ms_per_article``, is the CPU time (``time.process_time``) of
``StorySteps.handle`` per article: MinHash signature, LSH candidates, the join / new
decision, the story and article entries of the ``stories`` table and the story index (band
keys, expiry hours, members; a dict here), the coverage counts and spikes, the alert budget
(``NEWSMON_ALERT_BUDGET`` 5 and 2-minute windows here, so held-back alerts and digests are
part of the work) and the alert events; the table is a plain dict
(Faust's table and its changelog sends are framework cost, measured by section ``e2e``),
sends go nowhere. Each round starts from an empty table; the value is the median over the
rounds. Target: <= 0.3 ms. Baseline, same run: ``enrich.cpu_ms_per_article`` measured on the
same articles (what the article agent already spends on each), so ``detail.vs_enrich`` says
what share the story stage adds. ``detail.signature_ms`` is the MinHash signature alone.

``stories.band_lookup_ms`` (no target) watches the worker's local band store
(``streams.pipeline.stories.LocalBands``, RocksDB) as the live stories grow: for each of
``BAND_STORIES`` stories, the CPU time of looking up 24 band keys that no story has (a new
article's, the common case) and then writing them for the story, as the worker does.  The
value is the mean lookup in the last tenth of the stories, the baseline the mean in the
first tenth, so ``detail.growth`` near 1 says lookups do not slow down with the state.
"""

from __future__ import annotations

import asyncio
import json
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agents.records import decode_raw_article, encode
from agents.stories import NAMES_BANDS, TEXT_BANDS, signature
from agents.themes import Tagger, load_theme_file
from agents.volume import SpikeRule
from agents.warmup import warm_up
from streams.bench.enrich import PROCESSED_AT, SIZES, decide, per_article_ms, raw_values
from streams.bench.model import Result
from streams.bench.stats import judged
from streams.settings import get_settings

TARGET = "<= 0.3 ms"
BUDGET = 5
WINDOW_SECONDS = 120.0  # the 500 quick-mode articles, one second apart, span five windows
START = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
BAND_STORIES = {"full": 80_000, "quick": 20_000, "tiny": 200}  # stories written to the band store


def enriched_values(values: Sequence[bytes], tagger: Tagger) -> list[bytes]:
    """The corpus articles as enriched records, one second apart."""
    out = []
    for i, value in enumerate(values):
        tagged, _alerts = decide(decode_raw_article(value), tagger)
        at = datetime.fromtimestamp(START + i, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        out.append(encode({**tagged, "processed_at": at}))
    return out


def handle_all(records: Sequence[bytes], themes: Any) -> Callable[[], dict[str, int]]:
    """A step that runs every record through fresh ``StorySteps`` and counts the alert kinds sent."""
    from streams.pipeline.delivery import InputRecord
    from streams.pipeline.stories import StorySteps
    from streams.pipeline.volume import VolumeRules

    def step() -> dict[str, int]:
        sent: dict[str, int] = {}

        class Alerts:
            async def send(self, *, key: bytes | None = None, value: bytes | None = None, **_: Any) -> None:
                kind = json.loads(value or b"{}")["data"]["kind"]
                sent[kind] = sent.get(kind, 0) + 1

        async def send_tagged(_record: dict[str, Any]) -> None:
            return None

        async def dead_letter(_msg: Any, stage: str, reason: str) -> dict[str, Any]:
            raise RuntimeError(f"{stage}: {reason}")

        steps = StorySteps(
            table={},
            themes=themes,
            alerts=Alerts(),
            send_tagged=send_tagged,
            dead_letter=dead_letter,
            window_hours=48,
            sources_threshold=3,
            now=lambda: PROCESSED_AT,
            volume=VolumeRules(SpikeRule(window_seconds=WINDOW_SECONDS), budget=BUDGET),
        )

        async def run() -> None:
            for offset, value in enumerate(records):
                await steps.handle(InputRecord("news.articles.enriched", 0, offset, None, value))

        asyncio.run(run())
        return sent

    return step


def run(mode: str, say: Callable[[str], None]) -> list[Result]:
    from streams.pipeline.themes_live import LiveThemes

    n, rounds, _naive = SIZES.get(mode, SIZES["quick"])
    warm_up()
    theme_set = load_theme_file(get_settings().themes_file)
    tagger = Tagger(theme_set)
    values = raw_values(n)
    records = enriched_values(values, tagger)
    say(f"stories: {len(records)} enriched corpus articles, {rounds} rounds")
    step = handle_all(records, LiveThemes(theme_set))
    kinds = step()
    value = per_article_ms(step, len(records), rounds)
    decoded = [json.loads(r) for r in records]
    sign = per_article_ms(lambda: [signature(d["title"], d["body"]) for d in decoded], len(records), rounds)
    articles = [decode_raw_article(v) for v in values]
    # the same figure as enrich.cpu_ms_per_article (the worker's decision per article), on these articles
    baseline = per_article_ms(lambda: [decide(a, tagger) for a in articles], len(articles), rounds)
    say(f"stories: {value:.3f} ms CPU per article (signature {sign:.3f}; enrich {baseline:.3f}); alerts {kinds}")
    detail: dict[str, Any] = {
        "articles": len(records),
        "rounds": rounds,
        "signature_ms": round(sign, 4),
        "vs_enrich": round(value / baseline, 3) if baseline > 0 else None,
        "alerts_sent": kinds,
        "budget": BUDGET,
        "window_seconds": WINDOW_SECONDS,
        "timer": "time.process_time, median over rounds",
    }
    return [
        judged("stories.cpu_ms_per_article", round(value, 4), "ms", TARGET, baseline=round(baseline, 4), detail=detail),
        band_lookups(BAND_STORIES.get(mode, BAND_STORIES["quick"]), say),
    ]


def band_lookups(stories: int, say: Callable[[str], None]) -> Result:
    """``stories.band_lookup_ms``: a new story's band-key lookup in the local band store, first and last tenth."""
    from streams.pipeline.stories import LocalBands

    keys_per_story = TEXT_BANDS + NAMES_BANDS
    rnd = random.Random(11)
    tenth = max(1, stories // 10)
    first = last = 0.0
    with tempfile.TemporaryDirectory(prefix="newsmon-bands-") as tmp:
        store = LocalBands(Path(tmp) / "bands").fresh()
        try:
            for n in range(stories):
                keys = [str(rnd.getrandbits(63)) for _ in range(keys_per_story)]  # band keys: decimal hashes
                started = time.process_time()
                store.get_many(keys)
                spent = time.process_time() - started
                if n < tenth:
                    first += spent
                elif n >= stories - tenth:
                    last += spent
                store.put_many(dict.fromkeys(keys, f"st-{n:024x}"))
                if (n + 1) % 20_000 == 0:
                    say(f"stories: band store, {n + 1:,} of {stories:,} stories written")
        finally:
            store.close()
    first_ms, last_ms = first / tenth * 1e3, last / tenth * 1e3
    growth = round(last_ms / first_ms, 2) if first_ms > 0 else None
    say(f"stories: band store lookup {first_ms:.3f} ms at first, {last_ms:.3f} ms at {stories:,} stories")
    detail = {
        "stories": stories,
        "keys_per_lookup": keys_per_story,
        "growth": growth,
        "timer": "time.process_time per lookup, mean over the first and the last tenth of the stories",
    }
    return judged("stories.band_lookup_ms", round(last_ms, 4), "ms", None, baseline=round(first_ms, 4), detail=detail)
