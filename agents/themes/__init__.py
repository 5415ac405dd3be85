"""Themes: the theme file format (TOML) and records (JSON), validation, the tagging engine
and the example-based tests of a theme set.  See docs/themes.md."""

from __future__ import annotations

from agents.themes.engine import Evidence, Tagger, ThemeMatch
from agents.themes.examples import ExampleFailure, ExampleReport, ThemeScore, evaluate_examples
from agents.themes.model import Examples, Rule, TermSet, Theme
from agents.themes.parse import (
    ThemeFileError,
    load_theme_file,
    parse_theme_text,
    theme_from_record,
    theme_to_record,
)

ThemeSet = list[Theme]

__all__ = [
    "Evidence",
    "ExampleFailure",
    "ExampleReport",
    "Examples",
    "Rule",
    "Tagger",
    "TermSet",
    "Theme",
    "ThemeFileError",
    "ThemeMatch",
    "ThemeScore",
    "ThemeSet",
    "evaluate_examples",
    "load_theme_file",
    "parse_theme_text",
    "theme_from_record",
    "theme_to_record",
]
