"""The WeChat account's own set-up against the fake WeChat API (tests/fake_wechat.py): the custom menu
from YAML (``tongban wechat menu``: every rule refused before anything is sent, the JSON WeChat
receives, one token refresh), committees' QR codes (``tongban wechat qrcode``: stored, reused, renewed,
refused), and the staff committee page and poster with the WeChat QR code beside the Telegram one."""

from __future__ import annotations

import io
from urllib.parse import quote

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from ledger.committees import create_committee
from ledger.models import AuditEvent, Committee, WeChatQrCode
from tests.fake_wechat import APP_ID, SECRET, TOKEN
from tests.test_staff_support import (BAOAN, BOT, LIUTANG, XIXIANG, StaffApp, build_settings, committee, csrf_of,
                                      post_form, staff_app, staff_backend)  # noqa: F401

ASK = {"name": "问政策", "type": "click", "key": "ask"}


def _menu_refusal(text: str) -> str:
    from bot.wechat.menu import MenuError, load_menu

    with pytest.raises(MenuError) as refused:
        load_menu(text, "test.yml")
    return str(refused.value)


def _yaml(buttons: list) -> str:
    import yaml

    return yaml.safe_dump({"button": buttons}, allow_unicode=True)


# --- the menu file: each of WeChat's rules, refused before WeChat is asked ---------------------------

@pytest.mark.parametrize("buttons, refusal", [
    ([ASK] * 4, "应是 1–3 个按钮的列表"),
    ([], "应是 1–3 个按钮的列表"),
    ([{"name": "更多", "sub_button": [ASK] * 6}], "第 1 个按钮：sub_button 应是 1–5 个子按钮的列表"),
    ([{"name": "更多", "sub_button": []}], "sub_button 应是 1–5 个子按钮的列表"),
    ([{**ASK, "name": "政策问答咨询"}], "第 1 个按钮：名称“政策问答咨询”有 18 字节，超过 16 字节"),
    ([{"name": "更多", "sub_button": [ASK, {**ASK, "name": "问" * 21}]}], "第 1 个按钮的第 2 个子按钮：名称"),
    ([{**ASK, "name": " "}], "缺少名称 name"),
    ([{**ASK, "name": "问\n政策"}], "不能有换行或控制字符"),
    ([{**ASK, "key": "k" * 129}], "key 超过 128 字节"),
    ([{**ASK, "key": "weather"}], "童伴不认识 key “weather”（可用：ask, apply, status"),
    ([{"name": "问政策", "type": "click"}], "click 按钮需要 key"),
    ([{"name": "官网", "type": "view"}], "view 按钮需要网址 url"),
    ([{"name": "官网", "type": "view", "url": "javascript:alert(1)"}], "网址应以 http:// 或 https:// 开头"),
    ([{"name": "官网", "type": "view", "url": "ftp://mzj.example.gov.cn/"}], "网址应以 http:// 或 https:// 开头"),
    ([{"name": "官网", "type": "view", "url": "https://mzj.example.gov.cn/a b"}], "不含空格"),
    ([{"name": "官网", "type": "view", "url": "https://" + "a" * 1020 + ".cn"}], "网址超过 1024 字节"),
    ([{"name": "官网", "type": "view", "url": "https://mzj.example.gov.cn/", "key": "ask"}], "view 按钮不用 key"),
    ([{**ASK, "url": "https://mzj.example.gov.cn/"}], "click 按钮不用 url"),
    ([{"name": "扫一扫", "type": "scancode_push", "key": "ask"}], "type 应为 click（点击，发给童伴）或 view"),
    ([{"name": "问政策", "key": "ask"}], "type 应为 click"),
    ([{**ASK, "media_id": "x"}], "不认识的字段 media_id"),
    ([{"name": "更多", "type": "click", "key": "ask", "sub_button": [ASK]}], "有子菜单的按钮不能再有 type、key 或 url"),
    ([{"name": "更多", "sub_button": [{"name": "再多", "sub_button": [ASK]}]}], "不认识的字段 sub_button"),
    (["问政策"], "第 1 个按钮：应是一个有 name 的条目"),
])
def test_each_menu_rule_is_refused_with_where_and_why(buttons, refusal):
    assert refusal in _menu_refusal(_yaml(buttons))


