"""WeChat: a status change reaching the parent (customer-service message within the 48 hours, a
template message after them), what the staff's request page says of it, and an emergency in the
middle of the form — the real app against the fake WeChat API server (tests/fake_wechat.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.wechat.template import template_data
from ledger.models import AssistanceRequest, Conversation, OutboxMessage, UrgentRecord
from tests.fake_wechat import TEMPLATE, TEMPLATE_ID, Parent
from tests.test_staff_support import PASSWORD, login
from tests.test_wechat import FORM_ANSWERS, _say

PROFILE = "https://mp.weixin.qq.com/mp/profile_ext?action=home&__biz=MzTest"
SUMMARY = {"title": "您的帮扶申请有新进展", "reference": "LD-2026-000042", "status": "已纳入重点关爱台账",
           "status_short": "已纳入台账", "time": "2026-12-07T02:05:00+00:00", "next": "回到对话发送“查进度”可查看详情"}


def _request(runtime, parent: Parent) -> str:
    """A request filed from the parent's conversation (the form itself: tests/test_wechat.py)."""
    from ledger.requests import RequestData, file_request

    with runtime.db.session() as session:
        conversation_id = session.scalar(select(Conversation.id).where(
            Conversation.sender_hash == runtime.engine.store.sender_hash(f"wechat:{parent.openid}")))
        data = RequestData(child_name="王小明", child_age=8, hukou={"code": "411625", "name": "河南省周口市郸城县"},
                           residence={"code": "440306", "name": "广东省深圳市宝安区"}, months_at_residence=24,
                           guardian_name="李芳", guardian_relation="母亲", guardian_phone="13800138000",
                           situations=["family_hardship"], description="",
                           consent_at=dt.datetime.now(dt.timezone.utc))
        return file_request(session=session, cipher=runtime.cipher, data=data, conversation_id=conversation_id,
                            channel="wechat").request.reference


def _change(runtime, reference: str, status: str) -> int:
    from ledger.casework import change_status, find_request

    with runtime.db.session() as session:
        change = change_status(session=session, cipher=runtime.cipher, status=status, note="内部备注：电话核实",
                               request=find_request(session=session, reference=reference), actor="staff:test")
        assert change.notification_queued
        return change.id


def _notice_row(runtime, change_id: int) -> OutboxMessage:
    with runtime.db.session() as session:
        return session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == f"status:{change_id}"))


def _settled_row(wechat_fake, runtime, change_id: int) -> OutboxMessage:
    return wechat_fake.wait_for(lambda: (row := _notice_row(runtime, change_id)) is not None
                         and row.status not in ("pending", "sending") and row)


def _history_page(client, runtime, reference: str) -> str:
    from ledger.accounts import create_user

    with runtime.db.session() as session:
        create_user(session=session, areas=runtime.areas, username="baoan", role="civil_affairs", area="440306",
                    password=PASSWORD, created_by="test")
    assert login(client, "baoan").status_code == 303
    page = client.get(f"/staff/requests/{reference}")
    assert page.status_code == 200
    return page.text[page.text.index('id="history-table"'):page.text.index("</table>", page.text.index("history"))]


def test_a_status_change_goes_as_text_within_48_hours_and_as_a_template_message_after(backend, wechat_fake, wechat_app):
    client, runtime = wechat_app(backend, template_id=TEMPLATE_ID, template_url=PROFILE)
    parent = Parent(client, "oParentNotice000000000000001")
    _say(parent, wechat_fake, runtime, lambda: parent.event("subscribe"))
    reference = _request(runtime, parent)

    first = _change(runtime, reference, "under_review")  # the parent wrote a moment ago
    assert _settled_row(wechat_fake, runtime, first).delivered_via == "custom"
    (text,) = [t for t in wechat_fake.texts(parent.openid) if "有新进展" in t]
    assert reference in text and "内部备注" not in text

    wechat_fake.fail_next(45015, msgtype="text")  # two days later: no customer-service message allowed
    second = _change(runtime, reference, "accepted")
    row = _settled_row(wechat_fake, runtime, second)
    assert row.status == "sent" and row.delivered_via == "template"
    (sent,) = wechat_fake.template_sends
    assert sent["touser"] == parent.openid and sent["template_id"] == TEMPLATE_ID and sent["url"] == PROFILE
    values = {key: value["value"] for key, value in sent["data"].items()}
    assert values["keyword1"] == reference and values["keyword2"] == "已纳入重点关爱台账"
    assert values["first"] == "您的帮扶申请有新进展" and "查进度" in values["remark"]
    assert values["keyword3"].startswith(dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).strftime("%Y年%m月%d日"))
    assert "内部备注" not in str(sent) and "王小明" not in str(sent)  # nothing from the note or the child's name

    history = _history_page(client, runtime, reference)
    assert "已送达 · 微信公众号 · 客服消息" in history and "已送达 · 微信公众号 · 模板消息" in history


