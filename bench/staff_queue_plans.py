"""What the queue page asks PostgreSQL, explained (EXPLAIN ANALYZE, custom and generic plans), and
the fixes the report proposes, applied for a trial and undone. (bench/staff_queue.py)"""

from __future__ import annotations

import datetime as dt
import random
import re

from sqlalchemy import create_engine, event, text

import ledger.committees
from ledger import cases
from ledger.areas import area_prefix
from ledger.db import Database
from ledger.queue import QueueFilter, normalise_reference, queue_page
from staff_queue_scenarios import RoleContext, scenarios


def filter_for(params: dict, area: str) -> QueueFilter:
    """The QueueFilter the queue view builds from these query parameters (valid ones only)."""
    status = params.get("status", "open")
    reference = ""
    if params.get("q"):
        reference, status = normalise_reference(params["q"]), "all"
    sub = params.get("area", "")
    sub = sub if sub and sub.startswith(area_prefix(area)) else ""
    since = dt.date.fromisoformat(params["since"]) if params.get("since") else None
    until = dt.date.fromisoformat(params["until"]) if params.get("until") else None
    return QueueFilter(status=status, situation=params.get("situation", ""), area=sub, since=since,
                       until=until, reference=reference, order=params.get("order", "newest"),
                       page=int(params.get("page", 1)))


_PLAN_INDEX = re.compile(r"(Index Only Scan|Index Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\w+)")
_PLAN_SEQ = re.compile(r"Seq Scan on (\w+)")
_EXEC = re.compile(r"Execution Time: ([\d.]+) ms")


def _generic_plan(raw, statement: str, parameters: dict) -> str:
    """EXPLAIN ANALYZE of the statement as a prepared statement under its generic plan — the plan
    PostgreSQL may switch to once psycopg has prepared a statement (after 5 executions on a connection)."""
    import psycopg

    names: list[str] = []

    def dollar(match):
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    query = re.sub(r"%\((\w+)\)s", dollar, statement)
    literals = ", ".join(psycopg.sql.Literal(parameters[n]).as_string(raw) for n in names)
    raw.execute("DEALLOCATE ALL")
    raw.execute(f"PREPARE bench_q AS {query}")
    try:
        raw.execute("SET plan_cache_mode = force_generic_plan")
        return "\n".join(r[0] for r in raw.execute(f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_q({literals})"))
    finally:
        raw.execute("RESET plan_cache_mode")
        raw.execute("DEALLOCATE bench_q")


def explain_queue(db: Database, url: str, ctx: RoleContext, total_pages_all: int, seed_value: int) -> list[dict]:
    """EXPLAIN (ANALYZE, BUFFERS) of what the queue page runs: custom plans (the parameters' values
    known to the planner) for every query, generic plans too for the count and the page rows."""
    import psycopg

    rng = random.Random(seed_value)
    captured: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    results = []
    raw = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True,
                          prepare_threshold=None)
    try:
        for name, make in scenarios(ctx, total_pages_all):
            params = make(rng)
            f = filter_for(params, ctx.area)
            captured.clear()
            event.listen(db.engine, "before_cursor_execute", capture)
            try:
                with db.session() as session:
                    page = queue_page(session=session, user_area=ctx.area, f=f)
                    cases.open_urgent_records(session=session, user_area=ctx.area, sub_area=f.area)
                    cases.open_handoffs(session=session, user_area=ctx.area, sub_area=f.area)
                    ledger.committees.locality_names(session, [row.area_code for row in page.rows])
            finally:
                event.remove(db.engine, "before_cursor_execute", capture)
            labels = ["count", "page rows", "urgent records", "handoffs", "committee names"]
            for label, (statement, parameters) in zip(labels, list(captured)):
                plan = "\n".join(r[0] for r in raw.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters))
                row = {"role": ctx.role, "scenario": name, "query": label, "ms": float(_EXEC.search(plan).group(1)),
                       "indexes": sorted(set(m.group(2) for m in _PLAN_INDEX.finditer(plan))),
                       "seq": sorted(set(_PLAN_SEQ.findall(plan))), "plan": plan, "sql": statement,
                       "params": parameters, "filter": params, "generic_ms": None, "generic_plan": "",
                       "generic_indexes": []}
                if label in ("count", "page rows") and parameters:
                    generic = _generic_plan(raw, statement, parameters)
                    row.update(generic_ms=float(_EXEC.search(generic).group(1)), generic_plan=generic,
                               generic_indexes=sorted(set(m.group(2) for m in _PLAN_INDEX.finditer(generic)))
                               + [f"seq:{t}" for t in sorted(set(_PLAN_SEQ.findall(generic)))])
                results.append(row)
    finally:
        raw.close()
    return results


# ------------------------------------------------------------------ the fix tried at the end

# What the note proposes (see the report), tried on the same data: (A) expression statistics so the
# planner knows how many requests a situation filter matches, and a custom plan for every execution
# (no generic plans of psycopg's auto-prepared statements); (B) A plus a narrow covering index for
# the counts. Each is undone afterwards, so the database keeps the schema of the migrations.
STATISTICS_DDL = ("CREATE STATISTICS IF NOT EXISTS bench_fix_situations ON (((',' || situations) || ',')) "
                  "FROM assistance_requests")
COVERING_DDL = ("CREATE INDEX IF NOT EXISTS bench_fix_queue ON assistance_requests (created_at, id) "
                "INCLUDE (status, area_code, situations)")
CUSTOM_PLANS_ENV = {"PGOPTIONS": "-c plan_cache_mode=force_custom_plan"}
FIX_VARIANTS = [("A", "statistics + custom plans", [STATISTICS_DDL], CUSTOM_PLANS_ENV),
                ("B", "A + covering index", [STATISTICS_DDL, COVERING_DDL], CUSTOM_PLANS_ENV)]
UNDO_FIX_DDL = ["DROP INDEX IF EXISTS bench_fix_queue", "DROP STATISTICS IF EXISTS bench_fix_situations"]


def run_ddl(url: str, statements: list[str]) -> None:
    engine = create_engine(url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for statement in statements:
            conn.execute(text(statement))
        conn.execute(text("VACUUM ANALYZE assistance_requests"))
    engine.dispose()
