"""Intent accuracy and the safety net on the dev set and our held-out set (never trained on)."""

from __future__ import annotations

import pytest

from nlu.evaluate import evaluate, read_tsv
from nlu.training import category_paths, default_paths, load_training_data
from tests.conftest import DATA, SHARED_EVAL
from tests.helpers import eval_command_output


@pytest.mark.parametrize("path", [SHARED_EVAL, DATA / "nlu_heldout.tsv"], ids=["dev", "heldout"])
def test_intent_targets(interpreter, path):
    if not path.exists():
        pytest.skip(f"{path} not present")
    report = evaluate(interpreter, read_tsv(path))
    assert report.accuracy >= 0.95, report.render(str(path))
    assert report.emergency_recall == 1.0, report.render(str(path))
    assert report.false_alarm_rate <= 0.02, report.render(str(path))


def test_answer_sets_are_not_trained_on():
    """The held-out sets' size and their independence of training and tuning data are checked in
    tests/test_heldout_overlap.py."""
    # the intent models' files and the category prior's (topics.yml trains the prior only)
    training = {e.text for e in load_training_data(*default_paths(), *category_paths()).examples}
    # the answer sets' questions: none is trained on, but for three short ones an answer-set writer and an
    # earlier training file's writer put in the same words (left in the intent files; new ones fail)
    known = {"租房补贴一个月能补多少", "童心港湾是啥", "医保咋交"}
    for path in sorted((DATA / "answers").glob("set_*.tsv")):
        questions = {line.split("\t", 1)[0] for line in path.read_text(encoding="utf-8").splitlines()
                     if line.strip() and not line.startswith("#")}
        assert len(questions) >= 100 and training & questions <= known, (path, training & questions - known)


def test_intent_names_are_the_contract():
    from nlu.domain import load_domain
    from nlu.interpreter import INTENTS, PAYLOAD_ONLY_INTENTS

    names = {e.intent for e in load_training_data(*default_paths()).examples}
    assert names == set(INTENTS)
    assert set(load_domain().intents) == set(INTENTS) | set(PAYLOAD_ONLY_INTENTS)


@pytest.mark.slow
def test_eval_nlu_command(tmp_path):
    stdout = eval_command_output("nlu", tmp_path, timeout=600)
    for line in ("intent accuracy", "emergency recall", "false-alarm rate", "precision", "most confused"):
        assert line in stdout


def test_report_per_kind_of_danger_trap_and_position():
    from types import SimpleNamespace

    from nlu.evaluate import Example, evaluate

    answers = {"a": ("emergency", ("medical",)), "b": ("ask_service", ()), "c": ("emergency", ("abuse",)),
               "d": ("emergency", ("missing",))}
    stub = SimpleNamespace(parse=lambda text: SimpleNamespace(intent=answers[text][0], danger_kinds=answers[text][1]))
    examples = [Example("a", "emergency", "medical", ("long", "end")), Example("b", "emergency", "missing", ("short",)),
                Example("c", "ask_service", "health_literacy", ("past",)), Example("d", "emergency", "online", ())]
    report = evaluate(stub, examples)
    assert report.per_danger_class() == {"medical": (1, 1), "missing": (0, 1), "online": (1, 1)}
    assert report.false_alarms_per_trap() == {"past": (1, 1)}
    assert report.per_position() == {"end": (1, 1)}
    assert report.kind_accuracy() == (1, 2)  # "d" was caught but named missing, not online
    text = report.render("stub")
    assert "medical              1/1" in text and "past                 1/1" in text


def test_form_answers_count_for_false_alarms_only():
    """A bare answer to a form's question ("她妈妈", "晚上") has no intent outside the form: it is
    left out of intent accuracy, and still counts as a false alarm when the net calls it danger."""
    from types import SimpleNamespace

    from nlu.evaluate import Example, evaluate

    answers = {"她妈妈": "out_of_scope", "晚上": "emergency", "医保怎么交": "ask_service", "谢谢": "greet"}
    stub = SimpleNamespace(parse=lambda text: SimpleNamespace(intent=answers[text], danger_kinds=()))
    examples = [Example("她妈妈", "inform", "", ("form_answer",)), Example("晚上", "inform", "", ("form_answer",)),
                Example("医保怎么交", "ask_service", "medical_insurance", ()), Example("谢谢", "thank", "", ())]
    report = evaluate(stub, examples)
    assert report.accuracy == 0.5  # of the two routed lines, one is right
    assert report.false_alarm_rate == 0.25  # 晚上 raised an alarm
    text = report.render("stub")
    assert "(of 2; 2 form answers checked for false alarms only)" in text
    assert "[inform → emergency] 晚上" in text and "[inform → out_of_scope]" not in text
    assert "inform" not in report.per_intent()
