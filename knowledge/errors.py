"""The knowledge package's errors, raised with fields; turned into text at the edges."""

from __future__ import annotations

from dataclasses import dataclass, field


class KnowledgeError(Exception):
    """Base of every error the knowledge package raises."""


@dataclass
class FieldProblem:
    """One thing wrong in a checklist file."""

    item: str | None  # the item id (or "#3" by position), None for the checklist header
    field: str
    message: str

    def __str__(self) -> str:
        where = f"条目 {self.item} 的" if self.item else "清单信息的"
        return f"{where}字段 {self.field}：{self.message}"


@dataclass
class ChecklistValidationError(KnowledgeError):
    """A checklist file that failed validation: names the file, item and field."""

    source: str
    problems: list[FieldProblem] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"清单文件 {self.source} 未通过校验："]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class ChecklistNotFound(KnowledgeError):
    """No checklist (or no such version) with the requested id."""


class UnknownLocality(KnowledgeError):
    """A locality name or code that the administrative-division data does not know."""


class IngestError(KnowledgeError, ValueError):
    """A document the ingester cannot use; ``message`` is fit to show to staff."""

    def __init__(self, message: str = "", *, detail: str = "") -> None:
        self.message = message or "没有在文件中找到带编号的条款（如“一、”“（一）”），请确认上传的是正式文件的正文。"
        self.detail = detail
        super().__init__(f"{self.message}（{detail}）" if detail else self.message)
