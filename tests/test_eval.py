"""Retrieval quality on the public dev set and our held-out set (never used for tuning)."""

from __future__ import annotations

import pytest

from knowledge.evaluate import evaluate
from nlu.evaluate import read_tsv
from tests.conftest import DATA, SHARED_EVAL
from tests.helpers import eval_command_output


@pytest.mark.parametrize("path", [SHARED_EVAL, DATA / "retrieval_heldout.tsv"], ids=["dev", "heldout"])
def test_category_accuracy_targets(kb, path):
    if not path.exists():
        pytest.skip(f"{path} not present")
    report = evaluate(kb, read_tsv(path))
    assert report.total >= 18
    assert report.top1 / report.total >= 0.90, report.render(str(path))
    assert report.top3 / report.total >= 0.98, report.render(str(path))


def test_heldout_covers_every_category_with_150_questions():
    from knowledge.categories import SERVICE_CATEGORIES

    examples = [e for e in read_tsv(DATA / "retrieval_heldout.tsv") if e.intent == "ask_service"]
    assert len(examples) >= 150
    assert {e.category for e in examples} == set(SERVICE_CATEGORIES)


@pytest.mark.slow
def test_eval_command_prints_report(tmp_path):
    stdout = eval_command_output("retrieval", tmp_path, timeout=300)
    assert "category top-1 accuracy" in stdout and "per-category recall@1" in stdout
