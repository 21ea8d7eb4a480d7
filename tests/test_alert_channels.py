"""The duty alerts' channels against fakes of their services: the WeCom group robot and a WeCom
application (tests/fake_wecom.py), a local SMTP server with STARTTLS or TLS and a login
(aiosmtpd, a certificate made here), an SMS gateway (httpx's mock transport). What each sends,
what each failure means (permanent: fix the target; temporary: try later), and that no alert
carries the child's name or the parent's words."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import ipaddress
import socket
import ssl
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from alerts import (AlertChannel, AlertFailed, AlertMessage, AlertSettings, EmailChannel, SmsChannel,
                    WebhookSmsProvider, WeComAppChannel, WeComRobotChannel, build_channels, load_provider,
                    message_for_record, mobile_number, robot_key)
from ledger.models import UrgentRecord
from tests.fake_wecom import AGENT_ID, CORP_ID, ROBOT, ROBOT_KEY, SECRET, TOKEN, FakeWeCom

CHILD = "张小明"
PARENTS_WORDS = "他爸爸昨晚又打了小明，我住在幸福小区3栋502，电话13812345678"
AT = dt.datetime(2026, 12, 5, 18, 3, tzinfo=dt.timezone.utc)  # Sunday 02:03 in Beijing
LINK = "https://tongban.example/staff/ack/9f2c1e7ab3"
SMTP_USER, SMTP_PASSWORD = "alerts@tongban.example", "right-password"


def record() -> UrgentRecord:
    """An urgent record whose message names the child and holds the parent's words."""
    return UrgentRecord(id=123, conversation_id=7, channel="wechat", locality="440306001",
                        kinds="abuse,missing", detected_by="both", message_enc=f"{CHILD}：{PARENTS_WORDS}",
                        status="new", created_at=AT)


def message(step: int = 1, steps: int = 3) -> AlertMessage:
    return message_for_record(record(), area="广东省深圳市宝安区 新安街道 (440306001)", step=step, steps=steps,
                              recipient="王工", link=LINK, escalate_minutes=10)


def assert_nothing_personal(sent: str) -> None:
    for secret in (CHILD, "小明", PARENTS_WORDS[:8], "幸福小区", "13812345678"):
        assert secret not in sent


# --- the message ---------------------------------------------------------------------------------
def test_the_message_has_the_facts_in_beijing_time_and_the_link():
    alert = message()
    assert alert.reference == "U-000123" and alert.kinds == ["暴力或虐待", "走失或被拐"]
    assert alert.title() == "【童伴紧急提醒】U-000123 暴力或虐待、走失或被拐"
    text = alert.text()
    for part in ("编号：U-000123", "类型：暴力或虐待、走失或被拐", "地区：广东省深圳市宝安区 新安街道 (440306001)",
                 "时间：2026-12-06 02:03（北京时间）", "通知：王工（第 1 步，共 3 步）", LINK,
                 "10 分钟内无人接手"):
        assert part in text
    assert f"[查看并接手这条记录]({LINK})" in alert.markdown()
    assert "2026-12-06 02:03" in alert.summary() and LINK not in alert.summary()
    assert LINK in alert.brief() and len(alert.brief()) < 140


def test_the_last_step_says_nobody_comes_after_it():
    last = message(step=3, steps=3)
    assert "最后一级" in last.text() and "分钟内无人接手" not in last.text()
    assert "第 3 步，共 3 步" in last.markdown()


def test_a_naive_time_is_utc_and_odd_values_cannot_break_the_layout():
    alert = AlertMessage(reference="U-000001", kinds=[], area="某区\n[恶意](http://x)", at=AT.replace(tzinfo=None),
                         step=1, steps=1, recipient="<b>李</b>", link="https://t.example/a (b)",
                         escalate_minutes=5)
    assert "2026-12-06 02:03" in alert.text() and "类型：未分类" in alert.text()
    markdown = alert.markdown()
    assert "[恶意]" not in markdown and "<b>" not in markdown and "(https://t.example/a%20%28b%29)" in markdown
    assert "地区：某区 [恶意](http://x)" in alert.text()  # one line in plain text


