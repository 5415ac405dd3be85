"""Limits on theme content: each at, just below and just above its value, for files and records;
and the matching library building (and freeing) its automaton at the limits without crashing."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import pytest

from agents.records import encode
from agents.themes import ThemeFileError, parse_theme_text, theme_from_record
from agents.themes.parse import (
    MAX_DESCRIPTION_CHARS,
    MAX_EXAMPLE_CHARS,
    MAX_EXAMPLES_PER_THEME,
    MAX_NAME_CHARS,
    MAX_RECORD_BYTES,
    MAX_RULES_PER_THEME,
    MAX_SET_PATTERN_BYTES,
    MAX_TERM_CHARS,
    MAX_TERMS_PER_THEME,
    SCHEMA_VERSION,
)

Raw = dict[str, Any]


def base(theme_id: str = "limit") -> Raw:
    return {
        "id": theme_id,
        "name": "Limit",
        "description": "A theme at a limit.",
        "threshold": 1.0,
        "exclude": [],
        "terms": {"s": {"en": ["word"]}},
        "rules": [{"id": "r", "all": [], "any": ["s"], "near": None, "not": [], "weight": 1.0, "count": 1}],
        "examples": {"positive": [], "negative": []},
    }


def term(i: int, length: int = MAX_TERM_CHARS) -> str:
    """A distinct ASCII term of ``length`` characters (few shared prefixes: a worst case for the trie)."""
    return f"{i:08d}".ljust(length, "a")


def with_term_chars(n: int) -> Raw:
    raw = base()
    raw["terms"]["s"]["en"] = ["a" * n]
    return raw


def with_terms(n: int) -> Raw:
    raw = base()
    raw["terms"]["s"]["en"] = [f"w{i}x" for i in range(n)]
    return raw


def with_rules(n: int) -> Raw:
    raw = base()
    raw["rules"] = [{"id": f"r{i}", "any": ["s"]} for i in range(n)]
    return raw


def with_examples(n: int) -> Raw:
    raw = base()
    raw["examples"] = {"positive": ["a word"] * (n - n // 2), "negative": ["nothing"] * (n // 2)}
    return raw


def with_example_chars(n: int) -> Raw:
    raw = base()
    raw["examples"]["positive"] = ["x" * n]
    return raw


def with_name(n: int) -> Raw:
    raw = base()
    raw["name"] = "N" * n
    return raw


def with_description(n: int) -> Raw:
    raw = base()
    raw["description"] = "D" * n
    return raw


def record(raw: Raw) -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION, **raw}


def with_record_bytes(n: int) -> Raw:
    """A theme whose encoded record is exactly ``n`` bytes (2-byte letters fill it within the other limits)."""
    raw = base()
    count = (n - 4_000) // (5 + 2 * (MAX_TERM_CHARS - 5) + 3)  # per term: 5 digits, 2-byte letters, quotes, comma
    raw["terms"]["s"]["en"] = [f"{i:05d}".ljust(MAX_TERM_CHARS, "é") for i in range(count)]
    raw["description"] = "d"
    missing = n - len(encode(record(raw)))
    assert 0 <= missing < MAX_DESCRIPTION_CHARS, missing
    raw["description"] = "d" * (1 + missing)
    assert len(encode(record(raw))) == n
    return raw


def toml_of(themes: list[Raw]) -> str:
    """A theme file for ``themes`` (JSON strings are TOML strings for this content)."""
    out: list[str] = []
    for raw in themes:
        out.append("[[theme]]")
        for key in ("id", "name", "description"):
            out.append(f"{key} = {json.dumps(raw[key], ensure_ascii=False)}")
        out.append(f"threshold = {raw['threshold']}")
        for name, langs in raw["terms"].items():
            out.append(f"[theme.terms.{name}]")
            for lang, terms in langs.items():
                out.append(f"{lang} = {json.dumps(terms, ensure_ascii=False)}")
        for rule in raw["rules"]:
            out.append("[[theme.rules]]")
            out.append(f"id = {json.dumps(rule['id'])}")
            out.append(f"any = {json.dumps(rule['any'])}")
        out.append("[theme.examples]")
        for key in ("positive", "negative"):
            out.append(f"{key} = {json.dumps(raw['examples'][key], ensure_ascii=False)}")
    return "\n".join(out) + "\n"


LIMITS: list[tuple[str, int, Callable[[int], Raw], str]] = [
    ("term_chars", MAX_TERM_CHARS, with_term_chars, f"term longer than {MAX_TERM_CHARS} characters"),
    ("terms_per_theme", MAX_TERMS_PER_THEME, with_terms, f"more than {MAX_TERMS_PER_THEME} terms"),
    ("rules_per_theme", MAX_RULES_PER_THEME, with_rules, f"more than {MAX_RULES_PER_THEME} rules"),
    ("examples", MAX_EXAMPLES_PER_THEME, with_examples, f"more than {MAX_EXAMPLES_PER_THEME} examples"),
    ("example_chars", MAX_EXAMPLE_CHARS, with_example_chars, f"example longer than {MAX_EXAMPLE_CHARS} characters"),
    ("name_chars", MAX_NAME_CHARS, with_name, f"'name' longer than {MAX_NAME_CHARS} characters"),
    ("description", MAX_DESCRIPTION_CHARS, with_description, f"longer than {MAX_DESCRIPTION_CHARS} characters"),
    ("record_bytes", MAX_RECORD_BYTES, with_record_bytes, f"the limit is {MAX_RECORD_BYTES}"),
]
CASES = [
    pytest.param(make, limit + delta, message, id=f"{name}-{label}")
    for name, limit, make, message in LIMITS
    for delta, label in ((-1, "below"), (0, "at"), (1, "above"))
]


@pytest.mark.parametrize(("make", "n", "message"), CASES)
def test_theme_record_limits(make: Callable[[int], Raw], n: int, message: str) -> None:
    limit = next(limit for _, limit, m, _ in LIMITS if m is make)
    obj = record(make(n))
    if n <= limit:
        theme_from_record(obj)
        return
    with pytest.raises(ThemeFileError) as err:
        theme_from_record(obj)
    assert message in str(err.value)
    assert "\n" not in str(err.value), "one problem, one line"


@pytest.mark.parametrize(("make", "n", "message"), CASES)
def test_theme_file_limits(make: Callable[[int], Raw], n: int, message: str) -> None:
    limit = next(limit for _, limit, m, _ in LIMITS if m is make)
    text = toml_of([make(n)])
    if n <= limit:
        assert [t.id for t in parse_theme_text(text, "limits.toml")] == ["limit"]
        return
    with pytest.raises(ThemeFileError) as err:
        parse_theme_text(text, "limits.toml")
    [problem] = err.value.problems
    assert problem.startswith("limits.toml:"), problem
    assert message in problem


def set_of(total: int) -> list[Raw]:
    """Themes whose terms fold to exactly ``total`` bytes: distinct 200-character terms."""
    themes: list[Raw] = []
    i = 0
    remaining = total
    while remaining:
        terms = []
        while remaining and len(terms) < MAX_TERMS_PER_THEME:
            length = min(MAX_TERM_CHARS, remaining)
            if 0 < remaining - length < 8:  # keep the last term long enough for its distinct prefix
                length -= 8
            terms.append(term(i, length))
            remaining -= length
            i += 1
        raw = base(f"set-{len(themes)}")
        raw["terms"]["s"]["en"] = terms
        themes.append(raw)
    return themes


@pytest.mark.parametrize(("delta", "ok"), [(-1, True), (0, True), (1, False)], ids=["below", "at", "above"])
def test_theme_set_pattern_bytes_limit(delta: int, ok: bool) -> None:
    text = toml_of(set_of(MAX_SET_PATTERN_BYTES + delta))
    if ok:
        parse_theme_text(text, "set.toml")
        return
    with pytest.raises(ThemeFileError) as err:
        parse_theme_text(text, "set.toml")
    [problem] = err.value.problems
    assert f"the limit is {MAX_SET_PATTERN_BYTES}" in problem
    assert problem.startswith("set.toml:")
    assert "theme 'set-" in problem


def test_long_term_is_refused_with_file_line_theme_and_limit() -> None:
    text = toml_of([with_term_chars(600_000)])
    with pytest.raises(ThemeFileError) as err:
        parse_theme_text(text, "long.toml")
    [problem] = err.value.problems
    line = text.splitlines().index(next(x for x in text.splitlines() if "aaaa" in x)) + 1
    assert problem.startswith(f"long.toml:{line}: theme 'limit': term longer than {MAX_TERM_CHARS} characters")
    assert len(problem) < 300, "the term itself is not repeated in the message"


def test_term_that_folds_longer_than_the_limit_is_refused() -> None:
    # U+FB03 (ffi ligature) folds to three letters: 100 of them are a 300-character key.
    raw = base()
    raw["terms"]["s"]["en"] = ["\ufb03" * 100]
    with pytest.raises(ThemeFileError, match="once folded"):
        theme_from_record(record(raw))


@pytest.mark.parametrize("char", ["\x1b", "\x07", "\x9b", "\u202e", "\u2066", "\x00"])
@pytest.mark.parametrize("key", ["name", "description"])
def test_name_and_description_refuse_control_characters(key: str, char: str) -> None:
    raw = base()
    raw[key] = f"Evil{char}[31m name"
    with pytest.raises(ThemeFileError) as err:
        parse_theme_text(toml_of([raw]), "evil.toml")
    [problem] = err.value.problems
    assert problem.startswith("evil.toml:3:" if key == "name" else "evil.toml:4:"), problem
    assert "control or bidi" in problem
    assert char not in problem, "the message escapes what it quotes"


# --------------------------------------------------------------------------- the automaton at the limits

# The build runs in a child with a 1 MiB main-thread stack (an eighth of the usual 8 MiB):
# the library recurses once per key character when it frees the automaton.
STACK = 1024 * 1024
BUILD = textwrap.dedent(
    """
    import json, sys
    from agents.themes import Tagger, theme_from_record
    themes = [theme_from_record(r) for r in json.load(sys.stdin)]
    tagger = Tagger(themes)
    hits = tagger.tag(sys.argv[1], "en")
    del tagger
    print(json.dumps(sorted(m.theme for m in hits)))
    """
)


def _small_stack() -> None:
    resource.setrlimit(resource.RLIMIT_STACK, (STACK, STACK))


def run_small_stack(code: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        input=stdin,
        capture_output=True,
        text=True,
        preexec_fn=_small_stack,
        timeout=300,
        check=False,
    )


def test_small_stack_child_does_crash_on_a_key_far_over_the_limit() -> None:
    """The harness detects the library's crash: a 200,000-character key kills the child."""
    code = "import ahocorasick; a = ahocorasick.Automaton(); a.add_word('a' * 200_000, 1); del a; print('ok')"
    done = run_small_stack(code)
    assert done.returncode < 0, (done.returncode, done.stdout, done.stderr)


@pytest.mark.parametrize(
    "themes",
    [
        pytest.param(lambda: [with_term_chars(MAX_TERM_CHARS)], id="longest-term"),
        pytest.param(lambda: [with_terms(MAX_TERMS_PER_THEME)], id="most-terms"),
        pytest.param(lambda: set_of(MAX_SET_PATTERN_BYTES), id="set-pattern-bytes"),
    ],
)
def test_automaton_builds_and_frees_at_the_limits(themes: Callable[[], list[Raw]]) -> None:
    raws = themes()
    first = raws[0]["terms"]["s"]["en"][0]
    done = run_small_stack(BUILD, f"text with {first} in it", stdin=json.dumps([record(r) for r in raws]))
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert json.loads(done.stdout) == [raws[0]["id"]]
