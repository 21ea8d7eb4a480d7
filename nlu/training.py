"""Reading Rasa 3.x NLU training data (``nlu.yml``).

Supports intents with ``examples`` blocks, entity annotations (``[text](entity)``,
``[text](entity:value)``, ``[text]{"entity": ..., "value": ...}``), synonyms,
lookup tables and regexes — the parts of Rasa's format this project uses.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

_ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<short>[^)]+)\)|(?P<long>\{[^}]*\}))")


@dataclass(frozen=True)
class Entity:
    entity: str
    value: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    entities: tuple[Entity, ...] = ()
    danger: str = ""  # for emergency examples: the kind of danger (Rasa intent metadata ``danger``)

    def entity_value(self, name: str) -> str | None:
        return next((e.value for e in self.entities if e.entity == name), None)


@dataclass
class TrainingData:
    examples: list[Example] = field(default_factory=list)
    synonyms: dict[str, str] = field(default_factory=dict)  # variant → canonical
    lookups: dict[str, list[str]] = field(default_factory=dict)
    regexes: dict[str, list[str]] = field(default_factory=dict)
    fingerprint: str = ""

    @property
    def intents(self) -> list[str]:
        return sorted({e.intent for e in self.examples})


def parse_example(raw: str, intent: str) -> Example:
    """Strip annotations from one example line, keeping entity offsets in the plain text."""
    text, entities, cursor, out = raw, [], 0, []
    length = 0
    for match in _ANNOTATION.finditer(text):
        before = text[cursor : match.start()]
        out.append(before)
        length += len(before)
        surface = match.group("text")
        if match.group("long"):
            spec = json.loads(match.group("long"))
            name, value = spec["entity"], str(spec.get("value", surface))
        else:
            name, _, value = match.group("short").partition(":")
            value = value or surface
        entities.append(Entity(name.strip(), value.strip(), length, length + len(surface), surface))
        out.append(surface)
        length += len(surface)
        cursor = match.end()
    out.append(text[cursor:])
    return Example("".join(out).strip(), intent, tuple(entities))


def _block_lines(block: str | list | None) -> list[str]:
    if block is None:
        return []
    lines = block if isinstance(block, list) else block.splitlines()
    out = []
    for line in lines:
        line = str(line).strip()
        if line.startswith("#"):  # a note inside a block is no example
            continue
        if line.startswith("- "):
            line = line[2:].strip()
        if line:
            out.append(line)
    return out


def load_training_data(*paths: Path) -> TrainingData:
    data = TrainingData()
    digest = hashlib.sha256()
    for path in paths:
        raw = path.read_bytes()
        digest.update(raw)
        doc = yaml.safe_load(raw.decode("utf-8")) or {}
        for entry in doc.get("nlu", []) or []:
            if "intent" in entry:
                danger = str((entry.get("metadata") or {}).get("danger") or "")
                data.examples += [replace(parse_example(l, entry["intent"]), danger=danger)
                                  for l in _block_lines(entry.get("examples"))]
            elif "synonym" in entry:
                for variant in _block_lines(entry.get("examples")):
                    data.synonyms[variant] = str(entry["synonym"])
            elif "lookup" in entry:
                data.lookups.setdefault(entry["lookup"], []).extend(_block_lines(entry.get("examples")))
            elif "regex" in entry:
                data.regexes.setdefault(entry["regex"], []).extend(_block_lines(entry.get("examples")))
    data.fingerprint = digest.hexdigest()
    return data


DATA = Path(__file__).parent / "data"


def default_paths() -> list[Path]:
    """The training files: the main nlu.yml, more short forms and confusable pairs, the
    safety-net examples, and parents' messages written independently of the evaluation sets
    (``parents.yml``: emergencies by kind of danger, hard negatives, routing; ``contrasts.yml``:
    talk about danger against danger now in the same words).

    ``data/held_back/`` holds three more independent training sets that are not used: adding them
    gave the safety net no better recall/false-alarm trade-off (docs/nlu.md, 2026-12-04).
    ``short.yml`` trains only the danger model for short messages (``short_danger_paths``)."""
    return [DATA / name for name in ("nlu.yml", "nlu_more.yml", "nlu_extra.yml", "safety.yml", "parents.yml",
                                     "contrasts.yml")]


# Short messages (1–12 characters: "跳楼了", "喝农药了", bare form answers) by another independent
# author: the danger model for short messages learns from them as well (nlu/interpreter.py
# SHORT_CHARS); the intent model and the danger model for longer messages do not (docs/nlu.md).
SHORT_FILES = ("short.yml",)


def short_paths() -> list[Path]:
    """The short messages only the danger model for short messages learns from."""
    return [DATA / name for name in SHORT_FILES]


def short_danger_paths() -> list[Path]:
    """What the danger model for short messages is trained on: the training files and ``short.yml``."""
    return default_paths() + short_paths()


INDEPENDENT_FILES = ("parents.yml", "contrasts.yml")
# questions on the services the intent files hold few of (the priority-care ledger, the plan): they
# teach retrieval which service a question is about, not which intent a message has — in the intent
# and danger models they moved help, status and request messages and added false alarms (docs/nlu.md)
CATEGORY_ONLY_FILES = ("topics.yml",)


def category_paths() -> list[Path]:
    """The files whose ``ask_service`` categories train retrieval's category prior: not
    ``parents.yml`` or ``contrasts.yml``, whose questions were written around frightening words
    for the safety net (half of them about first aid, the law and parenting) and would skew the
    prior; and ``topics.yml``, which trains the prior only."""
    return [p for p in default_paths() if p.name not in INDEPENDENT_FILES] + [DATA / name for name in CATEGORY_ONLY_FILES]
