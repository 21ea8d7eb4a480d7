"""The assistance-request form's states and the steps between them, declared beside its code.

``EDGES`` lists every step the form loop (bot/form.py) takes: from a state, on an event, to a
state. The loop names each step it takes (``AssistanceForm._walked``); a step not listed here is
logged. docs/form.md draws this list (``make form``), and tests/test_form_graph.py walks every edge
with a real conversation and fails on an edge without a walk or a walk without an edge.

The states a conversation rests in are read from its saved state (``phase_of``); Prefill, Stopped
and Submitted pass within one turn. ``ANY`` stands for each resting state of the form.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from actions.slots import ANSWERS, FORM_NAME


class Phase(enum.Enum):
    START = "[*]"
    CONSENT = "Consent"
    PREFILL = "Prefill"
    ASKING = "Asking"
    SUMMARY = "Summary"
    CHOOSE_FIX = "ChooseFix"
    STOPPED = "Stopped"
    SUBMITTED = "Submitted"
    END = "[*] "  # drawn as [*] too (Mermaid's end), a member of its own
    ANY = "Any"  # an edge from ANY leaves every resting state (and, to ANY, returns to it)


class Event(enum.Enum):
    REQUEST = "request_assistance"
    DECLINE = "不同意"
    CONSENT = "同意"
    PREFILLED = "candidates validated"
    ANSWER = "good answer"
    UNCLEAR = "bad or unclear answer"
    QUESTION = "question"
    CORRECTION = "correction"
    OVER_AGE = "child_age ≥ 16"
    CANCEL = "取消 / 不填了"
    SAFETY_NET = "safety net"
    FILLED = "all slots filled"
    FIX = "修改"
    FIX_CHOSEN = "a slot chosen"
    CONFIRM = "确认提交"
    FILED = "filed"
    DONE = "nothing stored"


@dataclass(frozen=True)
class Edge:
    source: Phase
    event: Event
    target: Phase
    note: str = ""  # what happens, for the picture

    @property
    def label(self) -> str:
        """The edge's text in the picture (Mermaid ends a label at ":" or ";": none there)."""
        return f"{self.event.value}{' — ' + self.note if self.note else ''}"


P, E = Phase, Event
EDGES: tuple[Edge, ...] = (
    Edge(P.START, E.REQUEST, P.CONSENT, "consent notice, entities in the first message kept as candidates"),
    Edge(P.CONSENT, E.DECLINE, P.STOPPED),
    Edge(P.CONSENT, E.CONSENT, P.PREFILL, "consent time and notice version recorded"),
    Edge(P.CONSENT, E.QUESTION, P.CONSENT, "answered, then asked again"),
    Edge(P.PREFILL, E.PREFILLED, P.ASKING, "answered slots told and skipped"),
    Edge(P.ASKING, E.ANSWER, P.ASKING, "the next slot in the declared order"),
    Edge(P.ASKING, E.QUESTION, P.ASKING, "ask_service, privacy… answered, then the same slot again"),
    Edge(P.ASKING, E.CORRECTION, P.ASKING, "孩子其实是九岁 → an earlier slot re-validated"),
    Edge(P.ASKING, E.OVER_AGE, P.STOPPED, "told kindly, other help offered"),
    Edge(P.ASKING, E.FILLED, P.SUMMARY),
    Edge(P.SUMMARY, E.QUESTION, P.SUMMARY, "answered, then the summary again"),
    Edge(P.SUMMARY, E.FIX, P.CHOOSE_FIX, "or a slot's button"),
    Edge(P.CHOOSE_FIX, E.FIX_CHOSEN, P.ASKING, "the chosen slot is asked again"),
    Edge(P.SUMMARY, E.CONFIRM, P.SUBMITTED, "ActionSubmitAssistanceRequest"),
    Edge(P.SUBMITTED, E.FILED, P.END, "reference LD-YYYY-NNNNNN and next steps (the same child within 30 days is linked)"),
    Edge(P.ANY, E.UNCLEAR, P.ANY, "asked again with an example (the 2nd in a row adds the way out)"),
    Edge(P.ANY, E.SAFETY_NET, P.ANY, "emergency help first, the form kept for later"),
    Edge(P.ANY, E.CANCEL, P.STOPPED),
    Edge(P.STOPPED, E.DONE, P.END),
)
RESTING = (P.CONSENT, P.ASKING, P.SUMMARY, P.CHOOSE_FIX)  # what ANY stands for

_BY_STEP = {(edge.source, edge.event): edge for edge in EDGES}


def edge(source: Phase, event: Event) -> Edge | None:
    """The declared edge for this step (one from ANY when the state is a resting one), else None."""
    found = _BY_STEP.get((source, event))
    if found is None and source in RESTING:
        found = _BY_STEP.get((P.ANY, event))
    return found


def target(step: Edge, source: Phase) -> Phase:
    return source if step.target is P.ANY else step.target


def phase_of(state: dict) -> Phase:
    """The state a conversation rests in, from its saved state."""
    if state.get("active_loop") != FORM_NAME:
        return P.START
    if state.get("awaiting_confirm"):
        return P.SUMMARY
    if state.get("choosing_fix"):
        return P.CHOOSE_FIX
    return P.CONSENT if state.get("requested_slot") == "consent" else P.ASKING


def mermaid() -> str:
    """The picture of docs/form.md: the edges, and the slots asked inside Asking in their order."""
    def name(phase: Phase) -> str:
        return "[*]" if phase in (P.START, P.END) else phase.value

    lines = ["```mermaid", "stateDiagram-v2", f'    state "any state of the form" as {P.ANY.value}']
    for step in EDGES:
        lines.append(f"    {name(step.source)} --> {name(step.target)}: {step.label}")
    lines.append(f"    state {P.ASKING.value} {{")
    names = [slot.name for slot in ANSWERS]
    lines.append(f"        [*] --> {names[0]}")
    lines += [f"        {a} --> {b}" for a, b in zip(names, names[1:])]
    lines += ["    }", "```"]
    return "\n".join(lines)
