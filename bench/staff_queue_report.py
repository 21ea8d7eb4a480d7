"""bench/results/staff_queue.md: the machine, the data, every table of timings, the plans and what
they show. (bench/staff_queue.py)"""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from ledger.models import (AssistanceRequest, AuditEvent, Committee, Conversation, HandoffRequest,
                           LedgerEntry, StatusChange, UrgentRecord, Visit)
from staff_queue_scenarios import ROLE_LABELS, STATUS_CHOICES, RoleContext, percentile


def machine_info(url: str) -> dict:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = ""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GB"
    engine = create_engine(url)
    with engine.connect() as conn:
        version = conn.execute(text("show server_version")).scalar()
        buffers = conn.execute(text("show shared_buffers")).scalar()
        work_mem = conn.execute(text("show work_mem")).scalar()
        sizes = {t: conn.execute(text(f"select pg_size_pretty(pg_total_relation_size('{t}'))")).scalar()
                 for t in ("assistance_requests", "ledger_entries", "status_history")}
        counts = {t.__tablename__: conn.execute(select(func.count()).select_from(t)).scalar()
                  for t in (AssistanceRequest, LedgerEntry, Visit, StatusChange, UrgentRecord, HandoffRequest,
                            Committee, Conversation, AuditEvent)}
        by_status = dict(conn.execute(select(AssistanceRequest.status, func.count())
                                      .group_by(AssistanceRequest.status)).all())
        open_urgent = conn.execute(select(func.count()).select_from(UrgentRecord)
                                   .where(UrgentRecord.status == "new")).scalar()
        open_handoffs = conn.execute(select(func.count()).select_from(HandoffRequest)
                                     .where(HandoffRequest.status == "open")).scalar()
        active_entries = conn.execute(select(func.count()).select_from(LedgerEntry)
                                      .where(LedgerEntry.status == "active")).scalar()
    engine.dispose()
    return {"cpu": cpu, "cores": os.cpu_count(), "mem": mem, "python": platform.python_version(),
            "pg": version, "shared_buffers": buffers, "work_mem": work_mem, "sizes": sizes, "counts": counts,
            "by_status": by_status, "open_urgent": open_urgent, "open_handoffs": open_handoffs,
            "active_entries": active_entries}


def _summary(queue: list[dict], role: str | None = None) -> tuple[int, float, float, float]:
    times = [t for r in queue if role is None or r["role"] == role for t in r["times"]]
    return len(times), statistics.median(times), percentile(times, 0.95), max(times)


def _plan_block(title: str, sql: str, params, plan: str) -> list[str]:
    return [f"<details><summary>{title}</summary>", "", "```", sql.strip(), f"-- {params}", "", plan, "```",
            "</details>", ""]


