"""Resource readings for the benchmark: a process's RSS and CPU, the worker's state size, a py-spy profile.

``ProcessMeter`` samples a pid (psutil); ``changelog_state`` sizes the ``alerted``
table from its changelog topic; ``Profiler`` runs ``py-spy record`` against a pid and
``summarize_profile`` turns its raw (collapsed-stack) output into where the time goes.
The summary is pure and unit-tested.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

MB = 1024 * 1024

# --------------------------------------------------------------------------- process readings


@dataclass
class Reading:
    rss: int  # bytes
    cpu: float  # user + system seconds since the process started


@dataclass
class ProcessMeter:
    """Samples one process; remembers the highest RSS it has seen."""

    pid: int
    peak_rss: int = 0
    _proc: psutil.Process | None = field(default=None, repr=False)

    def read(self) -> Reading:
        if self._proc is None:
            self._proc = psutil.Process(self.pid)
        with self._proc.oneshot():
            rss = self._proc.memory_info().rss
            times = self._proc.cpu_times()
        self.peak_rss = max(self.peak_rss, rss)
        return Reading(rss=rss, cpu=times.user + times.system)

    def high_water_mark(self) -> int:
        """The kernel's peak RSS (VmHWM) where available, else the highest sample."""
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return max(self.peak_rss, int(line.split()[1]) * 1024)
        except (OSError, ValueError, IndexError):
            pass
        return self.peak_rss


# --------------------------------------------------------------------------- state size


async def changelog_state(bootstrap: str, topic: str) -> tuple[int, int]:
    """(entries, bytes of keys and values) written to a table's changelog topic."""
    from streams.kafka.consumers import TopicReader

    entries = size = 0
    async with TopicReader(bootstrap, [topic], max_records=5000) as reader:
        async for batch in reader.batches():
            entries += len(batch)
            size += sum(len(record.key or b"") + len(record.value or b"") for record in batch)
    return entries, size


# --------------------------------------------------------------------------- profile


def py_spy() -> str | None:
    """The py-spy executable of this environment (next to the interpreter), else on PATH."""
    local = Path(sys.executable).with_name("py-spy")
    if local.exists():
        return str(local)
    return shutil.which("py-spy")


