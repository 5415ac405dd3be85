"""``python -m streams`` is ``newsmon`` (the demo starts its worker this way)."""

from streams.cli import main

main()
