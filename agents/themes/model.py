"""Theme values: plain frozen dataclasses, compared by value (records round-trip to equal themes)."""

from __future__ import annotations

from dataclasses import dataclass, field

# Language keys of a term set: ISO 639-1 codes (those langdetect can report, and then some)
# plus "intl" for terms shared by every language (names, acronyms).
INTL = "intl"
REQUIRED_LANGUAGES = ("en", "de", "fr", "es", "it", "pl", "nl", "da", "no", "sv", "pt", "uk", "ru")
LANGUAGES = frozenset(
    (
        *REQUIRED_LANGUAGES,
        INTL,
        # other European languages, then others langdetect reports
        *("fi", "cs", "sk", "sl", "hr", "sr", "bs", "bg", "mk", "ro", "hu", "el", "tr", "et", "lv", "lt", "is"),
        *("ga", "ca", "eu", "gl", "mt", "sq", "be", "ka", "hy", "az", "kk", "lb", "cy"),
        *("ar", "he", "fa", "ur", "hi", "bn", "zh", "ja", "ko", "vi", "th", "id", "ms", "tl", "sw", "af"),
    )
)
SENTENCE = "sentence"
# How a theme alerts (the theme file's `alert` key): once per story, or once per article.
ALERT_NEW_STORY = "new_story"
ALERT_PER_ARTICLE = "per_article"
ALERT_MODES = (ALERT_NEW_STORY, ALERT_PER_ARTICLE)


@dataclass(frozen=True)
class TermSet:
    """Named terms, per language.  ``terms`` is a tuple of (language, (term, ...)) in file order."""

    name: str
    terms: tuple[tuple[str, tuple[str, ...]], ...]

    def all_terms(self) -> list[tuple[str, str]]:
        """(language, term) pairs."""
        return [(lang, term) for lang, terms in self.terms for term in terms]


@dataclass(frozen=True)
class Rule:
    """One scoring rule.

    The rule *matches* when every set in ``all`` has a hit and, if ``any`` is given, at
    least one set in ``any`` has a hit.  With ``near`` (a word distance, or
    ``"sentence"``) each group must have a hit close to an *anchor* hit (a hit of
    the first group: ``all[0]``, else the ``any`` sets together).  ``not`` sets veto:
    anywhere in the text without ``near``, inside the anchor's window with it.
    The rule adds ``weight * min(occurrences, count)`` to the theme's score.
    """

    id: str
    all: tuple[str, ...] = ()
    any: tuple[str, ...] = ()
    near: int | str | None = None
    not_: tuple[str, ...] = ()
    weight: float = 1.0
    count: int = 1


@dataclass(frozen=True)
class Examples:
    """Texts the theme must tag (``positive``) and must not tag (``negative``)."""

    positive: tuple[str, ...] = ()
    negative: tuple[str, ...] = ()


@dataclass(frozen=True)
class Theme:
    id: str
    name: str
    description: str
    terms: tuple[TermSet, ...]
    rules: tuple[Rule, ...]
    threshold: float = 1.0
    exclude: tuple[str, ...] = ()
    examples: Examples = field(default_factory=Examples)
    alert: str = ALERT_NEW_STORY

    def term_set(self, name: str) -> TermSet:
        for term_set in self.terms:
            if term_set.name == name:
                return term_set
        raise KeyError(name)
