#!/usr/bin/env python3
"""The imports between Tongban's top-level packages, read from the code (every ``import`` and
``from … import`` statement, at module level or inside a function), and the layers they must keep.

    python scripts/import_graph.py            # print the edges, the ones against the layers marked
    python scripts/import_graph.py --write    # regenerate the picture in docs/architecture.md

tests/test_architecture.py fails on an import against the layers that is not in ``KNOWN`` (and on a
``KNOWN`` entry that is gone: the list only shrinks), and when docs/architecture.md is out of date.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("tongban", "bot", "staff", "actions", "knowledge", "nlu", "alerts", "ledger")

# Layers only point down (issue 15): the composition root above everything; the channels and the
# dialogue (bot/) over the capabilities; the staff app over the ledger and the form's declaration
# (actions/slots.py, which loads neither rasa-sdk nor nlu); knowledge may use the language layer
# (nlu/), never the reverse; the duty alerts' channels (alerts/) only read the ledger's records; the
# ledger, storage, imports none of them.
ALLOWED = {
    "tongban": {"bot", "staff", "actions", "knowledge", "nlu", "alerts", "ledger"},
    "bot": {"actions", "knowledge", "nlu", "ledger"},
    "staff": {"actions", "ledger"},
    "actions": {"nlu", "ledger"},
    "knowledge": {"nlu"},
    "nlu": set(),
    "alerts": {"ledger"},
    "ledger": set(),
}

# Imports against the layers found when the test was written (2026-12-06), to be removed: none left
# (issue 15). The set stays so that a pair found later can be listed only while it is being removed.
KNOWN: set[tuple[str, str]] = set()

BEGIN, END = "<!-- import graph: begin (scripts/import_graph.py --write) -->", "<!-- import graph: end -->"
DOC = REPO / "docs" / "architecture.md"


def edges() -> dict[tuple[str, str], list[str]]:
    """(importer, imported) → the places ("file:line") where one package imports the other."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    target = name.split(".", 1)[0]
                    if target in PACKAGES and target != package:
                        found[(package, target)].append(f"{path.relative_to(REPO)}:{node.lineno}")
    return dict(found)


def against_layers(found: dict[tuple[str, str], list[str]]) -> dict[tuple[str, str], list[str]]:
    return {edge: places for edge, places in found.items() if edge[1] not in ALLOWED[edge[0]]}


def picture(found: dict[tuple[str, str], list[str]]) -> str:
    """A Mermaid graph: allowed imports as arrows, those against the layers dashed and red."""
    lines = ["```mermaid", "graph TD"]
    bad = against_layers(found)
    links = []
    for (source, target), places in sorted(found.items()):
        arrow = "-.->" if (source, target) in bad else "-->"
        lines.append(f"  {source} {arrow}|{len(places)}| {target}")
        links.append((source, target) in bad)
    for index, is_bad in enumerate(links):
        if is_bad:
            lines.append(f"  linkStyle {index} stroke:#c00,color:#c00")
    lines.append("```")
    return "\n".join(lines)


def section(found: dict[tuple[str, str], list[str]]) -> str:
    bad = against_layers(found)
    rows = []
    for (source, target), places in sorted(bad.items()):
        files = sorted({place.rsplit(":", 1)[0] for place in places})  # no line numbers: they move
        rows.append(f"| {source} → {target} | {len(places)} | {', '.join(files)} |")
    if not rows:
        return "\n".join([BEGIN, picture(found), "", "Imports against the layers: none; every arrow points down.", END])
    return "\n".join([BEGIN, picture(found), "",
                      f"Imports against the layers (dashed, red): {len(bad)} pairs of packages.", "",
                      "| import | statements | files |", "|---|---|---|", *rows, END])


def write_doc(found) -> None:
    text = DOC.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    DOC.write_text(text[:start] + section(found) + text[end:], encoding="utf-8")


def main(argv: list[str]) -> int:
    found = edges()
    if "--write" in argv:
        write_doc(found)
        return 0
    bad = against_layers(found)
    for (source, target), places in sorted(found.items()):
        mark = "  AGAINST THE LAYERS" if (source, target) in bad else ""
        print(f"{source} -> {target}: {len(places)}{mark}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
