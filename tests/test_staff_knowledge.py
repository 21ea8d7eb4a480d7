"""Checklists through the staff app, on SQLite and PostgreSQL: upload, preview, publish, and the
running bot answers from the new version; uploads that fail to parse change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from knowledge.store import shipped_dir
from tests.test_staff_support import (BAOAN, csrf_of, hidden_fields, own_kb, staff_app_own_kb,  # noqa: F401
                                      staff_backend)

DATA = Path(__file__).parent / "data"
EXAMPLE = shipped_dir() / "example-shenzhen-baoan.yaml"
NEW_TITLE = "【示例】新版：紫檀小学插班申请"
NEW_CONTENT = "（示例数据）新版内容：随迁子女可在每学期开学前两周向紫檀小学申请插班，带上居住证和学籍证明。"


def _upload(client, files: dict, data: dict):
    page = client.get("/staff/knowledge")
    assert page.status_code == 200
    hidden = hidden_fields(page.text, "/staff/knowledge/upload")
    return client.post("/staff/knowledge/upload", data={**hidden, **data}, files=files, follow_redirects=False)


def _new_version_yaml() -> bytes:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    data["items"][0]["title"] = NEW_TITLE
    data["items"][0]["content"] = NEW_CONTENT
    data["items"][0]["keywords"] = ["紫檀小学", "插班"]
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False).encode("utf-8")


def _versions(kb) -> dict:
    return {cid: sorted(v) for cid, v in kb.snapshot.catalog.versions.items()}


def _stored_files(kb) -> list[str]:
    return sorted(str(p) for p in kb.store.data_dir.rglob("*.yaml"))


@pytest.mark.slow
def test_upload_preview_publish_and_the_bot_answers_from_the_new_version(staff_app_own_kb):
    app = staff_app_own_kb
    kb = app.runtime.knowledge
    app.user("admin", "admin", "national")
    client = app.login("admin")
    listing = client.get("/staff/knowledge").text
    assert 'data-checklist="example-shenzhen-baoan"' in listing and "第 1 版" in listing

    before = (_versions(kb), _stored_files(kb), kb.snapshot.generation)
    preview = _upload(client, {"file": ("baoan-v2.yaml", _new_version_yaml(), "application/x-yaml")}, {"kind": "yaml"})
    assert preview.status_code == 200, preview.text
    assert "文件已通过校验" in preview.text and NEW_TITLE in preview.text and "第 2 版" in preview.text
    assert (_versions(kb), _stored_files(kb), kb.snapshot.generation) == before  # nothing published yet
    hits = kb.search("紫檀小学插班", BAOAN).hits
    assert not hits or hits[0].entry.item.title != NEW_TITLE

    token_page = preview.text
    done = client.post("/staff/knowledge/publish", data=hidden_fields(token_page, "/staff/knowledge/publish"),
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/staff/knowledge?done=published"
    assert "新版本已发布" in client.get(done.headers["location"]).text
    assert _versions(kb)["example-shenzhen-baoan"] == [1, 2]
    assert kb.snapshot.generation == before[2] + 1
    # the running app answers from it at once, through the same knowledge base the bot uses
    found = client.get("/knowledge/search", params={"q": "紫檀小学怎么插班", "locality": BAOAN}).json()
    assert found["results"][0]["title"] == NEW_TITLE and found["results"][0]["checklist"]["version"] == 2
    assert app.runtime.engine.knowledge is kb
    (event,) = app.audit("knowledge.publish")
    assert event.actor == "admin" and event.target == "checklist:example-shenzhen-baoan" and "version=2" in event.detail
    # the preview token is used up
    again = client.post("/staff/knowledge/publish", data={"csrf_token": csrf_of(token_page), "token": "x"})
    assert again.status_code == 400 and "预览已过期或不存在" in again.text


def test_uploads_that_fail_to_parse_are_rejected_with_reasons_and_change_nothing(staff_app_own_kb):
    app = staff_app_own_kb
    kb = app.runtime.knowledge
    app.user("admin", "admin", "national")
    client = app.login("admin")
    before = (_versions(kb), _stored_files(kb), kb.snapshot.generation)

    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    del data["checklist"]["issuer"]
    data["items"][1]["category"] = "flying"
    data["items"][2]["source_url"] = "ftp://x"
    bad = yaml.safe_dump(data, allow_unicode=True).encode("utf-8")
    response = _upload(client, {"file": ("bad.yaml", bad, "application/x-yaml")}, {"kind": "yaml"})
    assert response.status_code == 400 and "未做任何更改" in response.text
    for reason in ("issuer：缺少此字段", "未知类别 &#39;flying&#39;", "须为 http(s) 链接"):
        assert reason in response.text, reason

    broken = _upload(client, {"file": ("broken.yaml", b"checklist: [unclosed\nitems: {", "text/plain")}, {"kind": "yaml"})
    assert broken.status_code == 400 and "YAML 格式错误" in broken.text
    gbk = _upload(client, {"file": ("gbk.yaml", "清单".encode("gbk"), "text/plain")}, {"kind": "yaml"})
    assert gbk.status_code == 400 and "UTF-8" in gbk.text
    empty = _upload(client, {"file": ("empty.yaml", b"", "text/plain")}, {"kind": "yaml"})
    assert empty.status_code == 400 and "上传的文件是空的" in empty.text
    no_file = _upload(client, {}, {"kind": "yaml"})
    assert no_file.status_code == 400 and "请选择要上传的文件" in no_file.text

    no_outline = _upload(client, {"file": ("notice.txt", "关于做好流动儿童工作的通知\n请各单位认真落实。".encode(), "text/plain")},
                         {"kind": "notice", "locality": BAOAN, "title": "通知", "published": "2026-01-01"})
    assert no_outline.status_code == 400 and "没有读到任何服务项目" in no_outline.text
    missing = _upload(client, {"file": ("notice.txt", (DATA / "notice_plain.txt").read_bytes(), "text/plain")},
                      {"kind": "notice", "locality": "火星", "title": "", "published": "明年"})
    assert missing.status_code == 400
    for reason in ("无法识别这个地区", "发布日期的格式不对"):  # the title may be left empty
        assert reason in missing.text, reason
    assert 'value="火星"' in missing.text  # what was typed is kept

    assert (_versions(kb), _stored_files(kb), kb.snapshot.generation) == before
    assert app.audit("knowledge.publish") == []


@pytest.mark.slow
def test_a_published_notice_goes_through_the_ingester_and_areas_limit_publishing(staff_app_own_kb):
    app = staff_app_own_kb
    kb = app.runtime.knowledge
    before = (_versions(kb), _stored_files(kb), kb.snapshot.generation)
    app.user("baoan", "civil_affairs", BAOAN)
    client = app.login("baoan")
    preview = _upload(client, {"file": ("notice.txt", (DATA / "notice_plain.txt").read_bytes(), "text/plain")},
                      {"kind": "notice", "locality": "深圳市宝安区", "title": "宝安区流动儿童关爱服务清单实施细则",
                       "published": "2025-01-01", "issuer": "宝安区民政局", "url": "https://example.invalid/n"})
    assert preview.status_code == 200, preview.text
    html = preview.text
    assert "广东省深圳市宝安区（440306）" in html and "二、（一）" in html and "学前教育" in html
    assert "市医保局" in html and "第 1 版" in html and "（新清单）" in html
    # a national checklist, or another district's, is not this user's to publish
    national = EXAMPLE.read_text(encoding="utf-8").replace('code: "440306"', 'code: "national"')
    refused = _upload(client, {"file": ("n.yaml", national.encode(), "text/plain")}, {"kind": "yaml"})
    assert refused.status_code == 400 and "不在您的管辖范围内" in refused.text
    other = EXAMPLE.read_text(encoding="utf-8").replace('code: "440306"', 'code: "440305"')
    assert _upload(client, {"file": ("o.yaml", other.encode(), "text/plain")}, {"kind": "yaml"}).status_code == 400
    # a preview belongs to its uploader
    token = html.split('name="token" value="')[1].split('"')[0]
    app.user("admin", "admin", "national")
    admin = app.login("admin")
    page = admin.get("/staff/knowledge").text
    stolen = admin.post("/staff/knowledge/publish", data={"csrf_token": csrf_of(page), "token": token})
    assert stolen.status_code == 400 and "预览已过期或不存在" in stolen.text
    assert (_versions(kb), _stored_files(kb), kb.snapshot.generation) == before
    assert app.audit("knowledge.publish") == []
    # the uploader publishes it: the version keeps the notice it was read from (its 原文 page)
    published = client.post("/staff/knowledge/publish",
                            data={"csrf_token": csrf_of(client.get("/staff/knowledge").text), "token": token})
    assert published.status_code in (200, 303), published.text
    (stored,) = [c for c in kb.snapshot.catalog.current if c.header.title == "宝安区流动儿童关爱服务清单实施细则"]
    assert "普惠性幼儿园" in stored.header.source_text and "市医保局负责" in stored.header.source_text
