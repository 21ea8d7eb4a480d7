"""The layers of docs/architecture.md, read from the code (scripts/import_graph.py): no new import
against them, the known ones listed until removed (the list only shrinks), and the picture current."""

from __future__ import annotations

import importlib.util
import re

from tests.conftest import REPO

_SPEC = importlib.util.spec_from_file_location("import_graph", REPO / "scripts" / "import_graph.py")
graph = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(graph)


def test_no_import_against_the_layers_but_the_known_ones():
    bad = graph.against_layers(graph.edges())
    new = {edge: places for edge, places in bad.items() if edge not in graph.KNOWN}
    assert not new, "imports against the layers (docs/architecture.md):\n" + "\n".join(
        f"  {s} -> {t}: {', '.join(places)}" for (s, t), places in sorted(new.items()))
    gone = graph.KNOWN - set(bad)
    assert not gone, f"no longer found, take them out of KNOWN in scripts/import_graph.py: {sorted(gone)}"


def test_the_allowed_imports_have_no_cycle():
    """What ALLOWED permits is a strict order, so only a listed exception can close a loop."""
    order, seen = [], set()

    def visit(package, path):
        assert package not in path, f"cycle: {' -> '.join([*path, package])}"
        if package in seen:
            return
        for target in sorted(graph.ALLOWED[package]):
            visit(target, [*path, package])
        seen.add(package)
        order.append(package)

    for package in graph.PACKAGES:
        visit(package, [])
    assert set(graph.ALLOWED) == set(graph.PACKAGES) and len(order) == len(graph.PACKAGES)


def test_the_reader_finds_imports_inside_functions_too(tmp_path, monkeypatch):
    (tmp_path / "nlu").mkdir()
    (tmp_path / "nlu" / "late.py").write_text("def f():\n    from ledger.db import Database\n    import bot.engine\n")
    monkeypatch.setattr(graph, "REPO", tmp_path)
    assert graph.edges() == {("nlu", "ledger"): ["nlu/late.py:2"], ("nlu", "bot"): ["nlu/late.py:3"]}
    assert set(graph.against_layers(graph.edges())) == {("nlu", "ledger"), ("nlu", "bot")}


def test_the_picture_in_docs_is_current():
    assert graph.section(graph.edges()) in graph.DOC.read_text(encoding="utf-8"), \
        "docs/architecture.md is out of date: make architecture"


LONG = 400  # lines; a longer module says why at its top
REASON = re.compile(r"^#?\s*Over 400 lines because\b", re.M)
# Long modules being split (issue 15), listed until they are: the list only shrinks.
LONG_KNOWN: set[str] = set()


def test_no_module_is_long_without_saying_why():
    """Product code, benchmarks and scripts stay small enough to read in one sitting: a module over
    400 lines carries a line "Over 400 lines because …" in its first 15 lines (tests/ and the
    migrations are not counted)."""
    long = []
    for path in sorted(REPO.rglob("*.py")):
        relative = path.relative_to(REPO)
        if relative.parts[0] in ("tests", ".venv", "var", "build") or "migrations" in relative.parts \
                or relative.parts[0].startswith("."):
            continue
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n")
        if lines > LONG and not REASON.search("\n".join(text.splitlines()[:15])):
            long.append(str(relative))
    assert set(long) <= LONG_KNOWN, "modules over 400 lines without a reason at their top: " + \
        ", ".join(sorted(set(long) - LONG_KNOWN))
    assert LONG_KNOWN <= set(long), f"no longer long, take them out of LONG_KNOWN: {sorted(LONG_KNOWN - set(long))}"