class Profiler:
    """``py-spy record`` against a running pid for ``seconds``, raw collapsed stacks into ``path``."""

    def __init__(self, pid: int, seconds: float, path: Path, rate: int = 100) -> None:
        self.pid = pid
        self.seconds = seconds
        self.path = path
        self.rate = rate
        self.proc: subprocess.Popen[bytes] | None = None
        self.error: str | None = None

    def start(self) -> bool:
        exe = py_spy()
        if exe is None:
            self.error = "py-spy is not installed (it comes with the bench extra: pip install 'newsmon[bench]')"
            return False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        cmd = [exe, "record", "--pid", str(self.pid), "--duration", str(max(1, round(self.seconds)))]
        cmd += ["--rate", str(self.rate), "--format", "raw", "--output", str(self.path)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return True

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def finish(self, timeout: float = 30.0) -> str | None:
        """Wait for py-spy; the collapsed stacks, or None (with ``error`` set) when it failed."""
        if self.proc is None:
            return None
        try:
            _, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            _, err = self.proc.communicate()
        if self.proc.returncode != 0 or not self.path.exists():
            self.error = f"py-spy exited {self.proc.returncode}: {err.decode(errors='replace').strip()[-500:]}"
            return None
        return self.path.read_text(encoding="utf-8", errors="replace")


_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")

# Project modules, by file prefix (py-spy names files from the package root: "agents/textfold.py").
PROJECT_AREAS: tuple[tuple[str, str], ...] = (
    ("agents/textfold.py", "tagging: text folding (agents/textfold.py)"),
    ("agents/themes/", "tagging: automaton scan and rules (agents/themes)"),
    ("agents/language.py", "language detection (agents/language.py)"),
    ("agents/records.py", "decode, validate, id, encode (agents/records.py)"),
    ("agents/text.py", "markup stripping (agents/text.py)"),
    ("agents/alerting.py", "alert events (agents/alerting.py)"),
    ("agents/enrich.py", "enrich glue (agents/enrich.py)"),
    ("agents/", "other agents/*"),
)
# Libraries, by file prefix: what the agent body calls, or what runs outside it.
LIBRARY_AREAS: tuple[tuple[str, str], ...] = (
    ("logging/", "logging (one INFO line per alert)"),
    ("json/", "json (stdlib)"),
    ("faust/tables", "Faust tables (alerted, stories)"),
    ("aiokafka/", "Kafka client (aiokafka)"),
    ("faust/", "Faust streams, sends, commits"),
    ("mode/", "Faust runtime (mode)"),
    ("asyncio/", "asyncio event loop"),
)
# Outer frames every stack of the worker has: never where the time goes.
_ENTRY_FILES = ("streams/__main__.py", "streams/cli/", "streams/pipeline/worker.py")


def split_frame(frame: str) -> tuple[str, str]:
    """``"fold (agents/textfold.py:189)"`` -> (``"fold"``, ``"agents/textfold.py"``)."""
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip(), ""
    return match.group("func"), match.group("file")


def parse_collapsed(text: str) -> list[tuple[list[str], int]]:
    """Lines ``frame;frame;...;frame COUNT`` (outermost frame first) -> (frames, count)."""
    stacks = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        stacks.append((stack.split(";"), int(count)))
    return stacks


def _library_area(files: list[str]) -> str | None:
    for prefix, label in LIBRARY_AREAS:
        if any(name.startswith(prefix) for name in files):
            return label
    return None


def _area(frames: list[str]) -> str:
    """Attribute one stack: the innermost project frame decides, else the libraries on the stack.

    Time under a project module of ``agents/`` is that module's.  Time under the agent body
    (``streams/pipeline/``) that is spent in a library it calls (a Faust send, a log line)
    is that library's; the rest is the body's own.
    """
    if split_frame(frames[-1])[0].endswith("Selector.select"):
        return "waiting in the event loop (select)"
    files = [split_frame(f)[1] for f in frames]
    for i in range(len(files) - 1, -1, -1):
        name = files[i]
        if name.startswith("agents/"):
            return next(label for prefix, label in PROJECT_AREAS if name.startswith(prefix))
        if name.startswith("streams/") and not name.startswith(_ENTRY_FILES):
            return _library_area(files[i + 1 :]) or f"agent body ({name})"
    return _library_area(files) or "other"


def summarize_profile(text: str, top: int = 15) -> dict[str, Any]:
    """Samples, the share of time per area, and the top functions by self and by inclusive time."""
    stacks = parse_collapsed(text)
    total = sum(count for _, count in stacks)
    if total == 0:
        return {"samples": 0, "areas": [], "self": [], "inclusive": []}
    areas: Counter[str] = Counter()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for frames, count in stacks:
        areas[_area(frames)] += count
        func, file = split_frame(frames[-1])
        own[f"{func} ({file})"] += count
        seen = {"{} ({})".format(*split_frame(f)) for f in frames}
        for name in seen:
            inclusive[name] += count

    def share(counter: Counter[str], n: int) -> list[dict[str, Any]]:
        return [{"name": k, "share": round(v / total, 4), "samples": v} for k, v in counter.most_common(n)]

    return {
        "samples": total,
        "areas": share(areas, len(areas)),
        "self": share(own, top),
        "inclusive": share(inclusive, top * 3),
    }


def format_profile(summary: dict[str, Any], lines: int = 12) -> str:
    out = [f"profile: {summary.get('samples', 0)} samples"]
    out += [f"  {row['share'] * 100:5.1f}%  {row['name']}" for row in summary.get("areas", [])]
    out.append("  top self time:")
    out += [f"  {row['share'] * 100:5.1f}%  {row['name']}" for row in summary.get("self", [])[:lines]]
    return "\n".join(out)


def mb(value: float) -> float:
    return round(value / MB, 1)
