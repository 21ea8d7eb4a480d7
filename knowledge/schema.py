"""The checklist schema: a published service checklist and its items.

A checklist file is YAML with two keys, ``checklist`` (the header) and
``items``. :func:`parse_checklist` validates one and reports every problem with
the file, the item and the field it concerns.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import Enum
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from knowledge.categories import CATEGORIES
from knowledge.errors import ChecklistValidationError, FieldProblem
from nlu.geo import NATIONAL

_CODE = re.compile(r"^(\d{6}|\d{9}|\d{12})$")
_ITEM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")
_CHECKLIST_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
SOURCE_TEXT_MAX = 400_000  # characters; a 2 MB upload of a notice cleans to far less


def canonical_code(code: str) -> str:
    """440306000000 → 440306, 440306001000 → 440306001; other codes unchanged."""
    if len(code) == 12 and code.endswith("000"):
        code = code[:9]
    if len(code) == 9 and code.endswith("000"):
        code = code[:6]
    return code


def _check_url(value: str) -> str:
    if value and not value.startswith(("http://", "https://")):
        raise ValueError("须为 http(s) 链接")
    return value


def _shaped(pattern: re.Pattern, message: str) -> AfterValidator:
    """The check of an id's form: ``message`` says what the id may hold when it does not match."""
    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(message)
        return value
    return AfterValidator(check)


# Fields checked the same way wherever they stand (item and header).
_Url = Annotated[str, AfterValidator(_check_url)]
_ItemId = Annotated[str, _shaped(_ITEM_ID, "只能包含字母、数字、点、下划线和短横线")]
_ChecklistId = Annotated[str, _shaped(_CHECKLIST_ID, "只能包含小写字母、数字和短横线")]


class Authority(str, Enum):
    OFFICIAL = "official"  # a published government checklist or policy text
    GUIDANCE = "guidance"  # how-to facts gathered from official or news sources
    EXAMPLE = "example"  # demonstration data, always labelled 示例


class Status(str, Enum):
    CURRENT = "current"
    SUPERSEDED = "superseded"


class Locality(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str  # "national" or a 6/9/12-digit administrative code
    name: str = Field(min_length=1)

    @field_validator("code", mode="before")
    @classmethod
    def _code(cls, value: Any) -> str:
        value = str(value).strip()
        if value != NATIONAL and not _CODE.match(value):
            raise ValueError("须为 national 或 6/9/12 位行政区划代码")
        return canonical_code(value)


BRIEF_MAX, NEXT_STEP_MAX, BASIS_MAX = 60, 45, 40  # characters


class ChecklistItem(BaseModel):
    # Numbers in text fields (a keyword such as 12355) are read as text.
    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)

    id: _ItemId
    category: str
    title: str = Field(min_length=1, max_length=80)
    service_object: str = Field(min_length=1)
    content: str = Field(min_length=1)
    departments: list[str] = Field(default_factory=list)
    how_to_apply: str = ""
    materials: list[str] = Field(default_factory=list)
    clause: str = Field(min_length=1)
    source_url: _Url = ""
    keywords: list[str] = Field(default_factory=list)
    # What a parent reads first on a phone (knowledge/screen.py): the direct answer in plain words,
    # the one next step, and — when the item's source is not the checklist's own document — that
    # source in a few words. Optional: without them the answer is shortened from content.
    # ``source_url`` is where the facts were taken from (for staff; often a news summary). A parent
    # is shown a link only to ``verified_url``: a page a person checked holds the cited text.
    verified_url: _Url = ""
    brief: str = Field(default="", max_length=BRIEF_MAX)
    next_step: str = Field(default="", max_length=NEXT_STEP_MAX)
    basis: str = Field(default="", max_length=BASIS_MAX)

    @field_validator("category")
    @classmethod
    def _category(cls, value: str) -> str:
        if value not in CATEGORIES:
            raise ValueError(f"未知类别 {value!r}")
        return value


class ChecklistHeader(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: _ChecklistId
    locality: Locality
    title: str = Field(min_length=1)
    issuer: str = Field(min_length=1)
    doc_number: str | None = None
    published: dt.date
    version: int = Field(ge=1)
    status: Status = Status.CURRENT
    authority: Authority
    source_url: _Url = ""
    # The published notice as it was ingested (cleaned text, one paragraph a line): served at
    # /knowledge/checklists/{id}/source, where a parent's link to a cited clause leads.
    source_text: str = Field("", max_length=SOURCE_TEXT_MAX)


class Checklist(BaseModel):
    """One version of a checklist with its items."""

    model_config = ConfigDict(frozen=True)

    header: ChecklistHeader
    items: tuple[ChecklistItem, ...]

    @property
    def id(self) -> str:
        return self.header.id

    @property
    def key(self) -> tuple[str, int]:
        return (self.header.id, self.header.version)

    def to_yaml_dict(self) -> dict[str, Any]:
        header = self.header.model_dump(mode="json")
        return {"checklist": header, "items": [i.model_dump(mode="json") for i in self.items]}

    def with_status(self, status: Status) -> "Checklist":
        return Checklist(header=self.header.model_copy(update={"status": status}), items=self.items)


def _problems(error: ValidationError, item: str | None, prefix: str = "") -> list[FieldProblem]:
    out = []
    for err in error.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(整体)"
        out.append(FieldProblem(item=item, field=prefix + loc, message=_message(err)))
    return out


def _message(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    if kind == "missing":
        return "缺少此字段"
    if kind == "extra_forbidden":
        return "不认识的字段"
    msg = str(err.get("msg", ""))
    return msg.removeprefix("Value error, ")


def parse_checklist(data: Any, source: str) -> Checklist:
    """Validate loaded YAML data; raise ChecklistValidationError naming every problem."""
    if not isinstance(data, dict) or "checklist" not in data or "items" not in data:
        raise ChecklistValidationError(
            source, [FieldProblem(None, "(文件)", "须包含 checklist 和 items 两部分")]
        )
    problems: list[FieldProblem] = []
    header = None
    try:
        header = ChecklistHeader.model_validate(data["checklist"])
    except ValidationError as exc:
        problems += _problems(exc, None)
    raw_items = data["items"]
    if not isinstance(raw_items, list) or not raw_items:
        problems.append(FieldProblem(None, "items", "须为非空列表"))
        raw_items = []
    items: list[ChecklistItem] = []
    seen: set[str] = set()
    for position, raw in enumerate(raw_items, start=1):
        name = str(raw.get("id")) if isinstance(raw, dict) and raw.get("id") else f"#{position}"
        try:
            item = ChecklistItem.model_validate(raw)
        except ValidationError as exc:
            problems += _problems(exc, name)
            continue
        if item.id in seen:
            problems.append(FieldProblem(name, "id", "与前面的条目重复"))
        seen.add(item.id)
        items.append(item)
    if problems or header is None:
        raise ChecklistValidationError(source, problems)
    return Checklist(header=header, items=tuple(items))


def load_checklist_text(text: str, source: str) -> Checklist:
    """Parse YAML text and validate it."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行" if mark else "(文件)"
        raise ChecklistValidationError(
            source, [FieldProblem(None, where, f"YAML 格式错误：{getattr(exc, 'problem', exc)}")]
        ) from exc
    return parse_checklist(data, source)


class _Dumper(yaml.SafeDumper):
    """Multi-line text (a notice's source text) as a literal block, readable in the file."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _text)


def dump_checklist(checklist: Checklist) -> str:
    return yaml.dump(checklist.to_yaml_dict(), Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)
