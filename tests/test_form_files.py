"""The form's declaration (actions/slots.py) and what is made from it: the form part of the Rasa
domain and the state picture of docs/form.md current (scripts/form_files.py), the storage it names
true of the ledger, and the declaration light enough for the staff app to read."""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import subprocess
import sys

from actions import validators
from actions.slots import ANSWERS, SLOTS, STORED
from ledger.models import AssistanceRequest
from ledger.requests import RequestData
from nlu.domain import load_domain
from nlu.entities import HUKOU, MOVED_FROM, RESIDENCE
from staff.export import LEDGER_COLUMNS
from tests.conftest import REPO

_SPEC = importlib.util.spec_from_file_location("form_files", REPO / "scripts" / "form_files.py")
files = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(files)


def test_the_generated_parts_are_current():
    stale = files.out_of_date()
    assert not stale, f"out of date, run make form: {sorted(str(p.relative_to(REPO)) for p in stale)}"


def test_the_domain_asks_what_the_declaration_asks():
    domain = load_domain(files.DOMAIN)
    assert domain.slots.keys() >= {slot.name for slot in SLOTS}
    for slot in SLOTS:
        assert domain.text(f"utter_ask_{slot.name}") == slot.question


def test_every_slot_names_a_check_and_an_entity_that_exist():
    for slot in SLOTS:
        assert callable(getattr(validators, slot.check.function, None)), slot.name
        assert slot.role in (None, RESIDENCE, HUKOU, MOVED_FROM), slot.name
        assert slot.about in ("child", "guardian", "story"), slot.name
    assert len({slot.label for slot in ANSWERS}) == len(ANSWERS)  # the fix buttons tell them apart


def test_the_storage_named_is_the_ledgers():
    """Each answer goes to a field of RequestData, all of them but the consent time come from a slot,
    and the columns staff read exist; the encrypted ones are the ledger's ``*_enc`` columns."""
    fields = {f.name for f in dataclasses.fields(RequestData)} - {"consent_at"}
    assert sorted(slot.stored.field for slot in STORED) == sorted(fields)
    columns = set(AssistanceRequest.__table__.columns.keys())
    for slot in STORED:
        for column in slot.stored.columns:
            assert column.name in columns, (slot.name, column.name)
            assert column.encrypted == column.name.endswith("_enc"), (slot.name, column.name)


def test_the_export_names_the_answers_as_declared():
    named = dict(LEDGER_COLUMNS)
    for slot in STORED:
        assert (named.get(slot.stored.field) == slot.staff_title) is slot.exported, slot.name


def test_reading_the_declaration_loads_neither_rasa_sdk_nor_nlu():
    """The staff app reads the declaration; it may bring the ledger's vocabulary (the situations), never
    rasa-sdk, the language layer or another app."""
    code = ("import sys, actions.slots; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('rasa_sdk', 'nlu', 'bot', 'staff', 'knowledge')))")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def test_the_staff_app_reads_only_the_declaration_of_actions():
    found = set()
    for path in (REPO / "staff").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            found |= {name for name in names if name.split(".")[0] == "actions"}
    assert found == {"actions.slots"}
