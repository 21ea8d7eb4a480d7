"""The knowledge base's settings group; ``tongban/settings.py`` composes it into the one settings
object (``TONGBAN_KNOWLEDGE__...``) and passes it down."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class KnowledgeSettings(BaseModel):
    """Checklists, the index and retrieval."""

    # Extra folders of checklist YAML files, besides the shipped ones and the data dir.
    extra_dirs: list[Path] = Field(default_factory=list)
    include_shipped: bool = True
    # Weight of the dense (embedding) signal in the fused score; the rest is lexical.
    dense_weight: float = 0.7
    # Weight of the supervised service-category prior (0 disables it).
    prior_weight: float = 0.3
    # Answers whose calibrated confidence is below this get the "please rephrase" reply.
    min_confidence: float = 0.4
    # Seconds between checks of the checklist folders for changes (0 disables the watcher).
    watch_interval: float = 5.0
    top_k: int = 5
