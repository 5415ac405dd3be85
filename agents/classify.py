"""What ``newsmon classify`` prints for one article: the worker's own :func:`agents.enrich.enrich`, projected.

Offline classification does not have a path of its own: it runs ``enrich`` (markup
stripping, language, tagging) on the raw article that ``agents.seeds`` reads from a
file, exactly as the worker runs it on the record ``newsmon replay`` publishes from
that file.  So ``lang``, ``lang_confidence`` and ``themes`` (scores and evidence) are
the worker's values for the same article.
"""

from __future__ import annotations

from typing import Any

from agents.enrich import TaggerLike, enrich
from agents.records import RawArticle

__all__ = ["CLASSIFY_FIELDS", "classify_article"]

# The fields of the worker's tagged record that ``newsmon classify`` prints, after ``id`` and ``file``.
CLASSIFY_FIELDS = ("lang", "lang_confidence", "themes")


def classify_article(article: RawArticle, tagger: TaggerLike, *, where: str) -> dict[str, Any]:
    """The JSON object ``newsmon classify`` prints for ``article``, read at ``where`` (``FILE`` or ``FILE:LINE``)."""
    tagged = enrich(article, tagger, processed_at="")
    out: dict[str, Any] = {"id": tagged["id"], "file": where}
    out.update((key, tagged[key]) for key in CLASSIFY_FIELDS)
    return out
