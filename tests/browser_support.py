"""Headless Chromium for the browser tests: Debian's package, driven by Playwright's Python package.

No tool downloads a browser here: Playwright is pointed at ``/usr/bin/chromium``.  When that
is missing and apt-get can install packages (as root, as in CI), ``ensure_chromium`` installs
Debian's ``chromium`` package; otherwise the test is skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
#: Chromium's own background connections are refused on these machines' closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _apt_install() -> str | None:
    """Install Debian's chromium; None when done, else why not."""
    if shutil.which("apt-get") is None:
        return "apt-get is not available"
    if os.geteuid() != 0:
        return "installing the chromium package needs root (run `sudo apt-get install -y chromium`)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
    result = subprocess.run(install, env=env, capture_output=True, text=True, timeout=900, check=False)
    if result.returncode != 0:  # stale package lists: update once and retry
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, text=True, timeout=600, check=False)
        result = subprocess.run(install, env=env, capture_output=True, text=True, timeout=900, check=False)
    if result.returncode != 0:
        return f"`apt-get install chromium` failed: {(result.stderr or result.stdout)[-500:]}"
    return None


def ensure_chromium() -> str:
    """The path of Debian's Chromium, installed with apt-get when missing; skips the test when it cannot be."""
    if not CHROMIUM.exists():
        reason = _apt_install()
        if reason is not None or not CHROMIUM.exists():
            pytest.skip(f"no headless Chromium at {CHROMIUM}: {reason or 'the package did not install it'}")
    return str(CHROMIUM)
