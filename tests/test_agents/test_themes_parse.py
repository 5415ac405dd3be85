"""Theme files: validation collects every problem and names file, line, theme; records round-trip."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from agents.themes import ThemeFileError, load_theme_file, parse_theme_text, theme_from_record, theme_to_record

VALID = textwrap.dedent(
    """
    [[theme]]
    id = "alpha"
    name = "Alpha"
    description = "A theme."
    threshold = 2.5
    exclude = ["masked"]

    [theme.terms.a]
    en = ["alpha*", "=AL"]
    de = ["Alpha Zentrum"]

    [theme.terms.b]
    intl = ["beta"]

    [theme.terms.masked]
    en = ["alpha beta gamma"]

    [[theme.rules]]
    id = "both"
    all = ["a", "b"]
    near = "sentence"
    weight = 3

    [[theme.rules]]
    id = "any"
    any = ["a", "b"]
    near = 4
    not = ["b"]
    count = 2

    [theme.examples]
    positive = ["alpha and beta"]
    negative = ["gamma"]
    """
)


def errors(text: str, source: str = "themes.toml") -> list[str]:
    with pytest.raises(ThemeFileError) as info:
        parse_theme_text(textwrap.dedent(text), source)
    assert str(info.value) == "\n".join(info.value.problems)
    return list(info.value.problems)


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(textwrap.dedent(text).splitlines(), start=1) if needle in line)


def test_valid_file_parses() -> None:
    [theme] = parse_theme_text(VALID, "v.toml")
    assert theme.id == "alpha"
    assert theme.threshold == 2.5
    assert [r.id for r in theme.rules] == ["both", "any"]
    assert theme.rules[1].near == 4
    assert theme.rules[1].not_ == ("b",)
    assert theme.rules[1].count == 2
    assert theme.term_set("a").terms == (("en", ("alpha*", "=AL")), ("de", ("Alpha Zentrum",)))
    assert theme.examples.positive == ("alpha and beta",)


def test_syntax_error_names_file_and_line() -> None:
    [message] = errors('[[theme]]\nid = "x"\nname = "unterminated\n', "bad.toml")
    assert message.startswith("bad.toml:3: TOML syntax error")


BROKEN = """
[[theme]]
id = "one"
name = "One"
description = "d"
threshold = -2
colour = "red"

[theme.terms.a]
en = ["*foo", "fo*o", "*", "ok", "ab*"]
xx = ["bar"]

[[theme.rules]]
id = "r"
all = ["a", "missing"]
weight = 0
near = "paragraph"

[[theme]]
id = "one"
name = "Dup"
description = "d"

[theme.terms.b]
en = ["x"]

[[theme]]
id = "two"
name = "Two"
description = "d"

[theme.terms.c]
en = ["word"]

