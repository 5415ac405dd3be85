"""Golden outputs of the per-article path (decode, enrich, encode, alert decisions), for identity tests.

``tests/data/enrich_golden.jsonl`` holds, for a fixed set of inputs, everything the worker
derives from an article apart from timestamps: article id, language and confidence, themes
with scores and evidence offsets, the alert ids, and the SHA-256 of the exact bytes of the
tagged record and of each alert event (timestamps fixed).  ``test_enrich_identical.py``
recomputes them with the current code and requires equality.

Inputs: every 5th article of the bench corpus ``build_corpus(2000, seed=7)`` (the sentence
corpus in ``../shared``), the held-out news set, and the seed articles, tagged with a frozen
copy of the shipped themes (``tests/data/enrich_golden_themes.toml``) and, for broader
coverage of the engine, with that copy plus 300 of the bench's synthetic themes.

Regenerate only from code whose outputs are known to be right (the fixture is the reference
that optimizations are held to), e.g. from a worktree of the commit before a change:

    git worktree add /tmp/golden-wt <commit>
    PYTHONPATH=/tmp/golden-wt .venv/bin/python tests/enrich_golden.py tests/data/enrich_golden.jsonl
    git worktree remove /tmp/golden-wt

``--every 1`` (all 2,000 corpus articles) writes a larger reference, for a one-off check.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"
GOLDEN = DATA / "enrich_golden.jsonl"
THEMES = DATA / "enrich_golden_themes.toml"
HELDOUT = DATA / "heldout_news.jsonl"
SEEDS = REPO / "seeds"
SENTENCES = REPO.parent / "shared" / "corpora" / "langid-sentences"
CORPUS_N, CORPUS_SEED, EVERY = 2000, 7, 5
SYNTHETIC = 300
PROCESSED_AT = "2026-01-01T00:00:00.000Z"
DETECTED_AT = "2026-01-01T00:00:01.000Z"


def inputs(every: int = EVERY) -> Iterator[tuple[str, dict[str, Any]]]:
    """(case name, raw record as a producer would publish it): ids derived from URL or content."""
    from streams.bench.corpus import build_corpus

    for i, article in enumerate(build_corpus(CORPUS_N, seed=CORPUS_SEED, sentences_dir=SENTENCES)):
        if i % every:
            continue
        raw: dict[str, Any] = {"schema_version": 1, "source": "bench", "title": article.title, "body": article.body}
        if i % 3 == 0:
            raw["url"] = f"https://www.example.org/news/{i}?utm_source=feed&page=1"
        if i % 7 == 0:
            raw["body"] = "<p>" + article.body.replace("\n\n", "</p><p>") + "</p>"
        yield f"corpus:{i}", raw
    for number, line in enumerate(HELDOUT.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            yield f"heldout:{number}", {"schema_version": 1, "title": "", "body": json.loads(line)["text"]}
    for path in sorted(SEEDS.glob("*.txt")):
        title, _, body = path.read_text(encoding="utf-8").strip().partition("\n")
        yield f"seed:{path.name}", {"schema_version": 1, "title": title.strip(), "body": body.strip()}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _match_json(match: Any) -> dict[str, Any]:
    return {
        "theme": match.theme,
        "score": match.score,
        "evidence": [[e.term, e.start, e.end, e.rule] for e in match.evidence],
    }


def outputs(every: int = EVERY) -> Iterator[dict[str, Any]]:
    """One golden line per input, computed by whatever ``agents`` is importable."""
    from agents.alerting import alert_event, new_alert_themes
    from agents.enrich import enrich
    from agents.records import decode_raw_article, encode
    from agents.text import strip_markup
    from agents.themes import Tagger, load_theme_file
    from streams.bench.tagging import synthetic_themes

    shipped = load_theme_file(THEMES)
    tagger = Tagger(shipped)
    wide = Tagger([*shipped, *synthetic_themes(SYNTHETIC)])
    for case, raw in inputs(every):
        article = decode_raw_article(encode(raw))
        tagged = enrich(article, tagger, processed_at=PROCESSED_AT)
        tagged_bytes = encode(tagged)
        matches = {m["theme"]: m for m in tagged["themes"]}
        alerts = [
            encode(alert_event(tagged, matches[theme], detected_at=DETECTED_AT))
            for theme in new_alert_themes(matches, tagged["id"], {})
        ]
        text = tagged["title"] + "\n\n" + tagged["body"] if tagged["title"] else tagged["body"]
        assert text == (f"{strip_markup(raw['title'])}\n\n" if raw["title"] else "") + strip_markup(raw["body"])
        yield {
            "case": case,
            "id": tagged["id"],
            "lang": tagged["lang"],
            "lang_confidence": tagged["lang_confidence"],
            "themes": [
                {
                    "theme": m["theme"],
                    "score": m["score"],
                    "evidence": [[e["term"], e["start"], e["end"], e["rule"]] for e in m["evidence"]],
                }
                for m in tagged["themes"]
            ],
            "tagged_sha256": _sha(tagged_bytes),
            "alerts": [json.loads(a)["id"] for a in alerts],
            "alerts_sha256": [_sha(a) for a in alerts],
            "wide": [_match_json(m) for m in wide.tag(text, tagged["lang"])],
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--every", type=int, default=EVERY)
    args = parser.parse_args(argv)
    import agents

    print(f"agents from {Path(agents.__file__).parent}", file=sys.stderr)
    with args.out.open("w", encoding="utf-8") as out:
        for line in outputs(args.every):
            out.write(json.dumps(line, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