@pytest.mark.parametrize("text, refusal", [
    ("button: [", "YAML 格式错误"),
    ('button: !!python/object/apply:os.system ["echo hi"]', "YAML 格式错误"),  # no tags that run code
    ("button:\n  - {name: 问政策, name: 查进度, type: click, key: ask}\n", "第 2 行 (line 2)：YAML 格式错误 "
                                                                       "(YAML error): 重复的键 (repeated key) 'name'"),
    ("button: " + "[" * 1000 + "]" * 1000, "YAML 嵌套过深"),
    ("- 问政策\n", "文件应只有一项 button"),
    ("button:\n  - {name: 问政策, type: click, key: ask}\nmatchrule: {sex: '1'}\n", "文件应只有一项 button"),
    ("", "文件应只有一项 button"),
    # nine times nine times nine references to one list: refused by its length, not walked
    ("button: [&a [x, x, x, x, x, x, x, x, x], &b [*a, *a, *a, *a, *a, *a, *a, *a, *a], [*b, *b, *b, *b, *b, *b, "
     "*b, *b, *b], x]", "应是 1–3 个按钮的列表"),
])
def test_hostile_or_broken_yaml_is_refused(text, refusal):
    assert refusal in _menu_refusal(text)


def test_every_problem_is_listed_at_once_in_chinese_and_english():
    message = _menu_refusal(_yaml([{**ASK, "key": "weather"}, {"name": "更多", "sub_button": [{"name": "官网"}]}]))
    assert "菜单没有通过检查，没有发给微信 (menu refused, nothing sent)" in message
    assert "第 1 个按钮：童伴不认识 key" in message and "(button 1: unknown key" in message
    assert "第 2 个按钮的第 1 个子按钮：type 应为 click" in message and "(button 2, sub-button 1: type" in message


def test_menu_files_too_large_not_utf8_or_missing(tmp_path):
    from bot.wechat.menu import MenuError, read_menu

    big, latin1, missing = tmp_path / "big.yml", tmp_path / "latin1.yml", tmp_path / "missing.yml"
    big.write_text("# " + "x" * 17_000 + "\n" + _yaml([ASK]))
    latin1.write_bytes("button:\n  - {name: 'caf\xe9', type: click, key: ask}\n".encode("latin-1"))
    for path, refusal in ((big, "文件超过 16 KiB"), (latin1, "文件不是 UTF-8 编码"), (missing, "无法读取文件")):
        with pytest.raises(MenuError, match=refusal):
            read_menu(path)


def test_the_shipped_menu_passes_and_uses_only_keys_the_channel_understands():
    from bot.wechat.incoming import MENU_KEYS
    from bot.wechat.menu import MENU_FILE, read_menu

    menu = read_menu(MENU_FILE)
    names = [button["name"] for button in menu["button"]]
    assert names == ["问政策", "申请帮扶", "隐私"]
    leaves = [b for top in menu["button"] for b in top.get("sub_button", [top])]
    assert {b["key"] for b in leaves} <= set(MENU_KEYS) and {"apply", "status", "privacy"} <= {b["key"] for b in leaves}


# --- the commands against the fake ------------------------------------------------------------------

def _command(backend, wechat_fake, monkeypatch, capsys):
    """``tongban(*argv) -> (exit code, stdout, stderr)`` runs ``tongban wechat …`` with the account on
    the fake and ``backend``'s ledger; ``tongban.ledger`` is that ledger (database, cipher)."""
    from tongban import cli, ledger_cli, wechat_cli
    from tongban.settings import Settings
    from tongban.storage import open_ledger

    settings = Settings(env="test", data_dir=backend["data_dir"], database=backend["database"],
                        wechat={"app_id": APP_ID, "app_secret": SECRET, "token": TOKEN, "base_url": wechat_fake.base_url})
    for module in (cli, ledger_cli, wechat_cli):
        monkeypatch.setattr(module, "get_settings", lambda: settings)

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli.main(["wechat", *argv])
        out, err = capsys.readouterr()
        return code, out, err

    run.settings = settings
    run.ledger = open_ledger(settings)
    yield run
    run.ledger[0].dispose()


@pytest.fixture
def tongban(backend, wechat_fake, monkeypatch, capsys):
    """The commands on SQLite and PostgreSQL (where the stored token and QR codes are the point)."""
    yield from _command(backend, wechat_fake, monkeypatch, capsys)


@pytest.fixture
def tongban_sqlite(sqlite_backend, wechat_fake, monkeypatch, capsys):
    yield from _command(sqlite_backend, wechat_fake, monkeypatch, capsys)


