"""What the dialogue engine needs of the deployment's settings, as one small value.

The composition root builds it from the settings (``tongban.runtime.engine_config``); nothing in
``bot/`` reads the settings object itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EngineConfig:
    fallback_threshold: float  # below this intent confidence the bot asks what was meant
    failures_before_handoff: int  # failed turns in a row before a person is offered
    min_confidence: float  # retrieval: below this calibrated confidence no answer is given
    public_url: str  # where the public reaches this server: answers link to stored notices there
    requests_per_day: int  # per conversation: requests filed, requests for a person, urgent records
    handoffs_per_day: int
    urgent_records_per_day: int
    retention: Any  # the retention policy, handed as is to ledger.retention (what an erasure keeps)
