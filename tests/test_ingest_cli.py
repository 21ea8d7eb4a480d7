"""`tongban knowledge ingest` end to end: a new version, supersession, served by search."""

from __future__ import annotations

import pytest

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import DATA, make_settings
from tongban.runtime import knowledge_base

pytestmark = pytest.mark.slow  # the command in a fresh data folder: left out of make test-fast


def _tongban(args, data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "TONGBAN_DATA_DIR": str(data_dir), "TONGBAN_KNOWLEDGE__INCLUDE_SHIPPED": "false"}
    return subprocess.run([sys.executable, "-m", "tongban.cli", *args], capture_output=True, text=True,
                          env=env, timeout=300)


def test_ingest_traditional_pinyin_notice_twice(tmp_path, embedder):
    sample = DATA / "notice_traditional_pinyin.html"
    args = ["knowledge", "ingest", str(sample), "--locality", "深圳宝安", "--title", "宝安区流动儿童关爱服务清单",
            "--published", "2025-03-01", "--url", "https://example.invalid/baoan", "--issuer", "宝安区民政局"]
    first = _tongban(args, tmp_path)
    assert first.returncode == 0, first.stderr
    assert "第 1 版" in first.stdout
    second = _tongban([*args[:-4], "--published", "2025-09-01", "--url", "https://example.invalid/baoan2",
                       "--issuer", "宝安区民政局"], tmp_path)
    assert second.returncode == 0, second.stderr
    assert "第 2 版" in second.stdout

    settings = make_settings(tmp_path, knowledge={"include_shipped": False, "watch_interval": 0})
    kb = knowledge_base(settings, embedder).start(watch=False)
    (checklist_id,) = kb.snapshot.catalog.versions
    v1 = kb.snapshot.catalog.get(checklist_id, 1)
    v2 = kb.snapshot.catalog.get(checklist_id)
    assert v1.header.status.value == "superseded" and v2.header.version == 2
    assert v2.header.locality.code == "440306" and v2.header.published.isoformat() == "2025-09-01"
    text = " ".join(i.content for i in v2.items)
    assert "wǎng" not in text and "關" not in text and "责任编辑" not in text
    assert all(i.departments for i in v2.items)
    assert "wǎng" not in v2.header.source_text and all(i.title in v2.header.source_text for i in v2.items)
    hit = kb.search("孩子打疫苗去哪里", "440306").hits[0]
    assert hit.entry.checklist.id == checklist_id and hit.entry.checklist.version == 2
    assert hit.entry.item.category == "immunization"


def test_ingest_refuses_unknown_locality_and_unparseable_file(tmp_path):
    bad_place = _tongban(["knowledge", "ingest", str(DATA / "notice_plain.txt"), "--locality", "火星",
                          "--title", "t", "--published", "2025-01-01"], tmp_path)
    assert bad_place.returncode == 2 and "无法识别的地区" in bad_place.stderr
    junk = tmp_path / "junk.txt"
    junk.write_text("没有任何编号的一段话。", encoding="utf-8")
    bad_file = _tongban(["knowledge", "ingest", str(junk), "--locality", "440306", "--title", "t",
                         "--published", "2025-01-01"], tmp_path)
    assert bad_file.returncode == 2 and "无法解析" in bad_file.stderr
    assert not (tmp_path / "checklists").exists() or not any((tmp_path / "checklists").rglob("*.yaml"))


def test_ingest_dry_run_stores_nothing(tmp_path):
    run = _tongban(["knowledge", "ingest", str(DATA / "notice_plain.txt"), "--locality", "national",
                    "--title", "示范通知", "--published", "2025-01-01", "--dry-run"], tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("\t") >= 6
    assert not (tmp_path / "checklists").exists() or not any((tmp_path / "checklists").rglob("*.yaml"))
