"""A channel is one new folder plus one line in the composition root (docs/architecture.md, "How to
add a channel"): a fake one, written here as a new folder of ``bot/`` would be, is given to the app
beside the real ones, answers a parent through the same engine, renders its replies its own way —
no buttons on this platform, so numbered choices a digit picks — and delivers the parent's status
notification, composed once by the casework service, because it declares that it can push."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from bot.channel import Capabilities, Channel, TurnHook
from bot.rest import Rest
from bot.telegram import Telegram
from bot.wechat import WeChat
from ledger import outbox
from ledger.models import Conversation
from ledger.reply import EMERGENCY, Reply
from tongban.channels import CHANNELS

NAME = "fake"


class FakeHook(TurnHook):
    """A digit answers the numbered choices of the last reply (this platform has no buttons)."""

    def rewrite(self, convo, text):
        choices = convo.state.get("fake_choices", [])
        return choices[int(text) - 1] if text.isdigit() and 0 < int(text) <= len(choices) else text

    def finish(self, convo, replies):
        convo.state["fake_choices"] = [b.payload for reply in replies for b in reply.buttons]


class Fake:
    """The whole channel: a route that takes the platform's messages, its rendering, its delivery."""

    name = NAME
    title = "示例平台"
    can = Capabilities(push=True, buttons=False, location=False)

    def __init__(self):
        self.delivered: list[tuple[str, str]] = []  # (user, text) pushed to the platform

    def install(self, app) -> None:
        @app.post("/fake/{user}")
        async def message(user: str, request: Request) -> dict:
            text = (await request.json())["text"]
            engine = request.app.state.runtime.engine
            replies = await run_in_threadpool(engine.handle, f"{NAME}:{user}", text, {}, NAME, FakeHook())
            return {"messages": render(replies)}

    async def start(self, app, runtime) -> None:
        self.runtime = runtime

    async def stop(self, app) -> None:
        pass

    def deliver(self) -> int:
        """What the platform's sweeper would do: the due rows of its conversations, rendered, sent."""
        db, cipher = self.runtime.db, self.runtime.cipher
        with db.session() as session:
            due = outbox.due_conversations(session=session, channel=NAME)
        for conversation_id in due:
            with db.session() as session:
                rows = outbox.claim(session=session, cipher=cipher, conversation_id=conversation_id, worker="fake")
                for row in rows:
                    self.delivered += [(row.sender.removeprefix(f"{NAME}:"), text) for text in render([row.reply])]
                outbox.mark_sent(session=session, ids=[row.id for row in rows])
        return len(self.delivered)


def render(replies: list[Reply]) -> list[str]:
    """Plain text: an emergency marked, choices numbered in the order the hook remembers them."""
    texts, number = [], 0
    for reply in replies:
        lines = [("【!】" if reply.kind == EMERGENCY else "") + reply.text]
        for button in reply.buttons:
            number += 1
            lines.append(f"{number}. {button.title}")
        texts.append("\n".join(lines))
    return texts


@pytest.fixture
def fake_app(backend, kb, interpreter):
    from fastapi.testclient import TestClient

    from tongban.app import create_app
    from tongban.runtime import Runtime
    from tongban.settings import Settings

    settings = Settings(env="test", data_dir=backend["data_dir"], database=backend["database"],
                        knowledge={"watch_interval": 0})
    runtime = Runtime.build(settings, knowledge=kb, interpreter=interpreter)
    fake = Fake()
    with TestClient(create_app(settings, runtime=runtime, channels=CHANNELS + (fake,))) as client:  # the one line
        yield client, runtime, fake
    runtime.close(stop_knowledge=False)


def test_the_channels_keep_to_the_protocol():
    assert all(isinstance(channel, Channel) for channel in (*CHANNELS, Fake()))
    assert {c.name for c in CHANNELS} == {Rest.name, Telegram.name, WeChat.name}
    assert Telegram.can.push and WeChat.can.push and not Rest.can.push  # the web chat hears back only when it asks


def test_a_new_channel_answers_through_the_same_engine_in_its_own_way(fake_app):
    client, _, _ = fake_app
    (greeting,) = client.post("/fake/ana", json={"text": "/greet"}).json()["messages"]
    answer = client.post("/fake/ana", json={"text": "1"}).json()["messages"]  # the first choice, picked by digit
    # the same turns on the REST channel: the same texts, the choices there as buttons
    sender = client.post("/webhooks/rest/session").json()["sender"]
    (rest_greeting,) = client.post("/webhooks/rest/webhook", json={"sender": sender, "message": "/greet"}).json()
    first = rest_greeting["buttons"][0]
    rest_answer = client.post("/webhooks/rest/webhook", json={"sender": sender, "message": first["payload"]}).json()
    assert greeting.startswith(rest_greeting["text"] + "\n1. " + first["title"] + "\n")
    assert answer[0].startswith(rest_answer[0]["text"]) and rest_answer[0]["custom"]["sources"]


def test_a_channel_that_can_push_delivers_the_casework_notification(fake_app):
    from ledger.casework import change_status, find_request
    from ledger.requests import RequestData, file_request

    client, runtime, fake = fake_app
    client.post("/fake/bo", json={"text": "/greet"})
    with runtime.db.session() as session:  # a request filed from that conversation (the form, shortened)
        (conversation_id,) = session.scalars(select(Conversation.id).where(Conversation.channel == NAME)).all()
        data = RequestData(child_name="王小明", child_age=8, hukou={"code": "411625", "name": "河南省周口市郸城县"},
                           residence={"code": "440306", "name": "广东省深圳市宝安区"}, months_at_residence=24,
                           guardian_name="李芳", guardian_relation="母亲", guardian_phone="13800138000",
                           situations=["family_hardship"], description="",
                           consent_at=dt.datetime.now(dt.timezone.utc))
        reference = file_request(session=session, cipher=runtime.cipher, data=data, conversation_id=conversation_id,
                                 channel=NAME, referral=None).request.reference
    with runtime.db.session() as session:
        change = change_status(session=session, cipher=runtime.cipher, request=find_request(session=session,
                               reference=reference), status="under_review", note="电话已核实家庭情况", actor="staff:wang")
        assert change.notification_queued
    assert fake.deliver() == 1
    ((user, text),) = fake.delivered
    assert user == "bo" and reference in text and "有新进展" in text and "电话已核实" not in text



def test_the_staff_pages_name_each_channel_by_its_title(fake_app):
    """A request's channel on the staff pages is the title the channel declares — a new channel's too."""
    from staff.common import env

    name = env.filters["channel"]
    assert name(NAME) == Fake.title and name(Telegram.name) == Telegram.title and name(Rest.name) == Rest.title
