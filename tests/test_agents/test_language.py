"""agents.language: ISO codes, ``und``, determinism, bounded samples, and accuracy next to langdetect's."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

from agents import language
from agents.language import (
    MAX_SAMPLE_CHARS,
    SAMPLE_CHARS,
    UNDETERMINED,
    LanguageGuess,
    detect_language,
    sample_text,
    supported_languages,
)

REPO = Path(__file__).resolve().parents[2]
SENTENCES = REPO.parent / "shared" / "corpora" / "langid-sentences"
HANDFUL = ["en", "de", "fr", "es", "ru", "ar", "zh", "ja", "hi", "el", "pl", "tr"]
ACCURACY_LANGUAGES = ["en", "de", "fr", "es", "pt", "it", "nl", "ru", "uk", "ar", "fa", "zh"]


def sentences(lang: str, n: int) -> list[str]:
    path = SENTENCES / f"{lang}.txt"
    if not path.is_file():
        pytest.skip(f"sentence corpus not available: {path} is missing (../shared is not checked out)")
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return lines[:n]


# --------------------------------------------------------------------------- interface


def test_interface() -> None:
    assert UNDETERMINED == "und"
    guess = detect_language("The quick brown fox jumps over the lazy dog near the river bank.")
    assert guess == LanguageGuess("en", guess.confidence)
    assert 0.5 < guess.confidence <= 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        guess.lang = "fr"  # type: ignore[misc]


def test_supported_languages_are_iso_639_1() -> None:
    codes = supported_languages()
    assert {"en", "de", "zh", "ja", "ar"} <= codes
    assert all(re.fullmatch(r"[a-z]{2}", code) for code in codes), sorted(codes)
    assert len(codes) == 54  # langdetect's 55 profiles, zh-cn and zh-tw merged into zh


@pytest.mark.parametrize(
    "text",
    ["", "   \n\t ", "12345 !!!", "https://example.com/news/2024/05/17?id=42", "www.example.org", "<p>&nbsp;</p>"],
)
def test_undetermined(text: str) -> None:
    assert detect_language(text) == LanguageGuess(UNDETERMINED, 0.0)


def test_urls_and_addresses_carry_no_weight() -> None:
    noise = " ".join(f"https://www.example.com/en/english/{i} editor{i}@english-news.com" for i in range(40))
    assert detect_language(noise).lang == UNDETERMINED
    assert detect_language(noise + " Der Bundestag hat am Donnerstag das neue Gesetz beschlossen.").lang == "de"


def test_chinese_is_reported_as_zh() -> None:
    assert detect_language("这是一个关于语言识别的简单测试，我们希望它能正确地识别中文。").lang == "zh"
    assert detect_language("這是一個關於語言識別的簡單測試，我們希望它能正確地識別中文。").lang == "zh"


def test_seed_articles_are_english() -> None:
    seeds = sorted((REPO / "seeds").glob("*.txt"))
    assert seeds
    for path in seeds:
        guess = detect_language(path.read_text(encoding="utf-8"))
        assert guess.lang == "en", path.name
        assert guess.confidence > 0.99, path.name


@pytest.mark.parametrize("lang", HANDFUL)
def test_sentence_samples(lang: str) -> None:
    lines = sentences(lang, 40)
    assert detect_language(" ".join(lines[:10])).lang == lang  # a paragraph: no excuse
    correct = sum(detect_language(line).lang == lang for line in lines)
    assert correct >= 0.85 * len(lines), f"{lang}: {correct}/{len(lines)}"


# --------------------------------------------------------------------------- determinism

DETERMINISM_TEXTS = [
    "no",
    "Hola amigo, ¿qué tal? Obrigado e até logo.",
    "Ciao NATO OTAN und EU",
    "Das ist gut. This is good. C'est bon.",
    "Москва — столица России. Київ — столиця України.",
    "منظمة الصحة العالمية سازمان بهداشت جهانی",
    "Hôm nay trời đẹp quá",
]


def test_same_result_in_a_fresh_process() -> None:
    here = [[g.lang, repr(g.confidence)] for g in map(detect_language, DETERMINISM_TEXTS)]
    assert here == [[g.lang, repr(g.confidence)] for g in map(detect_language, DETERMINISM_TEXTS)]
    code = (
        "import json, sys\n"
        "from agents.language import detect_language\n"
        "texts = json.load(sys.stdin)\n"
        "print(json.dumps([[g.lang, repr(g.confidence)] for g in map(detect_language, texts)]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(DETERMINISM_TEXTS),
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        timeout=120,
    )
    assert json.loads(out.stdout) == here


def test_tables_are_built_once_under_concurrency(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(language, "_model", None)
    built: list[object] = []
    real_build = language._build_model

    def counting_build() -> language._Model:
        built.append(object())
        return real_build()

    monkeypatch.setattr(language, "_build_model", counting_build)
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(language._get_model())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1
    assert len(seen) == 4
    assert all(model is seen[0] for model in seen)


# --------------------------------------------------------------------------- the sample


def test_short_text_is_used_whole_but_cleaned() -> None:
    text = "Visit https://example.com/a?b=1 or mail desk@example.org <b>now</b> &amp; call 0800 123 456!"
    sample = sample_text(text)
    assert len(sample) <= len(text)
    for gone in ("http", "example", "desk", "<b>", "&amp;", "0800", "123"):
        assert gone not in sample
    assert "Visit" in sample
    assert "now" in sample
    assert "call" in sample


def _letters(i: int) -> str:
    out = ""
    for _ in range(4):
        i, r = divmod(i, 26)
        out += chr(ord("a") + r)
    return out


def test_long_text_sample_is_bounded_and_made_of_whole_tokens() -> None:
    words = [f"tok{_letters(i)}" for i in range(20_000)]  # about 160 KB, every token distinct
    sample = sample_text(" ".join(words))
    assert len(sample) <= MAX_SAMPLE_CHARS
    kept = sample.split()
    assert len(kept) > SAMPLE_CHARS // 10  # most of the bound is used
    assert set(kept) <= set(words)  # no token cut in half at a window edge
    assert words[0] in kept
    assert words[-1] in kept


def test_windows_cover_start_middle_and_end() -> None:
    parts = ["alpha " * 2000, "beta " * 2000, "gamma " * 2000, "delta " * 2000]
    sample = sample_text("".join(parts))
    assert len(sample) <= MAX_SAMPLE_CHARS
    assert {"alpha", "delta"} <= set(sample.split())
    assert {"beta", "gamma"} & set(sample.split())


@pytest.mark.parametrize("size", [SAMPLE_CHARS + 1, 10_000, 100_000, 1_000_000])
def test_sample_bound_holds_for_any_length(size: int) -> None:
    text = ("Ein Satz mit https://example.com/x/y?z=1 und 123 Zahlen. " * (size // 50 + 1))[:size]
    assert len(sample_text(text)) <= MAX_SAMPLE_CHARS
    cjk = ("中文新闻报道" * (size // 6 + 1))[:size]  # no whitespace to cut at
    assert len(sample_text(cjk)) <= MAX_SAMPLE_CHARS


def test_a_url_cut_by_a_window_edge_is_dropped_whole() -> None:
    text = " ".join(f"https://example{i}.com/path/article" for i in range(5000))
    sample = sample_text(text)
    assert not any(ch.isalpha() for ch in sample), sample[:200]
    assert detect_language(text).lang == UNDETERMINED


def test_long_article_detected_from_its_sample() -> None:
    body = " ".join(sentences("de", 200))
    assert len(body) > 10 * SAMPLE_CHARS
    assert detect_language(body).lang == "de"


# --------------------------------------------------------------------------- langdetect internals we rely on


def test_langdetect_internals_we_rely_on() -> None:
    """Pins langdetect==1.0.9 behaviour used by agents.language; an upgrade that changes it fails here."""
    from langdetect.utils.ngram import NGram

    assert NGram.normalize("ș") == "ş"  # Romanian comma below -> cedilla
    assert NGram.normalize("ぬ") == "あ"  # Hiragana
    assert NGram.normalize("ヌ") == "ア"  # Katakana
    assert NGram.normalize("각") == "가"  # Hangul syllables
    assert NGram.normalize("!") == " "
    assert NGram.normalize_vi("a\u0301") == "á"
    profiles = sorted(p for p in language.PROFILES_DIR.iterdir() if not p.name.startswith("."))
    assert len(profiles) == 55
    data = json.loads(profiles[0].read_text(encoding="utf-8"))
    assert set(data) >= {"name", "freq", "n_words"}
    assert len(data["n_words"]) == 3


def test_ngrams_match_langdetects_own_extraction() -> None:
    """Our vectorized n-grams are exactly those langdetect's Detector extracts (on digit- and URL-free text)."""
    from langdetect import detector_factory

    detector_factory.init_factory()
    factory = detector_factory._factory
    model = language._get_model()

    def decode(key: int) -> str:
        out = ""
        while key:
            out = chr(key & 0x1FFFFF) + out
            key >>= 21
        return out

    checked = 0
    texts = ["NATO und die EU: ABcD eF", "Hôm nay trời đẹp quá", "中文abc中文中文 日本語テキスト", "a b c"]
    for lang in ["en", "de", "vi", "ja", "ru", "ar", "tr"]:
        texts += sentences(lang, 60)
    for text in texts:
        if re.search(r"\d|[<>@&]|://|www\.", text):
            continue
        detector = factory.create()
        detector.append(text)
        detector.cleaning_text()
        theirs = Counter(detector._extract_ngrams())
        rows = language._rows(language._ngram_keys(sample_text(text), model), model)
        ours = Counter(decode(int(key)) for key in model.keys[rows])
        assert ours == theirs, text
        checked += 1
    assert checked > 300


# --------------------------------------------------------------------------- accuracy next to langdetect


def test_accuracy_comparable_to_langdetect() -> None:
    from langdetect import DetectorFactory, LangDetectException, detect

    per_language = 200
    texts: list[str] = []
    expected: list[str] = []
    for lang in ACCURACY_LANGUAGES:
        lines = sentences(lang, per_language)
        texts += lines
        expected += [lang] * len(lines)

    def langdetect_label(text: str) -> str:
        try:
            label = str(detect(text))
        except LangDetectException:
            return UNDETERMINED
        return "zh" if label.startswith("zh-") else label

    previous = DetectorFactory.seed
    DetectorFactory.seed = 0
    try:
        theirs = sum(langdetect_label(t) == e for t, e in zip(texts, expected, strict=True))
    finally:
        DetectorFactory.seed = previous
    ours = sum(detect_language(t).lang == e for t, e in zip(texts, expected, strict=True))
    ours_pct, theirs_pct = 100 * ours / len(texts), 100 * theirs / len(texts)
    assert theirs_pct > 90  # the sentences are what we think they are
    assert ours_pct >= theirs_pct - 1.0, f"ours {ours_pct:.2f}% vs langdetect {theirs_pct:.2f}%"
