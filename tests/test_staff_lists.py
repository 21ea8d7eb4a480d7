"""Published lists through the staff app (issue 17): a web page, Word, Excel or PDF list uploaded,
the preview staff check — how it was read, each item's category as a choice with the classifier's
probability, unsure ones flagged — a corrected category published, what a new version changes, and
the files refused with a reason on the page."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.local_docs import GUANGZHOU_TITLE, HENAN_TITLE, LOCAL, WUHU_TITLE, ZHENGZHOU_TITLE
from tests.test_staff_support import hidden_fields, own_kb, staff_app_own_kb, staff_backend  # noqa: F401

OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 4096  # an old Word / WPS file's signature
PUBLISHED = "2026-01-15"
ROLE_LABELS = {"number": "序号", "category": "服务类别", "item": "服务项目", "service_object": "服务对象",
               "content": "服务内容", "departments": "责任单位", "channel": "办理渠道", "other": "其他"}
DOCUMENTS = {  # file → (area code, items, kind label, the document's own title)
    "zhengzhou_table.html": ("410100", 14, "网页（HTML）", ZHENGZHOU_TITLE),
    "wuhu_list.docx": ("340200", 16, "Word 文档（.docx）", WUHU_TITLE),
    "henan_list.pdf": ("410000", 22, "PDF 文件", HENAN_TITLE),
    "guangzhou_list.xlsx": ("440100", 15, "Excel 表格（.xlsx）", GUANGZHOU_TITLE),
}
_ROW = re.compile(r'<tr data-item="([^"]+)"( class="check-category")?>(.*?)</tr>', re.S)
_SELECTED = re.compile(r'<option value="([^"]+)" selected>')


def _admin(app):
    app.user("admin", "admin", "national")
    return app.login("admin")


def _upload(client, name: str, data: bytes, **fields):
    page = client.get("/staff/knowledge")
    assert page.status_code == 200
    form = {"kind": "notice", "title": "", "published": PUBLISHED, "issuer": "测试发布机关", **fields}
    return client.post("/staff/knowledge/upload", data={**hidden_fields(page.text, "/staff/knowledge/upload"), **form},
                       files={"file": (name, data, "application/octet-stream")}, follow_redirects=False)


def _rows(html: str) -> dict[str, tuple[bool, str, str]]:
    """The preview's item rows: id → (flagged, the selected category, the row's HTML)."""
    out = {}
    for item_id, flagged, body in _ROW.findall(html.split('id="preview-items"', 1)[1]):
        selected = _SELECTED.findall(body)
        assert len(selected) == 1, (item_id, body)
        out[item_id] = (bool(flagged), selected[0], body)
    return out


def _title(row_html: str) -> str:
    return row_html.split('data-label="名称">', 1)[1].split("</th>", 1)[0]


def _publish(client, preview_html: str, categories: dict[str, str] | None = None, files=None):
    data = {**hidden_fields(preview_html, "/staff/knowledge/publish"), **(categories or {})}
    return client.post("/staff/knowledge/publish", data=data, files=files, follow_redirects=False)


def _percent(p: float) -> str:
    return f"{int(p * 100)}%"


@pytest.mark.slow
@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_each_format_previews_its_items_columns_and_the_classifiers_categories(staff_app_own_kb, name):
    app = staff_app_own_kb
    client = _admin(app)
    code, count, kind_label, title = DOCUMENTS[name]
    data = (LOCAL / name).read_bytes()
    preview = _upload(client, name, data, locality=code)
    assert preview.status_code == 200, preview.text
    html = preview.text
    assert f"共 {count} 条" in html and f"新清单，共 {count} 条" in html
    assert f'<dd id="preview-kind">{kind_label}</dd>' in html
    assert f"<h1>预览：{title}</h1>" in html  # the title field was left empty: the document's own
    # what the desk read, column by column and item by item, is what the page shows
    read = app.runtime.checklists.from_notice(data, name, locality=code, title="", published=dt.date(2026, 1, 15),
                                              url="", issuer="测试发布机关", doc_number=None, checklist_id="")
    columns = html.split('id="preview-columns"', 1)[1].split("</table>", 1)[0]
    assert len(read.headers) >= 5
    for printed, role in read.headers:
        assert f'<th scope="row">{printed}</th><td>{ROLE_LABELS[role]}</td>' in columns, (printed, role)
    for note in read.notes:
        assert note in html
    rows = _rows(html)
    assert list(rows) == [item.id for item in read.checklist.items] and len(rows) == count
    labels = app.runtime.checklists.categories
    for item in read.checklist.items:
        flagged, selected, body = rows[item.id]
        probability = read.confidence[item.id]
        assert selected == item.category
        assert f"自动判断：{labels[item.category]} · {_percent(probability)}" in body
        assert flagged == (probability < 0.5) and ("请核对类别" in body) == flagged
        assert f'name="category_{item.id}"' in body and item.clause in body
    to_check = sum(p < 0.5 for p in read.confidence.values())
    assert (f"有 {to_check} 条的类别请核对" in html) == (to_check > 0)
    assert app.audit("knowledge.publish") == []


def test_unsure_categories_are_flagged_and_counted(staff_app_own_kb, monkeypatch):
    app = staff_app_own_kb
    kb = app.runtime.knowledge
    real = kb.classify

    def unsure_about_vaccines(texts):  # the classifier, made unsure of the rows about vaccines
        return [(code, 0.31 if "疫苗" in text else p) for text, (code, p) in zip(texts, real(texts))]

    monkeypatch.setattr(kb, "classify", unsure_about_vaccines)
    client = _admin(app)
    preview = _upload(client, "zz.html", (LOCAL / "zhengzhou_table.html").read_bytes(), locality="410100")
    assert preview.status_code == 200, preview.text
    rows = _rows(preview.text)
    flagged = [item_id for item_id, (is_flagged, _, _) in rows.items() if is_flagged]
    (vaccines,) = [item_id for item_id, (_, _, body) in rows.items() if _title(body) == "预防接种"]
    assert vaccines in flagged and "· 31%" in rows[vaccines][2] and "请核对类别" in rows[vaccines][2]
    for item_id, (is_flagged, _, body) in rows.items():  # flagged: exactly the rows below 50 %
        shown = int(re.search(r" · (\d+)%", body).group(1))
        assert is_flagged == (shown < 50) and ("请核对类别" in body) == is_flagged, item_id
    assert f"有 {len(flagged)} 条的类别请核对" in preview.text


@pytest.mark.slow
def test_a_category_staff_change_is_published_and_audited(staff_app_own_kb):
    app = staff_app_own_kb
    kb = app.runtime.knowledge
    client = _admin(app)
    preview = _upload(client, "zz.html", (LOCAL / "zhengzhou_table.html").read_bytes(), locality="410100")
    assert preview.status_code == 200, preview.text
    rows = _rows(preview.text)
    first, second = list(rows)[:2]
    assert rows[first][1] != "charity"
    # junk is ignored: fields for items not in the list, a file where a choice should be, an unchanged choice
    done = _publish(client, preview.text, {f"category_{first}": "charity", f"category_{second}": rows[second][1],
                                           "category_R999": "flying", "category_": "x"},
                    files={f"category_{list(rows)[2]}": ("junk.txt", b"flying", "text/plain")})
    assert done.status_code == 303, done.text
    (stored,) = [c for c in kb.snapshot.catalog.current if c.header.title == ZHENGZHOU_TITLE]
    by_id = {item.id: item for item in stored.items}
    assert by_id[first].category == "charity" and by_id[second].category == rows[second][1]
    assert all(by_id[i].category == rows[i][1] for i in rows if i != first)
    (event,) = app.audit("knowledge.publish")
    assert "categories_changed=1" in event.detail and "items=14" in event.detail


def test_an_unknown_category_code_is_refused_and_nothing_is_published(staff_app_own_kb):
    app = staff_app_own_kb
    kb = app.runtime.knowledge
    client = _admin(app)
    preview = _upload(client, "zz.html", (LOCAL / "zhengzhou_table.html").read_bytes(), locality="410100")
    assert preview.status_code == 200, preview.text
    generation = kb.snapshot.generation
    refused = _publish(client, preview.text, {"category_R003": "<script>x</script>"})
    assert refused.status_code == 400 and "类别不在可选范围内" in refused.text and "R003" in refused.text
    assert "<script>x" not in refused.text
    assert kb.snapshot.generation == generation and app.audit("knowledge.publish") == []
    # the preview is still there to publish with a valid choice
    assert _publish(client, preview.text, {"category_R003": "student_aid"}).status_code == 303


def test_files_that_cannot_be_read_are_refused_on_the_page_with_the_form_kept(staff_app_own_kb):
    app = staff_app_own_kb
    kb = app.runtime.knowledge
    client = _admin(app)
    generation = kb.snapshot.generation
    for name in ("清单.doc", "清单.wps", "清单.docx"):  # the bytes decide, not the name
        refused = _upload(client, name, OLE, locality="410100", title="我的标题")
        assert refused.status_code == 400, name
        assert "旧版 Word/WPS 文档" in refused.text and "另存为” .docx 或 PDF" in refused.text, name
        assert 'value="410100"' in refused.text and 'value="我的标题"' in refused.text
        assert 'id="kind-notice" name="kind" value="notice" checked' in refused.text
    # no title typed and none in the file
    untitled = _upload(client, "n.txt", "一、总则\n（一）学前教育。随迁子女可以在居住地申请幼儿园学位。".encode(),
                       locality="410100")
    assert untitled.status_code == 400 and "文件里没有找到清单的标题" in untitled.text
    # too large: documents up to the upload limit (10 MB), YAML up to 2 MB
    limit = app.runtime.settings.limits.staff_upload_bytes
    assert limit == 10 * 1024 * 1024
    big = _upload(client, "big.html", b"<p>" + b"x" * limit, locality="410100")
    assert big.status_code == 400 and "最大 10 MB" in big.text
    big_yaml = _upload(client, "big.yaml", b"#" * (2 * 1024 * 1024 + 1), kind="yaml")
    assert big_yaml.status_code == 400 and "YAML 清单最大 2 MB" in big_yaml.text
    assert kb.snapshot.generation == generation and app.audit("knowledge.publish") == []


def test_a_word_file_named_txt_is_still_read_as_word(staff_app_own_kb):
    client = _admin(staff_app_own_kb)
    preview = _upload(client, "清单.txt", (LOCAL / "wuhu_list.docx").read_bytes(), locality="340200",
                      title="芜湖市清单（改名上传）")
    assert preview.status_code == 200, preview.text
    assert '<dd id="preview-kind">Word 文档（.docx）</dd>' in preview.text and "共 16 条" in preview.text
    assert "<h1>预览：芜湖市清单（改名上传）</h1>" in preview.text  # the typed title wins


def _second_version(html: str) -> bytes:
    """The 郑州 table changed: one row's service replaced by another (one removed, one added), one
    content changed; the other rows as they were."""
    replaced = html.replace("儿童健康管理", "儿童意外伤害急救培训").replace(
        "提供新生儿访视、定期健康检查和生长发育评估等基本公共卫生服务。", "社区每季度为家长开展儿童防溺水、防烫伤和急救技能培训。")
    changed = replaced.replace("凭预防接种证在居住地", "凭预防接种证或电子接种证在居住地")
    assert changed.count("急救技能培训") == 1 and changed.count("电子接种证") == 1
    return changed.encode("utf-8")


@pytest.mark.slow
def test_a_new_version_shows_what_changes_and_keeps_the_categories_staff_chose(staff_app_own_kb):
    app = staff_app_own_kb
    kb = app.runtime.knowledge
    client = _admin(app)
    v1 = (LOCAL / "zhengzhou_table.html").read_text(encoding="utf-8")
    preview = _upload(client, "zz.html", v1.encode("utf-8"), locality="410100")
    assert preview.status_code == 200, preview.text
    rows = _rows(preview.text)
    corrected = next(i for i, row in rows.items() if row[1] != "charity" and _title(row[2]) != "预防接种")
    assert _publish(client, preview.text, {f"category_{corrected}": "charity"}).status_code == 303

    second = _upload(client, "zz-2.html", _second_version(v1), locality="410100", published="2026-03-01")
    assert second.status_code == 200, second.text
    html = second.text
    assert "第 2 版" in html and "新清单" not in html
    changes = html.split('id="preview-changes"', 1)[1].split("</section>", 1)[0]
    assert "新增 1 条，删除 1 条，修改 1 条，未变 12 条" in changes, changes
    assert "<ins>第6项 儿童意外伤害急救培训</ins>" in changes and "<del>第6项 儿童健康管理</del>" in changes
    changed = changes.split('id="changes-changed"', 1)[1]
    assert "预防接种" in changed and "<ins>或电子接种证</ins>" in changed and "内容" in changed
    header = changes.split('id="changes-header"', 1)[1].split("</ul>", 1)[0]
    assert "发布日期" in header and "<del>2026-01-15</del> → <ins>2026-03-01</ins>" in header  # a date: whole
    # the category staff corrected on version 1 is kept (not read again from the text), and said so
    again = _rows(html)
    assert again[corrected][1] == "charity" and "沿用现行版本" in again[corrected][2]
    assert "有 1 条沿用了现行版本的类别" in html
    assert _publish(client, html).status_code == 303
    (stored,) = [c for c in kb.snapshot.catalog.current if c.header.title == ZHENGZHOU_TITLE]
    assert stored.header.version == 2 and len(stored.items) == 14
    assert {i.id: i.category for i in stored.items}[corrected] == "charity"
    events = app.audit("knowledge.publish")
    assert len(events) == 2 and "categories_changed=0" in events[1].detail
