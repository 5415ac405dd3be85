"""Load what the decisions need (language profiles, folding tables) before the first article."""

from __future__ import annotations


def warm_up() -> None:
    from agents import language, textfold

    language.warm_up()
    textfold.warm_up()