def test_a_menu_file_is_created_as_wechat_json_and_shown_and_deleted(wechat_fake, tongban_sqlite, tmp_path):
    menu = tmp_path / "menu.yml"
    menu.write_text("""
button:
  - {name: 问政策, type: click, key: ask}
  - name: 申请帮扶
    sub_button:
      - {name: "  申请帮扶 ", type: click, key: apply}
      - {name: 办事指南, type: view, url: "https://mzj.example.gov.cn/guide?from=wx"}
""", encoding="utf-8")
    code, out, _ = tongban_sqlite("menu", str(menu))
    assert code == 0 and "已创建自定义菜单：问政策 / 申请帮扶" in out
    (request,) = wechat_fake.requests
    assert request["endpoint"] == "menu/create" and request["errcode"] == 0
    assert request["body"] == {"button": [
        {"name": "问政策", "type": "click", "key": "ask"},
        {"name": "申请帮扶", "sub_button": [
            {"name": "申请帮扶", "type": "click", "key": "apply"},
            {"name": "办事指南", "type": "view", "url": "https://mzj.example.gov.cn/guide?from=wx"}]}]}
    code, out, _ = tongban_sqlite("menu", "--show")
    assert code == 0 and '"办事指南"' in out and "mzj.example.gov.cn/guide" in out
    assert tongban_sqlite("menu", "--delete")[0] == 0 and wechat_fake.menu is None
    code, out, _ = tongban_sqlite("menu", "--show")
    assert code == 0 and "公众号目前没有自定义菜单" in out
    assert [r["endpoint"] for r in wechat_fake.requests] == ["menu/create", "menu/get", "menu/delete", "menu/get"]
    assert wechat_fake.token_requests == 1  # the one shared token for every request


def test_the_shipped_menu_by_default_and_check_sends_nothing(wechat_fake, tongban_sqlite):
    from bot.wechat.menu import MENU_FILE, read_menu

    code, out, _ = tongban_sqlite("menu", "--check")
    assert code == 0 and '"申请帮扶"' in out and wechat_fake.requests == [] and wechat_fake.token_requests == 0
    assert tongban_sqlite("menu")[0] == 0
    assert wechat_fake.menu == read_menu(MENU_FILE)


def test_a_refused_file_reaches_no_wechat(wechat_fake, tongban_sqlite, tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(_yaml([ASK, ASK, ASK, ASK]), encoding="utf-8")
    code, _, err = tongban_sqlite("menu", str(bad))
    assert code == 2 and "应是 1–3 个按钮的列表" in err
    code, _, err = tongban_sqlite("menu", str(bad), "--show")
    assert code == 2 and "--show and --delete take no FILE" in err
    assert wechat_fake.requests == [] and wechat_fake.token_requests == 0


def test_an_invalid_token_is_refreshed_once_and_a_refusal_explained(backend, wechat_fake, tongban):
    assert tongban("menu")[0] == 0
    wechat_fake.expire_token()  # another worker, or the console, took a new token: 40001, refreshed, tried again
    assert tongban("menu")[0] == 0
    assert [r["errcode"] for r in wechat_fake.requests] == [0, 40001, 0] and wechat_fake.token_requests == 2
    wechat_fake.fail_next(40001, times=2, endpoint="menu/create")  # still invalid after the refresh: not a third time
    code, _, err = tongban("menu")
    assert code == 1 and "40001" in err and "刷新后仍被拒绝" in err and wechat_fake.token_requests == 3
    assert [r["errcode"] for r in wechat_fake.requests][3:] == [40001, 40001]
    wechat_fake.fail_next(48001, endpoint="menu/create")
    code, _, err = tongban("menu")
    assert code == 1 and "已认证的服务号" in err and "48001" in err
    with tongban.ledger[0].session() as session:  # what the commands fetched is the workers' token
        from ledger.models import WeChatToken

        (row,) = session.scalars(select(WeChatToken)).all()
        assert tongban.ledger[1].decrypt(row.token_enc) == wechat_fake.token


def test_without_an_account_the_commands_say_so(wechat_fake, tongban_sqlite):
    tongban_sqlite.settings.wechat.app_secret = SecretStr("")
    for argv in (("menu",), ("qrcode", "anything")):
        code, _, err = tongban_sqlite(*argv)
        assert code == 2 and "尚未配置微信公众号" in err
    assert wechat_fake.requests == []


# --- committees' QR codes -------------------------------------------------------------------------

def _committees(tongban, *specs: tuple[str, str, bool]) -> None:
    with tongban.ledger[0].session() as session:
        for code, name, active in specs:
            row = create_committee(session=session, name=name, locality_code=LIUTANG, code=code, actor="test",
                                   locality_name="广东省深圳市宝安区西乡街道流塘社区")
            row.active = active


def _stored(tongban) -> dict[str, tuple[str, str]]:
    with tongban.ledger[0].session() as session:
        return {row.scene: (row.ticket, row.url) for row in session.scalars(select(WeChatQrCode))}


def _audited(tongban) -> list[str]:
    with tongban.ledger[0].session() as session:
        return list(session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "committee.wechat_qrcode")
                                    .order_by(AuditEvent.id)))


