"""Local lists as published (issue 17), the parts that need no model: a clause naming several services
split into one item per service, table rows made items, the local item replacing the national one of
its service (and only of its service), the source line naming the local list, and what a new version
changes."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pytest

from knowledge.citation import basis
from knowledge.diff import compare, runs
from knowledge.ingest import ParsedClause
from knowledge.ingest_store import departments_of, prose_items, row_items, split_services
from knowledge.retrieval import _local_first
from knowledge.schema import Authority, Checklist, ChecklistHeader, ChecklistItem, Locality

# ---------------------------------------------------------------- a clause naming several services

KEYWORDS = {"低保": "basic_living", "临时救助": "temporary_assistance", "公租房": "housing", "疫苗": "immunization"}


def fake_classify(texts):
    """Sure of a sentence naming one service's word, unsure of the rest; the whole clause: the first word."""
    out = []
    for text in texts:
        found = [code for word, code in KEYWORDS.items() if word in text]
        out.append((found[0], 0.9) if len(set(found)) == 1 else (found[0] if found else "child_protection", 0.3))
    return out


def clause(content: str, title: str = "加强基本生活保障", departments=("民政部门",)) -> ParsedClause:
    return ParsedClause("三、（十）", title, content, list(departments), "basic_living")


def test_a_clause_naming_two_services_becomes_two_items_with_the_clause_and_departments():
    text = ("符合条件的流动儿童家庭按规定纳入低保范围，由居住地审核。"
            "对遭遇突发困难的家庭，及时给予临时救助，急难情况可先行救助后补办手续。")
    parts = split_services(clause(text), fake_classify)
    assert [(category, content) for _, content, category, _ in parts] == [
        ("basic_living", "符合条件的流动儿童家庭按规定纳入低保范围，由居住地审核。"),
        ("temporary_assistance", "对遭遇突发困难的家庭，及时给予临时救助，急难情况可先行救助后补办手续。")]
    assert parts[0][0] == "符合条件的流动儿童家庭按规定纳入低保范围，由居住地审核"  # the first sentence
    items, confidence = prose_items([clause(text)], classify=fake_classify)
    assert [(i.id, i.clause, i.departments) for i in items] == [
        ("C01a", "三、（十）", ["民政部门"]), ("C01b", "三、（十）", ["民政部门"])]
    assert confidence == {"C01a": 0.9, "C01b": 0.9}


def test_unsure_and_short_sentences_stay_with_their_neighbours():
    text = ("符合条件的流动儿童家庭按规定纳入低保范围，由居住地审核。各地要做好工作。"
            "对遭遇突发困难的家庭，及时给予临时救助，急难情况可先行救助。低保再说。")
    parts = split_services(clause(text), fake_classify)
    assert len(parts) == 2
    assert parts[0][1].endswith("各地要做好工作。")  # unsure: with the sentence before it
    assert parts[1][1].endswith("低保再说。")  # a service of its own, but too short to be an item


def test_a_clause_of_one_service_stays_whole():
    text = "符合条件的流动儿童家庭按规定纳入低保范围，由居住地审核。低保标准按当地规定执行，按月发放到户。"
    [(title, content, category, _)] = split_services(clause(text), fake_classify)
    assert (title, content, category) == ("加强基本生活保障", text, "basic_living")
    # without a classifier nothing is split and the keyword guess stands
    items, confidence = prose_items([clause(text)])
    assert [i.id for i in items] == ["C01"] and confidence == {}


# ---------------------------------------------------------------- table rows

def row(**fields):
    base = dict(number="", category="", item="", service_object="", content="", departments="", channel="",
                extra=(), where="表1 第1行")
    return SimpleNamespace(**{**base, **fields})


