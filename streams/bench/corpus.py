"""A reproducible synthetic article stream for the benchmark.

Built, never shipped: English articles are cut from the seed articles (``seeds/*.txt``);
articles in other languages are assembled from the single-sentence corpus in
``../shared/corpora/langid-sentences/<lang>.txt`` (only languages ``agents.language``
can return).  Bodies are 2-10 KB of UTF-8 with paragraph breaks and, as in real
feeds, some noise that carries no language: a dateline with digits, a source URL, a
contact e-mail address, markup remnants.  One ``random.Random(seed)`` drives every
choice, so the same ``(n, seed)`` gives the same articles on every machine.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from agents.language import supported_languages

REPO = Path(__file__).resolve().parents[2]
SEEDS_DIR = REPO / "seeds"
DEFAULT_SENTENCES_DIR = REPO.parent / "shared" / "corpora" / "langid-sentences"

MIN_BODY_BYTES = 2 * 1024
MAX_BODY_BYTES = 10 * 1024
SEED_SHARE = 0.2  # fraction of articles cut from the (English) seed articles
MAX_TITLE_CHARS = 100


class CorpusUnavailable(FileNotFoundError):
    """The files the corpus is built from are missing; the message says which and where."""


@dataclass(frozen=True)
class CorpusArticle:
    id: str
    title: str
    body: str
    lang: str  # the expected language (ISO 639-1), from the source of the text


def corpus_languages(sentences_dir: Path | None = None) -> list[str]:
    """Languages with a sentence file that ``agents.language`` can also return, sorted."""
    directory = _sentences_dir(sentences_dir)
    supported = supported_languages()
    return sorted(p.stem for p in directory.glob("*.txt") if p.stem in supported)


def load_sentences(lang: str, sentences_dir: Path | None = None) -> list[str]:
    """The non-empty lines of ``<sentences_dir>/<lang>.txt``, in file order."""
    path = _sentences_dir(sentences_dir) / f"{lang}.txt"
    if not path.is_file():
        raise CorpusUnavailable(f"no sentence file for language {lang!r}: {path} is missing")
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def build_corpus(n: int, seed: int = 7, sentences_dir: Path | None = None) -> list[CorpusArticle]:
    """``n`` articles, the same for the same ``(n, seed)`` and input files.

    A share ``SEED_SHARE`` is English, cut from the seed articles; the rest are in a
    language drawn uniformly from ``corpus_languages``.  Raises ``CorpusUnavailable``
    when the seed articles or the sentence corpus are missing.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    languages = corpus_languages(sentences_dir)
    if not languages:
        raise CorpusUnavailable(f"no usable <lang>.txt sentence files in {_sentences_dir(sentences_dir)}")
    seed_paragraphs = _seed_paragraphs()
    sentences: dict[str, list[str]] = {}
    rng = random.Random(seed)
    articles: list[CorpusArticle] = []
    for i in range(n):
        article_id = f"bench-{seed}-{i:05d}"
        target = rng.randint(MIN_BODY_BYTES, MAX_BODY_BYTES)
        if rng.random() < SEED_SHARE:
            lang = "en"
            title, paragraphs = _from_seeds(rng, seed_paragraphs, target)
        else:
            lang = rng.choice(languages)
            if lang not in sentences:
                sentences[lang] = load_sentences(lang, sentences_dir)
            title, paragraphs = _from_sentences(rng, sentences[lang], target)
        body = _add_noise(rng, article_id, paragraphs, target)
        articles.append(CorpusArticle(id=article_id, title=title, body=body, lang=lang))
    return articles


# --------------------------------------------------------------------------- assembly


def _sentences_dir(sentences_dir: Path | None) -> Path:
    directory = DEFAULT_SENTENCES_DIR if sentences_dir is None else sentences_dir
    if not directory.is_dir():
        raise CorpusUnavailable(
            f"sentence corpus directory {directory} is missing: expected one <lang>.txt file of "
            "single sentences per language (the shared langid-sentences corpus, next to the repository)"
        )
    return directory


