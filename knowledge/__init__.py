"""Service checklists: schema, ingestion, the index, retrieval and cited answers."""

from knowledge.answer import Answer, compose, not_understood
from knowledge.errors import ChecklistNotFound, ChecklistValidationError, KnowledgeError
from knowledge.retrieval import SearchResult
from knowledge.schema import Checklist, ChecklistItem
from knowledge.service import KnowledgeBase

__all__ = [
    "Answer", "Checklist", "ChecklistItem", "ChecklistNotFound", "ChecklistValidationError",
    "KnowledgeBase", "KnowledgeError", "SearchResult", "compose", "not_understood",
]
