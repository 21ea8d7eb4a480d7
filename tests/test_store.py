"""Versions, supersession, and 'a broken file never takes down what is served'."""

from __future__ import annotations

import pytest

from knowledge.store import ChecklistStore
from tests.conftest import make_settings, seed_caches
from tests.helpers import checklist_dict, item, write_checklist
from tongban.runtime import knowledge_base

SZ = [item("S1", "housing", "深圳公租房", "符合条件的流动儿童家庭可以申请深圳公租房轮候。")]


def test_new_version_supersedes_and_old_stays_readable(tmp_path):
    store = ChecklistStore(tmp_path, include_shipped=False)
    write_checklist(tmp_path / "sz", "v1.yaml", checklist_dict("sz-list", "440300", "深圳市", SZ))
    catalog = store.load()
    v1 = catalog.get("sz-list")
    updated = v1.model_copy(update={"items": (v1.items[0].model_copy(update={"content": "第二版内容。"}),)})
    stored = store.save_new_version(updated, catalog)
    assert stored.header.version == 2
    catalog = store.load()
    assert catalog.get("sz-list").items[0].content == "第二版内容。"
    assert catalog.get("sz-list", 1).header.status.value == "superseded"
    assert catalog.get("sz-list", 2).header.status.value == "current"
    assert "superseded" in (tmp_path / "sz" / "v1.yaml").read_text(encoding="utf-8")
    assert [c.header.version for c in catalog.current if c.id == "sz-list"] == [2]


@pytest.mark.slow
def test_broken_file_keeps_the_version_in_service(tmp_path, embedder, kb):
    settings = make_settings(tmp_path, knowledge={"include_shipped": False, "watch_interval": 0})
    seed_caches(settings, kb)
    path = write_checklist(settings.checklist_dir / "sz", "v1.yaml",
                           checklist_dict("sz-list", "440300", "深圳市", SZ))
    kb = knowledge_base(settings, embedder).start(watch=False)
    assert kb.search("公租房怎么申请", "440300").hits[0].entry.item.id == "S1"
    path.write_text(path.read_text(encoding="utf-8").replace("category: housing", "category: houses"),
                    encoding="utf-8")
    kb.reload()
    assert kb.errors and "条目 S1 的字段 category" in str(kb.errors[0])
    assert kb.search("公租房怎么申请", "440300").hits[0].entry.item.id == "S1"


@pytest.mark.slow
def test_broken_new_file_is_refused_alone(tmp_path, embedder, kb):
    settings = make_settings(tmp_path, knowledge={"include_shipped": False, "watch_interval": 0})
    seed_caches(settings, kb)
    write_checklist(settings.checklist_dir / "sz", "v1.yaml", checklist_dict("sz-list", "440300", "深圳市", SZ))
    (settings.checklist_dir / "bad.yaml").write_text("checklist: {id: x}\nitems: []\n", encoding="utf-8")
    kb = knowledge_base(settings, embedder).start(watch=False)
    assert len(kb.snapshot.catalog.current) == 1
    assert any("bad.yaml" in str(e) for e in kb.errors)
