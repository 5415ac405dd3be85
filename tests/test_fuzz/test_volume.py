"""Mutation fuzzing at volume: 100,000 inputs through the raw-article decoder and the tagger.

A seeded generator mutates valid records (bytes and JSON structure); every input must
be accepted (then tagged without error) or refused with ``InvalidRecord``, the
documented rejection the worker turns into a dead letter.  Seeded: a failure replays.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any

from support import SHIPPED_THEMES

from agents.records import InvalidRecord, decode_raw_article, document_text, encode
from agents.text import strip_markup
from agents.themes import Tagger, load_theme_file
from streams.bench.faultcheck import seed_templates

INPUTS = 100_000
SEED = 20_260_106
BUDGET_SECONDS = 90.0

SPICE = [
    b"\x00", b"\xff", b"\xc3", b"\\ud800", b"\\udfff\\ud800", b'"', b"\\", b"{", b"[", b"]}", b",", b":",
    b"\x1b[31m", b"\xe2\x80\xae", b"<script>", b"&lol;", b"&#x110000;", b"NaN", b"1e999", b"-0", b"null",
    b"<!ENTITY x \"&x;&x;\">", b"\xf0\x9f\x92\xa9", b"\r\n", b"\t",
]  # fmt: skip
VALUES: list[Any] = [
    None, True, 0, -1, 2**70, 1.5, "", " ", "\x00", "x" * 2_001, "Greenland " * 50, [], {}, ["a"], {"k": "v"},
    {"k": 1}, "<p>Trump wants <b>Greenland</b></p>", "\u202e\u0000\u001b[2J",
]  # fmt: skip
FIELDS = ["schema_version", "id", "source", "url", "title", "body", "published_at", "fetched_at", "feed", "extra"]


def base_records() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for t in seed_templates():
        for cut in (0, 200, 600):
            out.append({**t, "body": t["body"][cut : cut + 400]})
    out.append({"title": "Trump and Greenland", "body": "The US wants to buy Greenland, says Trump."})
    return out


def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        at = rng.randrange(len(b) + 1)
        if op == 0 and b:
            b[min(at, len(b) - 1)] = rng.randrange(256)
        elif op == 1:
            b[at:at] = rng.choice(SPICE)
        elif op == 2:
            del b[at : at + rng.randint(1, 16)]
        elif op == 3:
            b[at:at] = b[at : at + rng.randint(1, 32)] * rng.randint(1, 4)
        elif op == 4:
            del b[at:]
        else:
            b[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    return bytes(b)


def mutate_json(rng: random.Random, record: dict[str, Any]) -> bytes:
    obj: Any = dict(record)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(5)
        key = rng.choice(FIELDS)
        if op == 0:
            obj[key] = rng.choice(VALUES)
        elif op == 1:
            obj.pop(key, None)
        elif op == 2 and isinstance(obj.get(key), str):
            s = obj[key]
            at = rng.randrange(len(s) + 1)
            obj[key] = s[:at] + rng.choice(SPICE).decode("utf-8", "replace") + s[at:]
        elif op == 3:
            obj = [obj] if rng.random() < 0.5 else {"wrapped": obj}
            break
        else:
            obj[key] = json.loads("[" * 30 + "1" + "]" * 30)
    return json.dumps(obj, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")


def test_100k_mutated_inputs_no_crash_no_hang() -> None:
    rng = random.Random(SEED)
    tagger = Tagger(load_theme_file(SHIPPED_THEMES))
    bases = base_records()
    encoded = [encode(r) for r in bases]
    counts = {"accepted": 0, "rejected": 0, "tagged_matches": 0}
    slowest = 0.0
    empty_reasons = 0
    started = time.perf_counter()
    for i in range(INPUTS):
        k = rng.randrange(len(bases))
        value = mutate_bytes(rng, encoded[k]) if i % 2 else mutate_json(rng, bases[k])
        t0 = time.perf_counter()
        try:
            article = decode_raw_article(value)
        except InvalidRecord as exc:
            counts["rejected"] += 1
            empty_reasons += not str(exc)
        else:
            counts["accepted"] += 1
            text = document_text(strip_markup(article["title"]), strip_markup(article["body"]))
            counts["tagged_matches"] += len(tagger.tag(text, "en"))
            encode(article)
        slowest = max(slowest, time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    print(f"fuzz: {INPUTS} inputs in {elapsed:.1f}s; {counts}; slowest input {slowest * 1000:.1f} ms")
    assert counts["accepted"] + counts["rejected"] == INPUTS
    assert empty_reasons == 0, "every rejection says why"
    assert counts["accepted"] > INPUTS // 10  # both paths exercised
    assert counts["rejected"] > INPUTS // 10
    assert slowest < 2.0, "one input took over 2 s: a hang in the making"
    assert elapsed < BUDGET_SECONDS
