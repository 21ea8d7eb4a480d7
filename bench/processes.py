"""Processes a benchmark starts, watches and kills: a PostgreSQL cluster of its own, ``tongban
serve`` with its workers, and a killer thread that SIGKILLs serving workers under load.
(Used by bench/crash_recovery.py and bench/wechat_throughput.py; Linux only: /proc.)"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchutil import children

REPO = Path(__file__).resolve().parent.parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")
RESTART_WINDOW = 30.0  # tongban/serve.py: deaths sooner than this after a start count as a crash loop


# --------------------------------------------------------------------------------------------
# a PostgreSQL cluster of our own
# --------------------------------------------------------------------------------------------

class OwnPostgres:
    """initdb into a temporary folder; started, restarted and removed by this benchmark only."""

    def __init__(self, port: int):
        self.port = port
        self.root = Path(tempfile.mkdtemp(prefix="tongban-crash-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/tongban"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(PG_BIN / args[0]), *args[1:]]
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        # no pipes: the server pg_ctl starts would inherit them, and run() would wait for it to exit
        with open(self.root / "pg_ctl.log", "a") as out:
            return subprocess.run(command, check=check, stdin=subprocess.DEVNULL, stdout=out, stderr=out)

    def start(self) -> "OwnPostgres":
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale")
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c max_connections=200 "
                   "-c shared_buffers=64MB")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute("CREATE DATABASE tongban")
        return self

    def restart(self) -> float:
        """A crash of the database server (immediate shutdown, no checkpoint) and a start; seconds
        until it accepts connections again."""
        started = time.monotonic()
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-m", "immediate", "-w", "restart")
        return time.monotonic() - started

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# --------------------------------------------------------------------------------------------
# the server processes
# --------------------------------------------------------------------------------------------

def server_env(data_dir: Path, database_url: str, key: str, **extra: str) -> dict:
    return {**os.environ, "TONGBAN_DATA_DIR": str(data_dir), "TONGBAN_LOG_LEVEL": "WARNING",
            "TONGBAN_KNOWLEDGE__WATCH_INTERVAL": "0", "TONGBAN_DATABASE__URL": database_url,
            "TONGBAN_SECURITY__DATA_KEY": key, **extra}


def prepare(data_dir: Path) -> None:
    """Train the intent model and build the index once, in one process: workers starting together
    on an empty data folder would each train it (and race on the embedding cache file). With
    ``TONGBAN_TEST_CACHE`` set, an empty data folder starts from the tests' copies built for this
    very code (``seed_from_test_cache``); the commands below then check their fingerprints (data,
    embedder, code) and rebuild only what does not match."""
    if not (data_dir / "models" / "intent.pkl").exists():
        seed_from_test_cache(data_dir)
        # this checkout's code (the venv's editable install points at the main one)
        env = {**os.environ, "TONGBAN_DATA_DIR": str(data_dir), "PYTHONPATH": str(REPO)}
        for command in (["nlu", "train"], ["knowledge", "reindex"]):
            subprocess.run([str(REPO / ".venv" / "bin" / "tongban"), *command], env=env, cwd=str(REPO),
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def seed_from_test_cache(data_dir: Path) -> bool:
    """Copy the models and the index the tests built (``TONGBAN_TEST_CACHE``, tests/conftest.py) into
    ``data_dir``, from the cache's folder for this checkout's code digest only (the index's own
    fingerprint covers its data and embedder, not the code that writes its texts); False when there
    is none. Saves the ~15 minutes of CPU a first build takes on this machine."""
    kept = os.environ.get("TONGBAN_TEST_CACHE", "").strip()
    if not kept:
        return False
    sys.path.insert(0, str(REPO))
    from tests.cache_key import CACHE_KEPT, INDEX_FOLDER, code_digest

    folder = Path(kept).resolve() / code_digest()
    if not (folder / "models" / "intent.pkl").exists():
        return False
    for kind, patterns in CACHE_KEPT.items():
        target = data_dir / kind
        target.mkdir(parents=True, exist_ok=True)
        for pattern in patterns:
            for path in (folder / kind).glob(pattern):
                shutil.copy2(path, target / path.name)
        if kind == "index" and (folder / kind / INDEX_FOLDER).is_dir():
            shutil.rmtree(target / INDEX_FOLDER, ignore_errors=True)
            shutil.copytree(folder / kind / INDEX_FOLDER, target / INDEX_FOLDER)
    return True


def start_serve(env: dict, port: int, workers: int, log: Path) -> subprocess.Popen:
    return subprocess.Popen([str(REPO / ".venv" / "bin" / "tongban"), "serve", "--port", str(port),
                             "--workers", str(workers)], env=env, cwd=str(REPO),
                            stdout=subprocess.DEVNULL, stderr=open(log, "a"), start_new_session=True)


def stop_serve(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def worker_pids(supervisor: int) -> list[int]:
    """The supervisor's worker processes (multiprocessing's spawned children; not its resource tracker)."""
    found = []
    for pid in children(supervisor):
        try:
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            pass
    return found


def listening_pids(pids: list[int], port: int) -> list[int]:
    """Those of ``pids`` that hold a socket listening on ``port`` (a worker listens once started)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    serving = []
    for pid in pids:
        try:
            links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            continue
        if any(link.startswith("socket:[") and link[8:-1] in inodes for link in links):
            serving.append(pid)
    return serving


