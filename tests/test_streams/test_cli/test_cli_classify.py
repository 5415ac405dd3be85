"""``newsmon classify``: offline language + themes, read as replay reads, tagged as the worker tags."""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from support import NEEDS_SENTENCE_CORPUS

from agents.enrich import enrich
from agents.records import MAX_BODY_CHARS, MAX_TITLE_CHARS, MAX_VALUE_BYTES, decode_raw_article
from agents.themes import Tagger, load_theme_file
from streams.bench.corpus import build_corpus
from streams.cli import main
from streams.settings import REPO_ROOT
from streams.sources.replay import discover, load, to_record

SEEDS = REPO_ROOT / "seeds"
THEMES = REPO_ROOT / "themes" / "themes.toml"
PREFIX = "newsmon: error: "


def runner() -> CliRunner:
    return CliRunner()


def lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def errors(stderr: str) -> list[str]:
    """The error lines, prefix removed; every line on stderr that is not a note must be one."""
    found = [line for line in stderr.splitlines() if not line.startswith("newsmon: skipping")]
    assert all(line.startswith(PREFIX) for line in found), stderr
    return [line.removeprefix(PREFIX) for line in found]


def jsonl(path: Path, *records: object) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), "utf-8")
    return path


# --------------------------------------------------------------------------- agreement with replay + worker

MARKUP = [
    {"title": "Green<b></b>land: US <i>annex</i> plan", "body": "<p>Trump wants to annex Green<span>land</span>.</p>"},
    {"title": "NATO &amp; Article&nbsp;5", "body": "<div>Allies invoke <b>Article 5</b> of the NATO treaty.</div>"},
    {"title": "Talks", "body": "<script>Greenland annex</script><p>Ukraine and Russia resume peace talks.</p>"},
    {"title": "", "body": "<ul><li>Trump</li><li>Greenland</li><li>annexation</li></ul>", "id": "given-id"},
    {"title": "Nuclear &#x27;umbrella&#x27;", "body": "France offers its nuclear deterrent to Europe&#8217;s defence."},
]


def worker_tags(paths: list[Path]) -> dict[str, dict[str, Any]]:
    """Per article id, what the worker emits for `newsmon replay PATHS`: replay's records, decoded and enriched."""
    tagger = Tagger(load_theme_file(THEMES))
    out: dict[str, dict[str, Any]] = {}
    for source in load(discover(paths), fetched_at="2026-01-01T00:00:00Z"):
        for article in source.articles:
            key, value = to_record(article)
            tagged = enrich(decode_raw_article(value), tagger, processed_at="t")
            out[key.decode()] = {k: tagged[k] for k in ("lang", "lang_confidence", "themes")}
    return out


