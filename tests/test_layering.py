"""The dependency direction: ``agents/`` (behaviour) knows nothing of Faust, Kafka or ``streams/``.

Also guards against the generic package names being shadowed: ``agents`` and
``streams`` must be this repository's, not another installed distribution's.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
AGENTS = REPO / "agents"
FORBIDDEN = frozenset({"faust", "mode", "aiokafka", "streams"})
# Calls that import a module named by a string argument.
DYNAMIC_IMPORTS = frozenset({"import_module", "__import__"})


def forbidden_imports(source: str, filename: str = "<string>", forbidden: frozenset[str] = FORBIDDEN) -> list[str]:
    """``line: module`` for every import in ``source`` of a module in ``forbidden`` or below one."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:  # relative imports stay inside agents/
                modules = [node.module]
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            first = node.args[0] if node.args else None
            if name in DYNAMIC_IMPORTS and isinstance(first, ast.Constant) and isinstance(first.value, str):
                modules = [first.value]
        for module in modules:
            parts = module.split(".")
            if any(".".join(parts[:n]) in forbidden for n in range(1, len(parts) + 1)):
                found.append(f"{getattr(node, 'lineno', '?')}: {module}")
    return found


def agent_modules() -> list[Path]:
    return sorted(AGENTS.rglob("*.py"))


def test_agents_has_modules() -> None:
    assert agent_modules(), f"no .py files under {AGENTS}"


@pytest.mark.parametrize("path", agent_modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_agents_import_nothing_from_faust_kafka_or_streams(path: Path) -> None:
    found = forbidden_imports(path.read_text(encoding="utf-8"), str(path))
    assert not found, f"{path.relative_to(REPO)} imports plumbing: {found}"


# Sources (producers of raw articles) and sinks (consumers of outputs) run without the worker.
EDGE_PACKAGES = (REPO / "streams" / "sources", REPO / "streams" / "sinks")
EDGE_FORBIDDEN = frozenset({"faust", "mode", "streams.pipeline", "streams.cli"})


def edge_modules() -> list[Path]:
    return sorted(p for package in EDGE_PACKAGES for p in package.rglob("*.py"))


def test_sources_and_sinks_exist() -> None:
    names = {p.parent.name for p in edge_modules()}
    assert {"sources", "sinks"} <= names, names


@pytest.mark.parametrize("path", edge_modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_sources_and_sinks_do_not_import_the_pipeline(path: Path) -> None:
    found = forbidden_imports(path.read_text(encoding="utf-8"), str(path), EDGE_FORBIDDEN)
    assert not found, f"{path.relative_to(REPO)} imports the pipeline, Faust or the CLI: {found}"


def test_the_edge_scan_catches_a_pipeline_import() -> None:
    source = "from streams.pipeline.app import create_app\nfrom streams.kafka.producer import make_producer"
    assert forbidden_imports(source, forbidden=EDGE_FORBIDDEN) == ["1: streams.pipeline.app"]
    assert forbidden_imports("import streams.pipeline", forbidden=EDGE_FORBIDDEN) == ["1: streams.pipeline"]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import faust", ["1: faust"]),
        ("import mode.utils.objects", ["1: mode.utils.objects"]),
        ("from aiokafka import AIOKafkaProducer", ["1: aiokafka"]),
        ("from streams.settings import Settings", ["1: streams.settings"]),
        ("def f():\n    import streams\n", ["2: streams"]),
        ("import importlib\nimportlib.import_module('faust')", ["2: faust"]),
        ("__import__('aiokafka.errors')", ["1: aiokafka.errors"]),
        ("from . import records\nfrom .records import Article", []),
        ("import modes, faustish, streamsx, json", []),
        ("from agents.records import Article", []),
    ],
)
def test_the_import_scan_itself(source: str, expected: list[str]) -> None:
    assert forbidden_imports(source) == expected


@pytest.mark.parametrize("package", ["agents", "streams"])
def test_packages_resolve_inside_the_repository(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__file__ is not None, f"{package} is a namespace package: another distribution may shadow it"
    location = Path(module.__file__).resolve()
    assert location.is_relative_to(REPO), (
        f"`import {package}` resolves to {location}, outside this repository ({REPO}). Another installed "
        f"distribution provides a top-level `{package}`: run newsmon from its own virtual environment."
    )


@pytest.mark.parametrize("package", ["agents", "streams"])
def test_no_other_distribution_installs_the_package(package: str) -> None:
    owners = set(importlib.metadata.packages_distributions().get(package, []))
    others = owners - {"newsmon"}
    assert not others, f"distributions other than newsmon install a top-level `{package}`: {sorted(others)}"
