"""Races between workers on one database, on SQLite and PostgreSQL (issue 14): one chat updated by two
workers at once, two senders claiming one conversation's outbox, two staff changing one request's status.

The workers are two OS processes (tests/race_worker.py) running the product's code. Each is held at the
first write of the race's window until the other is there too, or the test sees the other wait for the
guard's lock: so without the guard both are inside the window together every time, not by luck. Each
test names the guard it checks; removing it makes the test fail on PostgreSQL (on SQLite every
transaction holds the database's one write lock, so the workers run one after the other there).
"""

from __future__ import annotations

import datetime as dt
import threading
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from ledger import outbox
from ledger.casework import TRANSITIONS, transcript
from ledger.conversations import ConversationStore
from ledger.db import Database
from ledger.keys import verify_data_key
from ledger.models import AssistanceRequest, Conversation, LedgerEntry, OutboxMessage, StatusChange
from ledger.requests import RequestData, file_request
from tests.conftest import make_settings
from tongban.storage import data_cipher
from tests.race_worker import Rendezvous, run_workers
from tests.test_staff_support import BAOAN, file, hidden_fields, staff_app, staff_backend  # noqa: F401

pytestmark = pytest.mark.slow  # worker processes racing: left out of make test-fast


@pytest.fixture
def ledger(backend, tmp_path):
    """The backend's ledger database at the newest revision, its data key recorded (as the workers find it)."""
    settings = make_settings(backend["data_dir"], database=backend["database"])
    db = Database(settings.database_url)
    cipher = data_cipher(settings)
    verify_data_key(db, cipher)
    yield SimpleNamespace(db=db, cipher=cipher, store=ConversationStore(db, cipher), backend=backend,
                          postgres=bool(backend["database"]["url"]), meet=tmp_path / "meet")
    db.dispose()


def _workers(ledger, part: str, a: dict, b: dict) -> tuple[dict, dict]:
    first, second = run_workers(part, backend=ledger.backend, folder=ledger.meet, specs=(a, b))
    for worker in (first, second):
        assert worker["returncode"] == 0, worker["stderr"]
    return first, second


# ------------------------------------------------------------------ one chat, two workers

def test_a_chat_updated_by_two_workers_at_once_keeps_both_turns(ledger):
    """A parent's /start (with a referral) and their shared location reach two workers at the same moment.
    Both read the conversation before either saves; the one that saves second finds the version moved
    and replays its turn on the state the other saved: both turns count, each once.

    Guard: the conversation's ``version`` (``ledger/conversations.py``: ``_SAVE`` updates only the
    version the turn read, else ``ConcurrentUpdate``) and the replay in ``DialogueEngine.handle``."""
    sender = "telegram:7001"
    with ledger.store.open(sender, "telegram") as convo:
        convo.state["earlier"] = "kept"
        conversation_id = convo.id
    with ledger.db.session() as session:
        version = session.get(Conversation, conversation_id).version

    a, b = _workers(ledger, "turn", {"sender": sender, "event": {"type": "start", "referral": "RACE-A"}},
                    {"sender": sender, "event": {"type": "location", "locality": "440306"}})

    assert any("宝安区" in text for text in b["replies"]), b["replies"]
    state = ledger.store.peek(sender)
    assert (state.get("referral"), state.get("locality"), state.get("earlier")) == ("RACE-A", "440306", "kept")
    with ledger.db.session() as session:
        assert session.get(Conversation, conversation_id).version == version + 2
        incoming = [text for direction, text, _ in transcript(session=session, cipher=ledger.cipher,
                                                               conversation_id=conversation_id) if direction == "in"]
    assert sorted(incoming) == ["[分享了位置]", "[开始对话]"]  # the replayed turn's first try left nothing
    if ledger.postgres:  # both were inside the window: one saved, the other replayed
        assert (a["met"], b["met"]) == ("both", "both")
        assert sorted([a["turns"], b["turns"]]) == [1, 2]
    else:  # one after the other
        assert (a["turns"], b["turns"]) == (1, 1)


# ------------------------------------------------------------------ the outbox claim

def test_two_senders_claiming_one_chat_deliver_each_message_once(ledger):
    """Two workers' outbox senders find the same three due replies and claim them at the same moment:
    one takes all three (in order), the other none, and each is delivered once.

    Guard: the claim's compare-and-set (``ledger/outbox.py`` ``claim``: the UPDATE takes a row only in the
    status and with the owner it was read with, and stops when it took none)."""
    with ledger.store.open("telegram:7002", "telegram") as convo:
        conversation_id = convo.id
    with ledger.db.session() as session:
        ids = outbox.enqueue_many(session=session, cipher=ledger.cipher, conversation_id=conversation_id,
                                  channel="telegram", kind="reply",
                                  payloads=[{"op": "send", "text": f"第{n}条"} for n in range(3)])

    a, b = _workers(ledger, "claim", {"conversation_id": conversation_id}, {"conversation_id": conversation_id})

    assert sorted([a["delivered"], b["delivered"]]) == [[], ids], (a, b)
    with ledger.db.session() as session:
        assert outbox.counts(session=session) == {"sent": 3}
    winner = a if a["delivered"] else b
    if ledger.postgres:
        assert (a["met"], b["met"]) == ("both", "both")  # both had read the rows as due
    else:
        assert winner["met"] == "excluded"


# ------------------------------------------------------------------ two staff, one request

