"""``newsmon classify``: offline language + themes, JSON lines out, errors with file and line."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from streams.cli import main
from streams.settings import REPO_ROOT

SEEDS = REPO_ROOT / "seeds"


def runner() -> CliRunner:
    return CliRunner()


def lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_files_are_articles_named_by_file(tmp_path: Path) -> None:
    seed = sorted(SEEDS.glob("001_*.txt"))[0]
    other = tmp_path / "plain.txt"
    other.write_text("Weather\n\nSunny and warm in Lisbon today, with light winds from the west.", "utf-8")
    result = runner().invoke(main, ["classify", str(seed), str(other)])
    assert result.exit_code == 0, result.output
    first, second = lines(result.stdout)
    assert first["id"] == seed.name
    assert first["lang"] == "en"
    assert isinstance(first["themes"], list)
    assert "greenland" in {t["theme"] for t in first["themes"]}
    assert second == {"id": "plain.txt", "lang": second["lang"], "themes": []}


def test_evidence_offsets_index_title_blank_line_body(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("\n  Trump wants to annex Greenland\nDenmark says Greenland is not for sale.\n", "utf-8")
    result = runner().invoke(main, ["classify", str(path)])
    assert result.exit_code == 0, result.output
    [article] = lines(result.stdout)
    text = "Trump wants to annex Greenland\n\nDenmark says Greenland is not for sale."
    themes = article["themes"]
    assert isinstance(themes, list)
    [greenland] = [t for t in themes if t["theme"] == "greenland"]
    assert greenland["score"] >= 3
    for e in greenland["evidence"]:
        assert set(e) == {"term", "start", "end", "rule"}
        assert text[e["start"] : e["end"]].casefold() in {"annex", "greenland", "trump", "not for sale", "denmark"}


def test_jsonl_bad_line_in_the_middle(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps({"id": "a", "text": "Trump threatens to annex Greenland.", "title": "Greenland"}),
                "{not json",
                json.dumps({"id": "b"}),
                "",
                json.dumps({"id": "c", "text": "Les pourparlers de paix entre l'Ukraine et la Russie reprennent."}),
            ]
        ),
        "utf-8",
    )
    result = runner().invoke(main, ["classify", "--jsonl", str(path)])
    assert result.exit_code == 1
    out = lines(result.stdout)
    assert [o["id"] for o in out] == ["a", "c"]
    assert out[1]["lang"] == "fr"
    assert [t["theme"] for t in out[1]["themes"]] == ["ukraine-peace-talks"]
    assert f"{path}:2: not JSON" in result.stderr
    assert f"{path}:3: 'text' must be a string" in result.stderr


def test_stdin_jsonl_and_theme_override(tmp_path: Path) -> None:
    themes = tmp_path / "t.toml"
    themes.write_text(
        '[[theme]]\nid = "cats"\nname = "Cats"\ndescription = "d"\n[theme.terms.c]\nen = ["cat"]\n'
        '[[theme.rules]]\nid = "c"\nany = ["c"]\n',
        "utf-8",
    )
    result = runner().invoke(
        main, ["classify", "--jsonl", "--themes", str(themes), "-"], input='{"id": "x", "text": "A cat."}\n'
    )
    assert result.exit_code == 0, result.output
    [out] = lines(result.stdout)
    assert [t["theme"] for t in out["themes"]] == ["cats"]
    assert out["themes"][0]["evidence"] == [{"term": "cat", "start": 2, "end": 5, "rule": "c"}]


def test_missing_file_is_an_error_but_others_still_run(tmp_path: Path) -> None:
    good = tmp_path / "g.txt"
    good.write_text("Title\nBody text here.", "utf-8")
    result = runner().invoke(main, ["classify", str(tmp_path / "missing.txt"), str(good)])
    assert result.exit_code == 1
    assert "missing.txt" in result.stderr
    assert [o["id"] for o in lines(result.stdout)] == ["g.txt"]


def test_invalid_theme_file_fails(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[[theme]]\nid = 1\n", "utf-8")
    result = runner().invoke(main, ["classify", "--themes", str(bad), "-"], input="x\n")
    assert result.exit_code == 2
    assert str(bad) in result.stderr
