"""What the channel benchmarks' parents say (bench/telegram_throughput.py, bench/wechat_throughput.py):
real parents' phrasings, and a parent filing an assistance request through the form, answering each
question as it is asked. (Imports the form's slots: run with the project's venv, REPO on sys.path.)"""

from __future__ import annotations

import random
import re
from pathlib import Path

from actions.slots import SLOTS

REPO = Path(__file__).resolve().parent.parent
SOURCES = ["tests/data/nlu_heldout.tsv", "tests/data/retrieval_heldout.tsv", "tests/data/retrieval_tuning.tsv",
           "tests/data/retrieval_tuning2.tsv"]
SUBMIT, CONSENT = "确认提交", "同意"
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ["小明", "小红", "子涵", "浩然", "欣怡", "梓轩", "雨桐", "宇航", "诗涵", "俊杰"]


def phrasings(sources: list[str] = SOURCES, intent: str | None = None) -> list[str]:
    """Real parents' phrasings (the evaluation sets; only those labelled ``intent`` when given), each
    once, shuffled the same way every run: no cache can flatter the result."""
    seen: dict[str, None] = {}
    for name in sources:
        for line in (REPO / name).read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            fields = [field.strip() for field in line.split("\t")]
            if intent is None or (len(fields) > 1 and fields[1] == intent):
                seen.setdefault(fields[0], None)
    texts = list(seen)
    random.Random(11).shuffle(texts)
    return texts


class FormFiller:
    """A parent (number ``n``, named ``who`` in errors) filing a request: opens the form, presses 同意,
    answers each of the form's questions as it is asked — the question the parent asked before may
    already have started the form or answered some of it (a place named in it), so the answers are
    not a fixed list — and presses 确认提交. ``step(said, buttons)`` is the next (kind, value):
    ("text", …) or ("press", a button's title); None when what the bot said asks for nothing the
    parent can answer (it may not have said everything yet)."""

    OPENING = "我想申请帮扶"
    MOST_STEPS = 40  # about 13 when all goes well

    def __init__(self, n: int, who: str):
        self.who = who
        self.answers = {"child_name": SURNAMES[n % 20] + GIVEN[n // 20 % 10], "child_age": f"{6 + n % 9}岁",
                        "hukou_location": "河南周口郸城", "residence": "深圳宝安西乡街道",
                        "months_at_residence": "两年", "guardian_name": "李芳", "guardian_relation": "妈妈",
                        "guardian_phone": f"139{n:08d}", "situations": "1", "description": "跳过"}
        self.opened = self.submitted = False
        self.steps = 0

    def asked(self, said: str) -> str | None:
        """The last of the form's questions in ``said`` that this parent can answer."""
        found = [(said.rfind(slot.prompt[:10]), slot.name) for slot in SLOTS
                 if slot.prompt[:10] in said and slot.name in self.answers]
        return max(found)[1] if found else None

    def step(self, said: str, buttons: set[str], opening: bool = True) -> tuple[str, str] | None:
        """``opening``: open the form when nothing is asked (False: what was said must ask something)."""
        if self.steps >= self.MOST_STEPS:  # a journey going round in circles is a failure to see, not to wait for
            raise SystemExit(f"{self.who}: still not filed after {self.steps} form steps; last: {said[-160:]!r}")
        asked = self.asked(said)
        if SUBMIT in buttons:
            self.submitted = True
            step = ("press", SUBMIT)
        elif CONSENT in buttons:  # the consent question, or its repetition
            step = ("press", CONSENT)
        elif asked:
            step = ("text", self.answers[asked])
        elif not self.opened and opening:
            step = ("text", self.OPENING)
        else:
            return None
        self.opened = True
        self.steps += 1
        return step


REFERENCE = re.compile(r"LD-\d{4}-\d{6,}")  # ledger/requests.py


def reference_in(said: str) -> str | None:
    """The request's reference number (LD-…) in what the bot said, if any."""
    found = REFERENCE.search(said)
    return found.group(0) if found else None
