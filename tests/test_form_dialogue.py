"""Whole assistance-request conversations through the REST channel, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

from sqlalchemy import select, text

from ledger.models import AssistanceRequest, Conversation, StatusChange

ANSWERS = ["王小明", "八岁", "河南周口郸城", "深圳宝安西乡街道", "两年", "李芳", "妈妈", "138 0013 8000", "1 3",
           "孩子爸爸受伤干不了活，下学期学费交不上"]
TRUSTED = {"Authorization": "Bearer test-token"}  # a trusted integration names its own senders


def _talk(client, sender):
    def say(message):
        response = client.post("/webhooks/rest/webhook", json={"sender": sender, "message": message},
                               headers=TRUSTED)
        assert response.status_code == 200, response.text
        return "\n".join(r["text"] for r in response.json())
    return say


def _requests(runtime):
    with runtime.db.session() as session:
        return list(session.scalars(select(AssistanceRequest)))


def _consent(say):
    """Ask for help and agree to the notice: every form conversation starts this way."""
    say("我要申请帮扶")
    say("同意")


def _consented(app_factory, sender):
    """A fresh app and a parent already inside the form, ready for the first question."""
    client, runtime = app_factory()
    say = _talk(client, sender)
    _consent(say)
    return client, runtime, say


def _fill(say, answers=ANSWERS):
    _consent(say)
    for answer in answers:
        reply = say(answer)
    return reply


def test_happy_path_stores_an_encrypted_request(app_factory):
    client, runtime = app_factory()
    say = _talk(client, f"p-{uuid.uuid4().hex[:6]}")
    summary = _fill(say)
    assert "请核对" in summary and "王小明" in summary and "138****8000" in summary
    done = say("确认提交")
    assert "LD-" in done and "广东省深圳市宝安区" in done
    (row,) = _requests(runtime)
    assert row.reference.startswith("LD-2") and row.reference in done
    assert row.child_age == 8 and row.residence_code == "440306" and row.hukou_code.startswith("4116")
    assert row.months_at_residence == 24 and row.situations == "family_hardship,guardianship_gap"
    assert row.guardian_relation == "妈妈" and row.status == "submitted" and row.consent_notice_version
    assert runtime.cipher.decrypt(row.child_name_enc) == "王小明"
    assert runtime.cipher.decrypt(row.guardian_phone_enc) == "13800138000"
    with runtime.db.session() as session:
        assert session.scalar(select(StatusChange).where(StatusChange.request_id == row.id)).status == "submitted"
    # nothing personal is readable in the raw database
    with runtime.db.engine.connect() as conn:
        dump = " ".join(str(v) for t in ("assistance_requests", "conversations", "status_history", "audit_log")
                        for r in conn.execute(text(f"SELECT * FROM {t}")) for v in r)
    for secret in ("王小明", "李芳", "13800138000", "西乡街道", "学费"):
        assert secret not in dump
    assert row.reference in say("我提交的申请现在什么状态")


def test_consent_refused_stores_nothing(app_factory):
    client, runtime = app_factory()
    say = _talk(client, "p-refuse")
    say("我要申请帮扶")
    assert "没有保存任何信息" in say("不同意")
    assert _requests(runtime) == []


def test_cancel_midway_stores_nothing(app_factory):
    _, runtime, say = _consented(app_factory, "p-cancel")
    say("王小明")
    assert "已取消" in say("不填了")
    assert _requests(runtime) == []
    assert "没有正在进行" in say("取消")


def test_correction_and_digression_then_resume(app_factory):
    client, runtime, say = _consented(app_factory, "p-fix")
    say("王小明")
    say("八岁")
    corrected = say("孩子其实是九岁")
    assert "9岁" in corrected and "户口" in corrected
    digression = client.post("/webhooks/rest/webhook", json={"sender": "p-fix", "message": "医保怎么交"},
                             headers=TRUSTED).json()
    assert digression[0]["custom"]["sources"] and "继续填写" in digression[-2]["text"]
    for answer in ANSWERS[2:]:
        say(answer)
    say("确认提交")
    assert _requests(runtime)[0].child_age == 9


def test_first_message_answers_are_not_asked_again(app_factory):
    client, runtime = app_factory()
    say = _talk(client, "p-first")
    say("我家孩子8岁，在深圳宝安，想申请帮扶")
    after_consent = say("同意")
    assert "孩子年龄：8岁" in after_consent and "广东省深圳市宝安区" in after_consent
    assert "名字" in after_consent
    asked = [say("王小明"), say("河南周口郸城")]
    assert "几周岁" not in " ".join(asked) and "住在哪里" not in " ".join(asked)


def test_restart_in_the_middle_loses_nothing(app_factory):
    _, _, say = _consented(app_factory, "p-restart")
    for answer in ANSWERS[:4]:
        say(answer)
    client2, runtime2 = app_factory()  # a new process on the same database and key
    say2 = _talk(client2, "p-restart")
    assert "住了多久" in say2("你好")  # greets, then asks the pending question
    for answer in ANSWERS[4:]:
        say2(answer)
    assert "LD-" in say2("确认提交")
    assert len(_requests(runtime2)) == 1


def test_same_child_within_30_days_is_linked_not_duplicated(app_factory):
    client, runtime = app_factory()
    say = _talk(client, "p-dup")
    _fill(say)
    say("确认提交")
    _fill(say)
    second = say("确认提交")
    assert "合并" in second
    assert len(_requests(runtime)) == 1


def test_over_age_child_is_told_kindly_and_nothing_stored(app_factory):
    _, runtime, say = _consented(app_factory, "p-old")
    say("王大明")
    assert "不满16周岁" in say("十七岁")
    assert _requests(runtime) == []


def test_bad_answers_get_clear_reprompts(app_factory):
    _, runtime, say = _consented(app_factory, "p-bad")
    assert "20个字以内" in say("王" * 200)
    assert "只能有汉字" in say("<b>小明</b>")
    assert "只能有汉字" in say("x'; DROP TABLE t;--")
    say("王小明")
    reply = say("abc")
    assert "几周岁" in reply and "例如" in reply
    assert "不太对" in say("200岁")
    say("八岁")
    for answer in ANSWERS[2:7]:
        say(answer)
    first = say("12345")
    second = say("电话是多少我忘了")
    assert "11位" in first and "取消" in second  # the second re-prompt offers the way out
    say("+86 138-0013-8000")
    say("😂😂")
    say("1")
    say("跳过")
    assert "LD-" in say("确认提交")
    row = _requests(runtime)[0]
    assert runtime.cipher.decrypt(row.guardian_phone_enc) == "13800138000"
    assert runtime.cipher.decrypt(row.description_enc) == ""


def test_safety_net_fires_inside_the_form(app_factory):
    _, _, say = _consented(app_factory, "p-danger")
    reply = say("孩子刚才说不想活了")
    assert "110" in reply and "12355" in reply and "已为您保留" in reply
    assert "名字" in say("你好")  # the form is still there


def test_a_name_is_a_name_even_when_the_whole_message_reading_takes_it_for_a_danger(app_factory):
    """Everyday names read to the danger readings of a whole message as something else ("孙子涵": 孙子
    and something medical, the classifier; "杨子轩": abuse, the clause model too); at the name question
    they are the name, with 110/120 named beside the next question. A danger typed there still reaches
    help at once (the pattern layer fires as everywhere), and no urgent record is made for a name."""
    from ledger.models import UrgentRecord

    client, runtime = app_factory()
    for n, name in enumerate(("孙子涵", "杨子轩")):
        say = _talk(client, f"p-name-{n}")
        _consent(say)
        reply = say(name)
        assert "几周岁" in reply and "110" in reply, reply  # taken as the child's name: the next question
    with runtime.db.session() as session:
        assert session.scalar(select(UrgentRecord.id)) is None
    say = _talk(client, "p-name-danger")
    _consent(say)
    for danger in ("救命", "孩子丢了"):
        assert "【紧急】" in say(danger)


def test_delete_data_erases_state_and_flags_requests(app_factory):
    client, runtime = app_factory()
    say = _talk(client, "p-delete")
    _fill(say)
    say("确认提交")
    say("删除我的信息")
    reply = say("确认")
    row = _requests(runtime)[0]
    assert "已删除" in reply and row.reference in reply  # what was deleted, by reference
    assert row.deletion_requested_at is not None and row.anonymised_at is not None  # nobody had opened a case
    assert runtime.cipher.decrypt(row.child_name_enc) == ""
    with runtime.db.session() as session:
        conversation = session.scalar(select(Conversation).where(Conversation.deletion_requested_at.is_not(None)))
        assert conversation is not None


def test_tracker_endpoint_shape(app_factory):
    client, _ = app_factory()
    say = _talk(client, "p-tracker")
    say("我要申请帮扶")
    say("同意")
    headers = {"Authorization": "Bearer test-token"}
    body = client.get("/conversations/p-tracker/tracker", headers=headers).json()
    assert set(body) == {"sender_id", "slots", "latest_message", "active_loop"}
    assert body["active_loop"] == {"name": "assistance_request_form"}
    assert body["slots"]["requested_slot"] == "child_name" and body["slots"]["consent"] is True
    assert body["latest_message"]["intent"]["name"]
    assert client.get("/conversations/p-tracker/tracker").status_code == 401
    assert client.get("/conversations/nobody/tracker", headers=headers).status_code == 404


def test_household_registration_named_first_is_not_taken_for_the_residence(app_factory):
    """户口在河南周口郸城 is the 户籍地: the form asks where the family lives, and the request goes there."""
    client, runtime = app_factory()
    say = _talk(client, f"p-{uuid.uuid4().hex[:6]}")
    say("想申请帮扶 孩子8岁 户口在河南周口郸城")
    after_consent = say("同意")
    assert "户籍地：河南省周口市郸城县" in after_consent and "孩子年龄：8岁" in after_consent
    assert "现在的住址" not in after_consent
    for answer in ("王小明", "深圳宝安西乡街道", "两年", "李芳", "妈妈", "138 0013 8000", "1 3", "孩子爸爸受伤干不了活"):
        reply = say(answer)
    assert "请核对" in reply
    say("确认提交")
    (row,) = _requests(runtime)
    assert row.residence_code == "440306" and row.hukou_code == "411625"
