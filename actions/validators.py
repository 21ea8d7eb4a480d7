"""Pure validation of what a parent types into the assistance-request form.

Each function takes the raw answer and returns a :class:`Checked`: the clean value, or a typed
:class:`Refusal` — :class:`NotUnderstood` with a polite message in Simplified Chinese saying what
is needed (with an example), or :class:`OverAge`, which ends the form. Nothing here touches the
database or the dialogue; ``actions/slots.py`` names the check of each slot and ``actions/forms.py``
wires them to rasa-sdk.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, ClassVar

from actions.slots import SITUATIONS
from nlu.entities import chinese_number, extract_child_age, extract_months, normalise_phone
from nlu.geo import gazetteer
from nlu.normalize import normalize
from nlu.situations import situations_told

_SITUATION_NUMBERS = dict(zip("123456", SITUATIONS))
_SELF_REQUEST = re.compile(r"都不是|想申请|主动")  # none of the ledger's situations, help asked all the same
_NAME = re.compile(r"^[\u4e00-\u9fff·A-Za-z][\u4e00-\u9fff·A-Za-z ]{0,19}$")
# About a hundred of the commonest surnames (most families'), and the commonest double ones: a short
# answer that starts with one and has one to three characters more reads as a person's name
# ("孙子涵", "杨子轩"), which the danger readings of a whole message can take for something else
# (bot/emergencies.py, at the form's name questions).
COMMON_SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
                   "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾"
                   "毛郝龚邵万钱严覃武戴莫孔向汤")
_LOOKS_LIKE_A_NAME = re.compile(rf"^(?:[{COMMON_SURNAMES}][\u4e00-\u9fff]{{1,3}}|"
                                r"(?:欧阳|司马|诸葛|上官|司徒|东方|慕容|夏侯|令狐|皇甫)[\u4e00-\u9fff]{1,2})$")
_RELATIONS = ("爸爸", "妈妈", "父亲", "母亲", "爷爷", "奶奶", "外公", "外婆", "姥姥", "姥爷", "姑姑", "姑妈",
              "舅舅", "舅妈", "叔叔", "婶婶", "阿姨", "伯伯", "伯母", "哥哥", "姐姐", "继父", "继母", "养父",
              "养母", "监护人", "亲戚")
_YES = re.compile(r"^(?:同意|我同意|好|好的|可以|是|是的|对|行|嗯+|ok|yes|确认|愿意|没问题|同意的)[。!！,.，~]*$", re.I)
_NO = re.compile(r"^(?:不同意|不|不要|不行|不愿意|no|拒绝|算了|不用了?)[。!！,.，~]*$", re.I)
_SKIP = re.compile(r"^(?:跳过|没有|无|不用|不写了?|没什么|略|skip)[。!！,.，~]*$", re.I)


OVER_AGE = ("谢谢您告诉我。这个帮扶登记面向不满16周岁的孩子，所以这次没法登记。"
            "孩子上学、医保、就业培训等问题仍然可以直接问我，或者发送“找工作人员”请工作人员联系您。")


class Refusal:
    """Why an answer was not taken. ``message`` is what the parent is told; a refusal that
    ``ends_form`` stops the form (nothing stored) instead of asking again."""

    ends_form: ClassVar[bool] = False
    message: str


@dataclass(frozen=True)
class NotUnderstood(Refusal):
    """The answer could not be read as the slot's value: asked again with what is needed."""

    message: str


@dataclass(frozen=True)
class OverAge(Refusal):
    """The child is 16 or older: the registration is for younger children, so the form stops."""

    age: float
    ends_form: ClassVar[bool] = True
    flag: ClassVar[str] = "over_age"  # the slot the validation action sets to True to say why it stopped

    @property
    def message(self) -> str:
        return OVER_AGE


@dataclass(frozen=True)
class Checked:
    """A checked answer: the clean value, or ``value`` None and why (``refusal``)."""

    value: Any = None
    refusal: Refusal | None = None

    @property
    def ok(self) -> bool:
        return self.value is not None


def not_understood(message: str) -> Checked:
    return Checked(refusal=NotUnderstood(message))


def clean_text(raw: Any, limit: int) -> str:
    """Printable text only (no control characters), whitespace collapsed, cut to ``limit``."""
    text = "".join(ch for ch in str(raw or "") if unicodedata.category(ch)[0] != "C" or ch == "\n")
    return re.sub(r"\s+", " ", text).strip()[:limit]


