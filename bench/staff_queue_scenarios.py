"""What the queue benchmark asks for: the three roles and, for each, the queue page's scenarios (the
query parameters a staff member's filters give). (bench/staff_queue.py)"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from staff_seed import SITUATIONS, TODAY


ROLE_LABELS = {"admin": "admin (national)", "civil_affairs": "civil affairs (440306)",
               "committee": "committee (community)"}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]



@dataclass
class RoleContext:
    role: str
    username: str
    area: str
    references: list[str]
    sub_areas: list[str]  # narrower areas inside the user's (for the area filter)


def random_range(rng: random.Random, days: int) -> tuple[str, str]:
    since = TODAY - dt.timedelta(days=rng.randint(days, 360))
    return since.isoformat(), (since + dt.timedelta(days=days)).isoformat()


STATUS_CHOICES = ["submitted", "under_review", "accepted", "referred", "not_eligible", "closed"]
SITUATION_CHOICES = [c for c, _w in SITUATIONS]


def scenarios(ctx: RoleContext, total_pages_all: int) -> list[tuple[str, callable]]:
    """(name, rng → query params) of the queue page."""
    items = [
        ("first page (open, newest)", lambda rng: {}),
        ("all statuses", lambda rng: {"status": "all"}),
        ("one status", lambda rng: {"status": rng.choice(STATUS_CHOICES)}),
        ("open, oldest first", lambda rng: {"order": "oldest"}),
        ("situation (open)", lambda rng: {"situation": rng.choice(SITUATION_CHOICES)}),
        ("situation, all statuses", lambda rng: {"status": "all", "situation": rng.choice(SITUATION_CHOICES)}),
    ]
    if ctx.sub_areas:
        items.append(("area (narrower)", lambda rng: {"status": "all", "area": rng.choice(ctx.sub_areas)}))
    items += [
        ("date range 30 days, all", lambda rng: dict(zip(("since", "until"), random_range(rng, 30)), status="all")),
        ("status+situation+area+dates", lambda rng: {
            "status": rng.choice(STATUS_CHOICES), "situation": rng.choice(SITUATION_CHOICES),
            **({"area": rng.choice(ctx.sub_areas)} if ctx.sub_areas else {}),
            **dict(zip(("since", "until"), random_range(rng, 90)))}),
        ("search by reference", lambda rng: {"q": rng.choice(ctx.references).lower()
                                             if rng.random() < 0.3 else rng.choice(ctx.references)}),
        ("page 10, all statuses", lambda rng: {"status": "all", "page": "10"}),
        ("last page, all statuses", lambda rng: {"status": "all", "page": str(total_pages_all)}),
    ]
    return items
