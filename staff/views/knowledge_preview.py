"""What the checklist preview shows before publishing: how the file was read (its kind, the table
columns recognised, the notes), every item with its category as a choice staff may correct (the
classifier's pick and its probability; unsure ones flagged), and what the new version changes
against the current one. Only values the template renders; the desk (``knowledge/desk.py``) did
the reading."""

from __future__ import annotations

from dataclasses import dataclass

KIND_LABELS = {"html": "网页（HTML）", "docx": "Word 文档（.docx）", "xlsx": "Excel 表格（.xlsx）",
               "pdf": "PDF 文件", "text": "文本文件", "yaml": "清单 YAML 文件"}
ROLE_LABELS = {"number": "序号", "category": "服务类别", "item": "服务项目", "service_object": "服务对象",
               "content": "服务内容", "departments": "责任单位", "channel": "办理渠道", "other": "其他"}
SURE = 0.5  # below this probability the preview asks staff to check the category
# Items that get a category choice on the publish form: a form field each, and the staff app parses
# at most 1000 fields a request (Starlette's default); a longer list keeps the rest as read.
MAX_CATEGORY_FIELDS = 900


@dataclass(frozen=True)
class Source:
    """How an uploaded file was read."""

    kind: str  # html, docx, xlsx, pdf, text, yaml
    confidence: dict[str, float] | None = None  # item id → P(category); None: categories given in the file
    headers: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Row:
    item: object  # knowledge.schema.ChecklistItem
    confidence: float | None  # the classifier's probability of its pick; None: not classified
    model_choice: str  # the category the classifier picked ("" when not classified)
    carried: bool  # the category is the current version's (staff chose it before), not the classifier's
    check: bool  # unsure: "请核对类别"
    selectable: bool  # has a category choice on the publish form


def percent(probability: float) -> str:
    """Rounded down: an unsure pick (below 50 %) never shows as 50 %."""
    return f"{int(probability * 100)}%"


def by_runs(field) -> bool:
    """Whether a changed field (``knowledge.diff.FieldChange``) reads best as runs of kept, removed and
    added characters: a longer text that mostly stayed. Otherwise old → new whole (a date, a
    category, a text rewritten)."""
    kept = sum(len(run.text) for run in field.runs if run.kind == "same")
    longest = max(len(field.old), len(field.new))
    return longest > 12 and kept * 2 >= longest


def carried_categories(changes) -> dict[str, str]:
    """The categories to keep from the current version (item id → code): an item matched to a
    current one whose category differs keeps the current one — staff may have corrected it when that
    version was published, and a new reading must not undo it silently."""
    return {change.new.id: change.old.category for change in changes.changed
            if any(f.name == "类别" for f in change.fields)}


def preview_rows(checklist, source: Source, picks: dict[str, str], carried: dict[str, str]) -> list[Row]:
    """The preview's rows of ``checklist`` (as it will be staged); ``picks``: the category each item
    was read with (the classifier's, before any carried over)."""
    rows = []
    for position, item in enumerate(checklist.items):
        probability = None if source.confidence is None else source.confidence.get(item.id)
        is_carried = item.id in carried
        rows.append(Row(item=item, confidence=probability,
                        model_choice=picks.get(item.id, "") if probability is not None else "",
                        carried=is_carried, check=probability is not None and probability < SURE and not is_carried,
                        selectable=position < MAX_CATEGORY_FIELDS))
    return rows


def header_labels(source: Source) -> list[tuple[str, str]]:
    return [(printed, ROLE_LABELS.get(role, ROLE_LABELS["other"])) for printed, role in source.headers]
