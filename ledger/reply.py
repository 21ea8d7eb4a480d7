"""A message to a parent, as the dialogue and the casework write it and the outbox keeps it, before
any channel has rendered it: text, buttons, the sources it cites, what kind of message it is.

Each channel renders it for its platform (``bot/telegram/render.py``: HTML and inline keyboards;
``bot/rest.py``: Rasa's REST JSON; the web chat draws that JSON). It lives here, at the bottom,
because the outbox stores it and the casework service composes the parents' notifications with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ANSWER = "answer"  # what the parent asked for, or said back to them
QUESTION = "question"  # asks the parent something and waits for the answer (the form, a confirmation)
EMERGENCY = "emergency"  # what to do now about a child in danger
NOTIFICATION = "notification"  # sent unasked, later (a request's new status)
KINDS = (ANSWER, QUESTION, EMERGENCY, NOTIFICATION)


@dataclass(frozen=True)
class Button:
    """A choice offered with a reply; pressed, the channel sends ``payload`` back as the parent's
    message: an intent payload (``/intent`` or ``/intent{"entity": value}``) or a plain answer."""

    title: str
    payload: str


@dataclass
class Reply:
    text: str
    buttons: list[Button] = field(default_factory=list)
    sources: list[dict] = field(default_factory=list)  # the checklist items the text cites
    kind: str = ANSWER
    # what else the turn tells a client program, beside the text ({"urgent": True, "kinds": [...]},
    # {"handoff": reference}, {"deleted": True, ...}): REST clients get it with the sources in "custom"
    facts: dict = field(default_factory=dict)

    def to_record(self) -> dict:
        """The reply as stored (JSON): only what it has."""
        record: dict = {"text": self.text, "kind": self.kind}
        if self.buttons:
            record["buttons"] = [[b.title, b.payload] for b in self.buttons]
        if self.sources:
            record["sources"] = self.sources
        if self.facts:
            record["facts"] = self.facts
        return record

    @classmethod
    def from_record(cls, record: dict) -> "Reply":
        return cls(record["text"], [Button(title, payload) for title, payload in record.get("buttons", [])],
                   record.get("sources", []), record.get("kind", ANSWER), record.get("facts", {}))