def test_without_a_template_a_notification_outside_48_hours_is_shown_as_not_delivered(sqlite_backend, wechat_fake,
                                                                                     wechat_app):
    client, runtime = wechat_app(sqlite_backend)
    parent = Parent(client, "oParentNoTemplate00000000001")
    _say(parent, wechat_fake, runtime, lambda: parent.event("subscribe"))
    reference = _request(runtime, parent)
    wechat_fake.fail_next(45015, msgtype="text")
    row = _settled_row(wechat_fake, runtime, _change(runtime, reference, "under_review"))
    assert row.status == "failed" and "45015" in row.last_error and not wechat_fake.template_sends
    assert "未能送达（微信公众号）" in _history_page(client, runtime, reference)


def test_template_refusals_retry_give_up_or_stop(sqlite_backend, wechat_fake, wechat_app):
    """Outside the 48 hours: the daily quota (45009) → tried again later and sent; an unknown
    template (40037) → given up; the parent unfollowed (43004) → nothing more is pushed."""
    client, runtime = wechat_app(sqlite_backend, template_id=TEMPLATE_ID)
    parent = Parent(client, "oParentTemplateFaults0000001")
    _say(parent, wechat_fake, runtime, lambda: parent.event("subscribe"))
    reference = _request(runtime, parent)

    wechat_fake.fail_next(45015, times=3, msgtype="text")
    wechat_fake.fail_next(45009, endpoint=TEMPLATE)
    change = _change(runtime, reference, "under_review")
    row = wechat_fake.wait_for(lambda: (r := _notice_row(runtime, change)).status == "sent" and r, timeout=20)
    assert row.delivered_via == "template" and row.attempts == 1 and len(wechat_fake.template_sends) == 1

    wechat_fake.templates.clear()  # the account deleted its template
    row = _settled_row(wechat_fake, runtime, _change(runtime, reference, "accepted"))
    assert row.status == "failed" and "40037" in row.last_error

    wechat_fake.templates.add(TEMPLATE_ID)
    wechat_fake.fail_next(45015, msgtype="text")
    wechat_fake.fail_next(43004, endpoint=TEMPLATE)
    row = _settled_row(wechat_fake, runtime, _change(runtime, reference, "closed"))
    assert row.status == "blocked"
    with runtime.db.session() as session:
        assert session.scalar(select(Conversation.blocked_at)) is not None
    assert len(wechat_fake.template_sends) == 1


def test_the_template_fields_fit_what_wechat_accepts():
    fields = {"character_string1": "reference", "phrase2": "status", "time3": "time", "thing4": "next",
              "date5": "time"}
    data = {key: value["value"] for key, value in template_data(SUMMARY, fields).items()}
    assert data == {"character_string1": "LD-2026-000042", "phrase2": "已纳入台账", "time3": "2026年12月07日 10:05",
                    "thing4": "回到对话发送“查进度”可查看详情", "date5": "2026年12月07日"}
    long = {**SUMMARY, "next": "请" + "很长的说明" * 10}
    assert len(template_data(long, fields)["thing4"]["value"]) == 20
    assert template_data({**SUMMARY, "reference": " "}, fields) is None  # a field the template needs is empty


@pytest.mark.parametrize("fields", [{}, {"thing1": "child_name"}, {"thing 1": "title"}, {"<x>": "title"}])
def test_a_wrong_template_mapping_is_refused_at_start(fields):
    from pydantic import ValidationError

    from tongban.settings import WeChatSettings

    with pytest.raises(ValidationError):
        WeChatSettings(template_fields=fields)