def _file(ledger, sender: str) -> tuple[str, int]:
    data = RequestData(child_name="王小明", child_age=8, hukou={"code": "411625", "name": "河南省周口市郸城县"},
                       residence={"code": "440306", "name": "广东省深圳市宝安区", "text": "西乡街道"},
                       months_at_residence=24, guardian_name="李芳", guardian_relation="母亲",
                       guardian_phone="13800138000", situations=["family_hardship"], description="",
                       consent_at=dt.datetime.now(dt.timezone.utc))
    with ledger.store.open(sender, "telegram") as convo:
        filed = file_request(session=convo.session, cipher=ledger.cipher, data=data, conversation_id=convo.id,
                             channel="telegram")
        return filed.request.reference, convo.id


def test_two_staff_changing_one_request_at_once_change_it_once(ledger):
    """Two staff run ``tongban ledger set-status`` on one new request at the same moment, one to accept
    it and one to find it not eligible: whichever is first, the other is refused (neither change is
    allowed after the other), so the request, its history, its ledger entry and the parent's
    notifications all tell one story.

    Guard: ``ledger.casework.lock_request`` (``change_status`` locks the request's row, ``SELECT … FOR
    UPDATE``, and reads its status again before checking the transition)."""
    reference, conversation_id = _file(ledger, "telegram:7003")

    a, b = _workers(ledger, "status", {"reference": reference, "status": "accepted", "note": "符合家庭困难情形"},
                    {"reference": reference, "status": "not_eligible", "note": "户籍在本区"})

    assert sorted([a["code"], b["code"]]) == [0, 2], (a, b)
    winner, loser = (a, b) if a["code"] == 0 else (b, a)
    status = "accepted" if winner is a else "not_eligible"
    assert "不能改为" in loser["err"], loser
    with ledger.db.session() as session:
        row = session.scalar(select(AssistanceRequest).where(AssistanceRequest.reference == reference))
        history = list(session.scalars(select(StatusChange.status).where(StatusChange.request_id == row.id)
                                       .order_by(StatusChange.id)))
        entry = session.scalar(select(LedgerEntry).where(LedgerEntry.request_id == row.id))
        notices = session.scalars(select(OutboxMessage).where(OutboxMessage.conversation_id == conversation_id,
                                                              OutboxMessage.kind == "notification")).all()
    assert (row.status, history) == (status, ["submitted", status])
    assert (entry is not None and entry.status == "active") == (status == "accepted")
    assert len(notices) == 1
    # the one that wrote first saw the other wait for the row's lock (SQLite: for the database)
    assert (winner["met"], loser["met"]) == ("excluded", None)


def _chain_is_valid(statuses: list[str]) -> bool:
    """The history is one allowed transition after another (it starts with the filing's "submitted")."""
    if statuses[:1] != ["submitted"]:
        return False
    current = "submitted"
    for status in statuses[1:]:
        if status not in TRANSITIONS.get(current, ()):
            return False
        current = status
    return True


def test_concurrent_accept_and_close_on_the_staff_pages_serialise(staff_app, monkeypatch, tmp_path):
    """The same race through the staff pages (one app, two browsers): the changes run one after the other,
    so the request, its history and its ledger entry agree (a closed request has no active entry).

    Guards: the route's locked read (``_find_request(..., lock=True)``) and ``lock_request``."""
    from ledger import casework

    runtime = staff_app.runtime
    reference = file(runtime)
    staff_app.user("baoan", "civil_affairs", BAOAN)
    staff_app.user("chief", "admin", "national")
    url = f"/staff/requests/{reference}"
    clients = {"accepted": staff_app.login("baoan"), "closed": staff_app.login("chief")}
    tokens = {status: hidden_fields(c.get(url).text, f"{url}/status") for status, c in clients.items()}

    # each change is held just before its first write until the other one gets there too, or is
    # seen waiting for the lock the first one holds
    (tmp_path / "meet").mkdir()
    database = runtime.settings.database.url or "sqlite"
    meeting = {"accepted": Rendezvous(tmp_path / "meet", "accepted", "closed", database, deadline=30),
               "closed": Rendezvous(tmp_path / "meet", "closed", "accepted", database, deadline=30)}
    real_clean, met = casework._clean_note, {}

    def held(note):
        party = "accepted" if "accepted" in note else "closed"
        met[party] = meeting[party].meet()
        return real_clean(note)

    monkeypatch.setattr(casework, "_clean_note", held)
    results = {}

    def change(status):
        meeting[status].started()
        results[status] = clients[status].post(f"{url}/status", data={**tokens[status], "status": status,
                                                                      "note": f"同时{status}"},
                                               follow_redirects=False)

    threads = [threading.Thread(target=change, args=(status,)) for status in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads) and len(results) == 2, results  # none hung
    assert {r.status_code for r in results.values()} <= {303, 400}, {k: r.status_code for k, r in results.items()}
    assert "excluded" in met.values(), met  # the first to write saw the other wait for it
    with runtime.db.session() as session:
        row = session.scalar(select(AssistanceRequest).where(AssistanceRequest.reference == reference))
        entry = session.scalar(select(LedgerEntry).where(LedgerEntry.request_id == row.id))
        history = list(session.scalars(select(StatusChange.status).where(StatusChange.request_id == row.id)
                                       .order_by(StatusChange.id)))
    assert _chain_is_valid(history), history
    assert history[-1] == row.status
    if row.status == "closed":
        assert entry is None or entry.status == "closed"
    else:
        assert row.status == "accepted" and entry is not None and entry.status == "active"
