"""Held-out sets that are held out (issue 14): no line of a held-out file equals, or nearly
equals, a line the models were trained on or their weights and thresholds were chosen on.

Equal: the same after normalisation (spaces, punctuation, full/half width, Traditional and
Simplified: ``nlu.overlap.comparison_key``); near: character bigrams overlapping by a Jaccard index
of at least 0.7 (``nlu.overlap.NEAR_DUPLICATE``). A held-out line may resemble another held-out
line, of its own file or another: only what was learnt or tuned on must stay apart. A line found
here is removed from the held-out file, never from the training YAML.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from nlu.evaluate import read_tsv
from nlu.overlap import NEAR_DUPLICATE, OverlapIndex, bigrams, comparison_key, jaccard, similarity
from nlu.training import category_paths, default_paths, load_training_data, short_paths
from tests.conftest import DATA, SHARED_EVAL

INDEPENDENT = DATA / "independent"

# What each data file is, read from the code, the tests and docs/ that use it (nlu/interpreter.py,
# docs/nlu.md, docs/knowledge.md, tongban knowledge calibrate).
# TRAINING: nlu/data/*.yml of default_paths() (the intent and danger models) and of
# category_paths() (retrieval's category prior; topics.yml trains it alone). nlu/data/held_back/
# is trained on by nothing (docs/nlu.md) and is not compared.
TUNING = {
    DATA / "retrieval_tuning.tsv": "retrieval weights and confidence calibration (docs/knowledge.md)",
    DATA / "retrieval_tuning2.tsv": "retrieval weights and confidence calibration (docs/knowledge.md)",
    DATA / "offtopic_tuning.txt": "the off-topic half of confidence calibration",
    DATA / "safety_validation.tsv": "the validation half of the safety-net tuning set (nlu/data/safety.yml)",
    INDEPENDENT / "tuning.tsv": "the safety net's thresholds, the cascade, the embedding view",
    INDEPENDENT / "tuning_denial.tsv": "the safety net's denial and hypothetical guards",
    INDEPENDENT / "tuning_long.tsv": "the thresholds for long messages",
    INDEPENDENT / "emergencies_a.tsv": "set A: selection data since 2026-12-04, thresholds chosen on it",
    INDEPENDENT / "negatives_a.tsv": "set A: selection data",
    INDEPENDENT / "routing_a.tsv": "set A: selection data",
    INDEPENDENT / "set_b.tsv": "set B: selection data",
    INDEPENDENT / "set_c.tsv": "set C: selection data",
}
# SHARED_EVAL (../shared/eval/dev_intents.tsv), the public development set whose errors are read,
# counts as tuning too.
HELD_OUT = {
    # its lines were also in the pool the safety net's thresholds were chosen on (docs/nlu.md)
    DATA / "nlu_heldout.tsv": "the intent targets (tests/test_nlu_eval.py)",
    DATA / "retrieval_heldout.tsv": "the retrieval targets (tests/test_eval.py)",
    INDEPENDENT / "set_d.tsv": "the unseen independent test set D (docs/nlu.md)",
    INDEPENDENT / "set_e.tsv": "the unseen independent set E: denials and dangers worded like them",
    INDEPENDENT / "set_f.tsv": "the unseen independent set F: short messages, dangers without a subject",
    INDEPENDENT / "set_g.tsv": "the unseen independent set G: short messages, a third author (after F was read)",
}
OTHER = {DATA / "notice_plain.txt": "a notice for the ingestion tests"}
# The two sets nothing was chosen on at all: the safety net's thresholds were chosen on a pool that
# held nlu_heldout.tsv, so these must not share a line with it either.
UNSEEN = (INDEPENDENT / "set_d.tsv", INDEPENDENT / "set_e.tsv", INDEPENDENT / "set_f.tsv", INDEPENDENT / "set_g.tsv")
# The answer sets (tests/data/answers, graded by tongban eval answers): A–L were read and answers
# tuned on them (development); M, N and O are read for totals only (docs/knowledge.md). Those three
# must share no line with training, tuning or the development answer sets.
ANSWERS = DATA / "answers"
ANSWERS_HELD_OUT = tuple(ANSWERS / f"set_{name}.tsv" for name in "mno")


def _answer_questions(path) -> list[str]:
    return [line.split("\t", 1)[0] for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]


def _lines(path) -> list[str]:
    if path.suffix == ".txt":
        return [line.strip() for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")]
    return [example.text for example in read_tsv(path)]


def _training() -> list[str]:
    return [e.text for e in load_training_data(*dict.fromkeys([*default_paths(), *category_paths(), *short_paths()])).examples]


@pytest.fixture(scope="module")
def references() -> dict[str, OverlapIndex]:
    """An index per training or tuning source, by name."""
    out = {"nlu/data (training)": OverlapIndex(_training())}
    out.update({path.relative_to(DATA).as_posix(): OverlapIndex(_lines(path)) for path in TUNING})
    return out


def _overlaps(lines: list[str], indexes: dict[str, OverlapIndex]) -> list[str]:
    return [f"  {text!r} ~ {name}: {match!r} ({score:.2f})" for text in lines
            for name, index in indexes.items() for match, score in index.matches(text)[:1]]


def test_every_data_file_is_classified():
    found = {*DATA.glob("*.tsv"), *DATA.glob("*.txt"), *INDEPENDENT.iterdir()}
    assert found == set(TUNING) | set(HELD_OUT) | set(OTHER), "say whether the new file is tuning or held out"
    assert all(path.exists() for path in category_paths())
    answer_sets = set(ANSWERS.glob("set_*.tsv"))
    assert set(ANSWERS_HELD_OUT) <= answer_sets and len(answer_sets) == 15, \
        "a new answer set: held out (read for totals only) or development?"


@pytest.mark.parametrize("path", UNSEEN, ids=lambda path: path.name)
def test_the_unseen_sets_share_no_line_with_the_safety_nets_tuning_pool(path):
    found = _overlaps(_lines(path), {"nlu_heldout.tsv": OverlapIndex(_lines(DATA / "nlu_heldout.tsv"))})
    assert not found, f"{path.name}: remove these lines:\n" + "\n".join(found)


@pytest.mark.parametrize("path", ANSWERS_HELD_OUT, ids=lambda path: path.name)
def test_held_out_answer_sets_share_no_question_with_training_tuning_or_development(references, path):
    development = [q for other in sorted(ANSWERS.glob("set_*.tsv")) if other not in ANSWERS_HELD_OUT
                   for q in _answer_questions(other)]
    found = _overlaps(_answer_questions(path), {**references, "answer sets A–L": OverlapIndex(development)})
    assert not found, f"{path.name}: remove these questions:\n" + "\n".join(found)


@pytest.mark.parametrize("path", sorted(HELD_OUT), ids=lambda path: path.name)
def test_heldout_shares_no_line_with_training_or_tuning(references, path):
    found = _overlaps(_lines(path), references)
    assert not found, f"{path.name}: remove these held-out lines (equal or near to training or tuning lines):\n" \
        + "\n".join(found)


def test_heldout_shares_no_line_with_the_dev_set():
    if not SHARED_EVAL.exists():
        pytest.skip(f"{SHARED_EVAL} not present")
    dev = {"dev_intents.tsv": OverlapIndex(_lines(SHARED_EVAL))}
    found = [f"{path.name}{line}" for path in sorted(HELD_OUT) for line in _overlaps(_lines(path), dev)]
    assert not found, "\n".join(found)


def test_heldout_is_large_and_independent_of_training():
    """Moved from tests/test_nlu_eval.py: the held-out intent set is large enough for its targets, and
    no line of a file written independently of the training data is a training line (the intent
    files written from TSV left them out: scripts/tsv-to-nlu-yml --exclude)."""
    assert len(read_tsv(DATA / "nlu_heldout.tsv")) >= 300
    training = set(_training())
    for path in (*sorted(HELD_OUT), *sorted(INDEPENDENT.glob("*.tsv")), SHARED_EVAL):
        if path.exists():
            assert not training & set(_lines(path)), path


def test_the_comparison_ignores_form():
    assert comparison_key("臨時救助去哪裡申請？？ ") == comparison_key("临时救助去哪里申请") == "临时救助去哪里申请"
    assert comparison_key("ＯＫ！") == comparison_key("ok") == "ok"
    assert comparison_key("公租房🏠") == comparison_key("公租房")
    assert comparison_key("娃不听话 咋管") == comparison_key("娃不听话咋管")
    assert comparison_key("bye bye") == comparison_key("byebye")


def test_near_duplicates_by_character_bigrams():
    assert similarity("娃三岁半 外地户口能上公办幼儿园不", "娃三岁半了 外地户口能上公办幼儿园不") >= NEAR_DUPLICATE
    assert similarity("公租房外地人能申请吗", "外地孩子能上公办小学吗") < NEAR_DUPLICATE
    assert similarity("一二三四五六七八九十甲", "一二三四五六七八") == 0.7  # 7 of 10 bigrams: near, just
    assert OverlapIndex(["一二三四五六七八九十甲"]).matches("一二三四五六七八") == [("一二三四五六七八九十甲", 0.7)]
    assert OverlapIndex(["一二三四五六七八九十甲"]).matches("一二三四五六七") == []  # 6 of 10
    assert jaccard(bigrams("中"), bigrams("中")) == 1.0 and similarity("中", "行") == 0.0


def test_the_index_finds_what_comparing_every_pair_finds():
    """Prefix filtering loses no pair: the same matches as every pair compared."""
    references = _lines(INDEPENDENT / "tuning.tsv") + _lines(INDEPENDENT / "set_b.tsv")
    queries = _lines(INDEPENDENT / "routing_a.tsv")
    index = OverlapIndex(references)
    keyed = [(text, bigrams(comparison_key(text))) for text in references]
    for query in queries:
        mine = bigrams(comparison_key(query))
        expected = sorted(text for text, theirs in keyed if jaccard(mine, theirs) >= NEAR_DUPLICATE)
        assert sorted(text for text, _ in index.matches(query)) == expected, query
    assert sum(bool(index.matches(query)) for query in queries) >= 10  # the check saw matches


def test_eval_nlu_reports_several_files_side_by_side(tmp_path, monkeypatch, capsys):
    """``tongban eval nlu HELDOUT INDEPENDENT``: each report, then a line per file."""
    from tongban import cli

    heldout, independent = tmp_path / "heldout.tsv", tmp_path / "independent.tsv"
    heldout.write_text("您好\tgreet\t\n娃掉河里了\temergency\tmedical\n", encoding="utf-8")
    independent.write_text("谢谢\tthank\t\n娃不见了\temergency\tmissing\n娃发烧了\task_service\thealth\n",
                           encoding="utf-8")
    read = {"您好": "greet", "娃掉河里了": "emergency", "谢谢": "greet", "娃不见了": "ask_service",
            "娃发烧了": "emergency"}
    stub = SimpleNamespace(parse=lambda text: SimpleNamespace(intent=read[text], danger_kinds=()))
    monkeypatch.setattr(cli, "_interpreter", lambda force=False: stub)
    assert cli.main(["eval", "nlu", str(heldout), str(independent)]) == 0
    out = capsys.readouterr().out
    assert out.count("NLU evaluation: ") == 2
    summary = out.split("summary (2 files):\n", 1)[1].splitlines()
    assert summary[1].split() == [str(heldout), "2", "1.000", "1/1", "0/1"]
    assert summary[2].split() == [str(independent), "3", "0.000", "0/1", "1/2"]
    assert cli.main(["eval", "nlu", str(heldout)]) == 0
    assert "summary" not in capsys.readouterr().out  # one file: its report alone
