"""RSS/Atom feeds as a source of raw articles: HTTP fetching, remembered state, the poller.

The decisions (feeds file, entries to articles, dedup keys, schedule, status records)
are pure code in :mod:`agents.feeds`; this package does the I/O around them.
``streams.cli.feeds`` is the command line on top.
"""
