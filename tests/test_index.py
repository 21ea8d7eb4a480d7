"""The index persists, rebuilds when the model or checklists change, and swaps while serving."""

from __future__ import annotations

import threading
import time

import pytest

from tests.conftest import make_settings
from tests.helpers import CountingEmbedder, checklist_dict, item, write_checklist
from tongban.runtime import knowledge_base

ITEMS = [
    item("A1", "immunization", "打疫苗", "在居住地的接种门诊免费接种免疫规划疫苗。"),
    item("A2", "housing", "公租房", "符合条件的家庭可以申请公共租赁住房。"),
]


def _settings(tmp_path):
    return make_settings(tmp_path, knowledge={"include_shipped": False, "watch_interval": 0.2})


@pytest.mark.slow
def test_saved_index_is_reused_and_rebuilt_on_model_change(tmp_path, embedder):
    settings = _settings(tmp_path)
    write_checklist(settings.checklist_dir / "t", "v1.yaml", checklist_dict("t-list", "440300", "深圳市", ITEMS))
    first = CountingEmbedder(embedder)
    knowledge_base(settings, first).start(watch=False)
    assert first.passages == 4  # two views per item
    second = CountingEmbedder(embedder)
    kb = knowledge_base(settings, second).start(watch=False)
    assert second.passages == 0  # loaded from disk
    meta = kb.snapshot.retriever.index.meta
    assert meta["model_id"] == embedder.model_id and meta["dim"] == 384
    other = CountingEmbedder(embedder, model_id="another-model")
    kb = knowledge_base(settings, other).start(watch=False)
    assert other.passages == 4  # different model id: rebuilt
    assert kb.snapshot.retriever.index.meta["model_id"] == "another-model"


@pytest.mark.slow
def test_changed_checklist_embeds_only_what_changed(tmp_path, embedder):
    settings = _settings(tmp_path)
    path = write_checklist(settings.checklist_dir / "t", "v1.yaml",
                           checklist_dict("t-list", "440300", "深圳市", ITEMS))
    knowledge_base(settings, CountingEmbedder(embedder)).start(watch=False)
    changed = checklist_dict("t-list", "440300", "深圳市",
                             ITEMS + [item("A3", "transport", "学生公交卡", "学生可以办理学生公交卡。")])
    write_checklist(path.parent, path.name, changed)
    counting = CountingEmbedder(embedder)
    kb = knowledge_base(settings, counting).start(watch=False)
    assert counting.passages == 2  # only the new item's two views
    assert len(kb.snapshot.retriever.index.entries) == 3


@pytest.mark.slow
def test_hot_swap_while_searching(tmp_path, embedder):
    settings = _settings(tmp_path)
    write_checklist(settings.checklist_dir / "t", "v1.yaml", checklist_dict("t-list", "440300", "深圳市", ITEMS))
    kb = knowledge_base(settings, embedder).start(watch=True)
    failures, done = [], threading.Event()

    def hammer():
        while not done.is_set():
            try:
                assert kb.search("打疫苗去哪", "440300").hits
            except Exception as exc:  # noqa: BLE001 - any failure is a test failure
                failures.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        generation = kb.snapshot.generation
        write_checklist(settings.checklist_dir / "u", "v1.yaml", checklist_dict(
            "u-list", "440306", "宝安区", [item("B1", "childcare", "宝安托育点", "宝安区的普惠托育点。")]))
        deadline = time.monotonic() + 60
        while kb.snapshot.generation == generation and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        done.set()
        for thread in threads:
            thread.join()
        kb.stop()
    assert kb.snapshot.generation == generation + 1, "the watcher did not pick up the new checklist"
    assert not failures
    assert kb.search("托育", "440306").hits[0].entry.item.id == "B1"