def _seed_paragraphs() -> list[list[str]]:
    files = sorted(SEEDS_DIR.glob("*.txt"))
    seeds = [[line.strip() for line in f.read_text(encoding="utf-8").splitlines() if line.strip()] for f in files]
    seeds = [paragraphs for paragraphs in seeds if len(paragraphs) >= 2]
    if not seeds:
        raise CorpusUnavailable(f"no seed articles (*.txt with a title and a paragraph) in {SEEDS_DIR}")
    return seeds


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _fits(size: int, extra: int, target: int) -> bool:
    """Up to ``target`` bytes; below the minimum, anything up to the maximum."""
    return size + extra <= (target if size >= MIN_BODY_BYTES else MAX_BODY_BYTES)


def _title_from(sentence: str) -> str:
    if len(sentence) <= MAX_TITLE_CHARS:
        return sentence
    cut = sentence[:MAX_TITLE_CHARS]
    space = cut.rfind(" ")
    return cut[:space] if space >= MAX_TITLE_CHARS // 2 else cut


def _from_seeds(rng: random.Random, seeds: list[list[str]], target: int) -> tuple[str, list[str]]:
    """Consecutive paragraphs from a random place in the seed articles (wrapping), up to ``target`` bytes."""
    first = rng.randrange(len(seeds))
    pool = [p for k in range(len(seeds)) for p in seeds[(first + k) % len(seeds)][1:]]
    start = rng.randrange(len(pool))
    title = _title_from(seeds[first][0])
    return title, _fill(pool[start:] + pool[:start], target, joiner=2)


def _from_sentences(rng: random.Random, sentences: list[str], target: int) -> tuple[str, list[str]]:
    """Paragraphs of 2-6 random sentences, up to ``target`` bytes."""
    title = _title_from(rng.choice(sentences))
    order = rng.sample(sentences, len(sentences))
    paragraphs: list[str] = []
    current: list[str] = []
    size = 0
    quota = rng.randint(2, 6)
    for sentence in order:
        separator = 1 if current else (2 if paragraphs else 0)  # a space, or a paragraph break
        extra = _size(sentence) + separator
        if not _fits(size, extra, target):
            if size >= MIN_BODY_BYTES:
                break
            continue  # too long for the room left: try a shorter one
        current.append(sentence)
        size += extra
        if len(current) == quota:
            paragraphs.append(" ".join(current))
            current, quota = [], rng.randint(2, 6)
    if current:
        paragraphs.append(" ".join(current))
    if size < MIN_BODY_BYTES:
        raise CorpusUnavailable(f"too little text to assemble a {MIN_BODY_BYTES}-byte article")
    return title, paragraphs


def _fill(units: list[str], target: int, joiner: int) -> list[str]:
    chosen: list[str] = []
    size = 0
    for unit in units * 2:  # a short pool is reused rather than yielding a short article
        extra = _size(unit) + (joiner if chosen else 0)
        if not _fits(size, extra, target):
            if size >= MIN_BODY_BYTES:
                break
            continue
        chosen.append(unit)
        size += extra
    if size < MIN_BODY_BYTES:
        raise CorpusUnavailable(f"seed articles too short to assemble a {MIN_BODY_BYTES}-byte article")
    return chosen


def _add_noise(rng: random.Random, article_id: str, paragraphs: list[str], target: int) -> str:
    """Join paragraphs, adding language-free noise while it fits in ``target`` (never above the maximum)."""
    body = "\n\n".join(paragraphs)
    number = rng.randrange(10_000, 99_999)
    extras = [
        f"{rng.randint(2019, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:00",
        f"https://news.example.org/{article_id}?ref={number}",
        f"desk{number}@example.org",
        "<p>&nbsp;</p>",
    ]
    for extra in extras:
        if rng.random() < 0.5 and _size(body) + _size(extra) + 2 <= min(target + 200, MAX_BODY_BYTES):
            body = f"{extra}\n\n{body}" if rng.random() < 0.5 else f"{body}\n\n{extra}"
    return body
