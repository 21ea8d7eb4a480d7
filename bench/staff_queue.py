"""The staff queue page on 100,000 requests in PostgreSQL (target p95 ≤ 200 ms), and the ledger export.

1. Drops and recreates the schema on a scratch database (default ``bench_staff``; never ``test``).
2. Seeds requests the way ``ledger.requests.file_request`` builds them — personal fields encrypted
   with the real ``DataCipher``, keyed hashes, ``LD-YYYY-NNNNNN`` references, a status history and
   an audit event each — but with bulk Core inserts: a mix of statuses, situations and channels,
   10 districts × 4 streets × 5 communities (committee referrals give community area codes),
   created over the last 12 months; ``--entries`` of them accepted into the ledger (some since
   closed) with visits; some hundreds of urgent records and handoff requests (some without a place).
3. Creates an admin (national), a civil-affairs user (宝安区 440306) and a committee user (one
   community) with ``ledger.accounts.create_user``, starts a real server (``tongban serve``, one
   uvicorn worker) on this database, signs in through the login form and times GETs of the queue
   page (``/staff/``) with httpx, HTTP included: first page, filters by status / situation / area /
   date, search by reference, deeper pages; ``--samples`` timed requests per scenario after a
   warm-up. Also a few samples of the ledger list, visit reminders and the dashboard.
4. Times the export (CSV and Excel, closed records included) through ``POST /staff/export``, for
   the admin (the whole ledger) and the district user (its share), with sizes and row counts.
5. Runs EXPLAIN (ANALYZE, BUFFERS) on the SQL the queue page issues (captured from the real
   ledger functions) and shows which indexes the plans use — the custom plan, and for the count
   and page queries also the generic plan PostgreSQL may switch to for psycopg's prepared statements.
6. Measures the queue (and the other list pages) again with the fixes the report proposes, applied
   to the database for the trial and undone afterwards: (A) expression statistics on the situation
   list plus custom plans only (``PGOPTIONS=-c plan_cache_mode=force_custom_plan`` for the server);
   (B) A plus a covering index for the counts. ``--skip-fix-trial`` leaves this out.
7. Writes bench/results/staff_queue.md (machine, load averages, row counts, all tables, plans).

    .venv/bin/python bench/staff_queue.py [--requests 100000] [--entries 10000]
        [--url postgresql+psycopg://postgres@127.0.0.1:5432/bench_staff] [--samples 200]

``--skip-seed`` measures the database left by an earlier run (same data dir, so the same key).

Beside it: bench/staff_seed.py (the seeding, for any benchmark that needs a ledger at scale),
bench/staff_queue_scenarios.py (roles and queue filters), bench/staff_queue_plans.py (EXPLAIN and
the fix trial), bench/staff_queue_report.py (the results page).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchutil import free_port, memory_kb  # noqa: E402
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import httpx  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from ledger.accounts import create_user, find_user  # noqa: E402
from ledger.areas import area_clause  # noqa: E402
from ledger.crypto import DataCipher, load_or_create_key  # noqa: E402
from ledger.db import Database, drop_everything  # noqa: E402
from ledger.models import AssistanceRequest  # noqa: E402
from ledger.queue import QUEUE_PAGE_SIZE  # noqa: E402
from nlu.areas import GazetteerAreas  # noqa: E402
from tongban.settings import Settings  # noqa: E402
from staff_queue_plans import FIX_VARIANTS, UNDO_FIX_DDL, explain_queue, run_ddl  # noqa: E402
from staff_queue_report import machine_info, write_report  # noqa: E402
from staff_queue_scenarios import ROLE_LABELS, RoleContext, percentile, scenarios  # noqa: E402
from staff_seed import places, seed  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_staff"
PASSWORD = "Queue-Bench-2026!"

# ------------------------------------------------------------------ the server

def memory_mb(pid: int) -> tuple[float, float]:
    rss, peak = memory_kb(pid)
    return rss / 1024, peak / 1024


def start_server(url: str, data_dir: Path, key: bytes, extra_env: dict | None = None) -> tuple[subprocess.Popen, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TONGBAN_") and k != "PGOPTIONS"}
    env.update(extra_env or {})
    env.update({"TONGBAN_DATA_DIR": str(data_dir), "TONGBAN_DATABASE__URL": url,
                "TONGBAN_SECURITY__DATA_KEY": key.decode("ascii"), "TONGBAN_KNOWLEDGE__WATCH_INTERVAL": "0",
                "TONGBAN_LOG_LEVEL": "WARNING", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    port = free_port()
    log = open(data_dir / "server.log", "ab")
    server = subprocess.Popen([sys.executable, "-m", "tongban.cli", "serve", "--port", str(port), "--workers", "1"],
                              env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 900
    with httpx.Client(timeout=10) as client:
        while True:
            try:
                if client.get(f"{base}/healthz").status_code == 200:
                    return server, base
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise RuntimeError(f"server did not start; see {data_dir / 'server.log'}")
            time.sleep(0.5)


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_TOTAL = re.compile(r"共 (\d+) 份申请")


def login(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=120)
    page = client.get("/staff/login", params={"next": "/staff/"})
    page.raise_for_status()
    response = client.post("/staff/login", data={"username": username, "password": PASSWORD, "next": "/staff/",
                                                 "csrf_token": _CSRF.search(page.text).group(1)})
    if response.status_code != 303:
        raise RuntimeError(f"login of {username} failed: {response.status_code}")
    return client


def time_get(client: httpx.Client, path: str, params: dict) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = client.get(path, params=params)
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed, response


def measure_queue(client: httpx.Client, ctx: RoleContext, samples: int, warmup: int, total_pages_all: int,
                  seed_value: int) -> list[dict]:
    rng = random.Random(seed_value)
    results = []
    for name, make in scenarios(ctx, total_pages_all):
        for _ in range(warmup):
            client.get("/staff/", params=make(rng)).raise_for_status()
        times, sizes, totals = [], [], []
        for _ in range(samples):
            params = make(rng)
            elapsed, response = time_get(client, "/staff/", params)
            if response.status_code != 200 or 'id="queue-total"' not in response.text:
                raise RuntimeError(f"{ctx.username} {name} {params}: HTTP {response.status_code}")
            times.append(elapsed)
            sizes.append(len(response.content))
            totals.append(int(_TOTAL.search(response.text).group(1)))
        row = {"role": ctx.role, "scenario": name, "n": len(times), "p50": statistics.median(times),
               "p95": percentile(times, 0.95), "max": max(times), "kb": statistics.median(sizes) / 1024,
               "matches": int(statistics.median(totals)), "times": times}
        results.append(row)
        print(f"  {ROLE_LABELS[ctx.role]:<24} {name:<30} p50 {row['p50']:6.1f}  p95 {row['p95']:6.1f}  "
              f"max {row['max']:6.1f} ms   ~{row['matches']} matching, {row['kb']:.0f} KB", flush=True)
    return results


def measure_pages(client: httpx.Client, role: str, samples: int) -> list[dict]:
    rows = []
    for name, path, params in [("ledger list (in care)", "/staff/ledger", {}),
                               ("ledger: overdue visits", "/staff/ledger", {"view": "overdue"}),
                               ("visit reminders", "/staff/visits", {}),
                               ("dashboard", "/staff/dashboard", {})]:
        client.get(path, params=params).raise_for_status()
        times = []
        for _ in range(samples):
            elapsed, response = time_get(client, path, params)
            response.raise_for_status()
            times.append(elapsed)
        rows.append({"role": role, "page": name, "n": samples, "p50": statistics.median(times),
                     "p95": percentile(times, 0.95), "max": max(times)})
        print(f"  {ROLE_LABELS[role]:<24} {name:<30} p50 {rows[-1]['p50']:6.1f}  p95 {rows[-1]['p95']:6.1f}  "
              f"max {rows[-1]['max']:6.1f} ms", flush=True)
    return rows


def measure_export(client: httpx.Client, role: str, runs: int, server_pid: int) -> list[dict]:
    rows = []
    for fmt in ("csv", "xlsx"):
        times, size, count = [], 0, 0
        for _ in range(runs):
            page = client.get("/staff/export")
            page.raise_for_status()
            token = _CSRF.search(page.text).group(1)
            started = time.perf_counter()
            response = client.post("/staff/export", data={"csrf_token": token, "format": fmt, "include_closed": "1"})
            times.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(f"export {fmt} by {role}: HTTP {response.status_code}")
            size = len(response.content)
            if fmt == "csv":
                count = response.content.decode("utf-8-sig").count("\n") - 1
            else:
                from openpyxl import load_workbook

                book = load_workbook(io.BytesIO(response.content), read_only=True)
                count = sum(1 for _ in book.active.iter_rows(values_only=True)) - 1
                book.close()
        rss, peak = memory_mb(server_pid)
        rows.append({"role": role, "format": fmt, "runs": runs, "min": min(times), "median": statistics.median(times),
                     "max": max(times), "mb": size / 1024 / 1024, "rows": count, "rss": rss, "peak": peak})
        print(f"  export {ROLE_LABELS[role]:<24} {fmt:<4} {count:>6} rows  {size / 1024 / 1024:6.2f} MB  "
              f"median {statistics.median(times):6.2f} s (min {min(times):.2f}, max {max(times):.2f})  "
              f"server RSS {rss:.0f} MB, peak {peak:.0f} MB", flush=True)
    return rows


# ------------------------------------------------------------------ main

def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def measure_phase(args, key: bytes, contexts: dict[str, RoleContext], total_pages: dict[str, int], *,
                  extra_env: dict | None, with_pages: bool, with_exports: bool) -> dict:
    print("starting the server (tongban serve) …", flush=True)
    t0 = time.perf_counter()
    server, base = start_server(args.url, args.data_dir, key, extra_env)
    print(f"server up at {base} in {time.perf_counter() - t0:.0f} s", flush=True)
    phase = {"queue": [], "pages": [], "exports": [], "load": {}}
    try:
        clients = {role: login(base, ctx.username) for role, ctx in contexts.items()}
        print("queue page:", flush=True)
        for n, (role, ctx) in enumerate(contexts.items()):
            before = load()
            phase["queue"] += measure_queue(clients[role], ctx, args.samples, args.warmup, total_pages[role], 100 + n)
            phase["load"][f"queue, {ROLE_LABELS[role]}"] = f"{before} → {load()}"
        if with_pages and args.page_samples:
            print("other pages:", flush=True)
            before = load()
            for role in ("admin", "civil_affairs"):
                phase["pages"] += measure_pages(clients[role], role, args.page_samples)
            phase["load"]["other pages"] = f"{before} → {load()}"
        if with_exports:
            print("export:", flush=True)
            before = load()
            for role in ("admin", "civil_affairs"):
                phase["exports"] += measure_export(clients[role], role, args.export_runs, server.pid)
            phase["load"]["export"] = f"{before} → {load()}"
        for client in clients.values():
            client.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    return phase


def explain_phase(db: Database, url: str, contexts: dict[str, RoleContext], total_pages: dict[str, int]) -> list:
    print("EXPLAIN ANALYZE:", flush=True)
    explains = []
    for n, (role, ctx) in enumerate(contexts.items()):
        explains += explain_queue(db, url, ctx, total_pages[role], 500 + n)
    for e in explains:
        generic = f"; generic plan {e['generic_ms']:.1f} ms ({', '.join(e['generic_indexes'])})" \
            if e["generic_ms"] is not None else ""
        print(f"  {ROLE_LABELS[e['role']]:<24} {e['scenario']:<30} {e['query']:<16} {e['ms']:7.1f} ms  "
              f"indexes: {', '.join(e['indexes']) or '-'}; seq scans: {', '.join(e['seq']) or '-'}{generic}")
    return explains


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--urgent", type=int, default=400)
    parser.add_argument("--handoffs", type=int, default=300)
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--samples", type=int, default=200, help="timed requests per queue scenario")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--page-samples", type=int, default=30, help="timed requests per other page")
    parser.add_argument("--export-runs", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=REPO / "var" / "bench" / "staff_queue")
    parser.add_argument("--skip-seed", action="store_true", help="measure the database of an earlier run")
    parser.add_argument("--skip-fix-trial", action="store_true",
                        help="do not measure the queue again with the proposed statistics/index/custom plans")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "staff_queue.md")
    args = parser.parse_args()
    db_name = args.url.rsplit("/", 1)[-1].split("?")[0]
    if db_name in ("test", "test_staff"):
        parser.error(f"refusing to drop the tables of the shared database {db_name!r}")
    args.data_dir.mkdir(parents=True, exist_ok=True)
    key = load_or_create_key(args.data_dir / "secret.key")
    cipher = DataCipher(key)
    settings = Settings(data_dir=args.data_dir, database={"url": args.url}, security={"data_key": key.decode()},
                        knowledge={"watch_interval": 0}, log_level="WARNING")
    started = time.perf_counter()
    start_load = load()

    seeding = None
    if not args.skip_seed:
        print(f"dropping and recreating the schema on {args.url}", flush=True)
        t0 = time.perf_counter()
        drop_everything(args.url)
        Database(settings.database_url).dispose()
        schema = time.perf_counter() - t0
        print(f"seeding {args.requests:,} requests, {args.entries:,} ledger entries", flush=True)
        seeding = seed(args.url, cipher, args.requests, args.entries, args.urgent, args.handoffs)
        seeding["timings"]["schema"] = schema
        print(f"seeded in {seeding['timings']['total']:.0f} s: {seeding['timings']}", flush=True)
    else:
        run_ddl(args.url, UNDO_FIX_DDL)  # an interrupted earlier run may have left them

    db = Database(settings.database_url)
    users = [("admin", "bench_admin", "national"), ("civil_affairs", "bench_baoan", "440306"),
             ("committee", "bench_liutang", "440306001001")]
    with db.session() as session:
        for role, username, area in users:
            if find_user(session, username) is None:
                create_user(session=session, areas=GazetteerAreas(), username=username, role=role, area=area,
                            password=PASSWORD, display_name=username, created_by="bench")
    contexts: dict[str, RoleContext] = {}
    all_places = places()
    with db.session() as session:
        for role, username, area in users:
            refs = list(session.scalars(select(AssistanceRequest.reference)
                                        .where(area_clause(AssistanceRequest.area_code, area))
                                        .order_by(func.random()).limit(2000)))
            if area == "national":
                subs = [p.district for p in all_places] + [s for p in all_places for s in p.streets]
            elif len(area) == 6:
                place = next(p for p in all_places if p.district == area)
                subs = place.streets + [c for c, _n in place.communities]
            else:
                subs = []
            contexts[role] = RoleContext(role, username, area, refs, subs)
    total_pages = {role: max(1, -(-_count_area(db, ctx.area) // QUEUE_PAGE_SIZE))
                   for role, ctx in contexts.items()}

    base = measure_phase(args, key, contexts, total_pages, extra_env=None, with_pages=True, with_exports=True)
    explains = explain_phase(db, args.url, contexts, total_pages)
    fixes = []
    if not args.skip_fix_trial:
        for letter, label, ddl, env in FIX_VARIANTS:
            print(f"\ntrying fix {letter} ({label}): " + "; ".join(ddl) + f"; server with {env}", flush=True)
            run_ddl(args.url, ddl)
            try:
                phase = measure_phase(args, key, contexts, total_pages, extra_env=env, with_pages=True,
                                      with_exports=False)
                phase["explains"] = explain_phase(db, args.url, contexts, total_pages)
            finally:
                run_ddl(args.url, UNDO_FIX_DDL)
            phase.update(letter=letter, label=label, ddl=ddl, env=env)
            fixes.append(phase)
    db.dispose()

    info = machine_info(args.url)
    info["load"] = {"start": start_load, **base["load"]}
    for phase in fixes:
        info["load"].update({f"fix {phase['letter']}, {k}": v for k, v in phase["load"].items()})
    info["elapsed"] = time.perf_counter() - started
    report = write_report(args.out, args, info, seeding, base, explains, fixes, contexts)
    print("\n" + report.split("## EXPLAIN")[0])
    print(f"written to {args.out}")
    worst = max(r["p95"] for r in base["queue"])
    print(f"worst queue-page p95: {worst:.1f} ms ({'meets' if worst <= 200 else 'MISSES'} the 200 ms target)")
    return 0


def _count_area(db: Database, area: str) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(AssistanceRequest)
                              .where(area_clause(AssistanceRequest.area_code, area)))


if __name__ == "__main__":
    sys.exit(main())