def test_an_emergency_in_the_middle_of_the_form_is_answered_first_and_the_form_kept(sqlite_backend, wechat_fake,
                                                                                     wechat_app):
    client, runtime = wechat_app(sqlite_backend)
    parent = Parent(client, "oParentFormDanger00000000001")
    _say(parent, wechat_fake, runtime, lambda: parent.text("我想申请帮扶"))
    (menu,) = wechat_fake.menus(parent.openid)
    _say(parent, wechat_fake, runtime, lambda: parent.tap(menu["list"][0]))  # consent
    _, messages = _say(parent, wechat_fake, runtime, lambda: parent.text(FORM_ANSWERS[0]))
    assert "几周岁" in messages[-1]
    passive, messages = _say(parent, wechat_fake, runtime, lambda: parent.text("孩子从楼梯上摔下来了，头一直在流血"))
    assert passive is not None and "120" in passive  # help first, in the passive reply itself
    assert any("保留" in message for message in messages)
    with runtime.db.session() as session:
        (urgent,) = session.scalars(select(UrgentRecord)).all()
        assert urgent.channel == "wechat"
    for answer in FORM_ANSWERS[1:]:  # the form goes on where it was
        _, messages = _say(parent, wechat_fake, runtime, lambda: parent.text(answer))
    _say(parent, wechat_fake, runtime, lambda: parent.text("1"))  # the situations' first choice
    _, messages = _say(parent, wechat_fake, runtime, lambda: parent.text("跳过"))
    assert "请核对" in messages[-1] and "王小明" in messages[-1]
    _say(parent, wechat_fake, runtime, lambda: parent.text("1"))
    with runtime.db.session() as session:
        request = session.scalar(select(AssistanceRequest))
        assert request is not None and request.channel == "wechat"


def test_visit_reminders_a_few_days_before_a_planned_visit_once_and_in_daytime(sqlite_backend, wechat_fake, wechat_app):
    from ledger.casework import change_status, find_request
    from ledger.clock import BEIJING
    from ledger.models import LedgerEntry
    from ledger.reminders import queue_visit_reminders

    client, runtime = wechat_app(sqlite_backend, template_id=TEMPLATE_ID)
    parent = Parent(client, "oParentVisit0000000000000001")
    _say(parent, wechat_fake, runtime, lambda: parent.event("subscribe"))
    reference = _request(runtime, parent)
    today = dt.datetime.now(BEIJING).date()
    visit_on = today + dt.timedelta(days=2)
    with runtime.db.session() as session:
        change_status(session=session, cipher=runtime.cipher, request=find_request(session=session, reference=reference),
                      status="accepted", note="符合条件", actor="staff:test", first_visit_on=visit_on)
    wechat_fake.wait_for(lambda: any("有新进展" in t for t in wechat_fake.texts(parent.openid)))

    def queue(hour: int) -> int:
        at = dt.datetime.combine(today, dt.time(hour, 30), BEIJING)
        with runtime.db.session() as session:
            return queue_visit_reminders(session=session, cipher=runtime.cipher, now=at)

    assert queue(22) == 0  # not at night
    assert queue(10) == 1 and queue(11) == 0  # once, however often it runs
    (reminder,) = wechat_fake.wait_for(lambda: [t for t in wechat_fake.texts(parent.openid) if "上门看望" in t])
    assert f"{visit_on.month}月{visit_on.day}日前后" in reminder and reference in reminder

    with runtime.db.session() as session:  # staff move the visit: a reminder for the new date,
        entry = session.scalar(select(LedgerEntry))  # outside the 48 hours as a template message
        entry.next_visit_on = today + dt.timedelta(days=3)
    wechat_fake.fail_next(45015, msgtype="text")
    assert queue(10) == 1
    (sent,) = wechat_fake.wait_for(lambda: wechat_fake.template_sends)
    assert sent["data"]["keyword3"]["value"] == (today + dt.timedelta(days=3)).strftime("%Y年%m月%d日")
    assert sent["data"]["first"]["value"] == "上门走访提醒" and sent["data"]["keyword1"]["value"] == reference

    with runtime.db.session() as session:  # too far ahead, or the case closed: nothing
        session.scalar(select(LedgerEntry)).next_visit_on = today + dt.timedelta(days=5)
    assert queue(10) == 0
    with runtime.db.session() as session:
        entry = session.scalar(select(LedgerEntry))
        entry.next_visit_on, entry.status = today + dt.timedelta(days=1), "closed"
    assert queue(10) == 0