def wait_serving(server: subprocess.Popen, port: int, workers: int, log: Path, timeout: float = 900) -> None:
    """Until ``workers`` of the supervisor's workers listen on ``port`` (each listens once its app has
    started, models loaded): measure all of them serving, not one while another still loads."""
    deadline = time.monotonic() + timeout
    while len(listening_pids(worker_pids(server.pid), port)) < workers:
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"server did not start; see {log}")
        time.sleep(0.5)


TICKS = os.sysconf("SC_CLK_TCK")


def age_seconds(pid: int) -> float:
    try:
        start_ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except OSError:
        return 0.0
    return uptime - start_ticks / TICKS


class Killer(threading.Thread):
    """SIGKILL one serving worker at least ``interval`` s after the last kill, at a moment when at
    least ``min_in_flight`` webhook POSTs are waiting for an answer (so that turns are cut
    short), choosing among workers older than the supervisor's crash-loop window (a younger one's
    death would count towards "keeps exiting at start"). The only worker serving is spared unless
    ``outages`` (then nothing serves until the supervisor's new worker has loaded its models)."""

    def __init__(self, supervisor: int, port: int, interval: float, outages: bool = False,
                 in_flight=lambda: 0, min_in_flight: int = 0, seed: int = 5):
        super().__init__(daemon=True, name="killer")
        self.supervisor, self.port, self.interval, self.outages = supervisor, port, interval, outages
        self.in_flight, self.min_in_flight = in_flight, min_in_flight
        self.stop_event = threading.Event()
        self.kills: list[tuple[float, int, int]] = []  # (seconds into the load, pid, POSTs in flight)
        self.wall: list[float] = []  # the same moments, wall clock
        self.rng = random.Random(seed)
        self.started_at = time.monotonic()

    def run(self) -> None:
        self.started_at = last = time.monotonic()
        while not self.stop_event.wait(0.05):
            if time.monotonic() - last < self.interval or self.in_flight() < self.min_in_flight:
                continue
            serving = listening_pids(worker_pids(self.supervisor), self.port)
            victims = [pid for pid in serving if age_seconds(pid) > RESTART_WINDOW + 1]
            if not victims or (len(serving) < 2 and not self.outages):
                continue
            victim = self.rng.choice(victims)
            in_flight = self.in_flight()
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                continue
            last = time.monotonic()
            self.kills.append((last - self.started_at, victim, in_flight))
            self.wall.append(time.time())

    def stop(self) -> None:
        self.stop_event.set()
        self.join()
