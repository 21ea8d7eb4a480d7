"""The assistance-request form, declared once: each slot's question, check, labels, display and storage.

Everything that asks, shows or stores a slot reads this list: the form loop, its summary and its
corrections (bot/form.py), the rasa-sdk validation action (actions/forms.py makes its
``validate_<slot>`` methods from it), the filing (actions/submit.py), the staff request page and the
ledger export's column names (staff/), and the form part of the Rasa domain (nlu/data/domain.yml,
written from it by ``make form``). docs/architecture.md says how to add a slot.

Pure data: importing it loads neither rasa-sdk nor the language layer (the staff app reads it). A
slot names its check in actions/validators.py, which is loaded when an answer is first checked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ledger.requests import SITUATION_LABELS

# How the form names the ledger's situations to a parent (buttons, the numbered list, the summary).
_ASKED_AS = {
    "family_hardship": "家庭生活困难",
    "disability": "孩子有残疾",
    "guardianship_gap": "孩子没人照看（监护缺失）",
    "vagrancy": "孩子在外流浪",
    "psych_behavior": "孩子心理或行为上有问题",
    "self_request": "以上都不是，但想申请帮扶",
}
# The ledger's codes, in its order (a code added there without a wording here stops the import).
SITUATIONS = {code: _ASKED_AS[code] for code in SITUATION_LABELS}

FORM_NAME = "assistance_request_form"
CUSTOM = {"type": "custom"}  # a Rasa slot mapping: filled by the validation action


@dataclass(frozen=True)
class Check:
    """A check of actions/validators.py, by name, with its keyword options."""

    function: str
    options: dict = field(default_factory=dict)

    def __call__(self, raw: Any):
        from actions import validators  # the language layer: loaded when an answer is checked

        return getattr(validators, self.function)(raw, **self.options)


@dataclass(frozen=True)
class Column:
    """A column of ``assistance_requests`` (ledger/models.py); ``encrypted``: Fernet, by the cipher."""

    name: str
    encrypted: bool = False


@dataclass(frozen=True)
class Stored:
    """Where an answer is kept: its field of ``RequestData`` (ledger/requests.py), how the slot's
    value is made that field's value, and the columns staff read it from (joined by a space)."""

    field: str
    columns: tuple[Column, ...]
    convert: Callable[[Any], Any] = lambda value: value


@dataclass(frozen=True)
class Slot:
    """One question of the form. ``label`` is the parent's name for it (summary, corrections, the
    buttons that choose what to fix; empty: not in the summary), ``staff_label`` the staff's (the
    request page and the export's column) when it differs."""

    name: str
    prompt: str  # utter_ask_<name>: the question, then "（例如：example）", then the hint on a line
    check: Check
    example: str = ""
    hint: str = ""
    label: str = ""
    staff_label: str = ""
    buttons: tuple[dict, ...] | Callable[[], list[dict]] = ()  # offered with a re-prompt (Rasa's shape)
    ask_with_buttons: bool = False  # ... and with the question itself
    short_answer: bool = False  # a name-like answer: a confident greeting or question is no answer
    entity: str | None = None  # the NLU entity that answers it early (first message) or corrects it
    role: str | None = None  # ... only with this role (nlu.entities: residence, hukou)
    show: Callable[[Any], str] = str  # how the parent is shown the answer (masked where it must be)
    stored: Stored | None = None
    about: str = "child"  # the staff page's group: child, guardian, or story (a section of its own)
    exported: bool = True  # a column of the ledger export (staff/export.py)
    rasa_type: str = "text"  # the slot in the Rasa domain: its type and mappings
    mappings: tuple[dict, ...] = (CUSTOM,)

    @property
    def question(self) -> str:
        example = f"（例如：{self.example}）" if self.example else ""
        return self.prompt + example + (f"\n{self.hint}" if self.hint else "")

    def offered_buttons(self) -> list[dict]:
        return list(self.buttons() if callable(self.buttons) else self.buttons)

    @property
    def staff_title(self) -> str:
        return self.staff_label or self.label


# --- how answers are shown to the parent ------------------------------------------------
def mask_phone(phone: str) -> str:
    """138****8000: a phone number shown back, never in full."""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 11 else phone


def show_place(place: dict) -> str:
    return place.get("text") or place.get("name", "")


def show_months(months: Any) -> str:
    months = float(months)
    return f"{int(months)}个月" if months.is_integer() else f"{months}个月"


def show_situations(codes: list[str]) -> str:
    return "、".join(SITUATIONS.get(code, code) for code in codes)


def situation_buttons() -> list[dict]:
    return [{"title": label, "payload": f'/inform{{"situations": ["{code}"]}}'} for code, label in SITUATIONS.items()]


def _asked(entity: str, slot: str) -> tuple[dict, ...]:
    """Rasa mappings: the entity fills the slot only while the form asks for it, else the action."""
    return ({"type": "from_entity", "entity": entity,
             "conditions": [{"active_loop": FORM_NAME, "requested_slot": slot}]}, CUSTOM)


