"""Clean stops for long-running commands (replay, feeds run, deliver webhook)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    """The first SIGINT/SIGTERM sets ``stop`` (the command finishes what is in flight and returns).

    The handlers are removed at once, so a second signal acts as usual: Ctrl-C interrupts,
    SIGTERM terminates.  Call it inside the running event loop.
    """
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []

    def first() -> None:
        stop.set()
        for sig in installed:
            loop.remove_signal_handler(sig)
        installed.clear()

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, first)
        except (ValueError, RuntimeError, NotImplementedError):  # not the main thread, or no signals here
            continue
        installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