def check_consent(raw: Any) -> Checked:
    if isinstance(raw, bool):
        return Checked(raw)
    text = normalize(str(raw or "")).lower()
    if _NO.match(text):
        return Checked(False)
    if _YES.match(text):
        return Checked(True)
    return not_understood("请回复“同意”或“不同意”。不同意的话，我们不会保存任何信息。")


def looks_like_a_name(text: str) -> bool:
    """A common surname and one to three characters more (two after a double surname)."""
    return bool(_LOOKS_LIKE_A_NAME.match(text))


def check_name(raw: Any, *, who: str) -> Checked:
    text = normalize(clean_text(raw, 200))
    text = re.sub(r"^(?:我叫|他叫|她叫|叫|名字是|姓名是?|孩子叫)", "", text).strip(" ,。.")
    if not text:
        return not_understood(f"请告诉我{who}的名字（例如：王小明）。")
    if len(text) > 20:
        return not_understood(f"名字有点长，请只填{who}的姓名，20个字以内（例如：王小明）。")
    if not _NAME.match(text):
        return not_understood(f"名字里只能有汉字或字母，请再填一次{who}的姓名（例如：王小明）。")
    return Checked(text)


def _quantity(raw: Any, extract, filler: str) -> float | None:
    """A number from an answer: already a number, an extracted entity, or a bare numeral."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return float(raw)
    text = normalize(str(raw or ""))
    found = extract(text)
    return found[0].value if found else chinese_number(re.sub(filler, "", text))


def check_child_age(raw: Any) -> Checked:
    age = _quantity(raw, extract_child_age, r"[岁周了啦呀,.。]")
    if age is None:
        return not_understood("请用数字告诉我孩子几周岁（例如：8岁）。")
    if age < 0 or age > 25:
        return not_understood("这个年龄好像不太对，请再确认一下孩子几周岁（例如：8岁）。")
    if age >= 16:
        return Checked(refusal=OverAge(age))
    return Checked(int(age))


def check_place(raw: Any, *, what: str) -> Checked:
    if isinstance(raw, dict) and raw.get("code"):
        raw = raw.get("text") or raw["code"]
    text = normalize(clean_text(raw, 100))
    code = gazetteer().resolve_code(text) if text.isdigit() else None
    region = gazetteer().get(code) if code and code != "national" else gazetteer().resolve(text)
    if region is None:
        return not_understood(f"没能识别{what}，请写到市和区县（例如：河南省周口市郸城县，或 深圳市宝安区）。")
    name = gazetteer().full_name(region.code)
    return Checked({"code": region.code, "name": name, "text": name if text.isdigit() else text})


def check_months(raw: Any) -> Checked:
    months = _quantity(raw, extract_months, r"[个月了啦,.。]")
    if months is None or months < 0 or months > 240:
        return not_understood("请告诉我孩子在这边住了多久（例如：8个月、两年）。")
    return Checked(months)


def check_relation(raw: Any) -> Checked:
    text = normalize(clean_text(raw, 40))
    text = re.sub(r"^(?:我是)?(?:孩子的?|他的?|她的?)", "", text).strip(" ,。.")
    for relation in _RELATIONS:
        if relation in text:
            return Checked(relation)
    if 1 <= len(text) <= 6 and _NAME.match(text):
        return Checked(text)
    return not_understood("请告诉我您是孩子的什么人（例如：妈妈、爷爷、舅舅）。")


def check_phone(raw: Any) -> Checked:
    phone = normalise_phone(normalize(str(raw or "")))
    if phone is None:
        return not_understood("这不像是中国大陆的手机号。请填11位手机号，可以带空格或+86（例如：138 0013 8000）。")
    return Checked(phone)


def check_situations(raw: Any) -> Checked:
    if isinstance(raw, list):
        chosen = [s for s in raw if s in SITUATIONS]
    else:
        text = normalize(clean_text(raw, 300))
        chosen = [_SITUATION_NUMBERS[d] for d in re.findall(r"[1-6]", text)]
        chosen += situations_told(text)
        chosen += ["self_request"] if _SELF_REQUEST.search(text) else []
        chosen += [code for code in SITUATIONS if code in text]
    chosen = list(dict.fromkeys(chosen))
    if not chosen:
        return not_understood("请选择一项或几项困难，回数字就行（例如：1 3），也可以点下面的按钮。")
    return Checked(chosen)


def check_description(raw: Any) -> Checked:
    text = clean_text(raw, 500)
    if _SKIP.match(normalize(text)):
        return Checked("")
    return Checked(text)