def test_table_rows_become_items_with_their_columns():
    rows = [row(number="1", category="社会保障", item="临时救助", service_object="遭遇急难的流动儿童家庭",
                content="急难情况可先行救助。", departments="市民政局、各区民政局", channel="拨打12345",
                extra=(("政策依据", "社会救助暂行办法"),)),
            row(number="2", category="社会保障", item="", content=""),  # an empty row: no item
            row(number="", item="疫苗接种", content="", where="表1 第4行")]
    items, confidence = row_items(rows, url="https://example.gov.cn/list", classify=fake_classify)
    first, second = items
    assert (first.id, first.clause, first.title, first.service_object) == ("R001", "第1项", "临时救助", "遭遇急难的流动儿童家庭")
    assert first.content == "急难情况可先行救助。\n政策依据：社会救助暂行办法"
    assert first.departments == ["市民政局", "各区民政局"] and first.how_to_apply == "拨打12345"
    assert first.category == "temporary_assistance" and first.source_url == "https://example.gov.cn/list"
    assert (second.id, second.clause, second.content, second.category) == ("R002", "表1 第4行", "疫苗接种", "immunization")
    assert second.service_object.startswith("流动儿童及其家庭")
    assert confidence == {"R001": 0.9, "R002": 0.9}


@pytest.mark.parametrize("cell, names", [
    ("市教育局、市公安局", ["市教育局", "市公安局"]),
    ("牵头单位：区民政局；配合单位：区财政局", ["区民政局", "区财政局"]),
    ("市卫生健康委\n市疾控中心/各社区卫生服务中心", ["市卫生健康委", "市疾控中心", "各社区卫生服务中心"]),
    ("区教育局、区教育局", ["区教育局"]),
])
def test_departments_of_a_cell(cell, names):
    assert departments_of(cell) == names


# ---------------------------------------------------------------- local first

def test_a_local_item_close_behind_replaces_the_national_one_of_its_service():
    # national school item 0.80, local school item 0.76 (within the margin), local housing item 0.50
    scores = np.array([0.80, 0.76, 0.50, 0.70], dtype=np.float32)
    ranks = np.array([1, 0, 0, 1])  # 0: the place's own list; 1: national
    categories = ["compulsory_education", "compulsory_education", "housing", "housing"]
    adjusted, replaced = _local_first(scores, ranks, categories, margin=0.06)
    assert adjusted[1] > adjusted[0] and replaced == {1: 0}
    assert adjusted[2] == scores[2]  # far behind the national housing item: another service, left alone
    assert list(np.argsort(-adjusted)) == [1, 0, 3, 2]


def test_a_category_with_local_items_alone_is_left_as_it_is():
    scores = np.array([0.60, 0.70, 0.65, 0.90], dtype=np.float32)
    adjusted, replaced = _local_first(scores, np.array([0, 0, 1, 0]), ["housing", "childcare", "childcare", "exams"],
                                      margin=0.06)
    # housing and exams have no less local item: nothing to replace; childcare's local item is first already
    assert list(adjusted) == list(scores) and replaced == {1: 2}


def test_a_local_item_of_another_service_of_the_category_is_not_lifted():
    scores = np.array([0.82, 0.70], dtype=np.float32)
    adjusted, replaced = _local_first(scores, np.array([1, 0]), ["compulsory_education"] * 2, margin=0.06)
    assert list(adjusted) == list(scores) and replaced == {}


def test_every_local_item_near_the_top_keeps_its_order_above_the_national_one():
    scores = np.array([0.80, 0.78, 0.77], dtype=np.float32)
    adjusted, replaced = _local_first(scores, np.array([1, 0, 0]), ["housing"] * 3, margin=0.06)
    assert list(np.argsort(-adjusted)) == [1, 2, 0] and replaced == {1: 0}


# ---------------------------------------------------------------- the source line

def header(**fields) -> ChecklistHeader:
    base = dict(id="410100-care-list", locality=Locality(code="410100", name="河南省郑州市"),
                title="郑州市流动儿童关爱服务清单（测试）", issuer="郑州市民政局", published=dt.date(2026, 1, 15),
                version=1, authority=Authority.OFFICIAL)
    return ChecklistHeader(**{**base, **fields})


