"""``newsmon themes test``."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from streams.cli import main
from streams.settings import REPO_ROOT

GOOD = """
[[theme]]
id = "cats"
name = "Cats"
description = "d"

[theme.terms.cat]
en = ["cat", "cats"]

[[theme.rules]]
id = "cat"
any = ["cat"]

[theme.examples]
positive = ["A cat sat."]
negative = ["A dog barked."]
"""


def test_shipped_file_passes() -> None:
    result = CliRunner().invoke(main, ["themes", "test", str(REPO_ROOT / "themes" / "themes.toml")])
    assert result.exit_code == 0, result.output
    assert "greenland" in result.output
    assert "precision" in result.output
    assert "FAIL" not in result.output


def test_failing_example_exits_non_zero_and_is_named(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(GOOD.replace('negative = ["A dog barked."]', 'negative = ["Two cats and a dog."]'), "utf-8")
    result = CliRunner().invoke(main, ["themes", "test", str(path)])
    assert result.exit_code == 1
    assert "FAIL cats: should NOT be tagged" in result.output
    assert "Two cats and a dog." in result.output
    assert "0.50" in result.output  # precision of cats: 1 TP, 1 FP


def test_passing_file(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(GOOD, "utf-8")
    result = CliRunner().invoke(main, ["themes", "test", str(path)])
    assert result.exit_code == 0, result.output
    assert "all 2 examples of 1 themes passed" in result.output


def test_invalid_file_fails_with_its_problems(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace('any = ["cat"]', 'any = ["dog"]'), "utf-8")
    result = CliRunner().invoke(main, ["themes", "test", str(path)])
    assert result.exit_code == 2
    assert f"{path}:" in result.output
    assert "unknown term set 'dog'" in result.output


def test_help_explains_the_group() -> None:
    result = CliRunner().invoke(main, ["themes", "--help"])
    assert result.exit_code == 0
    assert "theme file" in result.output.lower()
    assert "test" in result.output
