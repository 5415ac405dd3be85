"""streams.bench.corpus: reproducible, 2-10 KB, languages as labelled."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import NEEDS_SENTENCE_CORPUS

from agents.language import detect_language, supported_languages
from streams.bench.corpus import (
    MAX_BODY_BYTES,
    MIN_BODY_BYTES,
    SEEDS_DIR,
    CorpusArticle,
    CorpusUnavailable,
    build_corpus,
    corpus_languages,
    load_sentences,
)

pytestmark = NEEDS_SENTENCE_CORPUS

NOISE = ("https://", "@example.org", "<p>&nbsp;</p>")


@pytest.fixture(scope="module")
def corpus() -> list[CorpusArticle]:
    return build_corpus(120, seed=5)


def test_same_seed_same_articles(corpus: list[CorpusArticle]) -> None:
    assert build_corpus(120, seed=5) == corpus
    assert build_corpus(10, seed=5) == corpus[:10]
    assert build_corpus(10, seed=6) != corpus[:10]


def test_bodies_are_2_to_10_kb(corpus: list[CorpusArticle]) -> None:
    for article in corpus:
        size = len(article.body.encode("utf-8"))
        assert MIN_BODY_BYTES <= size <= MAX_BODY_BYTES, (article.id, size)
        assert article.title
        assert "\n" not in article.title


def test_ids_are_unique_and_languages_varied(corpus: list[CorpusArticle]) -> None:
    assert len({a.id for a in corpus}) == len(corpus)
    langs = {a.lang for a in corpus}
    assert "en" in langs
    assert len(langs) >= 20
    assert langs <= supported_languages()
    assert set(corpus_languages()) <= supported_languages()


def _paragraphs(body: str) -> list[str]:
    return [p for p in body.split("\n\n") if not any(mark in p for mark in NOISE) and not p[:4].isdigit()]


def test_text_comes_from_the_labelled_language(corpus: list[CorpusArticle]) -> None:
    seed_lines = {
        line.strip()
        for path in SEEDS_DIR.glob("*.txt")
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    }
    for article in corpus[:60]:
        paragraphs = _paragraphs(article.body)
        assert paragraphs, article.id
        if all(p in seed_lines for p in paragraphs):
            assert article.lang == "en", article.id
            continue
        pool = load_sentences(article.lang)
        for paragraph in paragraphs:
            assert any(paragraph.startswith(s) for s in pool), (article.id, article.lang, paragraph[:80])
            assert any(paragraph.endswith(s) for s in pool), (article.id, article.lang, paragraph[-80:])


def test_labels_agree_with_the_detector(corpus: list[CorpusArticle]) -> None:
    agree = sum(detect_language(f"{a.title}\n\n{a.body}").lang == a.lang for a in corpus)
    assert agree >= 0.97 * len(corpus)


def test_missing_sentence_dir_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "langid-sentences"
    with pytest.raises(CorpusUnavailable, match="langid-sentences"):
        build_corpus(3, sentences_dir=missing)


def test_empty_sentence_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusUnavailable, match=str(tmp_path)):
        build_corpus(3, sentences_dir=tmp_path)


def test_zero_articles() -> None:
    assert build_corpus(0) == []
    with pytest.raises(ValueError, match="n must be"):
        build_corpus(-1)
