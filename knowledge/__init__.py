"""Service checklists: schema, ingestion, the index, retrieval and cited answers.

The public names below are imported lazily, so that importing a submodule (say
``knowledge.schema``) does not pull in the whole package.
"""

from importlib import import_module

_EXPORTS = {
    "Answer": "knowledge.answer", "compose": "knowledge.answer", "not_understood": "knowledge.answer",
    "ChecklistNotFound": "knowledge.errors", "ChecklistValidationError": "knowledge.errors",
    "KnowledgeError": "knowledge.errors", "SearchResult": "knowledge.retrieval",
    "Checklist": "knowledge.schema", "ChecklistItem": "knowledge.schema",
    "KnowledgeBase": "knowledge.service",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(name)