def item(**fields) -> ChecklistItem:
    base = dict(id="R001", category="temporary_assistance", title="临时救助", service_object="流动儿童家庭",
                content="急难情况可先行救助。", clause="第1项")
    return ChecklistItem(**{**base, **fields})


def test_a_local_lists_source_line_names_the_issuer_and_a_later_version_when_it_was_updated():
    entry = SimpleNamespace(checklist=header(), item=item())
    assert basis(entry) == "依据：郑州市民政局《郑州市流动儿童关爱服务清单（测试）》 第1项，2026-01-15"
    entry = SimpleNamespace(checklist=header(version=2, published=dt.date(2026, 3, 2)), item=item())
    assert basis(entry) == "依据：郑州市民政局《郑州市流动儿童关爱服务清单（测试）》 第1项，2026年3月更新"
    national = header(locality=Locality(code="national", name="全国"), issuer="民政部等", doc_number="民发〔2024〕35号",
                      title="加强流动儿童关爱保护行动方案", published=dt.date(2024, 9, 3))
    entry = SimpleNamespace(checklist=national, item=item(clause="三、（八）"))
    assert basis(entry) == "依据：《加强流动儿童关爱保护行动方案》民发〔2024〕35号 三、（八），2024-09-03"
    entry = SimpleNamespace(checklist=header(issuer="发布机关未注明"), item=item())
    assert basis(entry).startswith("依据：《郑州市")


# ---------------------------------------------------------------- versions

def checklist(*items: ChecklistItem, **fields) -> Checklist:
    return Checklist(header=header(**fields), items=tuple(items))


def test_a_new_version_shows_what_was_added_removed_and_changed():
    old = checklist(item(id="R001", title="临时救助", content="急难情况可先行救助。"),
                    item(id="R002", title="公租房", category="housing", content="符合条件的家庭可申请公租房。"),
                    item(id="R003", title="疫苗接种", category="immunization", content="在居住地接种。"))
    new = checklist(item(id="R001", title="托育服务", category="childcare", content="就近提供普惠托育。"),
                    item(id="R002", title="临时救助", content="急难情况可先行救助，五个工作日内办结。",
                         departments=["市民政局"]),
                    item(id="R003", title="疫苗接种", category="immunization", content="在居住地接种。"),
                    published=dt.date(2026, 3, 2))
    changes = compare(old, new)
    assert [i.title for i in changes.added] == ["托育服务"]
    assert [i.title for i in changes.removed] == ["公租房"]
    [change] = changes.changed
    assert change.new.title == "临时救助" and [f.name for f in change.fields] == ["内容", "责任单位"]
    content = change.fields[0]
    assert [(r.kind, r.text) for r in content.runs] == [
        ("same", "急难情况可先行救助"), ("added", "，五个工作日内办结"), ("same", "。")]
    assert changes.unchanged == 1 and changes.summary() == "新增 1 条，删除 1 条，修改 1 条，未变 1 条"
    assert [(f.name, f.old, f.new) for f in changes.header] == [("发布日期", "2026-01-15", "2026-03-02")]


def test_a_renamed_item_with_the_same_text_is_a_change_not_a_removal():
    old = checklist(item(id="R001", title="临时救助", content="遭遇急难的流动儿童家庭可申请临时救助，急难情况可先行救助。"))
    new = checklist(item(id="R001", title="临时救助（急难型）", content="遭遇急难的流动儿童家庭可申请临时救助，急难情况可先行救助。"))
    changes = compare(old, new)
    assert not changes.added and not changes.removed
    assert [f.name for f in changes.changed[0].fields] == ["名称"]


def test_a_first_version_is_all_new():
    changes = compare(None, checklist(item()))
    assert len(changes.added) == 1 and changes.any


def test_runs_of_characters():
    assert [(r.kind, r.text) for r in runs("abc", "abd")] == [("same", "ab"), ("removed", "c"), ("added", "d")]