def test_a_committees_qr_code_is_made_once_stored_reused_and_renewed(backend, wechat_fake, tongban):
    _committees(tongban, ("LiuTang01", "流塘社区居委会", True))
    code, out, _ = tongban("qrcode", "liutang01")  # the code as typed, whatever its letter case
    assert code == 0
    (request,) = wechat_fake.requests
    assert request["body"] == {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "LiuTang01"}}}
    made = wechat_fake.qrcodes["LiuTang01"]
    assert _stored(tongban) == {"LiuTang01": (made["ticket"], made["url"])}
    assert "新生成" in out and made["url"] in out
    assert f"https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket={quote(made['ticket'])}" in out
    assert "+" in made["ticket"] and "+" not in out.split("ticket=")[1].split()[0]  # the ticket escaped

    code, out, _ = tongban("qrcode", "LiuTang01")  # asked again: the stored one, WeChat not asked
    assert code == 0 and "已有" in out and made["url"] in out and len(wechat_fake.requests) == 1
    code, out, _ = tongban("qrcode", "LiuTang01", "--renew")
    renewed = wechat_fake.qrcodes["LiuTang01"]
    assert code == 0 and renewed["ticket"] != made["ticket"] and renewed["url"] in out
    assert _stored(tongban) == {"LiuTang01": (renewed["ticket"], renewed["url"])}
    assert _audited(tongban) == [f"created app_id={APP_ID}", f"renewed app_id={APP_ID}"]


def test_unknown_stopped_and_refused_committees(backend, wechat_fake, tongban):
    _committees(tongban, ("LiuTang01", "流塘社区居委会", True), ("Closed02", "旧居委会", False))
    code, _, err = tongban("qrcode", "NoSuch99")
    assert code == 1 and "没有推荐码为“NoSuch99”的居委会" in err
    code, _, err = tongban("qrcode", "bad code\x1b[31m")
    assert code == 1 and "\x1b" not in err and "没有推荐码为" in err
    code, _, err = tongban("qrcode", "Closed02")
    assert code == 1 and "“旧居委会”（Closed02）已停用" in err
    code, _, err = tongban("qrcode")
    assert code == 2 and "或用 --all" in err
    assert wechat_fake.requests == []
    wechat_fake.fail_next(48001, endpoint="qrcode/create")
    code, _, err = tongban("qrcode", "LiuTang01")
    assert code == 1 and "已认证的服务号" in err and _stored(tongban) == {}
    wechat_fake.stop()  # unreachable
    code, _, err = tongban("qrcode", "LiuTang01")
    assert code == 1 and "连接不上微信接口" in err and SECRET not in err and _stored(tongban) == {}


def test_all_active_committees_at_once(wechat_fake, tongban_sqlite):
    _committees(tongban_sqlite, ("LiuTang01", "流塘社区居委会", True), ("ChenTian2", "臣田社区居委会", True),
                ("Closed02", "旧居委会", False))
    assert tongban_sqlite("qrcode", "LiuTang01")[0] == 0
    code, out, _ = tongban_sqlite("qrcode", "--all")
    assert code == 0 and out.count("新生成") == 1 and out.count("已有") == 1 and "Closed02" not in out
    assert set(_stored(tongban_sqlite)) == {"LiuTang01", "ChenTian2"} and len(wechat_fake.requests) == 2


# --- the staff committee page and the poster -------------------------------------------------------

class _OneStart(StaffApp):
    """Browsers of one running app: the first starts it (its lifespan: the WeChat channel on its own
    event loop), the others only send requests to it, so that the channel is stopped where it ran."""

    def client(self, *, base_url: str = "http://testserver", address: str | None = None):
        from fastapi.testclient import TestClient

        if not self.clients:
            return super().client(base_url=base_url, address=address)
        return TestClient(self.app, base_url=base_url, **({"client": (address, 50000)} if address else {}))