def _stored(name: str, column: str, *, encrypted: bool = False, convert=lambda value: value) -> Stored:
    return Stored(name, (Column(column, encrypted),), convert)


YES_NO = ({"title": "同意", "payload": "/affirm"}, {"title": "不同意", "payload": "/deny"})
RELATIONS = tuple({"title": r, "payload": r} for r in ("妈妈", "爸爸", "奶奶", "爷爷", "外婆", "外公"))

# The form's questions, in the order they are asked.
SLOTS: tuple[Slot, ...] = (
    Slot("consent", "您是孩子的监护人，并同意我们为帮扶申请收集以上信息吗？请回复“同意”或“不同意”。",
         Check("check_consent"), buttons=YES_NO, ask_with_buttons=True, rasa_type="bool"),
    Slot("child_name", "请问孩子叫什么名字？", Check("check_name", {"who": "孩子"}), example="王小明",
         label="孩子姓名", staff_label="儿童姓名", short_answer=True,
         stored=_stored("child_name", "child_name_enc", encrypted=True)),
    Slot("child_age", "孩子今年几周岁？", Check("check_child_age"), example="8岁", label="孩子年龄",
         staff_label="年龄", entity="child_age", show=lambda age: f"{age}岁",
         stored=_stored("child_age", "child_age", convert=int), rasa_type="float",
         mappings=({"type": "from_entity", "entity": "child_age"},)),
    Slot("hukou_location", "孩子的户口在哪里？写到县或区就行。", Check("check_place", {"what": "户籍地"}),
         example="河南省周口市郸城县", label="户籍地", entity="locality", role="hukou", show=show_place,
         stored=_stored("hukou", "hukou_name"), mappings=_asked("locality", "hukou_location")),
    Slot("residence", "你们现在住在哪里？写到区和街道或乡镇。", Check("check_place", {"what": "现在的住址"}),
         example="深圳市宝安区西乡街道", label="现住址", staff_label="居住地", entity="locality", show=show_place,
         stored=Stored("residence", (Column("residence_name"), Column("residence_detail_enc", encrypted=True))),
         mappings=_asked("locality", "residence")),
    Slot("months_at_residence", "孩子在现在的住处住了多久？", Check("check_months"), example="8个月、两年",
         label="在这边住了多久", staff_label="居住时长（月）", entity="months", show=show_months,
         stored=_stored("months_at_residence", "months_at_residence", convert=float), rasa_type="float",
         mappings=({"type": "from_entity", "entity": "months"},)),
    Slot("guardian_name", "请问您怎么称呼？请填监护人的姓名。", Check("check_name", {"who": "监护人"}),
         example="李芳", label="监护人姓名", short_answer=True, about="guardian",
         stored=_stored("guardian_name", "guardian_name_enc", encrypted=True)),
    Slot("guardian_relation", "您是孩子的什么人？", Check("check_relation"), example="妈妈、爷爷、舅舅",
         label="与孩子的关系", staff_label="与儿童关系", buttons=RELATIONS, short_answer=True, about="guardian",
         stored=_stored("guardian_relation", "guardian_relation")),
    Slot("guardian_phone", "请留一个能联系到您的手机号，工作人员会打这个电话。", Check("check_phone"),
         example="13800138000", label="联系电话", entity="phone", show=mask_phone, about="guardian",
         stored=_stored("guardian_phone", "guardian_phone_enc", encrypted=True),
         mappings=({"type": "from_entity", "entity": "phone"}, CUSTOM)),
    Slot("situations", "家里现在有哪些困难？可以选多个，回数字或直接说：\n1 家庭生活困难\n2 孩子有残疾\n"
         "3 孩子没人照看\n4 孩子在外流浪\n5 孩子心理或行为上有问题\n6 以上都不是，但想申请帮扶\n",
         Check("check_situations"), example="1 3", label="困难情况", staff_label="困境情形",
         buttons=situation_buttons, ask_with_buttons=True, show=show_situations,
         stored=_stored("situations", "situations", convert=list), rasa_type="list"),
    Slot("description", "请简单说说孩子和家里的情况，以及最需要什么帮助。", Check("check_description"),
         example="孩子爸爸受伤干不了活，下学期学费交不上", hint="不想写可以回复“跳过”。", label="情况说明",
         staff_label="家长描述的情况", show=lambda text: text or "（未填写）", about="story", exported=False,
         stored=_stored("description", "description_enc", encrypted=True, convert=lambda text: text or "")),
)

SLOT = {slot.name: slot for slot in SLOTS}
REQUIRED_SLOTS = tuple(SLOT)
ANSWERS = tuple(slot for slot in SLOTS if slot.label)  # what the summary lists and a parent may fix
STORED = tuple(slot for slot in SLOTS if slot.stored)
