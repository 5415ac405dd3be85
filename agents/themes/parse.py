"""Theme files (TOML) and theme records (JSON): parsing and validation, all problems at once.

Every problem names the source, the line where one can be found, the theme and what
is wrong; :class:`ThemeFileError` carries them all (``str(err)`` is one per line).
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.records import MAX_VALUE_BYTES, encode
from agents.text import escape_controls, has_control
from agents.textfold import fold_term, is_word_char
from agents.themes.model import ALERT_MODES, ALERT_NEW_STORY, LANGUAGES, SENTENCE, Examples, Rule, TermSet, Theme
from agents.tomllines import table_blocks

__all__ = [
    "LIMITS",
    "SCHEMA_VERSION",
    "ThemeFileError",
    "check_term",
    "check_theme_set",
    "load_theme_file",
    "parse_theme_text",
    "pattern_bytes",
    "theme_from_record",
    "theme_to_record",
]

SCHEMA_VERSION = 1
MIN_STEM = 3  # characters before a wildcard '*'
MAX_NEAR = 1000

# Limits on theme content (docs/themes.md).  What real sets need: the shipped file has
# terms of at most 41 characters, 717 terms, 6 rules and 20 examples of at most 132
# characters per theme, and 53 KB of terms in all; the bench's 10,000 themes have 2 MB.
# The matching library recurses once per character of its longest key when it frees the
# automaton: an 8 MiB stack overflows (SIGSEGV) near 520,000 characters, a 1 MiB one near
# 65,000.  tests/test_agents/test_themes_limits.py builds the automaton at every limit.
MAX_TERM_CHARS = 200  # per term, as written and after folding (the automaton key)
MAX_TERMS_PER_THEME = 10_000
MAX_RULES_PER_THEME = 100
MAX_EXAMPLES_PER_THEME = 100  # positive and negative together
MAX_EXAMPLE_CHARS = 5_000
MAX_NAME_CHARS = 200
MAX_DESCRIPTION_CHARS = 5_000
MAX_SET_PATTERN_BYTES = 4 * 1024 * 1024  # UTF-8 bytes of the folded terms of a whole theme set
MAX_RECORD_BYTES = MAX_VALUE_BYTES  # the encoded theme record; the decoder's limit for any record
LIMITS = {
    "term_chars": MAX_TERM_CHARS,
    "terms_per_theme": MAX_TERMS_PER_THEME,
    "rules_per_theme": MAX_RULES_PER_THEME,
    "examples_per_theme": MAX_EXAMPLES_PER_THEME,
    "example_chars": MAX_EXAMPLE_CHARS,
    "name_chars": MAX_NAME_CHARS,
    "description_chars": MAX_DESCRIPTION_CHARS,
    "set_pattern_bytes": MAX_SET_PATTERN_BYTES,
    "record_bytes": MAX_RECORD_BYTES,
}
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")
_SET_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
_THEME_KEYS = frozenset({"id", "name", "description", "threshold", "exclude", "alert", "terms", "rules", "examples"})
_RULE_KEYS = frozenset({"id", "all", "any", "near", "not", "weight", "count"})
_EXAMPLE_KEYS = frozenset({"positive", "negative"})


class ThemeFileError(ValueError):
    """An invalid theme file or record.  ``problems`` holds one message per problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        # Messages quote file names, keys and terms: no control character reaches a terminal or a log.
        self.problems = tuple(escape_controls(p) for p in problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class _Problem:
    message: str
    needle: str | None = None  # text to look for to find a more precise line


# --------------------------------------------------------------------------- terms


def _preview(text: str, width: int = 40) -> str:
    return repr(text if len(text) <= width else text[: width - 1] + "…")


def _folded_key(term: str) -> str:
    """The automaton key of a valid term (what the engine adds): folded, up to the first '*'."""
    body = term[1:] if term.startswith("=") else term
    star = body.find("*")
    return fold_term(body if star < 0 else body[:star])


def check_term(term: object) -> str | None:
    """None for a valid term, else what is wrong with it."""
    if not isinstance(term, str):
        return f"term {term!r} must be a string"
    if len(term) > MAX_TERM_CHARS:
        return f"term longer than {MAX_TERM_CHARS} characters ({len(term)}: {_preview(term)})"
    if has_control(term):
        return f"term {term!r}: control or bidi characters are not allowed"
    body = term[1:] if term.startswith("=") else term
    if not body.strip():
        return f"empty term {term!r}"
    if term.startswith("=") and "*" in body:
        return f"term {term!r}: a case-sensitive '=' term cannot have a wildcard"
    for word in body.split():
        if "*" not in word:
            continue
        if word == "*":
            return f"term {term!r}: a lone '*' matches anything; wildcards must end a word stem, like 'Grönland*'"
        if word.count("*") > 1 or not word.endswith("*"):
            return f"term {term!r}: '*' may only end a word, as in 'Grönland*' (not '*foo' or 'fo*o')"
        stem = fold_term(word[:-1])
        if len(stem) < MIN_STEM or not all(is_word_char(c) for c in stem[-1:]):
            return f"term {term!r}: a wildcard needs a stem of at least {MIN_STEM} characters ending in a letter"
    if not fold_term(body.replace("*", "")):
        return f"term {term!r} has no matchable characters"
    if len(_folded_key(term)) > MAX_TERM_CHARS:
        return f"term longer than {MAX_TERM_CHARS} characters once folded ({_preview(term)})"
    return None


def pattern_bytes(theme: Theme) -> int:
    """UTF-8 bytes of the theme's automaton keys (its folded terms): its share of MAX_SET_PATTERN_BYTES."""
    return sum(len(_folded_key(term).encode("utf-8")) for ts in theme.terms for _lang, term in ts.all_terms())


def check_theme_set(total_bytes: int) -> str | None:
    """None when a theme set whose terms fold to ``total_bytes`` bytes is within the limit."""
    if total_bytes > MAX_SET_PATTERN_BYTES:
        return f"the theme set's terms are {total_bytes} bytes once folded; the limit is {MAX_SET_PATTERN_BYTES}"
    return None


# --------------------------------------------------------------------------- validation


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _names(value: object, what: str, problems: list[_Problem]) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(_Problem(f"{what} must be a list of term-set names"))
        return ()
    return tuple(value)


def _build_terms(raw: object, problems: list[_Problem]) -> tuple[TermSet, ...]:
    if not isinstance(raw, dict) or not raw:
        problems.append(_Problem("'terms' must be a non-empty table of term sets ([theme.terms.NAME])"))
        return ()
    sets: list[TermSet] = []
    for name, langs in raw.items():
        if not _SET_NAME.match(name):
            problems.append(_Problem(f"bad term-set name {name!r} (letters, digits, '_', '.', '-')", name))
        if not isinstance(langs, dict) or not langs:
            problems.append(_Problem(f"term set {name!r} must be a non-empty table of language = [terms]", name))
            continue
        entries: list[tuple[str, tuple[str, ...]]] = []
        for lang, terms in langs.items():
            if lang not in LANGUAGES:
                problems.append(
                    _Problem(f"term set {name!r}: unknown language code {lang!r} (ISO 639-1, or 'intl')", lang)
                )
            if not isinstance(terms, list) or not terms:
                problems.append(_Problem(f"term set {name!r}: {lang} must be a non-empty list of terms", lang))
                continue
            for term in terms:
                error = check_term(term)
                if error and error.startswith("term longer than"):
                    problems.append(_Problem(f"{error}, in term set {name!r} ({lang})", term))
                elif error:
                    problems.append(
                        _Problem(f"term set {name!r} ({lang}): {error}", term if isinstance(term, str) else None)
                    )
            entries.append((lang, tuple(t for t in terms if isinstance(t, str))))
        sets.append(TermSet(name, tuple(entries)))
    count = sum(len(terms) for ts in sets for _lang, terms in ts.terms)
    if count > MAX_TERMS_PER_THEME:
        problems.append(_Problem(f"more than {MAX_TERMS_PER_THEME} terms ({count})"))
    return tuple(sets)


def _build_rule(raw: object, index: int, set_names: set[str], problems: list[_Problem]) -> Rule | None:
    if not isinstance(raw, dict):
        problems.append(_Problem(f"rule #{index + 1} must be a table ([[theme.rules]])"))
        return None
    rule_id = raw.get("id", f"#{index + 1}")
    label = f"rule {rule_id!r}"
    if not isinstance(rule_id, str) or not rule_id.strip():
        problems.append(_Problem(f"rule #{index + 1}: 'id' must be a non-empty string"))
        rule_id = f"#{index + 1}"
    for key in raw:
        if key not in _RULE_KEYS:
            problems.append(_Problem(f"{label}: unknown key {key!r} (allowed: {', '.join(sorted(_RULE_KEYS))})", key))
    all_of = _names(raw.get("all", []), f"{label}: 'all'", problems)
    any_of = _names(raw.get("any", []), f"{label}: 'any'", problems)
    not_of = _names(raw.get("not", []), f"{label}: 'not'", problems)
    if not all_of and not any_of:
        problems.append(_Problem(f"{label}: empty rule: give 'all' and/or 'any' term sets", rule_id))
    for ref in (*all_of, *any_of, *not_of):
        if ref not in set_names:
            problems.append(_Problem(f"{label}: unknown term set {ref!r}", ref))
    near = raw.get("near")
    if near is not None:
        if isinstance(near, str):
            if near != SENTENCE:
                problems.append(
                    _Problem(f"{label}: 'near' must be a number of words or \"sentence\", not {near!r}", rule_id)
                )
        elif not isinstance(near, int) or isinstance(near, bool) or not 1 <= near <= MAX_NEAR:
            problems.append(_Problem(f"{label}: 'near' must be a whole number of words from 1 to {MAX_NEAR}", rule_id))
        groups = len(all_of) + (1 if any_of else 0)
        if groups < 2 and not not_of:
            problems.append(_Problem(f"{label}: 'near' needs two groups (all/any) or a 'not' to be near", rule_id))
    weight = raw.get("weight", 1.0)
    if not _is_number(weight) or weight <= 0:
        problems.append(_Problem(f"{label}: 'weight' must be a positive number, not {weight!r}", rule_id))
        weight = 1.0
    count = raw.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        problems.append(_Problem(f"{label}: 'count' must be a whole number >= 1, not {count!r}", rule_id))
        count = 1
    return Rule(
        id=rule_id,
        all=all_of,
        any=any_of,
        near=near if isinstance(near, int | str) else None,
        not_=not_of,
        weight=float(weight),
        count=count,
    )


def _build_examples(raw: object, problems: list[_Problem]) -> Examples:
    if not isinstance(raw, dict):
        problems.append(_Problem("'examples' must be a table with 'positive' and 'negative' lists"))
        return Examples()
    for key in raw:
        if key not in _EXAMPLE_KEYS:
            problems.append(_Problem(f"examples: unknown key {key!r} (allowed: negative, positive)", key))
    lists: dict[str, tuple[str, ...]] = {}
    for key in sorted(_EXAMPLE_KEYS):
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            problems.append(_Problem(f"examples: {key!r} must be a list of non-empty strings"))
            value = []
        lists[key] = tuple(value)
        for text in value:
            if len(text) > MAX_EXAMPLE_CHARS:
                problems.append(
                    _Problem(f"examples: {key} example longer than {MAX_EXAMPLE_CHARS} characters ({len(text)})", text)
                )
    count = len(lists["positive"]) + len(lists["negative"])
    if count > MAX_EXAMPLES_PER_THEME:
        problems.append(_Problem(f"examples: more than {MAX_EXAMPLES_PER_THEME} examples ({count})", "examples"))
    return Examples(positive=lists["positive"], negative=lists["negative"])


def _build_theme(raw: object, problems: list[_Problem]) -> Theme | None:
    if not isinstance(raw, dict):
        problems.append(_Problem("a theme must be a table ([[theme]])"))
        return None
    for key in raw:
        if key not in _THEME_KEYS:
            problems.append(_Problem(f"unknown key {key!r} (allowed: {', '.join(sorted(_THEME_KEYS))})", key))
    theme_id = raw.get("id")
    if not isinstance(theme_id, str) or not _ID.match(theme_id):
        problems.append(_Problem(f"'id' must be a lowercase slug like \"nato-article-5\", not {theme_id!r}"))
    strings: dict[str, str] = {}
    for key, limit in (("name", MAX_NAME_CHARS), ("description", MAX_DESCRIPTION_CHARS)):
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            problems.append(_Problem(f"{key!r} must be a non-empty string", key))
            value = ""
        elif len(value) > limit:
            problems.append(_Problem(f"{key!r} longer than {limit} characters ({len(value)})", key))
        elif has_control(value):
            problems.append(_Problem(f"{key!r} holds control or bidi characters ({value!r})", key))
        strings[key] = value
    threshold = raw.get("threshold", 1.0)
    if not _is_number(threshold) or threshold <= 0:
        problems.append(_Problem(f"'threshold' must be a positive number, not {threshold!r}", "threshold"))
        threshold = 1.0
    alert = raw.get("alert", ALERT_NEW_STORY)
    if alert not in ALERT_MODES:
        problems.append(_Problem(f"'alert' must be one of {', '.join(map(repr, ALERT_MODES))}, not {alert!r}", "alert"))
        alert = ALERT_NEW_STORY
    terms = _build_terms(raw.get("terms"), problems)
    set_names = {t.name for t in terms}
    rules_raw = raw.get("rules")
    rules: list[Rule] = []
    if not isinstance(rules_raw, list) or not rules_raw:
        problems.append(_Problem("empty rules: a theme needs at least one [[theme.rules]]"))
    else:
        if len(rules_raw) > MAX_RULES_PER_THEME:
            problems.append(_Problem(f"more than {MAX_RULES_PER_THEME} rules ({len(rules_raw)})"))
        for index, rule_raw in enumerate(rules_raw):
            rule = _build_rule(rule_raw, index, set_names, problems)
            if rule is not None:
                rules.append(rule)
        seen: set[str] = set()
        for rule in rules:
            if rule.id in seen:
                problems.append(_Problem(f"duplicate rule id {rule.id!r}", rule.id))
            seen.add(rule.id)
    exclude = _names(raw.get("exclude", []), "'exclude'", problems)
    for ref in exclude:
        if ref not in set_names:
            problems.append(_Problem(f"'exclude': unknown term set {ref!r}", ref))
    for rule in rules:
        for ref in sorted(set(exclude) & {*rule.all, *rule.any}):
            problems.append(
                _Problem(f"rule {rule.id!r}: term set {ref!r} is in 'exclude' and cannot also be a group", ref)
            )
    used = set(exclude).union(*({*r.all, *r.any, *r.not_} for r in rules))
    for name in sorted(set_names - used):
        problems.append(_Problem(f"term set {name!r} is not used by any rule or 'exclude'", name))
    examples = _build_examples(raw.get("examples", {}), problems)
    if problems or not isinstance(theme_id, str):
        return None
    theme = Theme(
        id=theme_id,
        name=strings["name"],
        description=strings["description"],
        terms=terms,
        rules=tuple(rules),
        threshold=float(threshold),
        exclude=exclude,
        examples=examples,
        alert=str(alert),
    )
    size = len(encode(theme_to_record(theme)))
    if size > MAX_RECORD_BYTES:
        problems.append(_Problem(f"its theme record is {size} bytes; the limit is {MAX_RECORD_BYTES}"))
        return None
    return theme


# --------------------------------------------------------------------------- files


_ID_LINE = re.compile(r"^\s*id\s*=")


def _theme_blocks(lines: Sequence[str]) -> list[tuple[int, int]]:
    """(first, end) line indexes of each ``[[theme]]`` block, in file order."""
    return table_blocks(lines, "theme")


def _locate(lines: Sequence[str], block: tuple[int, int] | None, needle: str | None) -> int | None:
    """1-based line of the problem: the needle's quoted or bare occurrence, else the theme's id line."""
    if block is None:
        return None
    first, end = block
    if needle:
        quoted = [f'"{needle}"', f"'{needle}'"]
        for i in range(first, end):
            if any(q in lines[i] for q in quoted):
                return i + 1
        bare = re.compile(rf"(^|[\s.\[]){re.escape(needle)}\s*(=|\]|$)")
        for i in range(first, end):
            if bare.search(lines[i]):
                return i + 1
    for i in range(first, end):
        if _ID_LINE.match(lines[i]):
            return i + 1
    return first + 1


def _where(source: str, line: int | None) -> str:
    return f"{source}:{line}" if line else source


def _parse_document(doc: Mapping[str, Any], source: str, text: str | None) -> list[Theme]:
    lines = text.splitlines() if text is not None else []
    blocks = _theme_blocks(lines)
    messages: list[str] = []
    for key in doc:
        if key != "theme":
            messages.append(f"{source}: unknown top-level key {key!r} (a theme file holds [[theme]] tables)")
    raw_themes = doc.get("theme")
    if not isinstance(raw_themes, list) or not raw_themes:
        messages.append(f"{source}: no themes: add at least one [[theme]] table")
        raise ThemeFileError(messages)
    themes: list[Theme] = []
    first_seen: dict[str, int] = {}
    total_bytes = 0
    over_limit = False
    for index, raw in enumerate(raw_themes):
        block = blocks[index] if len(blocks) == len(raw_themes) else None
        raw_id = raw.get("id") if isinstance(raw, dict) else None
        label = f"theme {raw_id!r}" if isinstance(raw_id, str) else f"theme #{index + 1}"
        problems: list[_Problem] = []
        theme = _build_theme(raw, problems)
        if isinstance(raw_id, str):
            if raw_id in first_seen:
                line = _locate(lines, block, None)
                first = first_seen[raw_id]
                messages.append(
                    f"{_where(source, line)}: {label}: duplicate theme id (first defined as theme #{first})"
                )
            else:
                first_seen[raw_id] = index + 1
        for problem in problems:
            line = _locate(lines, block, problem.needle)
            messages.append(f"{_where(source, line)}: {label}: {problem.message}")
        if theme is not None:
            themes.append(theme)
            total_bytes += pattern_bytes(theme)
            error = None if over_limit else check_theme_set(total_bytes)
            if error:
                over_limit = True
                messages.append(f"{_where(source, _locate(lines, block, None))}: {label}: {error} (reached here)")
    if messages:
        raise ThemeFileError(messages)
    return themes


def parse_theme_text(text: str, source: str) -> list[Theme]:
    """Themes from the text of a theme file; ``source`` names it in error messages."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column (\d+)\)", message)
        if match:
            reason = message[: match.start()].strip()
            raise ThemeFileError(
                [f"{source}:{match.group(1)}: TOML syntax error: {reason} (column {match.group(2)})"]
            ) from None
        raise ThemeFileError([f"{source}: TOML syntax error: {message}"]) from None
    return _parse_document(doc, source, text)


def load_theme_file(path: str | Path) -> list[Theme]:
    """Themes of a theme file; :class:`ThemeFileError` (naming the file) when it is unreadable or invalid."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ThemeFileError([f"{path}: cannot read the theme file: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise ThemeFileError([f"{path}: the theme file is not UTF-8 ({exc.reason} at byte {exc.start})"]) from None
    return parse_theme_text(text, str(path))


# --------------------------------------------------------------------------- records


def theme_to_record(theme: Theme) -> dict[str, Any]:
    """A JSON-serializable record of the theme (the value on the themes topic)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "id": theme.id,
        "name": theme.name,
        "description": theme.description,
        "threshold": theme.threshold,
        "exclude": list(theme.exclude),
        "terms": {ts.name: {lang: list(terms) for lang, terms in ts.terms} for ts in theme.terms},
        "rules": [
            {
                "id": rule.id,
                "all": list(rule.all),
                "any": list(rule.any),
                "near": rule.near,
                "not": list(rule.not_),
                "weight": rule.weight,
                "count": rule.count,
            }
            for rule in theme.rules
        ],
        "examples": {"positive": list(theme.examples.positive), "negative": list(theme.examples.negative)},
        # only when not the default, so records of default themes stay readable by older workers
        **({"alert": theme.alert} if theme.alert != ALERT_NEW_STORY else {}),
    }


def theme_from_record(obj: object) -> Theme:
    """The theme of a record made by :func:`theme_to_record`, validated like a theme file's."""
    if not isinstance(obj, dict):
        raise ThemeFileError([f"theme record: must be a JSON object, not {type(obj).__name__}"])
    label = f"theme record {obj.get('id')!r}" if isinstance(obj.get("id"), str) else "theme record"
    version = obj.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ThemeFileError([f"{label}: unsupported schema_version {version!r} (expected {SCHEMA_VERSION})"])
    raw = {k: v for k, v in obj.items() if k != "schema_version"}
    if isinstance(raw.get("rules"), list):
        raw["rules"] = [
            {k: v for k, v in r.items() if not (k == "near" and v is None)} if isinstance(r, dict) else r
            for r in raw["rules"]
        ]
    problems: list[_Problem] = []
    theme = _build_theme(raw, problems)
    if problems or theme is None:
        raise ThemeFileError([f"{label}: {p.message}" for p in problems] or [f"{label}: invalid"])
    return theme