@pytest.fixture
def wechat_staff(staff_backend, kb, interpreter, wechat_fake):
    """The staff app with a WeChat account on the fake."""
    from tongban.app import create_app
    from tongban.runtime import Runtime

    settings = build_settings(staff_backend, wechat={"app_id": APP_ID, "app_secret": SECRET, "token": TOKEN,
                                                     "base_url": wechat_fake.base_url})
    runtime = Runtime.build(settings, knowledge=kb, interpreter=interpreter)
    built = _OneStart(create_app(settings, runtime=runtime), runtime, [])
    built.client()
    yield built
    for client in built.clients:
        client.__exit__(None, None, None)
    runtime.close(stop_knowledge=False)


def _pdf_text(body: bytes) -> str:
    pypdf = pytest.importorskip("pypdf")
    return pypdf.PdfReader(io.BytesIO(body)).pages[0].extract_text()


def _decoded(png: bytes) -> list[str]:
    from tests.test_staff_leaf import _decode_qr, _font_or_skip

    _font_or_skip()
    return sorted(result.text for result in _decode_qr(png))


def test_the_committee_page_makes_the_wechat_qr_code_and_the_poster_carries_both(wechat_staff, wechat_fake):
    committee_id, code = committee(wechat_staff.runtime)
    page_url = f"/staff/committees/{committee_id}"
    action = f"{page_url}/wechat-qrcode"
    wechat_staff.user("xixiang", "supervisor", XIXIANG)  # manages committees, not the WeChat account
    supervisor = wechat_staff.login("xixiang")
    page = supervisor.get(page_url).text
    assert 'id="wechat-missing"' in page and 'id="wechat-form"' not in page and "请民政工作人员或系统管理员生成" in page
    refused = supervisor.post(action, data={"csrf_token": csrf_of(page)}, follow_redirects=False)
    assert refused.status_code == 403 and wechat_fake.requests == []

    wechat_staff.user("baoan", "civil_affairs", BAOAN)
    officer = wechat_staff.login("baoan")
    forged = officer.post(action, data={"csrf_token": "forged"}, follow_redirects=False)
    assert forged.status_code == 403 and wechat_fake.requests == []
    wechat_fake.fail_next(48001, endpoint="qrcode/create")
    failed = post_form(officer, page_url, action, {})
    assert failed.status_code == 409 and "已认证的服务号" in failed.text and 'id="wechat-error"' in failed.text
    made = post_form(officer, page_url, action, {})
    assert made.status_code == 303 and made.headers["location"] == f"{page_url}?done=wechat"
    url = wechat_fake.qrcodes[code]["url"]
    page = officer.get(made.headers["location"]).text
    assert f'id="wechat-url">{url}<' in page and "微信二维码已生成" in page and 'id="wechat-form"' not in page
    assert quote(wechat_fake.qrcodes[code]["ticket"]) in page  # the link to WeChat's picture of it
    (event,) = [e for e in wechat_staff.audit("committee.wechat_qrcode")]
    assert event.actor == "baoan" and event.target == f"committee:{committee_id}"
    again = officer.post(action, data={"csrf_token": csrf_of(page)}, follow_redirects=False)
    assert again.status_code == 303 and len([r for r in wechat_fake.requests if r["errcode"] == 0]) == 1  # reused

    pdf = officer.get(f"{page_url}/poster.pdf")
    assert pdf.status_code == 200
    text = _pdf_text(pdf.content)
    for expected in ("微信扫码关注", "Telegram 扫码", "Telegram 无法扫码", f"https://t.me/{BOT}?start={code}", code):
        assert expected in text, expected
    png = officer.get(f"{page_url}/poster.png")
    assert png.status_code == 200
    assert [e.detail for e in wechat_staff.audit("committee.poster")] == ["pdf wechat", "png wechat"]
    assert _decoded(png.content) == sorted([url, f"https://t.me/{BOT}?start={code}"])


