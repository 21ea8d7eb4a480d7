"""Small helpers shared by the benchmark scripts (run as ``python bench/<name>.py``)."""

from __future__ import annotations

import math
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path


# The benchmarks talk to our server as a trusted integration: public clients are rate limited
# per address (tongban/app.py lookup_limit, bot/rest.py), which a benchmark from one address would hit.
BENCH_API_TOKEN = "tongban-bench-api-token"
BENCH_HEADERS = {"Authorization": f"Bearer {BENCH_API_TOKEN}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def memory_kb(pid: int) -> tuple[int, int]:
    """(resident, peak resident) memory of a process in KiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14 and 15 of stat)


def children(pid: int) -> list[int]:
    """Direct child processes of ``pid``."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def processes_named(name: str) -> list[int]:
    """Every process whose command name is ``name`` (e.g. the PostgreSQL server's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def python_loop_seconds(n: int = 10_000_000) -> float:
    """Seconds for a pure-Python loop of ``n`` additions: how fast this (shared, varying) VM
    is at the moment, so results taken at different times can be compared."""
    started = time.perf_counter()
    total = 0
    for i in range(n):
        total += i
    return time.perf_counter() - started


def percentile(ordered: list[float], share: float) -> float:
    """The value at or below which ``share`` of the sorted list ``ordered`` lies (nearest rank)."""
    return ordered[max(0, math.ceil(len(ordered) * share) - 1)]


def start_tongban(tree: Path, data_dir: Path, port: int, workers: int, env: dict[str, str]) -> subprocess.Popen:
    """``tongban serve`` of the checkout ``tree`` (this one, or a worktree of another commit) in its own
    process, with the settings in ``env`` (TONGBAN_…) and quiet logs (``data_dir``/server.log)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tree), os.environ.get("PYTHONPATH", "")])), "TONGBAN_DATA_DIR": str(data_dir), "TONGBAN_LOG_LEVEL": "WARNING",
           "TONGBAN_KNOWLEDGE__WATCH_INTERVAL": "0", **env}
    return subprocess.Popen([sys.executable, "-m", "tongban.cli", "serve", "--port", str(port),
                             "--workers", str(workers)], env=env, cwd=str(tree),
                            stdout=subprocess.DEVNULL, stderr=open(data_dir / "server.log", "w"))


def cpu_snapshot(server_pid: int, side: str) -> dict[str, float]:
    """CPU seconds so far of the bot's worker processes, the PostgreSQL server's processes and this
    process (the fake platform server and the load generator, named ``side``)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return {"bot": sum(cpu_seconds(pid) for pid in [server_pid, *children(server_pid)]),
            "database": sum(cpu_seconds(pid) for pid in processes_named("postgres")),
            side: own.ru_utime + own.ru_stime}


def cpu_since(before: dict[str, float], server_pid: int, side: str) -> dict[str, float]:
    return {key: value - before.get(key, 0.0) for key, value in cpu_snapshot(server_pid, side).items()}


def cpu_line(cpu: dict[str, float], count: int, unit: str, rate: str, side: str, side_name: str) -> str:
    """A channel benchmark's CPU figures (``cpu_since``) per ``unit`` (``count`` of them), and the ``rate``
    (e.g. "updates/s") the machine's cores would allow if they did nothing else."""
    per = {key: value * 1000 / count for key, value in cpu.items()}
    total = sum(per.values())
    cores = os.cpu_count()
    return (f"CPU per {unit}: bot workers {per['bot']:.2f} ms, database server {per['database']:.2f} ms, "
            f"{side_name} (this process) {per[side]:.2f} ms; all {total:.2f} ms "
            f"-> {cores * 1000 / total:.0f} {rate} if {cores} cores were busy all the time")


def commit_of(tree: Path) -> str:
    described = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=tree, capture_output=True, text=True)
    return described.stdout.strip() or "unknown commit"
