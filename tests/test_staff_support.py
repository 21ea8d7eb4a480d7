"""Fixtures and helpers shared by the staff app tests (tests/test_staff_*.py).

The app runs on SQLite and on PostgreSQL (``TONGBAN_TEST_PG_URL``, default the ``test`` database
on 127.0.0.1), like tests/test_form_dialogue.py. Requests, urgent records and handoffs are
seeded through the real filing functions, so everything personal is encrypted as in production.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from ledger.accounts import create_user
from ledger.committees import create_committee
from ledger.models import AuditEvent

PASSWORD = "Kind-Harbour-2026"
BAOAN = "440306"            # 广东省深圳市宝安区
XIXIANG = "440306001"       # a street in it
LIUTANG = "440306001001"    # a community in that street
OTHER_COMMUNITY = "440306001002"
OTHER_DISTRICT = "440305"   # 南山区
BOT = "tongban_test_bot"


@pytest.fixture
def staff_backend(backend):
    """SQLite or PostgreSQL (tests/conftest.py's ``backend``)."""
    return backend


@dataclass
class StaffApp:
    app: object
    runtime: object
    clients: list

    def client(self, *, base_url: str = "http://testserver", address: str | None = None):
        """A browser; ``address``: the IP address it connects from (default "testclient")."""
        from fastapi.testclient import TestClient

        extra = {"client": (address, 50000)} if address else {}
        client = TestClient(self.app, base_url=base_url, **extra)
        client.__enter__()
        self.clients.append(client)
        return client

    def user(self, username: str, role: str, area: str, password: str = PASSWORD, display_name: str = ""):
        with self.runtime.db.session() as session:
            create_user(session=session, areas=self.runtime.areas, username=username, role=role, area=area,
                        password=password, display_name=display_name, created_by="test")
        return username

    def login(self, username: str, password: str = PASSWORD, *, base_url: str = "http://testserver",
              address: str | None = None):
        client = self.client(base_url=base_url, address=address)
        response = login(client, username, password)
        assert response.status_code == 303, response.text
        return client

    def audit(self, action: str | None = None) -> list[AuditEvent]:
        with self.runtime.db.session() as session:
            query = select(AuditEvent).order_by(AuditEvent.id)
            if action:
                query = query.where(AuditEvent.action == action)
            return list(session.scalars(query))


def build_settings(backend: dict, **overrides):
    from tongban.settings import Settings

    values = {"env": "test", "data_dir": backend["data_dir"], "database": backend["database"],
              "knowledge": {"watch_interval": 0}, "telegram": {"bot_username": BOT}}
    values.update(overrides)
    return Settings(**values)


def _staff_app(backend: dict, knowledge, interpreter, **overrides):
    """The real app (staff pages installed) on ``backend`` with settings ``overrides``; closed when
    the generator ends."""
    from staff.web import install
    from tongban.app import create_app
    from tongban.runtime import Runtime

    settings = build_settings(backend, **overrides)
    runtime = Runtime.build(settings, knowledge=knowledge, interpreter=interpreter)
    app = create_app(settings, runtime=runtime)
    install(app)
    built = StaffApp(app, runtime, [])
    yield built
    for client in built.clients:
        client.__exit__(None, None, None)
    runtime.close(stop_knowledge=False)


@pytest.fixture
def staff_app(staff_backend, kb, interpreter):
    yield from _staff_app(staff_backend, kb, interpreter)


@pytest.fixture
def own_kb(tmp_path_factory, kb, embedder):
    """A knowledge base of its own: publishing must not touch the shared one."""
    from tests.helpers import private_knowledge

    return private_knowledge(tmp_path_factory, kb, embedder, "own-kb")


@pytest.fixture
def staff_app_own_kb(staff_backend, own_kb, interpreter):
    yield from _staff_app(staff_backend, own_kb, interpreter)


# ------------------------------------------------------------------ page helpers

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no csrf_token field on the page"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD, next_path: str = "/staff/"):
    page = client.get("/staff/login", params={"next": next_path})
    assert page.status_code == 200
    return client.post("/staff/login", data={"username": username, "password": password,
                                             "csrf_token": csrf_of(page.text), "next": next_path},
                       follow_redirects=False)


class _Forms(HTMLParser):
    """The hidden inputs of each form on a page, by the form's action."""

    def __init__(self):
        super().__init__()
        self.forms: dict[str, dict[str, str]] = {}
        self._current: dict[str, str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self._current = self.forms.setdefault(attrs.get("action") or "", {})
        elif tag == "input" and self._current is not None and attrs.get("type") == "hidden":
            self._current[attrs.get("name") or ""] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def hidden_fields(html: str, action: str) -> dict[str, str]:
    """The hidden fields (csrf_token, _page…) of the page's form posting to ``action``."""
    parser = _Forms()
    parser.feed(html)
    assert action in parser.forms, f"no form posting to {action} on the page"
    fields = parser.forms[action]
    assert fields.get("csrf_token"), f"the form posting to {action} has no csrf_token"
    return fields


def post_form(client, page_url: str, action: str, data: dict, *, form_on_page: bool = True, **kwargs):
    """Submit the form of ``page_url`` that posts to ``action``, as a browser does: its hidden fields
    (CSRF token, page) plus ``data``. ``form_on_page=False``: the page has no such form (a user
    without the permission), so only the page's CSRF token is sent."""
    page = client.get(page_url)
    assert page.status_code == 200, page.text
    hidden = hidden_fields(page.text, action) if form_on_page else {"csrf_token": csrf_of(page.text)}
    return client.post(action, data={**hidden, **data}, follow_redirects=False, **kwargs)


# ------------------------------------------------------------------ seeding through the real services

def request_data(**overrides):
    from ledger.requests import RequestData

    values = dict(
        child_name="王小明", child_age=8, hukou={"code": "411625", "name": "河南省周口市郸城县"},
        residence={"code": BAOAN, "name": "广东省深圳市宝安区", "text": "西乡街道流塘路 8 号"},
        months_at_residence=24, guardian_name="李芳", guardian_relation="妈妈", guardian_phone="13800138000",
        situations=["family_hardship", "guardianship_gap"], description="孩子爸爸受伤干不了活，下学期学费交不上",
        consent_at=dt.datetime.now(dt.timezone.utc),
    )
    values.update(overrides)
    return RequestData(**values)


_phone_counter = iter(range(10_000_000))


def unique_phone() -> str:
    return f"139{next(_phone_counter):08d}"


def file(runtime, *, referral: str | None = None, now: dt.datetime | None = None, sender: str | None = None,
         channel: str = "rest", transcript: list[tuple[str, str]] | None = None, **overrides) -> str:
    """File a request (a new conversation each time unless ``sender`` is given); returns its reference."""
    from ledger.conversations import ConversationStore
    from ledger.requests import file_request
    from ledger.transcript import record_transcript

    overrides.setdefault("guardian_phone", unique_phone())
    data = request_data(**overrides)
    store = ConversationStore(runtime.db, runtime.cipher)
    with store.open(sender or f"parent-{overrides['guardian_phone']}", channel) as convo:
        for incoming, reply in transcript or []:
            record_transcript(convo, runtime.cipher, incoming, [_Reply(reply)])
        filed = file_request(session=convo.session, cipher=runtime.cipher, data=data, conversation_id=convo.id,
                             channel=channel, referral=referral, now=now)
        return filed.request.reference


@dataclass
class _Reply:
    text: str


def urgent(runtime, *, locality: str | None, message: str = "孩子被打了，身上都是伤", sender: str | None = None,
           kinds: tuple[str, ...] = ("abuse",)) -> int:
    from ledger import services
    from ledger.conversations import ConversationStore
    from ledger.transcript import record_transcript

    store = ConversationStore(runtime.db, runtime.cipher)
    with store.open(sender or f"urgent-{unique_phone()}", "rest") as convo:
        record_transcript(convo, runtime.cipher, message, [_Reply("如果孩子正处于危险中，请立即拨打 110。")])
        record = services.create_urgent_record(session=convo.session, cipher=runtime.cipher,
                                               conversation_id=convo.id, channel="rest", locality=locality,
                                               kinds=list(kinds), detected_by="patterns", message=message)
        return record.id


def handoff(runtime, *, locality: str | None, reason: str = "想找工作人员问问孩子上学的事") -> int:
    from ledger import services
    from ledger.conversations import ConversationStore

    store = ConversationStore(runtime.db, runtime.cipher)
    with store.open(f"handoff-{unique_phone()}", "rest") as convo:
        record = services.create_handoff(session=convo.session, cipher=runtime.cipher, conversation_id=convo.id,
                                         channel="rest", locality=locality, reason=reason)
        return record.id


def committee(runtime, *, name: str = "流塘社区居委会", locality: str = LIUTANG, code: str | None = None) -> tuple[int, str]:
    with runtime.db.session() as session:
        row = create_committee(session=session, name=name, locality_code=locality,
                               locality_name=f"广东省深圳市宝安区西乡街道{name[:4]}", code=code, actor="test")
        return row.id, row.code


def request_row(runtime, reference: str):
    from ledger.models import AssistanceRequest

    with runtime.db.session() as session:
        return session.scalar(select(AssistanceRequest).where(AssistanceRequest.reference == reference))


def test_seeding_goes_through_the_real_services(staff_app):
    """The staff tests trust these helpers to seed what the bot would have stored: a referenced
    request whose personal fields are encrypted (never stored in clear), and an urgent record
    and a handoff whose texts are encrypted too."""
    from ledger.models import ConversationMessage, HandoffRequest, UrgentRecord

    runtime = staff_app.runtime
    reference = file(runtime, transcript=[("我想申请帮扶", "好的")])
    urgent_id = urgent(runtime, locality=BAOAN)
    handoff_id = handoff(runtime, locality=BAOAN)
    cipher = runtime.cipher
    row = request_row(runtime, reference)
    assert re.fullmatch(r"LD-\d{4}-\d{6}", reference) and row.area_code == BAOAN
    for column, clear in [("child_name_enc", "王小明"), ("guardian_name_enc", "李芳"),
                          ("description_enc", "孩子爸爸受伤干不了活，下学期学费交不上")]:
        stored = getattr(row, column)
        assert clear not in stored and cipher.decrypt(stored) == clear, column
    with runtime.db.session() as session:
        stored = {
            "孩子被打了，身上都是伤": session.get(UrgentRecord, urgent_id).message_enc,
            "想找工作人员问问孩子上学的事": session.get(HandoffRequest, handoff_id).reason_enc,
            "我想申请帮扶": session.scalar(select(ConversationMessage.text_enc).where(
                ConversationMessage.conversation_id == row.conversation_id, ConversationMessage.direction == "in")),
        }
    for clear, value in stored.items():
        assert clear not in value and cipher.decrypt(value) == clear, clear
