#!/usr/bin/env python3
"""The parts of other files written from the assistance-request form's declarations:

- nlu/data/domain.yml, the form part of the Rasa domain (it stays a domain Rasa reads): the form's
  slots, ``forms: required_slots`` and the ``utter_ask_<slot>`` responses, from actions/slots.py;
- docs/form.md, the picture of the form's states, from bot/form_graph.py.

    python scripts/form_files.py            # name the files that are out of date (exit 1 if any)
    python scripts/form_files.py --write    # rewrite those parts (make form)

Each part sits between a begin and an end line; the rest of the file is written by hand.
tests/test_form_files.py fails when a part is out of date.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from actions.slots import FORM_NAME, REQUIRED_SLOTS, SLOTS  # noqa: E402
from bot.form_graph import mermaid  # noqa: E402

DOMAIN = REPO / "nlu" / "data" / "domain.yml"
DOC = REPO / "docs" / "form.md"
MADE = "generated from actions/slots.py: make form"


class _Dumper(yaml.SafeDumper):
    """Block style with the list items indented under their key, as domain.yml is written."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def _indented(text: str, spaces: int) -> list[str]:
    return [" " * spaces + line if line else line for line in text.splitlines()]


def slots_part() -> list[str]:
    lines = []
    for slot in SLOTS:
        definition = {"type": slot.rasa_type, "influence_conversation": False, "mappings": list(slot.mappings)}
        lines += _indented(yaml.dump({slot.name: definition}, Dumper=_Dumper, sort_keys=False,
                                     allow_unicode=True), 2) + [""]
    return lines[:-1]


def form_part() -> list[str]:
    return ["forms:", f"  {FORM_NAME}:", "    required_slots:", *[f"      - {name}" for name in REQUIRED_SLOTS]]


def prompts_part() -> list[str]:
    lines = []
    for slot in SLOTS:
        lines.append(f"  utter_ask_{slot.name}:")
        if "\n" in slot.question:
            lines += ["    - text: |-", *_indented(slot.question, 8)]
        else:
            lines.append(f"    - text: {json.dumps(slot.question, ensure_ascii=False)}")
        lines.append("")
    return lines[:-1]


# (begin line, end line, the lines between, the indentation of the end line)
DOMAIN_PARTS = [
    (f"# form slots: begin ({MADE})", "# form slots: end", slots_part, 2),
    (f"# form: begin ({MADE})", "# form: end", form_part, 0),
    (f"# form prompts: begin ({MADE})", "# form prompts: end", prompts_part, 2),
]
DOC_PART = ("<!-- form graph: begin (bot/form_graph.py: make form) -->", "<!-- form graph: end -->")


def _replaced(text: str, begin: str, end: str, lines: list[str], indent: int) -> str:
    start, stop = text.index(begin), text.index(end)
    return text[:start] + "\n".join([begin, *lines, " " * indent + end]) + text[stop + len(end):]


def domain_text(text: str) -> str:
    for begin, end, part, indent in DOMAIN_PARTS:
        text = _replaced(text, begin, end, part(), indent)
    return text


def doc_text(text: str) -> str:
    return _replaced(text, *DOC_PART, [mermaid()], 0)


def out_of_date() -> dict[Path, str]:
    """The files whose generated parts differ, with their text as it should be."""
    found = {}
    for path, rewrite in ((DOMAIN, domain_text), (DOC, doc_text)):
        text = path.read_text(encoding="utf-8")
        if rewrite(text) != text:
            found[path] = rewrite(text)
    return found


def main(argv: list[str]) -> int:
    stale = out_of_date()
    for path, text in stale.items():
        if "--write" in argv:
            path.write_text(text, encoding="utf-8")
        print(f"{'rewritten' if '--write' in argv else 'out of date'}: {path.relative_to(REPO)}")
    return 1 if stale and "--write" not in argv else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