def test_with_only_a_wechat_account_the_poster_has_the_wechat_code_alone(wechat_staff, wechat_fake):
    wechat_staff.runtime.settings.telegram.bot_username = ""
    committee_id, code = committee(wechat_staff.runtime)
    wechat_staff.user("admin", "admin", "national")
    admin = wechat_staff.login("admin")
    page_url = f"/staff/committees/{committee_id}"
    page = admin.get(page_url).text
    assert "尚未配置机器人的用户名" in page and 'id="poster-pdf"' not in page
    assert admin.get(f"{page_url}/poster.pdf").status_code == 409
    assert post_form(admin, page_url, f"{page_url}/wechat-qrcode", {}).status_code == 303
    page = admin.get(page_url).text
    assert 'id="poster-pdf"' in page and "尚未配置机器人的用户名" not in page
    text = _pdf_text(admin.get(f"{page_url}/poster.pdf").content)
    assert "用微信扫码，关注公众号后提问" in text and "t.me" not in text and "Telegram" not in text
    assert _decoded(admin.get(f"{page_url}/poster.png").content) == [wechat_fake.qrcodes[code]["url"]]
    # a committee stopped since: no new code from the page, and no poster
    with wechat_staff.runtime.db.session() as session:
        session.get(Committee, committee_id).active = False
    page = admin.get(page_url).text
    assert 'id="wechat-url"' in page and admin.get(f"{page_url}/poster.pdf").status_code == 403


def test_a_stopped_committee_gets_no_wechat_code_from_the_page(wechat_staff, wechat_fake):
    committee_id, _ = committee(wechat_staff.runtime)
    wechat_staff.user("admin", "admin", "national")
    admin = wechat_staff.login("admin")
    page_url = f"/staff/committees/{committee_id}"
    token = csrf_of(admin.get(page_url).text)
    with wechat_staff.runtime.db.session() as session:
        session.get(Committee, committee_id).active = False
    assert 'id="wechat-form"' not in admin.get(page_url).text
    refused = admin.post(f"{page_url}/wechat-qrcode", data={"csrf_token": token}, follow_redirects=False)
    assert refused.status_code == 409 and "已停用" in refused.text and wechat_fake.requests == []


def test_without_a_wechat_account_the_page_and_poster_are_as_before(staff_app):
    committee_id, _ = committee(staff_app.runtime)
    staff_app.user("admin", "admin", "national")
    admin = staff_app.login("admin")
    page = admin.get(f"/staff/committees/{committee_id}").text
    assert "微信" not in page and 'id="poster-pdf"' in page
    refused = admin.post(f"/staff/committees/{committee_id}/wechat-qrcode", data={"csrf_token": csrf_of(page)},
                         follow_redirects=False)
    assert refused.status_code == 404
    assert "微信" not in _pdf_text(admin.get(f"/staff/committees/{committee_id}/poster.pdf").content)


# --- the poster on its own ------------------------------------------------------------------------

def test_poster_pair_layout_and_its_checks():
    from staff.poster import poster_pdf

    args = dict(link="https://t.me/TongbanBot?start=LiuTang01", committee_name="流塘社区居委会",
                area_name="广东省深圳市宝安区西乡街道", code="LiuTang01")
    wechat = "http://weixin.qq.com/q/02AbCdEfGh0123456789"
    both = poster_pdf(**args, wechat_url=wechat)
    assert both == poster_pdf(**args, wechat_url=wechat) and both != poster_pdf(**args)
    assert "微信扫码关注" in _pdf_text(both) and "微信" not in _pdf_text(poster_pdf(**args))
    for bad in ("javascript:alert(1)", "http://weixin.qq.com/q/a b", "tg://resolve?domain=x"):
        with pytest.raises(ValueError, match="链接无效"):
            poster_pdf(**args, wechat_url=bad)
    with pytest.raises(ValueError, match="没有可印的二维码"):
        poster_pdf(**{**args, "link": None})
    longest = dict(link="https://t.me/T" + "b" * 31 + "?start=" + "Z" * 64, committee_name="新" * 60,
                   area_name="广" * 80, code="Z" * 64)
    png_args = {**longest, "wechat_url": "http://weixin.qq.com/q/" + "Q" * 150}
    assert "新新新" in _pdf_text(poster_pdf(**png_args))  # the longest inputs fit beside two codes
    from staff.poster import poster_png

    assert _decoded(poster_png(**png_args)) == sorted([longest["link"], png_args["wechat_url"]])


def test_a_photo_of_the_pair_poster_still_scans():
    from PIL import Image

    from staff.poster import poster_png

    wechat = "http://weixin.qq.com/q/02" + "x" * 60
    link = "https://t.me/TongbanBot?start=" + "c" * 64
    png = poster_png(link=link, committee_name="流塘社区居委会", area_name="宝安区", code="c" * 64, wechat_url=wechat)
    _decoded(png)  # skips without a CJK font
    small = Image.open(io.BytesIO(png)).resize((600, 849), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    small.save(buffer, "PNG")
    assert _decoded(buffer.getvalue()) == sorted([link, wechat])
