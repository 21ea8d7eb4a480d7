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
