"""Golden outputs of the stories stage (signatures, band keys, grouping, story alerts), for identity tests.

``tests/data/stories_golden.jsonl`` holds one line per record run through ``StorySteps``
(over a plain dict, as the ``stories`` bench section does): a SHA-256 digest of the
article's MinHash sketches (text and names) and one of its LSH band keys, the story id and
role it was given, and the alerts its handling sent (kind, theme, alert id, and a SHA-256
digest of the event's exact bytes; ``detected_at`` is fixed).  Digests are the first 16 hex
digits of the SHA-256.  ``test_stories_identical.py`` recomputes
them with the current code and requires equality.

Two streams:

- ``repo``: built from files in the repository only (always runs): the seed articles, each
  with two syndicated copies from other sources (joins, the ``sources:3`` escalation), a
  redelivery of the same input record and a revision under the same id (updates); the
  held-out news texts in 13 languages and a short names-heavy story in English, German and
  French (joins across languages, ``lang:`` escalations); a tick; then, after the story
  window has passed, the seeds again under new URLs (expired stories, swept buckets, new
  stories).  Budget 2 per 10-minute window, so held-back alerts and digests are covered.
- ``corpus``: the bench corpus ``build_corpus(2000, seed=7)`` (the sentence corpus in
  ``../shared``), one second apart, with the settings of the ``stories`` bench section.

Both are tagged with the frozen copy of the shipped themes ``tests/data/enrich_golden_themes.toml``.

Regenerate only from code whose outputs are known to be right (the fixture is the reference
that optimizations are held to), e.g. from a worktree of the commit before a change:

    git worktree add /tmp/golden-wt <commit>
    PYTHONPATH=/tmp/golden-wt .venv/bin/python tests/stories_golden.py tests/data/stories_golden.jsonl
    git worktree remove /tmp/golden-wt
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"
GOLDEN = DATA / "stories_golden.jsonl"
THEMES = DATA / "enrich_golden_themes.toml"
HELDOUT = DATA / "heldout_news.jsonl"
SENTENCES = REPO.parent / "shared" / "corpora" / "langid-sentences"
CORPUS_N, CORPUS_SEED = 2000, 7
START = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
DETECTED_AT = "2026-01-01T00:00:01.000Z"
TOPIC = "news.articles.enriched"

# (window_hours, sources_threshold, alert window seconds, budget) per stream
SETTINGS = {"repo": (2, 3, 600.0, 2), "corpus": (48, 3, 120.0, 5)}

NAMES_STORY = [
    (
        "en",
        "Frederiksen meets Rutte in Nuuk",
        "Mette Frederiksen and Mark Rutte met Jens-Frederik Nielsen in Nuuk on 14 January 2026 "
        "to discuss Pituffik, Arctic security and the 2026 NATO summit in Ankara with Macron and Merz. "
        "Trump again threatened to annex Greenland and impose tariffs on Denmark.",
    ),
    (
        "de",
        "Frederiksen trifft Rutte in Nuuk",
        "Mette Frederiksen und Mark Rutte trafen Jens-Frederik Nielsen am 14. Januar 2026 in Nuuk, "
        "um über Pituffik, Sicherheit in der Arktis und den NATO-Gipfel 2026 in Ankara "
        "mit Macron und Merz zu sprechen.",
    ),
    (
        "fr",
        "Frederiksen rencontre Rutte à Nuuk",
        "Mette Frederiksen et Mark Rutte ont rencontré Jens-Frederik Nielsen à Nuuk le 14 janvier 2026 "
        "pour parler de Pituffik, de la sécurité arctique et du sommet de l'OTAN 2026 à Ankara "
        "avec Macron et Merz. "
        "Trump a de nouveau menacé d'annexer le Groenland et d'imposer des droits de douane au Danemark.",
    ),
]


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _sha(data: bytes) -> str:
    """The first 16 hex digits of the SHA-256 of ``data`` (64 bits: enough to tell two values apart here)."""
    return hashlib.sha256(data).hexdigest()[:16]


def _edited(title: str, body: str, n: int) -> tuple[str, str]:
    """A syndicated copy: a new headline prefix, a byline, a changed word, the last paragraph dropped."""
    paragraphs = body.split("\n\n")
    kept = paragraphs[:-1] if len(paragraphs) > 2 else paragraphs
    text = "\n\n".join(kept).replace(" the ", " this ", n)
    return f"WIRE {n}: {title}", f"By Staff Reporter (Agency {n})\n\n{text}\n\nCopyright 2026 Agency {n}."


# A step of a stream: (case, raw article fields or None for a tick, seconds after START, offset)
Step = tuple[str, dict[str, Any] | None, float, int]


def repo_steps() -> Iterator[Step]:
    """The ``repo`` stream (see the module doc); a redelivery reuses its record's offset."""
    from streams.bench.faultcheck import seed_templates

    seeds = seed_templates()
    heldout = [json.loads(line) for line in HELDOUT.read_text(encoding="utf-8").splitlines() if line.strip()]
    offset = 0
    at = 0.0

    def step(case: str, fields: dict[str, Any] | None, *, advance: float = 30.0) -> Step:
        nonlocal offset, at
        at += advance
        offset += 1
        return case, fields, at, offset

    for k, (lang, title, body) in enumerate(NAMES_STORY):
        yield step(f"names:{lang}", {"title": title, "body": body, "url": f"https://n.test/{k}", "source": f"n{k}"})
    for i, seed in enumerate(seeds):
        original = {"title": seed["title"], "body": seed["body"], "url": f"https://a.test/seed/{i}", "source": "a"}
        first = step(f"seed:{i}", original)
        yield first
        for n, source in ((1, "b"), (2, "c")):
            title, body = _edited(seed["title"], seed["body"], n)
            yield step(f"seed:{i}:copy{n}", {"title": title, "body": body, "url": f"https://{source}.test/{i}",
                                              "source": source})  # fmt: skip
        yield first[0] + ":again", first[1], first[2], first[3]  # the same input record delivered again
        revised = {**original, "title": f"Updated: {seed['title']}", "body": seed["body"][: len(seed["body"]) // 3]}
        yield step(f"seed:{i}:revised", revised)
    for k, row in enumerate(heldout):
        yield step(f"heldout:{k}", {"title": "", "body": row["text"], "source": f"h{k % 4}"}, advance=120.0)
    yield step("tick", None, advance=900.0)
    window = SETTINGS["repo"][0] * 3600.0
    for i, seed in enumerate(seeds):  # after the window: every story has expired
        yield step(f"late:{i}", {"title": seed["title"], "body": seed["body"], "url": f"https://late.test/{i}",
                                 "source": "a"}, advance=window if i == 0 else 30.0)  # fmt: skip


def corpus_steps() -> Iterator[Step]:
    """The ``corpus`` stream: the bench corpus, one second apart, as the ``stories`` bench section runs it."""
    from streams.bench.corpus import build_corpus

    for i, article in enumerate(build_corpus(CORPUS_N, seed=CORPUS_SEED, sentences_dir=SENTENCES)):
        yield f"corpus:{i}", {"id": article.id, "title": article.title, "body": article.body, "source": "bench"}, i, i


def outputs(stream: str) -> Iterator[dict[str, Any]]:
    """One golden line per step of ``stream`` (``repo`` or ``corpus``), computed by whatever code is importable."""
    from agents.enrich import enrich
    from agents.records import decode_raw_article, encode
    from agents.stories import signature
    from agents.themes import Tagger, load_theme_file
    from agents.volume import SpikeRule
    from streams.pipeline.delivery import InputRecord
    from streams.pipeline.stories import StorySteps
    from streams.pipeline.themes_live import LiveThemes
    from streams.pipeline.volume import VolumeRules

    window_hours, sources_threshold, window_seconds, budget = SETTINGS[stream]
    themes = load_theme_file(THEMES)
    tagger = Tagger(themes)
    sent: list[list[str]] = []

    class Alerts:
        async def send(self, *, key: bytes | None = None, value: bytes | None = None, **_: Any) -> None:
            event = json.loads(value or b"{}")
            sent.append([event["data"]["kind"], event["data"]["theme"], event["id"], _sha(value or b"")])

    async def send_tagged(_record: dict[str, Any]) -> None:
        return None

    async def dead_letter(_msg: Any, stage: str, reason: str) -> dict[str, Any]:
        raise AssertionError(f"dead letter at {stage}: {reason}")

    steps = StorySteps(
        table={},
        themes=LiveThemes(themes),
        alerts=Alerts(),
        send_tagged=send_tagged,
        dead_letter=dead_letter,
        window_hours=window_hours,
        sources_threshold=sources_threshold,
        now=lambda: DETECTED_AT,
        volume=VolumeRules(SpikeRule(window_seconds=window_seconds), budget=budget),
    )
    source = repo_steps() if stream == "repo" else corpus_steps()

    async def run() -> list[dict[str, Any]]:
        rows = []
        for case, fields, seconds, offset in source:
            processed_at = _iso(START + seconds)
            if fields is None:
                record: dict[str, Any] = {"tick": True, "processed_at": processed_at}
            else:
                record = enrich(decode_raw_article(encode(fields)), tagger, processed_at=processed_at)
            sent.clear()
            result = await steps.handle(InputRecord(TOPIC, 0, offset, None, encode(record)))
            row: dict[str, Any] = {"case": f"{stream}:{case}"}
            if fields is not None:
                sig = signature(record["title"], record["body"])
                row["sketch"] = _sha(json.dumps([sig.text, sig.names]).encode())
                row["bands"] = _sha(json.dumps(sig.band_keys()).encode())
                row["story"] = result["story_id"]
                row["role"] = result["story_role"]
            row["alerts"] = list(sent)
            rows.append(row)
        return rows

    yield from asyncio.run(run())


def summary(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """What a stream covers: roles, stories, alert kinds."""
    roles: dict[str, int] = {}
    kinds: dict[str, int] = {}
    for row in rows:
        if "role" in row:
            roles[row["role"]] = roles.get(row["role"], 0) + 1
        for alert in row["alerts"]:
            kinds[alert[0]] = kinds.get(alert[0], 0) + 1
    return {
        "rows": len(rows),
        "stories": len({r["story"] for r in rows if "story" in r}),
        "roles": roles,
        "kinds": kinds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    import agents

    print(f"agents from {Path(agents.__file__).parent}", file=sys.stderr)
    with args.out.open("w", encoding="utf-8") as out:
        for stream in ("repo", "corpus"):
            rows = list(outputs(stream))
            print(f"{stream}: {summary(rows)}", file=sys.stderr)
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
