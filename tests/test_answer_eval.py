"""tongban eval answers (tongban/answer_eval.py): questions through the engine, graded on facts."""

from __future__ import annotations

import pytest

from tongban.answer_eval import Case, evaluate, grade, read_cases

pytestmark = pytest.mark.slow  # every answer set through the engine: left out of make test-fast


def case(facts: str, category: str = "medical_insurance") -> Case:
    return read_cases_text(f"孩子医保在哪交\t{category}\thow\t{facts}\t方案三（八）")[0]


def read_cases_text(text: str) -> list[Case]:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "set.tsv"
        path.write_text("# a comment\n\n" + text + "\n", encoding="utf-8")
        return read_cases(path)


def test_a_case_file_is_read_with_its_facts_and_alternatives():
    parsed = case("居住证|居住证明 ; 当地|居住地")
    assert parsed.facts == (("居住证", "居住证明"), ("当地", "居住地")) and parsed.source == "方案三（八）"
    with pytest.raises(ValueError, match="expected question"):
        read_cases_text("只有问题")


def test_grading_puts_the_first_screen_first():
    facts = case("居住证 ; 医保部门")
    assert grade(facts, "凭居住证参加医保，向医保部门咨询", "", "medical_insurance").verdict == "fully correct"
    assert grade(facts, "凭居住证参加医保", "详细：医保部门", "medical_insurance").verdict == "correct with 详细"
    partial = grade(facts, "凭居住证参加医保", "", "medical_insurance")
    assert partial.verdict == "acceptable" and partial.missing == ["医保部门"]
    assert grade(facts, "凭居住证参加医保，医保部门", "", "housing").verdict == "wrong"  # another service
    assert grade(facts, "抱歉，我没能确定", "", None).verdict == "wrong"


def test_an_emergency_reply_is_graded_on_its_facts_alone():
    from tongban.answer_eval import URGENT

    danger = case("110 ; 民政", category="child_protection")
    assert grade(danger, "【紧急】\n请立即拨打 110，警察会联系民政部门", "", URGENT).verdict == "fully correct"
    missed = grade(danger, "【紧急】\n请立即拨打 110", "详细：民政", URGENT)
    assert missed.verdict == "wrong" and missed.missing == ["民政"]  # no 详细 and no "acceptable" for it
    # a service question taken for a danger is wrong, whatever numbers the emergency reply lists
    service = case("12356", category="mental_health")
    assert grade(service, "【紧急】\n其他求助电话：110 报警，12356 心理援助热线", "", URGENT).verdict == "wrong"


def test_questions_go_through_the_engine_as_a_parent_asks_them(runtime):
    cases = read_cases_text(
        "孩子在这边上小学要带什么材料\tcompulsory_education\tmaterials\t居住证 ; 接种证\ttest\n"
        "外地户口的娃能在这儿参加医保不\tmedical_insurance\twho\t居住证\ttest\n"
        "工地老板欠我三个月工资怎么办\tmedical_insurance\thow\t医保\ttest\n"
        "驾照快到期了 在外地能换吗\tmedical_insurance\thow\t医保\ttest\n"
        "我儿子掉河里了\tchild_protection\tcontact\t110|120|119\ttest")
    report = evaluate(runtime.engine, cases)
    verdicts = [g.verdict for g in report.graded]
    assert verdicts[:2] == ["fully correct", "fully correct"], report.render("test")
    # wages owed: answered from another service (the 12333 item); a licence: out of scope, no answer
    assert verdicts[2] == "wrong" and report.graded[2].answered_category == "parent_employment"
    assert verdicts[3] == "wrong" and report.graded[3].answered_category is None
    assert verdicts[4] == "fully correct" and report.graded[4].answered_category == "【紧急】"
    text = report.render("test")
    assert "compulsory_education" in text and "工地老板欠我三个月工资怎么办" in text


# Today's figures less a margin (2026-12-06, twelfth session, fully correct / wrong: set A 77.8 % / 3.3 %,
# B 85.3 % / 4.7 %, C 86.7 % / 5.3 %, D 92.7 % / 2.7 %, E 90.7 % / 7.3 %, F 86.0 % / 4.7 %, G 83.3 % /
# 6.0 %, H 84.7 % / 4.7 %, I 86.0 % / 4.7 %, J 86.0 % / 4.7 %, K 81.3 % / 8.7 %, L 83.3 % / 4.7 %,
# M 83.3 % / 8.0 %, N 60.7 % / 11.3 %, O 69.3 % / 5.3 %). C–O were written by helpers that never saw this
# repository; A–L are development sets now (their misses were read); M, N and O were read for their
# totals only (O once for the one answer a change made worse: a volunteer saying who they are). N's
# writer asks for more facts per question (2.3 against 1.7–1.8); O's leans on the research notes'
# secondary facts. A change that makes parents' answers worse fails here; the goal (90 %) is above.
FLOORS = {"set_a.tsv": (0.69, 0.10), "set_b.tsv": (0.77, 0.12), "set_c.tsv": (0.78, 0.13),
          "set_d.tsv": (0.86, 0.09), "set_e.tsv": (0.82, 0.15), "set_f.tsv": (0.77, 0.12),
          "set_g.tsv": (0.76, 0.12), "set_h.tsv": (0.77, 0.11), "set_i.tsv": (0.78, 0.12),
          "set_j.tsv": (0.78, 0.12), "set_k.tsv": (0.73, 0.16), "set_l.tsv": (0.75, 0.12),
          "set_m.tsv": (0.76, 0.13), "set_n.tsv": (0.54, 0.17), "set_o.tsv": (0.61, 0.12)}


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_the_answer_sets_do_not_fall_below_todays_figures(runtime, name):
    from pathlib import Path

    path = Path(__file__).parent / "data" / "answers" / name
    report = evaluate(runtime.engine, read_cases(path))
    verdicts = [g.verdict for g in report.graded]
    fully = verdicts.count("fully correct") / len(verdicts)
    wrong = verdicts.count("wrong") / len(verdicts)
    least_fully, most_wrong = FLOORS[name]
    assert fully >= least_fully and wrong <= most_wrong, report.render(name)