def test_the_title_fits_a_wecom_card():
    alert = AlertMessage(reference="U-000001", kinds=["暴力或虐待"] * 30, area="", at=AT, step=1, steps=1,
                         recipient="", link=LINK, escalate_minutes=5)
    assert len(alert.title().encode("utf-8")) <= 128 and alert.title().endswith("…")
    assert len(alert.summary().encode("utf-8")) <= 512


# --- the WeCom group robot ---------------------------------------------------------------------
@pytest.fixture
def wecom():
    with FakeWeCom() as fake:
        yield fake


@pytest.fixture
def robot(wecom):
    channel = WeComRobotChannel(base_url=wecom.base_url, timeout=0.5)
    yield channel
    channel.close()


def test_the_robot_posts_markdown_to_its_group(wecom, robot):
    assert isinstance(robot, AlertChannel) and robot.name == "wecom_robot"
    robot.send(ROBOT_KEY, message())
    robot.send(f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={ROBOT_KEY}", message(step=2))
    sent = wecom.robot_sent[ROBOT_KEY]
    assert [m["msgtype"] for m in sent] == ["markdown", "markdown"]
    assert sent[0]["markdown"]["content"] == message().markdown()
    assert "第 2 步" in wecom.robot_texts()[1]


def test_robot_keys_are_read_from_a_key_or_the_webhook_url():
    assert robot_key(f" {ROBOT_KEY} ") == ROBOT_KEY
    assert robot_key(f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={ROBOT_KEY}") == ROBOT_KEY
    assert robot_key("https://qyapi.weixin.qq.com/cgi-bin/webhook/send") is None
    assert robot_key("not a key") is None


def test_an_invalid_robot_key_is_permanent(wecom, robot):
    with pytest.raises(AlertFailed) as failed:
        robot.send("0" * 8 + "-1111-2222-3333-" + "4" * 12, message())  # the right shape, no such robot
    assert failed.value.permanent and failed.value.code == 93000 and "key 无效" in failed.value.reason
    with pytest.raises(AlertFailed) as malformed:
        robot.send("my robot", message())
    assert malformed.value.permanent
    assert len(wecom.calls) == 1  # the malformed key was never sent


@pytest.mark.parametrize("fault", ["rate", "http", "hang", "down"])
def test_the_robots_passing_failures_are_temporary(wecom, robot, fault):
    if fault == "rate":
        wecom.fail_next(45009, endpoint=ROBOT)
    elif fault == "http":
        wecom.fail_http(502, endpoint=ROBOT)
    elif fault == "hang":
        wecom.hang_next(1.5, endpoint=ROBOT)
    else:
        wecom.stop()
    with pytest.raises(AlertFailed) as failed:
        robot.send(ROBOT_KEY, message())
    assert not failed.value.permanent
    assert ROBOT_KEY not in failed.value.reason
    if fault != "down":
        robot.send(ROBOT_KEY, message())  # the next try goes through
        assert len(wecom.robot_texts()) == 1


# --- a WeCom application -----------------------------------------------------------------------
def app_channel(wecom, *, secret: str = SECRET, message_type: str = "textcard") -> WeComAppChannel:
    return WeComAppChannel(corp_id=CORP_ID, agent_id=AGENT_ID, secret=secret, base_url=wecom.base_url,
                           timeout=0.5, message_type=message_type)


def test_the_application_sends_a_text_card_with_the_link(wecom):
    channel = app_channel(wecom)
    assert isinstance(channel, AlertChannel) and channel.name == "wecom_app"
    channel.send("WangGong", message())
    channel.send("WangGong", message(step=2))
    sent = wecom.app_messages("WangGong")
    assert len(sent) == 2 and wecom.token_requests == 1  # the token is kept
    card = sent[0]
    assert card["msgtype"] == "textcard" and card["agentid"] == AGENT_ID
    assert card["textcard"]["url"] == LINK and card["textcard"]["title"] == message().title()
    assert card["textcard"]["description"] == message().summary()


def test_the_application_can_send_plain_text(wecom):
    app_channel(wecom, message_type="text").send("li.na@bao-an", message())
    [sent] = wecom.app_messages("li.na@bao-an")
    assert sent["msgtype"] == "text" and sent["text"]["content"] == message().text()


def test_an_expired_token_is_refreshed_once(wecom):
    channel = app_channel(wecom)
    channel.send("WangGong", message())
    wecom.expire_token()
    channel.send("WangGong", message())
    assert wecom.token_requests == 2 and len(wecom.app_messages("WangGong")) == 2
    assert [c["errcode"] for c in wecom.calls] == [0, 42001, 0]

    wecom.fail_next(40014, times=2)  # refused again after the refresh: try later, no loop
    with pytest.raises(AlertFailed) as failed:
        channel.send("WangGong", message())
    assert not failed.value.permanent and wecom.token_requests == 3


def test_an_unknown_member_is_permanent(wecom):
    with pytest.raises(AlertFailed) as failed:
        app_channel(wecom).send("NoSuchPerson", message())
    assert failed.value.permanent and failed.value.code == 81013 and "UserID" in failed.value.reason


@pytest.mark.parametrize(("fault", "words"), [("secret", "Secret"), ("ip", "可信IP")])
def test_wrong_application_settings_are_permanent_and_say_what_to_fix(wecom, fault, words):
    if fault == "ip":
        wecom.fail_next(60020, endpoint=TOKEN)
    channel = app_channel(wecom, secret="wrong" if fault == "secret" else SECRET)
    with pytest.raises(AlertFailed) as failed:
        channel.send("WangGong", message())
    assert failed.value.permanent and words in failed.value.reason
    assert SECRET not in failed.value.reason


@pytest.mark.parametrize("fault", ["busy", "http", "hang", "down"])
def test_the_applications_passing_failures_are_temporary(wecom, fault):
    channel = app_channel(wecom)
    if fault == "busy":
        wecom.fail_next(45009)
    elif fault == "http":
        wecom.fail_http(502)
    elif fault == "hang":
        wecom.hang_next(1.5)
    else:
        wecom.stop()
    with pytest.raises(AlertFailed) as failed:
        channel.send("WangGong", message())
    assert not failed.value.permanent


# --- e-mail ----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> Path:
    """A self-signed certificate for 127.0.0.1 and localhost (its key beside it)."""
    folder = tmp_path_factory.mktemp("smtp-tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                       serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return folder / "cert.pem"


class Mailbox:
    """aiosmtpd's handler: the messages accepted."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


def login(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == SMTP_USER \
        and auth_data.password.decode() == SMTP_PASSWORD
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


def smtp_server(certificate: Path, *, implicit_tls: bool):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, certificate.with_name("key.pem"))
    mailbox = Mailbox()
    options = dict(hostname="127.0.0.1", port=free_port(), server_hostname="localhost", authenticator=login)
    if implicit_tls:
        controller = Controller(mailbox, ssl_context=context, auth_require_tls=False, **options)
    else:
        controller = Controller(mailbox, tls_context=context, require_starttls=True, **options)
    controller.start()
    return controller, mailbox


@pytest.fixture(params=["starttls", "tls"])
def smtp(request, certificate):
    controller, mailbox = smtp_server(certificate, implicit_tls=request.param == "tls")
    yield request.param, controller.port, mailbox
    controller.stop()


def email_channel(certificate: Path, security: str, port: int, *, password: str = SMTP_PASSWORD,
                  trusted: bool = True) -> EmailChannel:
    context = ssl.create_default_context(cafile=str(certificate)) if trusted else None
    return EmailChannel(host="127.0.0.1", port=port, sender="童伴值班 <alerts@tongban.example>",
                        username=SMTP_USER, password=password, security=security, timeout=5,
                        ssl_context=context)


def test_an_email_goes_out_over_tls_after_login(smtp, certificate):
    security, port, mailbox = smtp
    channel = email_channel(certificate, security, port)
    assert isinstance(channel, AlertChannel) and channel.name == "email"
    channel.send("wang.gong@baoan.example", message())
    [mail] = mailbox.messages
    assert mail["Subject"] == message().title() and mail["To"] == "wang.gong@baoan.example"
    assert mailbox.envelopes[0].rcpt_tos == ["wang.gong@baoan.example"]
    assert mail.get_content_type() == "text/plain" and mail.get_content_charset() == "utf-8"
    assert mail.get_content().strip() == message().text()
    assert SMTP_PASSWORD not in repr(channel)


def test_a_wrong_smtp_password_is_permanent(smtp, certificate):
    security, port, mailbox = smtp
    with pytest.raises(AlertFailed) as failed:
        email_channel(certificate, security, port, password="wrong").send("a@b.example", message())
    assert failed.value.permanent and "SMTP 登录失败" in failed.value.reason and failed.value.code == 535
    assert not mailbox.messages


def test_an_unverified_certificate_is_permanent(smtp, certificate):
    security, port, _ = smtp
    with pytest.raises(AlertFailed) as failed:
        email_channel(certificate, security, port, trusted=False).send("a@b.example", message())
    assert failed.value.permanent and "证书" in failed.value.reason


def test_an_unreachable_mail_server_is_temporary(certificate):
    with pytest.raises(AlertFailed) as failed:
        email_channel(certificate, "starttls", free_port()).send("a@b.example", message())
    assert not failed.value.permanent


def test_a_line_break_in_an_address_is_refused(certificate):
    with pytest.raises(AlertFailed) as failed:
        email_channel(certificate, "starttls", free_port()).send("a@b.example\nBcc: c@d.example", message())
    assert failed.value.permanent


def test_the_settings_build_an_email_channel_trusting_a_private_ca(certificate):
    controller, mailbox = smtp_server(certificate, implicit_tls=False)
    try:
        settings = AlertSettings(smtp_host="127.0.0.1", smtp_port=controller.port, smtp_username=SMTP_USER,
                                 smtp_password=SMTP_PASSWORD, smtp_from="alerts@tongban.example",
                                 smtp_ca_file=str(certificate))
        build_channels(settings)["email"].send("wang.gong@baoan.example", message())
        assert len(mailbox.messages) == 1
    finally:
        controller.stop()


def test_plain_smtp_only_to_this_machine():
    assert AlertSettings(smtp_host="127.0.0.1", smtp_security="none").smtp_security == "none"
    with pytest.raises(ValidationError, match="only for a server on this machine"):
        AlertSettings(smtp_host="smtp.example.com", smtp_security="none")


# --- SMS -----------------------------------------------------------------------------------------
class Gateway:
    """An SMS webhook behind httpx's mock transport: the requests, and the answers to give."""

    def __init__(self, *answers: int | Exception):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if self.answers else 200
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(answer, json={"ok": answer < 300})


def sms(gateway: Gateway) -> SmsChannel:
    return SmsChannel(WebhookSmsProvider("https://sms.example/send", token="sms-token",
                                         transport=httpx.MockTransport(gateway)))


def test_an_sms_goes_to_the_webhook_with_the_token():
    gateway = Gateway()
    channel = sms(gateway)
    assert isinstance(channel, AlertChannel) and channel.name == "sms"
    channel.send("+86 138-0013-8000", message())
    [request] = gateway.requests
    assert request.headers["authorization"] == "Bearer sms-token"
    assert json.loads(request.content) == {"phone": "13800138000", "text": message().brief()}
    assert "sms-token" not in repr(channel.provider)


@pytest.mark.parametrize(("answer", "permanent"), [(401, True), (400, True), (429, False), (503, False),
                                                    (httpx.ReadTimeout("slow"), False),
                                                    (httpx.ConnectError("refused"), False)])
def test_what_the_sms_gateway_answers(answer, permanent):
    with pytest.raises(AlertFailed) as failed:
        sms(Gateway(answer)).send("13800138000", message())
    assert failed.value.permanent is permanent


def test_a_malformed_phone_number_is_permanent_and_not_sent():
    gateway = Gateway()
    with pytest.raises(AlertFailed) as failed:
        sms(gateway).send("12345", message())
    assert failed.value.permanent and not gateway.requests
    assert mobile_number("0086 13912345678") == "13912345678" and mobile_number("12812345678") is None


class TemplateProvider:
    """A provider as docs/alerts.md describes one (a template's variables from the message)."""

    sent: list = []

    def __init__(self, sign_name: str, template: str):
        self.sign_name, self.template = sign_name, template

    def send(self, phone: str, text: str, message: AlertMessage) -> None:
        self.sent.append((phone, self.template, {"ref": message.reference, "link": message.link}))


def test_an_sms_provider_is_loaded_by_dotted_path():
    settings = AlertSettings(sms_provider=f"{__name__}:TemplateProvider",
                             sms_options={"sign_name": "童伴", "template": "SMS_001"})
    build_channels(settings)["sms"].send("13800138000", message())
    assert TemplateProvider.sent[-1] == ("13800138000", "SMS_001", {"ref": "U-000123", "link": LINK})
    assert "SMS_001" not in repr(settings)
    webhook = load_provider("alerts.sms:WebhookSmsProvider", {"url": "https://sms.example/send"})
    assert isinstance(webhook, WebhookSmsProvider)
    for path, options, error in [("alerts.nothing:X", {}, "cannot import"),
                                 ("alerts.sms:NoSuchClass", {}, "cannot import"),
                                 (f"{__name__}:TemplateProvider", {"colour": 1}, "options do not fit"),
                                 ("alerts.message:AlertMessage", None, "options do not fit")]:
        with pytest.raises(ValueError, match=error):
            load_provider(path, options)
    with pytest.raises(ValidationError, match="dotted path"):
        AlertSettings(sms_provider="alerts.sms.WebhookSmsProvider")


# --- what the settings turn on -------------------------------------------------------------------
def test_only_the_configured_channels_are_built(wecom):
    assert set(build_channels(AlertSettings())) == {"wecom_robot"}
    settings = AlertSettings(wecom_robot_base_url=wecom.base_url + "/", wecom_base_url=wecom.base_url,
                             wecom_corp_id=CORP_ID, wecom_agent_id=AGENT_ID, wecom_secret=SECRET,
                             smtp_host="smtp.example.com", smtp_from="alerts@tongban.example",
                             sms_provider="alerts.sms:WebhookSmsProvider",
                             sms_options={"url": "https://sms.example/send", "token": "t"})
    channels = build_channels(settings)
    assert set(channels) == {"wecom_robot", "wecom_app", "email", "sms"}
    assert all(channels[name].name == name for name in channels)
    channels["wecom_robot"].send(ROBOT_KEY, message())
    channels["wecom_app"].send("WangGong", message())
    assert len(wecom.robot_texts()) == 1 and len(wecom.app_messages("WangGong")) == 1
    assert SECRET not in repr(settings)


# --- nothing personal, whatever the channel --------------------------------------------------------
def test_no_alert_carries_the_childs_name_or_the_parents_words(wecom, certificate):
    alert = message()
    for form in (alert.title(), alert.text(), alert.markdown(), alert.summary(), alert.brief(), repr(alert)):
        assert_nothing_personal(form)
    robot = WeComRobotChannel(base_url=wecom.base_url, timeout=2)
    robot.send(ROBOT_KEY, alert)
    for message_type in ("textcard", "text"):
        app_channel(wecom, message_type=message_type).send("WangGong", alert)
    gateway = Gateway()
    sms(gateway).send("13800138000", alert)
    controller, mailbox = smtp_server(certificate, implicit_tls=False)
    try:
        email_channel(certificate, "starttls", controller.port).send("a@b.example", alert)
    finally:
        controller.stop()
    sent = [json.dumps(call["body"], ensure_ascii=False) for call in wecom.calls]
    sent += [r.content.decode("utf-8") for r in gateway.requests]
    sent += [m.as_string() + m.get_content() for m in mailbox.messages]
    assert len(sent) == 5
    for body in sent:
        assert "U-000123" in body
        assert_nothing_personal(body)
