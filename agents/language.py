"""Language identification: deterministic naive Bayes over langdetect's n-gram profiles.

``langdetect.detect`` draws n-grams at random (seven trials of up to a thousand draws)
from up to 10,000 characters: slow on articles, and non-deterministic unless seeded.
This module uses the same data, langdetect's 55 shipped profiles, differently:

1. ``sample_text`` takes a *bounded* sample (at most ``MAX_SAMPLE_CHARS`` characters:
   text up to ``SAMPLE_CHARS`` whole, longer text as ``SAMPLE_WINDOWS`` windows spread
   from start to end, cut at whitespace) and turns what carries no language into
   spaces: URLs, e-mail addresses, markup tags and entities, digits.
2. The sample is normalized as langdetect's ``Detector`` does it (``NGram.normalize_vi``;
   Latin letters dropped from mostly non-Latin text; ``NGram.normalize`` per character;
   runs of spaces collapsed), but on an array of code points: the per-character
   ``NGram.normalize`` is one precomputed look-up table.
3. *All* the 1-, 2- and 3-grams langdetect would extract (words read between spaces;
   none ending inside a run of capitals such as "NATO") are encoded as integers
   (21 bits per code point), found in the sorted n-gram table with one
   ``np.searchsorted``, and their rows of ``log(p(ngram | lang) + alpha / BASE_FREQ)``
   (langdetect's own smoothing, alpha = 0.5) summed: naive Bayes with a uniform prior.
   No random draws, no per-character Python: same text, same answer, in any process,
   in well under a millisecond.
4. ``zh-cn`` and ``zh-tw`` are reported as ISO 639-1 ``zh`` (their probabilities are
   summed); every other profile name already is an ISO 639-1 code.

``confidence`` is the winner's normalized posterior probability.  Like langdetect's, it is
close to 1.0 for anything longer than a sentence and drops for short or mixed text.

langdetect is pinned (==1.0.9).  We read its profile files and call
``langdetect.utils.ngram.NGram`` (``normalize``, ``normalize_vi``), which are not a
documented API; ``tests/test_agents/test_language.py`` pins that behaviour (and checks
our n-grams against langdetect's own extraction) so that an upgrade that changes them
fails loudly.

Nothing here imports Faust, aiokafka or ``streams``.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import langdetect
import numpy as np
import numpy.typing as npt
from langdetect.utils.ngram import NGram  # pinned langdetect==1.0.9; behaviour covered by tests

UNDETERMINED = "und"

# Sample bounds: a long article costs no more than ``MAX_SAMPLE_CHARS`` characters of work.
SAMPLE_WINDOWS = 4
WINDOW_CHARS = 400
SAMPLE_CHARS = SAMPLE_WINDOWS * WINDOW_CHARS
MAX_SAMPLE_CHARS = SAMPLE_CHARS + SAMPLE_WINDOWS - 1  # windows are joined with one newline each

PROFILES_DIR = Path(langdetect.__file__).resolve().parent / "profiles"

# langdetect's Detector.ALPHA_DEFAULT / Detector.BASE_FREQ: added to every n-gram probability.
_SMOOTHING = 0.5 / 10_000
_CODE_ALIASES = {"zh-cn": "zh", "zh-tw": "zh"}  # ISO 639-1 has no script/region variants
_SPACE = 0x20
_BITS = np.uint64(21)  # code points fit in 21 bits; an n-gram key is up to three of them
_CASED_LIMIT = 0x20000  # no code point at or above this has an upper-case form

# What is not language, matched only from the start of a whitespace-delimited token:
# URLs ("scheme:/...", "www...."), e-mail addresses and handles (anything with "@").
_LINK = re.compile(r"(?<!\S)(?:[^\s:@]*(?::/|@)|www\.)\S*", re.IGNORECASE)
_TAG = re.compile(r"<[^<>]{0,500}>")
_ENTITY = re.compile(r"&(?:[a-zA-Z]{2,10}|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});")
_DIGITS = re.compile(r"\d+")
_CLEANERS = (_LINK, _TAG, _ENTITY, _DIGITS)
_VIETNAMESE_MARK = re.compile("[\u0300-\u0323]")
_FIRST_SPACE = re.compile(r"\s")
_LAST_SPACE = re.compile(r"\s\S*\Z")


@dataclass(frozen=True)
class LanguageGuess:
    lang: str  # ISO 639-1, or "und"
    confidence: float  # 0..1


@dataclass(frozen=True)
class _Model:
    profiles: tuple[str, ...]  # langdetect profile names, sorted: the columns of ``logp``
    codes: tuple[str, ...]  # ISO 639-1 output codes, sorted
    code_of_profile: npt.NDArray[np.intp]  # column -> index into ``codes``
    keys: npt.NDArray[np.uint64]  # sorted n-gram keys (see ``_gram_key``): the rows of ``logp``
    logp: npt.NDArray[np.float32]  # (n-grams, profiles): log(p + smoothing)
    normalize: npt.NDArray[np.uint32]  # code point -> code point, as NGram.normalize
    upper: npt.NDArray[np.bool_]  # code point < _CASED_LIMIT -> str.isupper
    padded_keys: npt.NDArray[np.uint64]  # ``keys`` and a sentinel above every key (searchsorted stays in range)
    digits_to_space: npt.NDArray[np.uint32]  # code point -> itself, or a space for what ``\d`` matches
    exact_sums: bool  # float64 sums of ``logp`` entries over a sample are exact (see ``_sums_are_exact``)


_model: _Model | None = None
_lock = threading.Lock()


def supported_languages() -> frozenset[str]:
    """The codes ``detect_language`` can return besides ``und``.  Cheap: loads no profile."""
    return frozenset(_CODE_ALIASES.get(p.name, p.name) for p in PROFILES_DIR.iterdir() if not p.name.startswith("."))


def warm_up() -> None:
    """Build the tables now (about a second, once per process) instead of on the first article."""
    _get_model()


def detect_language(text: str) -> LanguageGuess:
    """The language of ``text``: ISO 639-1 code and confidence, or ``und`` with 0.0.

    ``und`` means no usable letters: empty text, digits and punctuation only, URLs only.
    Deterministic; reads at most ``MAX_SAMPLE_CHARS`` characters of a long text.
    """
    model = _get_model()
    # Digits are left in the sample here: the code-point pass turns them into spaces (see _sample).
    keys = _ngram_keys(_sample(text, _CLEANERS[:-1]), model)
    if model.exact_sums:
        scores = _summed_scores(keys, model)
    else:
        rows = _rows(keys, model)
        # Summed along axis 0: row after row, a fixed order of additions whatever the memory layout.
        scores = np.take(model.logp, rows, axis=0).sum(axis=0, dtype=np.float64) if rows.size else None
    if scores is None:
        return LanguageGuess(UNDETERMINED, 0.0)
    posterior = np.exp(scores - scores.max())
    posterior /= posterior.sum()
    by_code = np.bincount(model.code_of_profile, weights=posterior, minlength=len(model.codes))
    best = int(np.argmax(by_code))  # the first maximum: codes are sorted, so ties always break the same way
    return LanguageGuess(model.codes[best], float(by_code[best]))


def _summed_scores(keys: npt.NDArray[np.uint64], model: _Model) -> npt.NDArray[np.float64] | None:
    """Per profile, the sum of ``logp`` over the n-grams in ``keys`` that are in the profiles (None: none are).

    Each distinct n-gram is looked up, and its row read, once, weighted by its count (one
    matrix-vector product).  With ``model.exact_sums`` every product and partial sum is exact
    in float64 (see ``_sums_are_exact``), so this equals the row-after-row sum over every
    n-gram bit for bit, whatever the order of the additions.
    """
    if keys.size == 0:
        return None
    keys.sort()
    first = np.empty(keys.size, dtype=bool)
    first[0] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    counts = np.empty_like(starts)
    counts[:-1] = starts[1:] - starts[:-1]
    counts[-1] = keys.size - starts[-1]
    distinct = keys[starts]
    at = np.searchsorted(model.padded_keys, distinct)  # < len: the last key is a sentinel above every n-gram
    found = model.padded_keys[at] == distinct
    if not found.any():
        return None
    rows = np.take(model.logp, at[found], axis=0).astype(np.float64)
    scores: npt.NDArray[np.float64] = counts[found].astype(np.float64) @ rows
    return scores


def sample_text(text: str) -> str:
    """A bounded, cleaned sample of ``text``: at most ``MAX_SAMPLE_CHARS`` characters.

    Text up to ``SAMPLE_CHARS`` is used whole.  Longer text gives ``SAMPLE_WINDOWS``
    windows of ``WINDOW_CHARS`` at evenly spaced offsets (the first at the start, the last
    at the end), each trimmed to whole whitespace-separated tokens, so no URL or e-mail
    address is cut in half (a window without whitespace, as in Chinese, is kept as is).
    URLs, e-mail addresses, markup tags and entities, and digits become one space each,
    which never makes the sample longer.
    """
    return _sample(text, _CLEANERS)


def _sample(text: str, cleaners: tuple[re.Pattern[str], ...]) -> str:
    """``sample_text`` with only ``cleaners`` applied.

    ``detect_language`` leaves out the last one, digits: ``_normalized_points`` maps every
    digit to a space before anything counts characters, and runs of spaces collapse there,
    so the n-grams are those of the sample with each run of digits replaced by one space.
    """
    if len(text) <= SAMPLE_CHARS:
        raw = text
    else:
        last = len(text) - WINDOW_CHARS
        pieces = []
        for k in range(SAMPLE_WINDOWS):
            start = k * last // (SAMPLE_WINDOWS - 1)
            pieces.append(_whole_tokens(text[start : start + WINDOW_CHARS], start > 0, start < last))
        raw = "\n".join(pieces)
    for pattern in cleaners:
        if pattern is _LINK:
            if ":/" not in raw and "@" not in raw and "www." not in raw.lower():
                continue  # every link has one of these (only "w" and "W" are "w" to IGNORECASE)
        elif pattern is _TAG:
            if "<" not in raw:
                continue
        elif pattern is _ENTITY and "&" not in raw:
            continue
        raw = pattern.sub(" ", raw)
    return raw


def _whole_tokens(piece: str, cut_head: bool, cut_tail: bool) -> str:
    """Drop the partial token at a cut edge, if the window has whitespace to cut at."""
    if cut_head and (match := _FIRST_SPACE.search(piece)) is not None:
        piece = piece[match.end() :]
    if cut_tail and (match := _LAST_SPACE.search(piece)) is not None:
        piece = piece[: match.start()]
    return piece


def _code_points(text: str) -> npt.NDArray[np.uint32]:
    return np.frombuffer(text.encode("utf-32-le", "replace"), dtype=np.uint32)


def _normalized_points(sample: str, model: _Model) -> npt.NDArray[np.uint64]:
    """The sample as langdetect's Detector feeds it to NGram: normalized code points.

    Runs of spaces are collapsed and one space leads (NGram's initial state), so every
    word is read between spaces except the last, which, as in langdetect, has no
    trailing space unless the text ends with one.
    """
    if _VIETNAMESE_MARK.search(sample) is not None:  # combining marks: Vietnamese
        sample = NGram.normalize_vi(sample)
    points = model.digits_to_space.take(_code_points(sample))  # as sample_text's digit cleaner (runs collapse below)
    # Detector.cleaning_text: Latin letters ("A".."z") are dropped from mostly non-Latin text.
    latin = (points >= 0x41) & (points <= 0x7A)
    non_latin = (points >= 0x300) & ((points < 0x1E00) | (points > 0x1EFF))  # Latin Extended Additional is Latin
    if int(np.count_nonzero(latin)) * 2 < int(np.count_nonzero(non_latin)):
        points = points[~latin]
    points = model.normalize.take(points)
    if points.size == 0:
        return np.full(1, _SPACE, dtype=np.uint64)
    space = points == _SPACE
    repeated = space.copy()
    repeated[1:] &= space[:-1]
    repeated[0] = space[0]  # the leading space below precedes it
    out = np.empty(points.size - int(np.count_nonzero(repeated)) + 1, dtype=np.uint64)
    out[0] = _SPACE
    out[1:] = points[~repeated]
    return out


def _ngram_keys(sample: str, model: _Model) -> npt.NDArray[np.uint64]:
    """Keys of the 1-, 2- and 3-grams langdetect's Detector extracts from ``sample``.

    For each character (the n-grams *ending* there): the 1-gram unless it is a space;
    the 2-gram; the 3-gram unless the middle character is a space (NGram's buffer
    restarts after a space).  Nothing ends on an upper-case character that follows
    another one (NGram's ``capitalword``: "NATO" yields only "N" and " N", then "O ").
    """
    p = _normalized_points(sample, model)
    if p.size < 2:
        return np.empty(0, dtype=np.uint64)
    upper = np.zeros(p.size, dtype=bool)
    cased = p < _CASED_LIMIT
    upper[cased] = model.upper[p[cased]]
    live = ~(upper[1:] & upper[:-1])  # per ending position 1..n-1
    end, before = p[1:], p[:-1]
    one = end[live & (end != _SPACE)]
    two = ((before << _BITS) | end)[live]
    three = ((p[:-2] << (_BITS + _BITS)) | (p[1:-1] << _BITS) | p[2:])[live[1:] & (p[1:-1] != _SPACE)]
    return np.concatenate((one, two, three))


def _rows(keys: npt.NDArray[np.uint64], model: _Model) -> npt.NDArray[np.intp]:
    """Rows of ``model.logp`` for the keys that are in the profiles (others carry no evidence)."""
    if keys.size == 0:
        return np.empty(0, dtype=np.intp)
    at = np.searchsorted(model.keys, keys)
    at[at == model.keys.size] = 0
    found: npt.NDArray[np.intp] = at[model.keys[at] == keys]
    return found


def _gram_key(gram: str) -> int:
    """An n-gram of up to three characters as an integer: 21 bits per code point."""
    key = 0
    for ch in gram:
        key = (key << 21) | ord(ch)
    return key


def _get_model() -> _Model:
    global _model
    model = _model
    if model is None:
        with _lock:
            model = _model
            if model is None:
                model = _model = _build_model()
    return model


def _build_model() -> _Model:
    """Read langdetect's profiles, sorted by name so that nothing depends on directory order."""
    paths = sorted(p for p in PROFILES_DIR.iterdir() if p.is_file() and not p.name.startswith("."))
    if len(paths) < 2:
        raise RuntimeError(f"langdetect profiles not found in {PROFILES_DIR}")
    profiles: list[str] = []
    index: dict[str, int] = {}
    row_ids: list[int] = []
    columns: list[int] = []
    probabilities: list[float] = []
    for column, path in enumerate(paths):
        data = json.loads(path.read_text(encoding="utf-8"))
        profiles.append(str(data["name"]))
        n_words: list[int] = data["n_words"]
        for gram, freq in data["freq"].items():
            if 1 <= len(gram) <= 3 and n_words[len(gram) - 1] > 0:  # as DetectorFactory.add_profile
                row_ids.append(index.setdefault(gram, len(index)))
                columns.append(column)
                probabilities.append(freq / n_words[len(gram) - 1])
    prob = np.zeros((len(index), len(profiles)), dtype=np.float64)
    prob[np.asarray(row_ids, dtype=np.intp), np.asarray(columns, dtype=np.intp)] = probabilities
    keys = np.fromiter((_gram_key(g) for g in index), dtype=np.uint64, count=len(index))
    order = np.argsort(keys, kind="stable")
    logp = np.ascontiguousarray(np.log(prob[order] + _SMOOTHING), dtype=np.float32)
    codes = sorted({_CODE_ALIASES.get(name, name) for name in profiles})
    sorted_keys = keys[order]
    model = _Model(
        profiles=tuple(profiles),
        codes=tuple(codes),
        code_of_profile=np.asarray([codes.index(_CODE_ALIASES.get(n, n)) for n in profiles], dtype=np.intp),
        keys=sorted_keys,
        logp=logp,
        normalize=_normalization_table(),
        upper=np.fromiter((chr(cp).isupper() for cp in range(_CASED_LIMIT)), dtype=bool, count=_CASED_LIMIT),
        padded_keys=np.append(sorted_keys, np.uint64(np.iinfo(np.uint64).max)),
        digits_to_space=_digits_table(),
        exact_sums=_sums_are_exact(logp),
    )
    arrays = (model.code_of_profile, model.keys, model.logp, model.normalize, model.upper, model.padded_keys)
    for array in (*arrays, model.digits_to_space):
        array.flags.writeable = False
    return model


# At most this many n-grams come out of one sample: 1-, 2- and 3-grams ending at each of its
# code points (plus the leading space); normalizing and dropping Latin letters only shorten it.
_MAX_GRAMS = 3 * (MAX_SAMPLE_CHARS + 1)


def _sums_are_exact(logp: npt.NDArray[np.float32]) -> bool:
    """Whether every float64 sum ``_summed_scores`` can form is exact (so none depends on the order).

    A float32 ``m * 2**e`` (``0.5 <= |m| < 1``) is a multiple of ``2**(e - 24)``.  With
    ``e_min`` the smallest exponent in the table, every entry, every product with a count
    and every partial sum of those is a multiple of ``g = 2**(e_min - 24)``, and no partial
    sum exceeds ``_MAX_GRAMS * max |logp|`` in magnitude.  Below ``2**53 * g`` float64
    represents each of them exactly: no addition rounds, so the row-after-row sum over every
    n-gram and the counted sum over distinct n-grams are the same number.  For langdetect's
    profiles ``|logp|`` lies within about [1.1, 9.9], which leaves 14 bits to spare.
    """
    if logp.size == 0 or not np.all(np.isfinite(logp)):
        return False
    smallest = float(np.abs(logp).min())
    if smallest == 0:
        return False
    e_min = int(np.frexp(smallest)[1])
    return _MAX_GRAMS * float(np.abs(logp).max()) < 2.0 ** (53 + e_min - 24)


def _digits_table() -> npt.NDArray[np.uint32]:
    """Code point -> space for every character ``sample_text``'s digit cleaner removes, else itself."""
    table = np.arange(0x110000, dtype=np.uint32)
    every = "".join(map(chr, (*range(0xD800), *range(0xE000, 0x110000))))  # one pass of the expression itself
    table[[ord(m.group()) for m in re.finditer(r"\d", every)]] = _SPACE
    return table


def _normalization_table() -> npt.NDArray[np.uint32]:
    """``NGram.normalize`` as a code point -> code point table over all of Unicode.

    langdetect changes characters of the BMP only (to one character each); the rest,
    and the surrogates that "replace" encoding never lets through, map to themselves.
    """
    table = np.arange(0x110000, dtype=np.uint32)
    for cp in range(0x10000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        normalized = NGram.normalize(chr(cp))
        if normalized != chr(cp):
            table[cp] = ord(normalized)
    return table