@NEEDS_SENTENCE_CORPUS
def test_classify_and_replay_read_the_same_files_and_agree_with_the_worker(tmp_path: Path) -> None:
    for seed in SEEDS.glob("*.txt"):
        shutil.copy(seed, tmp_path / seed.name)
    corpus = [{"title": a.title, "body": a.body} for a in build_corpus(60, seed=11)]
    jsonl(tmp_path / "corpus.jsonl", *corpus)
    jsonl(tmp_path / "markup.jsonl", *MARKUP)
    markup_txt = "<h1>Green<b></b>land</h1>\n<p>Trump wants to annex Green<i>land</i> &amp; its ice.</p>\n"
    (tmp_path / "markup.txt").write_text(markup_txt, "utf-8")
    want = worker_tags([tmp_path])
    result = runner().invoke(main, ["classify", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = lines(result.stdout)
    got = {o["id"]: {k: o[k] for k in ("lang", "lang_confidence", "themes")} for o in out}
    assert len(out) == len(got) == len(want) == 5 + 60 + 5 + 1
    assert got == want
    assert "given-id" in got
    assert len({o["lang"] for o in out}) >= 5
    assert sum(bool(o["themes"]) for o in out) >= 10
    # The markup articles are tagged on their stripped text (Green<b></b>land is Greenland).
    markup = [o for o in out if o["file"] in (f"{tmp_path / 'markup.jsonl'}:1", str(tmp_path / "markup.txt"))]
    assert len(markup) == 2
    assert all("greenland" in {t["theme"] for t in o["themes"]} for o in markup)
    # `classify --jsonl F` reads the very files `replay F` reads, with the same results.
    named = [tmp_path / "corpus.jsonl", tmp_path / "markup.jsonl"]
    result = runner().invoke(main, ["classify", "--jsonl", *map(str, named)])
    assert result.exit_code == 0, result.output
    tags = {o["id"]: {k: o[k] for k in ("lang", "lang_confidence", "themes")} for o in lines(result.stdout)}
    assert tags == worker_tags(named)
    assert len(tags) == 65


def test_files_are_articles_with_the_replay_id(tmp_path: Path) -> None:
    seed = sorted(SEEDS.glob("001_*.txt"))[0]
    other = tmp_path / "plain.md"  # any suffix, when named
    other.write_text("Weather\n\nSunny and warm in Lisbon today, with light winds from the west.", "utf-8")
    result = runner().invoke(main, ["classify", str(seed), str(other)])
    assert result.exit_code == 0, result.output
    first, second = lines(result.stdout)
    [replayed] = load([seed], fetched_at="t")[0].articles
    assert first["id"] == replayed["id"]
    assert first["id"].startswith("a-")
    assert first["file"] == str(seed)
    assert first["lang"] == "en"
    assert "greenland" in {t["theme"] for t in first["themes"]}
    assert set(second) == {"id", "file", "lang", "lang_confidence", "themes"}
    assert second["file"] == str(other)
    assert second["themes"] == []


def test_evidence_offsets_index_title_blank_line_body(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("\n  Trump wants to annex Greenland\nDenmark says Greenland is not for sale.\n", "utf-8")
    result = runner().invoke(main, ["classify", str(path)])
    assert result.exit_code == 0, result.output
    [article] = lines(result.stdout)
    text = "Trump wants to annex Greenland\n\nDenmark says Greenland is not for sale."
    [greenland] = [t for t in article["themes"] if t["theme"] == "greenland"]
    assert greenland["score"] >= 3
    for e in greenland["evidence"]:
        assert set(e) == {"term", "start", "end", "rule"}
        assert text[e["start"] : e["end"]].casefold() in {"annex", "greenland", "trump", "not for sale", "denmark"}


# --------------------------------------------------------------------------- JSON Lines


def test_jsonl_takes_raw_articles_and_text_records(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "in.txt",  # --jsonl: the suffix of a named file does not matter
        {"id": "a", "text": "Trump threatens to annex Greenland.", "title": "Greenland"},
        {"title": "Greenland", "body": "Trump threatens to annex Greenland.", "url": "https://example.org/x"},
        {"text": "Les pourparlers de paix entre l'Ukraine et la Russie reprennent."},
    )
    result = runner().invoke(main, ["classify", "--jsonl", str(path)])
    assert result.exit_code == 0, result.output
    a, b, c = lines(result.stdout)
    assert (a["id"], a["file"], b["file"], c["file"]) == ("a", f"{path}:1", f"{path}:2", f"{path}:3")
    assert b["id"].startswith("a-")
    assert c["id"].startswith("a-")
    assert a["themes"] == b["themes"]
    assert "greenland" in {t["theme"] for t in a["themes"]}
    assert c["lang"] == "fr"
    assert [t["theme"] for t in c["themes"]] == ["ukraine-peace-talks"]


def test_jsonl_bad_lines_are_reported_with_their_number_and_the_rest_classified(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(
        b"\n".join(
            [
                json.dumps({"id": "a", "text": "Trump threatens to annex Greenland.", "title": "Greenland"}).encode(),
                b"{not json",
                json.dumps({"id": "b", "text": 3}).encode(),
                b"",
                b'{"id": "bad", "text": "caf\xe9 au lait"}',
                json.dumps({"id": "both", "text": "x", "body": "y"}).encode(),
                json.dumps({"id": "none"}).encode(),
                json.dumps(
                    {"id": "c", "text": "Les pourparlers de paix entre l'Ukraine et la Russie reprennent."}
                ).encode(),
            ]
        )
    )
    result = runner().invoke(main, ["classify", str(path)])  # *.jsonl is JSON Lines without --jsonl
    assert result.exit_code == 1
    assert [o["id"] for o in lines(result.stdout)] == ["a", "c"]
    assert errors(result.stderr) == [
        f"{path}:2: invalid JSON: Expecting property name enclosed in double quotes at column 2",
        f"{path}:3: field 'text' must be a string, not int",
        f"{path}:5: not UTF-8 text (invalid continuation byte at column 27)",
        f"{path}:6: a record has 'text' or 'body', not both",
        f"{path}:7: missing field 'title'",
    ]


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
    assert (out["id"], out["file"]) == ("x", "<stdin>:1")
    assert [t["theme"] for t in out["themes"]] == ["cats"]
    assert out["themes"][0]["evidence"] == [{"term": "cat", "start": 2, "end": 5, "rule": "c"}]


def test_empty_jsonl_file_is_an_error(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "empty.jsonl", "", "  ")
    result = runner().invoke(main, ["classify", str(path)])
    assert result.exit_code == 1
    assert errors(result.stderr) == [f"{path}: the file is empty (a .jsonl file needs one JSON object per line)"]


# --------------------------------------------------------------------------- the decoder's limits


def test_help_names_both_formats_and_the_decoders_limits() -> None:
    result = runner().invoke(main, ["classify", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    for part in ('{"title", "body"', '{"id"?, "text", "title"?}', "docs/replay.md", "newsmon: error: FILE[:LINE]"):
        assert part in text
    assert f"title {MAX_TITLE_CHARS:,} characters, body {MAX_BODY_CHARS:,}, line {MAX_VALUE_BYTES // 2**20} MiB" in text


def test_a_5_mb_title_is_refused_with_the_limit_named(tmp_path: Path) -> None:
    txt = tmp_path / "t.txt"
    txt.write_text("G" * 5_000_000 + "\nTrump wants to annex Greenland.\n", "utf-8")
    line = jsonl(tmp_path / "t.jsonl", {"title": "G" * 5_000_000, "body": "b"}, {"title": "G" * 2_001, "body": "b"})
    result = runner().invoke(main, ["classify", str(txt), str(line)])
    assert result.exit_code == 1
    assert lines(result.stdout) == []
    assert errors(result.stderr) == [
        f"{txt}: field 'title' has 5000000 characters; the limit is 2000",
        f"{line}:1: the line has 5000026 characters; the limit is 2097152",
        f"{line}:2: field 'title' has 2001 characters; the limit is 2000",
    ]


def test_a_20_mb_body_is_refused_with_the_limit_named(tmp_path: Path) -> None:
    txt = tmp_path / "b.txt"
    txt.write_text("Title\n" + "x" * 20_000_000 + "\n", "utf-8")
    line = jsonl(tmp_path / "b.jsonl", {"id": "t", "text": "x" * 1_000_001}, {"title": "ok", "body": "x" * 1_000_000})
    result = runner().invoke(main, ["classify", str(txt), str(line)])
    assert result.exit_code == 1
    assert [o["file"] for o in lines(result.stdout)] == [f"{line}:2"]  # at the limit: classified
    assert errors(result.stderr) == [
        f"{txt}: field 'body' has 20000000 characters; the limit is 1000000",
        f"{line}:1: field 'text' has 1000001 characters; the limit is 1000000",
    ]


# --------------------------------------------------------------------------- files and directories


def test_a_directory_is_read_as_replay_reads_it(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("Greenland\nTrump wants to annex Greenland.", "utf-8")
    jsonl(tmp_path / "A.JSONL", {"title": "NATO", "body": "Article 5 of the NATO treaty."})
    (tmp_path / "notes.md").write_text("Not an article", "utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.txt").write_text("Hidden\nNot read.", "utf-8")
    result = runner().invoke(main, ["classify", "--jsonl", str(tmp_path)])  # directory files follow their suffix
    assert result.exit_code == 0, result.output
    files = [o["file"] for o in lines(result.stdout)]
    assert files == [f"{tmp_path / 'A.JSONL'}:1", str(tmp_path / "b.txt")]
    assert [str(p) for p in discover([tmp_path])] == [str(tmp_path / "A.JSONL"), str(tmp_path / "b.txt")]
    assert "skipping file" in result.stderr
    assert "notes.md" in result.stderr
    assert "skipping directory" in result.stderr


def test_a_file_named_twice_is_read_once_and_a_bad_path_does_not_stop_the_rest(tmp_path: Path) -> None:
    good = tmp_path / "g.txt"
    good.write_text("Title\nBody text here.", "utf-8")
    (tmp_path / "empty").mkdir()
    binary = tmp_path / "x.bin"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff")
    args = ["classify", str(tmp_path / "missing.txt"), str(good), str(tmp_path / "empty"), str(binary), str(good)]
    result = runner().invoke(main, args)
    assert result.exit_code == 1
    assert [o["file"] for o in lines(result.stdout)] == [str(good)]
    assert errors(result.stderr) == [
        f"{tmp_path / 'missing.txt'}: no such file or directory",
        f"{tmp_path / 'empty'}: the directory has no *.txt or *.jsonl files",
        f"{binary}:1: not UTF-8 text (invalid start byte at byte 0)",
    ]


def test_invalid_theme_file_fails(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[[theme]]\nid = 1\n", "utf-8")
    result = runner().invoke(main, ["classify", "--themes", str(bad), "-"], input="x\n")
    assert result.exit_code == 2
    assert str(bad) in result.stderr


# --------------------------------------------------------------------------- stdin


def test_no_arguments_reads_piped_stdin() -> None:
    result = runner().invoke(main, ["classify"], input="Greenland\nTrump wants to annex Greenland.\n")
    assert result.exit_code == 0, result.output
    [out] = lines(result.stdout)
    assert out["file"] == "<stdin>"
    assert "greenland" in {t["theme"] for t in out["themes"]}


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_no_arguments_on_a_terminal_prints_the_usage_instead_of_waiting() -> None:
    primary, secondary = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from streams.cli import main; main(prog_name='newsmon')", "classify"],
            stdin=secondary,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=REPO_ROOT,
        )
        try:
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            pytest.fail("classify waited on the terminal")
    finally:
        os.close(secondary)
        os.close(primary)
    assert proc.returncode == 2
    stderr = err.decode()
    assert stderr.startswith("Usage: ")
    assert "newsmon classify [OPTIONS] [PATH]..." in stderr
    assert f"{PREFIX}no FILE given and stdin is a terminal" in stderr
    assert out == b""
