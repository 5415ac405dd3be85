"""Benchmark section ``tagging``: cost of theme tagging as the number of themes grows.

Themes: the shipped theme file plus synthetic themes, generated deterministically
(``random.Random(SEED)``) from multilingual place names, organisations and topic
phrases, so that, like real themes, most of them match nothing in a given article and
a few match something.  Articles: the seed articles.

Figures:
- ``tagging.rate_N``: articles per second with N themes (one Tagger, one automaton);
- ``tagging.growth_10_to_10000``: cost per article with 10,000 themes / with 10 (target <= 3x);
- ``tagging.speedup_1000``: at 1,000 themes, time of the naive approach (one compiled
  case-insensitive regex per theme, an alternation of its terms with word boundaries)
  / time of the engine (target >= 20x).
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from agents.themes import Rule, Tagger, TermSet, Theme, load_theme_file
from agents.themes.model import Examples
from streams.bench.model import Result
from streams.settings import REPO_ROOT, get_settings

SEED = 20_250_113
COUNTS = (10, 100, 1_000, 10_000)
SEEDS_DIR = REPO_ROOT / "seeds"

_PLACES = {
    "en": ["Bavaria", "Lyon", "Seville", "Naples", "Rotterdam", "Aarhus", "Bergen", "Gothenburg", "Porto", "Kraków"],
    "de": ["Bayern", "Sachsen", "Hamburg", "Köln", "Dresden", "Leipzig", "Stuttgart", "Bremen", "Kiel", "Rostock"],
    "fr": ["Marseille", "Bordeaux", "Toulouse", "Lille", "Nantes", "Strasbourg", "Rennes", "Grenoble", "Nice", "Dijon"],
    "es": ["Valencia", "Bilbao", "Zaragoza", "Málaga", "Granada", "Murcia", "Alicante", "Córdoba", "Vigo", "Gijón"],
    "it": ["Torino", "Bologna", "Firenze", "Genova", "Palermo", "Bari", "Verona", "Padova", "Trieste", "Catania"],
    "pl": [
        "Gdańsk*",
        "Wrocław*",
        "Poznań*",
        "Łódź",
        "Lublin*",
        "Szczecin*",
        "Katowic*",
        "Białystok*",
        "Rzeszów",
        "Toruń*",
    ],
    "nl": ["Utrecht", "Eindhoven", "Groningen", "Tilburg", "Almere", "Breda", "Nijmegen", "Zwolle", "Leiden", "Delft"],
    "da": [
        "Odense",
        "Aalborg",
        "Esbjerg",
        "Randers",
        "Kolding",
        "Horsens",
        "Vejle",
        "Roskilde",
        "Herning",
        "Silkeborg",
    ],
    "no": ["Trondheim", "Stavanger", "Tromsø", "Drammen", "Kristiansand", "Ålesund", "Bodø", "Fredrikstad", "Hamar"],
    "sv": ["Malmö", "Uppsala", "Västerås", "Örebro", "Linköping", "Helsingborg", "Jönköping", "Norrköping", "Lund"],
    "pt": ["Braga", "Coimbra", "Funchal", "Setúbal", "Aveiro", "Évora", "Faro", "Viseu", "Leiria", "Guimarães"],
    "uk": ["Львів*", "Харків*", "Одес*", "Дніпр*", "Запоріжж*", "Вінниц*", "Полтав*", "Чернігів*", "Ужгород*"],
    "ru": ["Новосибирск*", "Екатеринбург*", "Казан*", "Самар*", "Омск*", "Ростов*", "Уфа", "Красноярск*", "Перм*"],
}
_TOPICS = {
    "en": ["flood relief", "transport strike", "housing shortage", "hospital closure", "wildfire season", "tram line"],
    "de": ["Hochwasserhilfe", "Verkehrsstreik", "Wohnungsnot", "Klinikschließung", "Waldbrandgefahr", "Straßenbahn*"],
    "fr": ["grève des transports", "crise du logement", "fermeture d'hôpital", "feux de forêt", "ligne de tramway"],
    "es": [
        "huelga de transporte",
        "crisis de vivienda",
        "cierre del hospital",
        "incendios forestales",
        "línea de tranvía",
    ],
    "it": ["sciopero dei trasporti", "emergenza abitativa", "chiusura dell'ospedale", "incendi boschivi", "alluvione"],
    "pl": ["strajk* komunikacj*", "kryzys* mieszkaniow*", "zamknięci* szpital*", "powodzi*", "linii tramwajow*"],
    "nl": ["staking in het openbaar vervoer", "woningnood", "ziekenhuissluiting", "bosbranden", "tramlijn*"],
    "da": ["transportstrejke", "boligmangel", "hospitalslukning", "skovbrande", "letbane*"],
    "no": ["transportstreik", "boligmangel", "sykehusnedleggelse", "skogbranner", "bybane*"],
    "sv": ["transportstrejk", "bostadsbrist", "sjukhusnedläggning", "skogsbränder", "spårväg*"],
    "pt": [
        "greve dos transportes",
        "crise da habitação",
        "encerramento do hospital",
        "incêndios florestais",
        "metro ligeiro",
    ],
    "uk": ["страйк* транспорт*", "житлов* криз*", "закритт* лікарн*", "лісов* пожеж*", "трамвайн* лін*"],
    "ru": ["забастовк* транспорт*", "жилищн* кризис*", "закрыти* больниц*", "лесн* пожар*", "трамвайн* лини*"],
}
_COUNCIL = {
    "en": "{} city council",
    "de": "Stadtrat {}",
    "fr": "conseil municipal de {}",
    "es": "ayuntamiento de {}",
    "it": "consiglio comunale di {}",
    "pl": "rada miasta {}",
    "nl": "gemeenteraad van {}",
    "da": "byrådet i {}",
    "no": "bystyret i {}",
    "sv": "kommunfullmäktige i {}",
    "pt": "câmara municipal de {}",
    "uk": "міськ* рад* {}",
    "ru": "городск* думы {}",
}


def synthetic_themes(count: int, seed: int = SEED) -> list[Theme]:
    """``count`` plausible, deterministic themes: a local topic (a place and a topic in one
    sentence) or its city council, in three of the 13 languages each."""
    rng = random.Random(seed)
    langs = sorted(_PLACES)
    themes: list[Theme] = []
    for i in range(count):
        chosen = rng.sample(langs, 3)
        places = {lang: rng.choice(_PLACES[lang]) for lang in chosen}
        place_set = tuple((lang, (place,)) for lang, place in places.items())
        topics = tuple((lang, tuple(rng.sample(_TOPICS[lang], 2))) for lang in chosen)
        councils = tuple((lang, (_COUNCIL[lang].format(place.rstrip("*")),)) for lang, place in places.items())
        themes.append(
            Theme(
                id=f"synthetic-{i:05d}",
                name=f"Synthetic local theme {i}",
                description="Generated for the benchmark.",
                terms=(TermSet("place", place_set), TermSet("topic", topics), TermSet("council", councils)),
                rules=(
                    Rule(id="local", all=("place", "topic"), near="sentence", weight=3.0),
                    Rule(id="council", all=("council", "topic"), weight=3.0),
                ),
                threshold=3.0,
                examples=Examples(),
            )
        )
    return themes


def theme_set(count: int, base: Sequence[Theme]) -> list[Theme]:
    """The first ``count`` of: the base (shipped) themes, then synthetic ones."""
    themes = list(base[:count])
    return themes + synthetic_themes(count - len(themes))


def naive_patterns(themes: Sequence[Theme]) -> list[re.Pattern[str]]:
    """The baseline: one case-insensitive regex per theme, an alternation of its terms with \\b boundaries."""
    patterns = []
    for theme in themes:
        alternatives = []
        for term_set in theme.terms:
            for _lang, term in term_set.all_terms():
                body = term.lstrip("=")
                words = [re.escape(w[:-1]) + r"\w*" if w.endswith("*") else re.escape(w) for w in body.split()]
                alternatives.append(r"\s+".join(words))
        patterns.append(re.compile(r"\b(?:" + "|".join(alternatives) + r")\b", re.IGNORECASE))
    return patterns


def _per_article(run: Callable[[], None], articles: int, min_seconds: float) -> float:
    """Seconds per article: repeat ``run`` (which handles every article once) for at least ``min_seconds``."""
    run()  # warm-up
    rounds = 0
    start = time.perf_counter()
    while True:
        run()
        rounds += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return elapsed / (rounds * articles)


def load_articles(directory: Path = SEEDS_DIR) -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(directory.glob("*.txt"))]


def run(quick: bool, say: Callable[[str], None], articles: Sequence[str] | None = None) -> list[Result]:
    texts = list(articles) if articles is not None else load_articles()
    if not texts:
        raise FileNotFoundError(f"no articles to tag in {SEEDS_DIR}")
    base = load_theme_file(get_settings().themes_file)
    min_seconds = 0.5 if quick else 2.0
    results: list[Result] = []
    costs: dict[int, float] = {}
    for count in COUNTS:
        themes = theme_set(count, base)
        start = time.perf_counter()
        tagger = Tagger(themes)
        build = time.perf_counter() - start

        def tag_all(tagger: Tagger = tagger) -> None:
            for text in texts:
                tagger.tag(text)

        costs[count] = _per_article(tag_all, len(texts), min_seconds)
        say(f"tagging: {count:>6} themes: {1 / costs[count]:8.1f} articles/s (built in {build:.2f} s)")
        results.append(
            Result(
                name=f"tagging.rate_{count}",
                value=round(1 / costs[count], 2),
                unit="articles/s",
                detail={"themes": count, "build_seconds": round(build, 4), "articles": len(texts)},
            )
        )

    patterns = naive_patterns(theme_set(1_000, base))

    def naive_all() -> None:
        for text in texts:
            for pattern in patterns:
                pattern.findall(text)

    start = time.perf_counter()
    naive_all()  # slow enough that one pass is a stable measurement
    naive_cost = (time.perf_counter() - start) / len(texts)
    speedup = naive_cost / costs[1_000]
    say(f"tagging: naive regex per theme at 1000 themes: {1 / naive_cost:.2f} articles/s; engine {speedup:.1f}x faster")
    results.append(
        Result(
            name="tagging.speedup_1000",
            value=round(speedup, 2),
            unit="x",
            baseline=round(1 / naive_cost, 3),
            target=">= 20x",
            met=speedup >= 20,
            detail={"naive_seconds_per_article": naive_cost, "engine_seconds_per_article": costs[1_000]},
        )
    )
    growth = costs[10_000] / costs[10]
    say(f"tagging: cost with 10000 themes / with 10: {growth:.2f}x")
    results.append(
        Result(
            name="tagging.growth_10_to_10000",
            value=round(growth, 3),
            unit="x",
            baseline=round(1 / costs[10], 2),
            target="<= 3x",
            met=growth <= 3,
            detail={
                "seconds_per_article": {str(k): v for k, v in costs.items()},
                "growth_10_to_1000": costs[1_000] / costs[10],
            },
        )
    )
    return results
