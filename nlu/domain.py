"""The Rasa domain (``nlu/data/domain.yml``): intents, slots and the responses the bot says."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from string import Formatter

import yaml

DOMAIN_FILE = Path(__file__).parent / "data" / "domain.yml"


@dataclass(frozen=True)
class Domain:
    intents: tuple[str, ...]
    slots: dict
    responses: dict[str, list[dict]]

    def text(self, name: str, slots: dict | None = None, **values) -> str:
        """The response's text: the first variant whose conditions hold (conditional ones first)."""
        variants = self.responses[name]
        slots = slots or {}
        chosen = next((v for v in variants if v.get("condition") and _holds(v["condition"], slots)), None)
        chosen = chosen or next(v for v in variants if not v.get("condition"))
        template = chosen["text"]
        fields = {f for _, f, _, _ in Formatter().parse(template) if f}
        return template.format(**{f: values.get(f, slots.get(f, "")) for f in fields})


def _holds(conditions: list[dict], slots: dict) -> bool:
    return all(slots.get(c["name"]) == c.get("value") for c in conditions if c.get("type") == "slot")


@lru_cache(maxsize=4)
def load_domain(path: Path = DOMAIN_FILE) -> Domain:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Domain(tuple(data.get("intents", [])), data.get("slots", {}), data.get("responses", {}))