def _findings(queue: list[dict], explains: list[dict], fixes: list[dict]) -> list[str]:
    worst = max(queue, key=lambda r: r["p95"])
    lines = ["", "## Findings", "",
             f"- Worst queue-page p95: **{worst['p95']:.1f} ms** ({ROLE_LABELS[worst['role']]}, {worst['scenario']}) "
             "— the 200 ms target is met in every scenario."
             if all(r["p95"] <= 200 for r in queue) else
             f"- Worst queue-page p95: **{worst['p95']:.1f} ms** ({ROLE_LABELS[worst['role']]}, {worst['scenario']}) "
             f"— the 200 ms target is **missed** in "
             + ", ".join(f"{ROLE_LABELS[r['role']]} / {r['scenario']}" for r in queue if r["p95"] > 200) + "."]
    seq = [e for e in explains if "assistance_requests" in e["seq"]]
    by_situation = [e for e in seq if e["filter"].get("situation")]
    if by_situation:
        lines.append("- Full scans of `assistance_requests` (custom plans) with a situation filter: " + "; ".join(
            f"{ROLE_LABELS[e['role']]} / {e['scenario']} / {e['query']} {e['ms']:.0f} ms" for e in by_situation)
            + ". The situation filter (`ledger/queue.py` `situation_clause`: `(',' || situations || ',') LIKE "
            "'%,code,%'`) cannot use an index, and without statistics on that expression PostgreSQL estimates "
            "it at a handful of rows, so the page query too scans the whole table and sorts instead of walking "
            "`ix_assistance_requests_created_at` backwards until it has 50 rows.")
    others = [e for e in seq if not e["filter"].get("situation")]
    if others:
        lines.append("- Other full scans of `assistance_requests`: " + "; ".join(
            f"{ROLE_LABELS[e['role']]} / {e['scenario']} / {e['query']} {e['ms']:.0f} ms" for e in others) + ".")
    trap = sorted((e for e in explains if e["generic_ms"] is not None and e["generic_ms"] > 5 * e["ms"] + 5),
                  key=lambda e: -(e["generic_ms"] - e["ms"]))
    if trap:
        lines.append("- Generic plans much slower than custom ones: " + "; ".join(
            f"{ROLE_LABELS[e['role']]} / {e['scenario']} / {e['query']} {e['generic_ms']:.0f} ms vs {e['ms']:.1f} ms"
            for e in trap[:6]) + ". With bound parameters the planner cannot see that `area_code >= $1 AND "
            "area_code < $2 AND area_code LIKE $3` selects a whole district, estimates 2 rows, and reads and sorts "
            "every request of the area; psycopg prepares a statement after 5 executions on a connection and "
            "PostgreSQL keeps the generic plan once it looks no dearer than the average custom plan (after "
            "deep pages or narrow areas with the same SQL), so a pooled connection can stay on it.")
    for phase in fixes:
        worst_fix = max(phase["queue"], key=lambda r: r["p95"])
        everything = _summary(phase["queue"])
        lines.append(f"- With fix {phase['letter']} ({phase['label']}): all scenarios p50 {everything[1]:.1f} ms, "
                     f"p95 {everything[2]:.1f} ms (before: p50 {_summary(queue)[1]:.1f}, p95 "
                     f"{_summary(queue)[2]:.1f}); worst scenario p95 {worst_fix['p95']:.1f} ms "
                     f"({ROLE_LABELS[worst_fix['role']]}, {worst_fix['scenario']}).")
    return lines


