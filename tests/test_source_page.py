"""The stored notice behind an ingested checklist: kept with each version, served with its clauses
anchored, and the only page an answer links to besides a checked official one."""

from __future__ import annotations

import html
import json
import re
import uuid

import pytest

from knowledge.answer import compose, item_answer
from knowledge.citation import link
from knowledge.index import IndexedItem
from knowledge.ingest import read_notice
from knowledge.ingest_store import build_checklist
from knowledge.schema import Checklist, dump_checklist, load_checklist_text
from knowledge.source_page import clause_anchor, clause_link, render, source_path
from tests.conftest import DATA, make_settings, seed_caches

PUBLIC = "https://tongban.example.org"
HOSTILE = """某区流动儿童服务清单
一、入学服务
流动儿童在居住地入学，按规定就近安排。<script>alert("x")</script>（区教育局负责）
二、医保服务
（一）参保。流动儿童可在居住地参加城乡居民医保，不受户籍限制。
（二）异地就医。已参保的流动儿童按规定办理备案后在居住地直接结算。（区医保局负责）
"""


def _checklist(raw: str, checklist_id: str = "440306-source-test") -> Checklist:
    text, clauses = read_notice(raw, html=False)
    header, items = build_checklist(clauses, checklist_id=checklist_id, locality="440306",
                                    locality_name="广东省深圳市宝安区", title="宝安区流动儿童关爱服务清单（测试）",
                                    published=__import__("datetime").date(2025, 3, 1), issuer="宝安区民政局",
                                    url="https://example.invalid/notice", source_text=text)
    return Checklist(header=header, items=tuple(items))


def _sections(page: str) -> dict[str, str]:
    """anchor → the section's text, tags removed, entities decoded, no white space."""
    return {m.group(1): re.sub(r"\s+", "", html.unescape(re.sub(r"<[^>]+>", "", m.group(2))))
            for m in re.finditer(r'<section id="([^"]+)">(.*?)</section>', page, re.S)}


@pytest.mark.parametrize(("ref", "anchor"), [("三、（八）", "c3-8"), ("（七）", "c-7"), ("二、", "c2"),
                                             ("十二、（二十三）", "c12-23"), ("二十、", "c20"), ("前言", "preamble")])
def test_clause_anchor(ref, anchor):
    assert clause_anchor(ref) == anchor


def test_ingested_version_keeps_its_source_text():
    raw = (DATA / "notice_plain.txt").read_text(encoding="utf-8")
    checklist = _checklist(raw)
    assert "普惠性幼儿园" in checklist.header.source_text
    dumped = dump_checklist(checklist)
    assert "source_text: |" in dumped  # a literal block a person can read in the file
    assert load_checklist_text(dumped, "round trip") == checklist


def test_every_item_links_to_a_section_that_holds_its_text():
    checklist = _checklist((DATA / "notice_plain.txt").read_text(encoding="utf-8"))
    sections = _sections(render(checklist))
    assert checklist.items
    for item in checklist.items:
        address = clause_link(checklist.header, item, PUBLIC)
        assert address == f"{PUBLIC}{source_path(checklist.header)}#{clause_anchor(item.clause)}"
        anchor = address.rsplit("#", 1)[1]
        assert re.sub(r"\s+", "", item.content).rstrip("。") in sections[anchor], item.clause


def test_no_link_without_the_text_a_public_address_or_a_stored_notice():
    checklist = _checklist((DATA / "notice_plain.txt").read_text(encoding="utf-8"))
    item = checklist.items[1]
    assert clause_link(checklist.header, item, "") == ""
    changed = item.model_copy(update={"content": item.content + "另外每月发放交通补贴五百元。"})
    assert clause_link(checklist.header, changed, PUBLIC) == ""  # the notice does not say it
    moved = item.model_copy(update={"clause": "九、"})
    assert clause_link(checklist.header, moved, PUBLIC) == ""
    bare = checklist.header.model_copy(update={"source_text": ""})
    assert clause_link(bare, item, PUBLIC) == ""


def test_shipped_items_link_only_to_checked_pages(kb):
    """The shipped lists keep no notice (the plan's text is not ours to copy): no link but a checked one."""
    for entry in kb.snapshot.retriever.index.entries:
        assert link(entry, PUBLIC) == entry.item.verified_url


def test_an_attachment_numbered_anew_gets_anchors_of_its_own():
    raw = HOSTILE + "附件\n二、补充服务\n（一）意外保险。流动儿童可以在学校参加学生意外伤害保险。\n"
    checklist = _checklist(raw)
    sections = _sections(render(checklist))
    assert [i.clause for i in checklist.items].count("二、（一）") == 2
    links = [clause_link(checklist.header, i, PUBLIC).rsplit("#", 1)[1] for i in checklist.items if i.clause == "二、（一）"]
    assert links == ["c2-1", "c2-1~2"]
    for item in checklist.items:
        address = clause_link(checklist.header, item, PUBLIC)
        assert address, item.clause
        anchor = address.rsplit("#", 1)[1]
        assert re.sub(r"\s+", "", item.content).rstrip("。") in sections[anchor], (item.clause, anchor)
    assert len(set(re.findall(r'<section id="([^"]+)"', render(checklist)))) == len(re.findall(r"<section ", render(checklist)))


