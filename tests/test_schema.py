import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from knowledge.errors import ChecklistValidationError
from knowledge.schema import load_checklist_text
from knowledge.store import shipped_dir

VALID = {
    "checklist": {
        "id": "demo", "locality": {"code": "440306000000", "name": "宝安区"}, "title": "演示清单",
        "issuer": "某局", "doc_number": None, "published": "2025-01-02", "version": 1,
        "status": "current", "authority": "official", "source_url": "https://example.invalid/a",
    },
    "items": [
        {"id": "A1", "category": "immunization", "title": "预防接种", "service_object": "适龄儿童",
         "content": "在居住地接种。", "departments": ["卫生健康局"], "how_to_apply": "",
         "materials": [], "clause": "（一）", "source_url": "https://example.invalid/a",
         "keywords": ["打疫苗", 12355]},
    ],
}


def _load(data) -> object:
    return load_checklist_text(yaml.safe_dump(data, allow_unicode=True), "demo.yaml")


def test_valid_checklist_loads_and_canonicalises_codes():
    checklist = _load(VALID)
    assert checklist.header.locality.code == "440306"
    assert checklist.items[0].keywords == ["打疫苗", "12355"]


def test_error_names_file_item_and_field():
    data = yaml.safe_load(yaml.safe_dump(VALID))
    data["items"][0]["category"] = "schooling"
    del data["items"][0]["content"]
    with pytest.raises(ChecklistValidationError) as caught:
        _load(data)
    message = str(caught.value)
    assert "demo.yaml" in message
    assert "条目 A1 的字段 category" in message and "schooling" in message
    assert "条目 A1 的字段 content：缺少此字段" in message


def test_header_problems_and_duplicate_ids():
    data = yaml.safe_load(yaml.safe_dump(VALID))
    data["checklist"]["authority"] = "rumour"
    data["checklist"]["locality"]["code"] = "44"
    data["items"].append(dict(data["items"][0]))
    with pytest.raises(ChecklistValidationError) as caught:
        _load(data)
    fields = {(p.item, p.field) for p in caught.value.problems}
    assert (None, "authority") in fields
    assert (None, "locality.code") in fields
    assert ("A1", "id") in fields


def test_yaml_syntax_error_is_reported_with_line():
    with pytest.raises(ChecklistValidationError) as caught:
        load_checklist_text("checklist: [\n  items: {", "broken.yaml")
    assert "broken.yaml" in str(caught.value) and "YAML" in str(caught.value)


def test_shipped_checklists_are_valid_and_cover_every_service_category():
    from knowledge.categories import SERVICE_CATEGORIES
    from knowledge.schema import Authority

    checklists = [load_checklist_text(p.read_text(encoding="utf-8"), p.name)
                  for p in sorted(shipped_dir().glob("*.yaml"))]
    authorities = {c.header.authority for c in checklists}
    assert authorities == {Authority.OFFICIAL, Authority.GUIDANCE, Authority.EXAMPLE}
    covered = {i.category for c in checklists if c.header.authority is not Authority.EXAMPLE
               for i in c.items}
    assert set(SERVICE_CATEGORIES) <= covered
    for checklist in checklists:
        assert checklist.id == next(p.stem for p in shipped_dir().glob("*.yaml")
                                    if load_checklist_text(p.read_text(encoding="utf-8"), p.name).id == checklist.id)
        for item in checklist.items:
            assert item.source_url.startswith("http"), item.id
            if checklist.header.authority is Authority.EXAMPLE:
                assert item.title.startswith("【示例】") and "示例" in item.content


def test_national_plan_cites_clauses_four_to_thirteen():
    plan = load_checklist_text((shipped_dir() / "national-action-plan.yaml").read_text(encoding="utf-8"), "plan")
    clauses = {item.clause for item in plan.items}
    for number in ["四", "五", "七", "八", "九", "十", "十一", "十二", "十三"]:
        assert any(f"（{number}）" in c for c in clauses), number


def test_validate_command(tmp_path: Path):
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(VALID, allow_unicode=True), encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    data = yaml.safe_load(yaml.safe_dump(VALID))
    data["items"][0]["source_url"] = "ftp://x"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "tongban.cli", "knowledge", "validate", str(good), str(bad)],
                         capture_output=True, text=True)
    assert run.returncode == 1
    assert "good.yaml: 通过" in run.stdout
    assert "bad.yaml" in run.stderr and "source_url" in run.stderr