def write_report(path: Path, args, info: dict, seeding: dict | None, base: dict, explains: list[dict],
                 fixes: list[dict], contexts: dict[str, RoleContext]) -> str:
    queue, pages, exports = base["queue"], base["pages"], base["exports"]
    lines = [f"# Staff queue page and ledger export on PostgreSQL — {dt.date.today():%Y-%m-%d}", ""]
    lines += [f"`.venv/bin/python bench/staff_queue.py --requests {args.requests} --entries {args.entries} "
              f"--samples {args.samples}` (database `{args.url.rsplit('/', 1)[-1]}`; {info['elapsed'] / 60:.0f} min "
              "in all).", ""]
    lines += [f"Machine: {info['cores']} cores ({info['cpu']}), {info['mem']} RAM; Python {info['python']}; "
              f"PostgreSQL {info['pg']} (shared_buffers {info['shared_buffers']}, work_mem {info['work_mem']}, "
              "defaults otherwise) on the same machine. One uvicorn worker (`tongban serve`, its default pool of "
              "10 connections); the client (httpx, one request at a time, HTTP included) runs on the same cores. "
              "The machine was shared with other work (test suites) while this ran — load averages (1/5/15 min) "
              "before → after each part:", ""]
    lines += [f"- {k}: {v}" for k, v in info["load"].items()]
    lines += [""]
    c = info["counts"]
    status_text = ", ".join(f"{s} {info['by_status'].get(s, 0):,}" for s in STATUS_CHOICES)
    lines += ["Data: " + f"{c['assistance_requests']:,} requests ({status_text}); "
              f"{c['ledger_entries']:,} ledger entries ({info['active_entries']:,} in care), {c['visits']:,} visits; "
              f"{c['status_history']:,} status-history rows, {c['audit_log']:,} audit events; "
              f"{c['urgent_records']:,} urgent records ({info['open_urgent']} open), {c['handoff_requests']:,} "
              f"handoff requests ({info['open_handoffs']} open), 20 % of both without a known district; "
              f"{c['committees']} committees; 10 districts × 4 streets × 5 communities, 35 % of requests referred "
              "by a committee (community area code), created over the last 12 months (more in recent months; "
              "open ones mostly recent). Personal fields encrypted with the real DataCipher, hashes and "
              "`LD-YYYY-NNNNNN` references as `file_request` makes them. Table sizes: assistance_requests "
              f"{info['sizes']['assistance_requests']}, ledger_entries {info['sizes']['ledger_entries']}, "
              f"status_history {info['sizes']['status_history']}.", ""]
    users = "; ".join(f"{ROLE_LABELS[r]} `{ctx.username}` area `{ctx.area}`" for r, ctx in contexts.items())
    lines += [f"Users (created with `ledger.accounts.create_user`, signed in through the login form): {users}.", ""]
    if seeding:
        t = seeding["timings"]
        lines += [f"**Seeding**: {t['total']:.0f} s in all (bulk Core `insert()`, 2,000 rows a statement): requests "
                  f"with their conversations, status history and audit events {t['requests']:.0f} s, ledger entries "
                  f"and visits {t['ledger']:.1f} s, urgent records and handoffs {t['urgent_handoffs']:.1f} s, "
                  f"VACUUM ANALYZE {t['vacuum_analyze']:.1f} s; schema drop + migrations {t['schema']:.1f} s.", ""]
    lines += ["## The queue page `GET /staff/` (target p95 ≤ 200 ms)", "",
              f"{args.samples} timed requests per scenario after {args.warmup} warm-up requests; random filter "
              "values per request (statuses, situations, areas, 30/90-day ranges, references). \"matching\" is the "
              "median number of requests the filter matches (the page shows 50); the page also lists the open "
              "urgent records and handoffs of the area (up to 100 each).", "",
              "| user | scenario | p50 ms | p95 ms | max ms | matching | page KB | p95 ≤ 200 |",
              "|---|---|---:|---:|---:|---:|---:|:---:|"]
    for r in queue:
        ok = "yes" if r["p95"] <= 200 else "**no**"
        lines.append(f"| {ROLE_LABELS[r['role']]} | {r['scenario']} | {r['p50']:.1f} | {r['p95']:.1f} | "
                     f"{r['max']:.1f} | {r['matches']:,} | {r['kb']:.0f} | {ok} |")
    lines += ["", "Per user, all scenarios together:", "", "| user | requests | p50 ms | p95 ms | max ms |",
              "|---|---:|---:|---:|---:|"]
    for role in contexts:
        n, p50, p95, top = _summary(queue, role)
        lines.append(f"| {ROLE_LABELS[role]} | {n} | {p50:.1f} | {p95:.1f} | {top:.1f} |")
    n, p50, p95, top = _summary(queue)
    lines.append(f"| **all** | {n} | {p50:.1f} | {p95:.1f} | {top:.1f} |")
    if fixes:
        lines += ["", "### The same scenarios with the proposed fixes", "",
                  "Measured again with the same random filter values, each fix applied to the database and undone "
                  "afterwards:", ""]
        for phase in fixes:
            lines.append(f"- **{phase['letter']}** ({phase['label']}): `" + "`; `".join(phase["ddl"]) + "`; the "
                         "server's connections with `" + " ".join(f"{k}='{v}'" for k, v in phase["env"].items())
                         + "`.")
        head = " | ".join(f"p50 {p['letter']}" for p in fixes)
        head95 = " | ".join(f"p95 {p['letter']}" for p in fixes)
        lines += ["", f"| user | scenario | p50 before | {head} | p95 before | {head95} |",
                  "|---|---|" + "---:|" * (2 + 2 * len(fixes))]
        after = [{(r["role"], r["scenario"]): r for r in p["queue"]} for p in fixes]
        for r in queue:
            cells = [a.get((r["role"], r["scenario"])) for a in after]
            p50s = " | ".join(f"{c['p50']:.1f}" if c else "" for c in cells)
            p95s = " | ".join(f"{c['p95']:.1f}" if c else "" for c in cells)
            lines.append(f"| {ROLE_LABELS[r['role']]} | {r['scenario']} | {r['p50']:.1f} | {p50s} | "
                         f"{r['p95']:.1f} | {p95s} |")
        for role in contexts:
            b = _summary(queue, role)
            s50 = " | ".join(f"{_summary(p['queue'], role)[1]:.1f}" for p in fixes)
            s95 = " | ".join(f"{_summary(p['queue'], role)[2]:.1f}" for p in fixes)
            lines.append(f"| **{ROLE_LABELS[role]}, all** | | {b[1]:.1f} | {s50} | {b[2]:.1f} | {s95} |")
    lines += _findings(queue, explains, fixes)
    if pages:
        extra = [{(r["role"], r["page"]): r for r in p["pages"]} for p in fixes]
        head = "".join(f" p50 {p['letter']} | p95 {p['letter']} |" for p in fixes)
        lines += ["", "## Other list pages (fewer samples)", "",
                  f"| user | page | n | p50 ms | p95 ms | max ms |{head}",
                  "|---|---|---:|---:|---:|---:|" + "---:|---:|" * len(fixes)]
        for r in pages:
            cells = "".join(f" {x['p50']:.1f} | {x['p95']:.1f} |" if x else "  |  |"
                            for x in (e.get((r["role"], r["page"])) for e in extra))
            lines.append(f"| {ROLE_LABELS[r['role']]} | {r['page']} | {r['n']} | {r['p50']:.1f} | {r['p95']:.1f} | "
                         f"{r['max']:.1f} |{cells}")
    lines += ["", "## Ledger export `POST /staff/export` (closed records included)", "",
              "Time from sending the POST to the last byte received; rows counted in the returned file.", "",
              "| user | format | rows | size MB | median s | min s | max s | runs | server RSS after MB "
              "| peak RSS MB |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {ROLE_LABELS[r['role']]} | {r['format']} | {r['rows']:,} | {r['mb']:.2f} | {r['median']:.2f} | "
              f"{r['min']:.2f} | {r['max']:.2f} | {r['runs']} | {r['rss']:.0f} | {r['peak']:.0f} |" for r in exports]
    lines += ["", "## EXPLAIN (ANALYZE, BUFFERS) of the queue page's queries", "",
              "One random sample per scenario, run through the real ledger functions (`queue_page`, "
              "`open_urgent_records`, `open_handoffs`, `locality_names`); the captured SQL is explained with its "
              "parameters (a custom plan). For the count and the page rows also the **generic plan** "
              "(`PREPARE` + `plan_cache_mode=force_generic_plan`): psycopg prepares a statement after 5 executions "
              "on a connection, and PostgreSQL may then switch to the generic plan for good on that connection.", "",
              "| user | scenario | query | custom ms | indexes used | seq scans | generic ms | generic plan uses |",
              "|---|---|---|---:|---|---|---:|---|"]
    for e in explains:
        generic = (f"{e['generic_ms']:.1f}", ", ".join(e["generic_indexes"]) or "—") \
            if e["generic_ms"] is not None else ("", "")
        lines.append(f"| {ROLE_LABELS[e['role']]} | {e['scenario']} | {e['query']} | {e['ms']:.1f} | "
                     f"{', '.join(e['indexes']) or '—'} | {', '.join(e['seq']) or '—'} | {generic[0]} | "
                     f"{generic[1]} |")
    main_queries = [e for e in explains if e["query"] in ("count", "page rows")]
    lines += ["", "Plans of the slowest queue queries (custom plans):", ""]
    for e in sorted(main_queries, key=lambda e: -e["ms"])[:4]:
        lines += _plan_block(f"{ROLE_LABELS[e['role']]} — {e['scenario']} — {e['query']} ({e['ms']:.1f} ms)",
                             e["sql"], e["params"], e["plan"])
    worst_generic = sorted((e for e in main_queries if e["generic_ms"] is not None),
                           key=lambda e: -(e["generic_ms"] - e["ms"]))[:2]
    if worst_generic:
        lines += ["Generic plans that cost most over the custom plan:", ""]
        for e in worst_generic:
            lines += _plan_block(f"{ROLE_LABELS[e['role']]} — {e['scenario']} — {e['query']}: generic "
                                 f"{e['generic_ms']:.1f} ms vs custom {e['ms']:.1f} ms", e["sql"], e["params"],
                                 e["generic_plan"])
    if fixes:
        head = " | ".join(f"ms {p['letter']} | plan {p['letter']}" for p in fixes)
        lines += ["With the fixes, the count and page-rows queries (custom plans):", "",
                  f"| user | scenario | query | ms before | {head} |", "|---|---|---|---:|" + "---:|---|" * len(fixes)]
        after = [{(e["role"], e["scenario"], e["query"]): e for e in p["explains"]} for p in fixes]
        for e in main_queries:
            cells = []
            for a in after:
                x = a.get((e["role"], e["scenario"], e["query"]))
                cells.append(f"{x['ms']:.1f} | {', '.join(x['indexes'] + ['seq:' + t for t in x['seq']]) or '—'}"
                             if x else " | ")
            lines.append(f"| {ROLE_LABELS[e['role']]} | {e['scenario']} | {e['query']} | {e['ms']:.1f} | "
                         + " | ".join(cells) + " |")
    report = "\n".join(lines) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report, encoding="utf-8")
    return report