[[theme.rules]]
id = "empty"
"""


def test_all_problems_are_reported_with_file_line_and_theme() -> None:
    problems = errors(BROKEN, "broken.toml")
    text = "\n".join(problems)
    expectations = [
        ("one", "unknown key 'colour'", line_of(BROKEN, "colour")),
        ("one", "'threshold' must be a positive number", line_of(BROKEN, "threshold")),
        ("one", "term '*foo'", line_of(BROKEN, '"*foo"')),
        ("one", "term 'fo*o'", line_of(BROKEN, '"*foo"')),
        ("one", "term '*': a lone '*'", line_of(BROKEN, '"*foo"')),
        ("one", "term 'ab*': a wildcard needs a stem", line_of(BROKEN, '"*foo"')),
        ("one", "unknown language code 'xx'", line_of(BROKEN, "xx =")),
        ("one", "rule 'r': unknown term set 'missing'", line_of(BROKEN, '"missing"')),
        ("one", "rule 'r': 'weight' must be a positive number", line_of(BROKEN, 'id = "r"')),
        ("one", "rule 'r': 'near' must be a number of words or \"sentence\"", line_of(BROKEN, 'id = "r"')),
        ("two", "rule 'empty': empty rule", line_of(BROKEN, 'id = "empty"')),
        ("two", "term set 'c' is not used", line_of(BROKEN, "[theme.terms.c]")),
    ]
    for theme, fragment, line in expectations:
        assert any(p.startswith(f"broken.toml:{line}: theme '{theme}': ") and fragment in p for p in problems), (
            f"missing {fragment!r} at line {line} in:\n{text}"
        )
    dup_line = [i for i, ln in enumerate(BROKEN.splitlines(), start=1) if ln == 'id = "one"'][1]
    assert any(p.startswith(f"broken.toml:{dup_line}: theme 'one': duplicate theme id") for p in problems)
    assert any("empty rules" in p and "theme 'one'" in p and f":{dup_line}:" in p for p in problems)


def test_no_themes_and_unknown_top_level_key() -> None:
    problems = errors('title = "x"\n', "t.toml")
    assert any("unknown top-level key 'title'" in p for p in problems)
    assert any("no themes" in p for p in problems)


def test_excluded_set_cannot_be_a_rule_group() -> None:
    text = VALID.replace('all = ["a", "b"]', 'all = ["a", "masked"]')
    assert any("'masked' is in 'exclude'" in p for p in errors(text))


def test_bad_near_type_and_count() -> None:
    text = VALID.replace("near = 4", "near = true").replace("count = 2", "count = 0")
    problems = errors(text)
    assert any("'near' must be a whole number" in p for p in problems)
    assert any("'count' must be a whole number >= 1" in p for p in problems)


def test_load_theme_file_names_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ThemeFileError, match=r"nope\.toml: cannot read the theme file"):
        load_theme_file(tmp_path / "nope.toml")


def test_load_theme_file_reads_the_file(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(VALID, encoding="utf-8")
    assert [t.id for t in load_theme_file(path)] == ["alpha"]
    path.write_text(VALID.replace("threshold = 2.5", "threshold = 0"), encoding="utf-8")
    with pytest.raises(ThemeFileError, match=rf"{path}:\d+: theme 'alpha': 'threshold'"):
        load_theme_file(path)


def test_record_round_trip_through_json() -> None:
    [theme] = parse_theme_text(VALID, "v.toml")
    record = theme_to_record(theme)
    assert record["schema_version"] == 1
    back = theme_from_record(json.loads(json.dumps(record)))
    assert back == theme
    assert theme_to_record(back) == record


def test_shipped_themes_round_trip() -> None:
    from streams.settings import REPO_ROOT

    for theme in load_theme_file(REPO_ROOT / "themes" / "themes.toml"):
        assert theme_from_record(json.loads(json.dumps(theme_to_record(theme)))) == theme


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda r: r.update(schema_version=2), "unsupported schema_version 2"),
        (lambda r: r.pop("schema_version"), "unsupported schema_version None"),
        (lambda r: r.update(rules=[]), "empty rules"),
        (lambda r: r["terms"]["a"].update(en=["fo*o"]), "'*' may only end a word"),
        (lambda r: r.update(extra=1), "unknown key 'extra'"),
    ],
)
def test_invalid_records_are_refused_with_a_reason(mutate: object, fragment: str) -> None:
    [theme] = parse_theme_text(VALID, "v.toml")
    record = theme_to_record(theme)
    assert callable(mutate)
    mutate(record)
    with pytest.raises(ThemeFileError, match="theme record 'alpha'") as info:
        theme_from_record(record)
    assert fragment in str(info.value)


def test_non_object_record() -> None:
    with pytest.raises(ValueError, match="must be a JSON object"):
        theme_from_record([1, 2])


def test_alert_mode_defaults_to_new_story_and_round_trips() -> None:
    (default,) = parse_theme_text(VALID, "t.toml")
    assert default.alert == "new_story"
    assert "alert" not in theme_to_record(default)  # default records stay as they were
    per_article = VALID.replace("threshold = 2.5\n", 'threshold = 2.5\nalert = "per_article"\n')
    (theme,) = parse_theme_text(per_article, "t.toml")
    assert theme.alert == "per_article"
    record = theme_to_record(theme)
    assert record["alert"] == "per_article"
    assert theme_from_record(json.loads(json.dumps(record))) == theme


def test_unknown_alert_mode_is_refused_with_its_line() -> None:
    text = VALID.replace("threshold = 2.5\n", 'threshold = 2.5\nalert = "digest"\n')
    with pytest.raises(ThemeFileError) as info:
        parse_theme_text(text, "t.toml")
    assert "t.toml:7: theme 'alpha': 'alert' must be one of 'new_story', 'per_article', not 'digest'" in str(info.value)
