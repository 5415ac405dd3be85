"""The baseline Faust apps of the end-to-end benchmark, each run as its own process.

``--mode naive``: what a first version of the worker would do.  One Faust agent decodes
the JSON, runs ``langdetect.detect`` on the full text (seeded, so deterministic), then
one compiled case-insensitive regex per theme (an alternation of every term of the
theme, ``*`` as a word tail) over the full text, and sends a tagged record.

``--mode passthrough``: the ceiling the framework allows.  One Faust agent decodes the
JSON and forwards it, re-encoded, to the output topic.

Both use the worker's Faust configuration (``streams.pipeline.app.create_app``: same producer,
batching, poll sizes), read a topic the benchmark has filled beforehand and write to
their own output topic with the input's key.  Run:

    python -m streams.bench.naive --mode naive --bootstrap HOST:PORT \\
        --input T --output T2 --app-id A --state-dir DIR [--themes-file F]
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

MODES = ("naive", "passthrough")


def term_regex(term: str) -> str:
    """A theme term as a regex fragment: ``=`` (case-sensitive marker) dropped, ``*`` a word tail, spaces flexible."""
    body = term[1:] if term.startswith("=") else term
    parts = []
    for word in body.split():
        stem = word.endswith("*")
        parts.append(re.escape(word.rstrip("*")) + (r"\w*" if stem else ""))
    return r"\s+".join(parts)


def theme_patterns(themes: Sequence[Any]) -> list[tuple[str, re.Pattern[str]]]:
    """One compiled pattern per theme: every term of every term set, as one alternation with word boundaries."""
    patterns = []
    for theme in themes:
        terms = sorted({t for term_set in theme.terms for _lang, t in term_set.all_terms()}, key=len, reverse=True)
        alternation = "|".join(term_regex(t) for t in terms if t.strip("=*").strip())
        patterns.append((theme.id, re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE)))
    return patterns


def naive_tag(text: str, patterns: Sequence[tuple[str, re.Pattern[str]]]) -> list[dict[str, Any]]:
    """Every theme whose pattern matches, with every match as evidence."""
    out = []
    for theme_id, pattern in patterns:
        evidence = [{"term": m.group(0), "start": m.start(), "end": m.end()} for m in pattern.finditer(text)]
        if evidence:
            out.append({"theme": theme_id, "score": float(len(evidence)), "evidence": evidence})
    return out


def naive_language(text: str) -> str:
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    try:
        return str(detect(text))
    except LangDetectException:
        return "und"


def encode_json(record: object) -> bytes:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def build_app(
    mode: str,
    *,
    bootstrap: str,
    input_topic: str,
    output_topic: str,
    app_id: str,
    state_dir: Path,
    themes_file: Path | None = None,
) -> Any:
    """The baseline app (not started): one agent from ``input_topic`` to ``output_topic``."""
    from streams.pipeline.app import PARTITIONS, create_app
    from streams.settings import Settings

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    settings = Settings(state_dir=state_dir, kafka_bootstrap_servers=bootstrap)
    app = create_app(settings, bootstrap, app_id=app_id, web_enabled=False)
    source = app.topic(input_topic, partitions=PARTITIONS)
    sink = app.topic(output_topic, partitions=PARTITIONS)
    patterns: list[tuple[str, re.Pattern[str]]] = []
    if mode == "naive":
        from agents.themes import load_theme_file

        patterns = theme_patterns(load_theme_file(themes_file or settings.themes_file))
        naive_language("warm up the profiles before the first article")

    async def forward(stream: Any) -> AsyncIterator[None]:
        async for event in stream.events():
            article = json.loads(event.value)
            if mode == "naive":
                text = f"{article.get('title', '')}\n\n{article.get('body', '')}"
                article["lang"] = naive_language(text)
                article["themes"] = naive_tag(text, patterns)
            await sink.send(key=event.message.key, value=encode_json(article))
            yield None

    app.agent(source, name=f"bench_{mode}")(forward)
    return app


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m streams.bench.naive", description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=MODES, required=True)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--app-id", required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--themes-file", type=Path, default=None)
    args = parser.parse_args(argv)
    import faust

    app = build_app(
        args.mode,
        bootstrap=args.bootstrap,
        input_topic=args.input,
        output_topic=args.output,
        app_id=args.app_id,
        state_dir=args.state_dir,
        themes_file=args.themes_file,
    )
    faust.Worker(app, loglevel="WARNING", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()