def test_page_escapes_the_notice():
    page = render(_checklist(HOSTILE))
    assert "<script>" not in page and "&lt;script&gt;" in page
    sections = _sections(page)
    assert "不受户籍限制" in sections["c2-1"] and "直接结算" in sections["c2-2"]


@pytest.fixture(scope="module")
def served(tmp_path_factory, embedder, interpreter, kb):
    """The app over a knowledge base of one ingested notice, with a public address."""
    from fastapi.testclient import TestClient

    from tongban.app import create_app
    from tongban.runtime import Runtime, knowledge_base

    folder = tmp_path_factory.mktemp("source-kb")
    checklist = _checklist((DATA / "notice_plain.txt").read_text(encoding="utf-8"), "440306-source-served")
    (folder / "notices").mkdir()
    (folder / "notices" / "baoan.yaml").write_text(dump_checklist(checklist), encoding="utf-8")
    settings = make_settings(folder, server={"public_url": PUBLIC + "/"},
                             knowledge={"include_shipped": False, "extra_dirs": [folder / "notices"],
                                        "watch_interval": 0})
    seed_caches(settings, kb)
    own = knowledge_base(settings, embedder).start(watch=False)
    runtime = Runtime.build(settings, knowledge=own, interpreter=interpreter)
    with TestClient(create_app(settings, runtime=runtime)) as client:
        yield client, own
    runtime.close()


def _say(client, sender: str, text: str) -> list[dict]:
    response = client.post("/webhooks/rest/webhook",
                           json={"sender": sender, "message": text, "message_id": uuid.uuid4().hex})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.slow
def test_detail_links_to_the_stored_clause_and_the_page_holds_it(served):
    client, kb = served
    entries = kb.snapshot.retriever.index.entries
    assert entries
    for entry in entries:
        sender = client.post("/webhooks/rest/session").json()["sender"]
        payload = "/ask_service" + json.dumps({"item": entry.key, "detail": True}, ensure_ascii=False)
        (reply,) = _say(client, sender, payload)
        found = re.search(r"原文：(\S+)", reply["text"])
        assert found, reply["text"]
        assert reply["custom"]["sources"][0]["link"] == found.group(1)
        path, anchor = found.group(1).removeprefix(PUBLIC).split("#")
        page = client.get(path)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "default-src 'none'" in page.headers["content-security-policy"]
        cited = re.sub(r"\s+", "", entry.item.content).rstrip("。")
        assert cited in _sections(page.text)[anchor]


@pytest.mark.slow
def test_answer_sources_carry_the_link(served):
    _, kb = served
    result = kb.search("流动儿童上普惠性幼儿园", "440306")
    answer = compose(result, min_confidence=0.0, public_url=PUBLIC)
    assert answer.sources[0]["link"].startswith(f"{PUBLIC}/knowledge/checklists/440306-source-served/source")
    assert "原文：" not in answer.text  # links stay behind 详细, off the first screen
    assert "原文：" not in item_answer(result.hits[0].entry).text  # no public address: no link


@pytest.mark.slow
def test_source_route_refuses_what_it_does_not_hold(served, client):
    own, _ = served
    assert own.get("/knowledge/checklists/no-such-list/source").status_code == 404
    assert own.get("/knowledge/checklists/440306-source-served/source?version=9").status_code == 404
    assert own.get("/knowledge/checklists/440306-source-served/source?version=0").status_code == 422
    assert own.get("/knowledge/checklists/" + "x" * 200 + "/source").status_code == 422
    shipped = client.get("/knowledge/checklists/national-action-plan/source")  # the shipped app: no stored notice
    assert shipped.status_code == 404


def test_public_url_setting_is_checked():
    from pydantic import ValidationError

    from tongban.settings import ServerSettings

    assert ServerSettings(public_url=" https://a.example/ ").public_url == "https://a.example"
    for bad in ("javascript:alert(1)", "https://a.example/?x=1", "https://a.example/#x", 'https://a"b', "https://",
                "https://a.example/x\ny"):
        with pytest.raises(ValidationError):
            ServerSettings(public_url=bad)


def _entry(checklist: Checklist, index: int = 0) -> IndexedItem:
    return IndexedItem(checklist=checklist.header, item=checklist.items[index])


def test_checked_page_wins_over_the_stored_notice():
    checklist = _checklist((DATA / "notice_plain.txt").read_text(encoding="utf-8"))
    entry = _entry(checklist, 1)
    assert link(entry, PUBLIC).startswith(PUBLIC)
    checked = IndexedItem(checklist=checklist.header,
                          item=entry.item.model_copy(update={"verified_url": "https://gov.example/notice.html"}))
    assert link(checked, PUBLIC) == "https://gov.example/notice.html"
