"""Figures for the fault tests: what was sent, what came out, what is missing.

Pure helpers (no I/O): build a stream of distinct articles, compute the alerts they
must produce with the agents' own code, and reduce what the output topics hold to the
figures docs/reliability.md cites.  The tests in ``tests/test_faults`` feed them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agents.alerting import ALERT_KIND_NEW_STORY, ALERT_KIND_THEME_MATCH, alert_id, story_alert_id
from agents.enrich import TaggerLike, enrich
from agents.records import RawArticle
from agents.seeds import parse_seed_file
from streams.settings import REPO_ROOT

REPO = REPO_ROOT
STORY = "story:"  # the article side of an expected new_story pair: "story:" + the story's title
SEEDS_DIR = REPO / "seeds"


def seed_templates(seeds_dir: Path = SEEDS_DIR) -> list[RawArticle]:
    """The seed articles (``*.txt``), parsed by the code the replay uses."""
    return [
        parse_seed_file(p.read_bytes(), path=str(p), fetched_at="2026-01-01T00:00:00Z")[0]
        for p in sorted(seeds_dir.glob("*.txt"))
    ]


def article_stream(
    n: int, run: str, *, templates: Sequence[RawArticle] | None = None, start: int = 0
) -> list[RawArticle]:
    """``n`` distinct articles: the seed texts in turn, each under its own URL (hence its own id).

    Title and body are the template's, unchanged, so the expected tagging of every
    article is exactly its template's.
    """
    from agents.records import article_id

    base = list(templates) if templates is not None else seed_templates()
    out: list[RawArticle] = []
    for i in range(start, start + n):
        t = base[i % len(base)]
        url = f"https://faults.newsmon.test/{run}/{i}"
        article: RawArticle = {**t, "url": url, "id": article_id(url=url, title=t["title"], body=t["body"])}
        out.append(article)
    return out


def expected_pairs(
    articles: Iterable[RawArticle], tagger: TaggerLike, *, per_article: Iterable[str] = ()
) -> set[tuple[str, str]]:
    """The alerts the worker must emit, computed offline with ``agents.enrich``.

    For a theme in ``per_article``: one (theme, article id) pair per matching article
    (``theme_match``).  For every other theme (the default ``new_story`` mode): one
    (theme, ``STORY`` + title) pair per story, where the articles of :func:`article_stream`
    with the same template text are one story (they are exact copies) and different
    templates are different stories.  Articles with the same title and body are tagged once.
    """
    per_article = set(per_article)
    memo: dict[tuple[str, str], frozenset[str]] = {}
    pairs: set[tuple[str, str]] = set()
    for article in articles:
        text = (article["title"], article["body"])
        if text not in memo:
            tagged = enrich(article, tagger, processed_at="t")
            memo[text] = frozenset(m["theme"] for m in tagged["themes"])
        pairs |= {(theme, article["id"] if theme in per_article else STORY + article["title"]) for theme in memo[text]}
    return pairs


def per_article_variant(themes_text: str, theme_ids: Iterable[str] | None = None) -> str:
    """A theme file's text with ``alert = "per_article"`` set on ``theme_ids`` (None: on every theme).

    The fault tests run one theme per article next to the story themes, so both alert paths
    (the article agent's per-article alerts and the stories agent's) are under fault.
    """
    wanted = None if theme_ids is None else set(theme_ids)
    out: list[str] = []
    in_theme = False
    for line in themes_text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith("["):
            in_theme = stripped == "[[theme]]"
        out.append(line)
        if in_theme and stripped.startswith("id ="):
            theme_id = stripped.partition("=")[2].strip().strip('"')
            if wanted is None or theme_id in wanted:
                out.append('alert = "per_article"\n')
    return "".join(out)


@dataclass
class Observed:
    """What the output topics hold, reduced as it is read (one instance per reading)."""

    tagged: Counter[str] = field(default_factory=Counter)  # article id -> records on news.articles.tagged
    dead: Counter[str] = field(default_factory=Counter)  # key -> records on news.dlq
    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    alerts: Counter[str] = field(default_factory=Counter)  # alert id -> records on news.alerts
    pairs_of: dict[str, tuple[str, str]] = field(default_factory=dict)  # alert id -> (theme, article id)
    bad_ids: int = 0  # alert records whose id is not alert_id(theme, article id)

    def add_tagged(self, value: Mapping[str, Any]) -> None:
        self.tagged[str(value["id"])] += 1

    def add_dead(self, key: bytes | None, value: Mapping[str, Any]) -> None:
        self.dead[(key or b"").decode("utf-8", "replace")] += 1
        self.dead_letters.append(dict(value))

    def add_alert(self, value: Mapping[str, Any]) -> None:
        """One alert record: its pair (see ``expected_pairs``), and whether its id is the one its kind derives."""
        data = value["data"]
        theme, kind, aid = str(data["theme"]), str(data.get("kind", ALERT_KIND_THEME_MATCH)), str(value["id"])
        story = str(data.get("story_id", ""))
        if kind == ALERT_KIND_THEME_MATCH:
            pair = (theme, str(data["article_id"]))
            derived = alert_id(*pair)
        elif kind == ALERT_KIND_NEW_STORY:
            # the alert names the story's first article that matched the theme (its title is the story's)
            pair = (theme, STORY + str(data["title"]))
            derived = story_alert_id(kind, theme, story) if story.startswith("st-") else ""
        else:
            reason = str(data.get("reason", ""))
            pair = (theme, f"{kind}:{data['title']}:{reason}")
            derived = story_alert_id(kind, theme, story, reason)
        if aid != data.get("alert_id") or aid != derived or self.pairs_of.get(aid, pair) != pair:
            self.bad_ids += 1
        self.alerts[aid] += 1
        self.pairs_of[aid] = pair

    def processed(self, ids: Iterable[str]) -> set[str]:
        return {i for i in ids if self.tagged[i] or self.dead[i]}

    def alert_pairs(self) -> set[tuple[str, str]]:
        return set(self.pairs_of.values())

    def split_pairs(self) -> int:
        """Alert ids beyond the first per pair: a story split in two (two new_story alerts for one story)."""
        return len(self.pairs_of) - len(set(self.pairs_of.values()))


@dataclass(frozen=True)
class Figures:
    """One fault test's outcome, as docs/reliability.md reports it."""

    test: str
    articles_sent: int
    processed: int
    lost: int
    tagged_records: int
    tagged_redeliveries: int
    dead_letters: int
    alerts_expected: int
    alerts_found: int
    alerts_missing: int
    alerts_unexpected: int
    alert_records: int
    alert_duplicates: int  # records beyond the first per alert_id (redeliveries)
    alert_bad_ids: int
    seconds: float
    notes: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def clean(self) -> bool:
        return self.lost == 0 and self.alerts_missing == 0 and self.alerts_unexpected == 0 and self.alert_bad_ids == 0


def figures(
    test: str,
    sent_ids: Sequence[str],
    observed: Observed,
    expected: set[tuple[str, str]],
    *,
    seconds: float,
    notes: Mapping[str, Any] | None = None,
) -> Figures:
    sent = set(sent_ids)
    processed = observed.processed(sent)
    found = observed.alert_pairs()
    tagged_records = sum(observed.tagged[i] for i in sent)
    return Figures(
        test=test,
        articles_sent=len(sent),
        processed=len(processed),
        lost=len(sent - processed),
        tagged_records=tagged_records,
        tagged_redeliveries=tagged_records - sum(1 for i in sent if observed.tagged[i]),
        dead_letters=sum(observed.dead[i] for i in sent),
        alerts_expected=len(expected),
        alerts_found=len(found & expected),
        alerts_missing=len(expected - found),
        alerts_unexpected=len(found - expected) + observed.split_pairs(),
        alert_records=sum(observed.alerts.values()),
        alert_duplicates=sum(observed.alerts.values()) - len(observed.alerts),
        alert_bad_ids=observed.bad_ids,
        seconds=round(seconds, 1),
        notes=dict(notes or {}),
    )
