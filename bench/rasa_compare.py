"""Intent recognition: Tongban against a stock Rasa Open Source 3.6.21 trained on our data.

    .venv/bin/python bench/rasa_compare.py [EVAL.tsv ...] [--output FILE] [--keep-temp]
    make rasa-compare                      # the same, with the default evaluation files

What it does:

1. Builds ``.venv-rasa`` once (pyenv's Python 3.10, ``pip install rasa==3.6.21 jieba``; a stamp
   file marks it done, so a second run installs nothing). Rasa is no dependency of Tongban:
   this virtualenv serves only this comparison.
2. Copies our training files (the list ``nlu.training.default_paths()`` gives, the very files
   our own model trains on) into a temporary Rasa project; trains our model (``tongban nlu train
   --force``, timed) in a fresh temporary data folder and starts our server on it at once; checks
   that nlu/data still matches the copies (others may be editing it); then trains a stock Rasa
   NLU model (``rasa train nlu``, timed; pipeline in bench/rasa/config.yml: Jieba words, word
   counts, character 1–3-gram counts, DIET 40 epochs) on the copies while our server waits idle.
3. Starts the Rasa server (``rasa run --enable-api``; both servers on free loopback ports),
   warms both up with 20 made-up messages that are in no evaluation file, then sends every
   evaluation message once to each server's ``POST /model/parse`` — sequentially, interleaved
   (ours then Rasa, then Rasa then ours, ...), over one keep-alive connection per server — and
   records the intent and the round-trip time. A text found in several files is sent once
   only, so every measured message is first seen by both (fresh) servers.
4. Prints, and writes to bench/results/rasa_compare.md with the date, the machine and the
   command: intent accuracy, emergency recall, false alarms and (where the file names danger
   classes in the category column of its emergency lines) recall per class, per file and per
   server; latency p50 / p95; server memory (RSS of the process tree after the run); training
   time; and below, each server's missed emergencies and false alarms.
5. Stops both servers and removes the temporary folders, also on Ctrl-C or an error.

Default evaluation files: tests/data/nlu_heldout.tsv and every tests/data/independent/*.tsv
except the tuning files (tuning*.tsv). Format (nlu/evaluate.py ``read_tsv``): ``text<TAB>intent<TAB>category
<TAB>tag``, ``#`` comments. Only the standard library, httpx and our own modules are used here.

Beside it: bench/rasa_setup.py (the Rasa virtualenv, the project, training both sides) and
bench/rasa_report.py (scores and the results page).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchutil import BENCH_HEADERS, children, free_port, memory_kb  # noqa: E402

from nlu.evaluate import read_tsv  # noqa: E402
from nlu.training import load_training_data  # noqa: E402
from rasa_report import (class_table, command_line, error_lists, git_state, machine, main_table,  # noqa: E402
                         score)
from rasa_setup import (OUR_BIN, OURS, RASA, RESULTS, SHORT, build_rasa_project, check_same_data,  # noqa: E402
                        clean_env, data_fingerprint, ensure_rasa_venv, our_env, rasa_versions, train_ours,
                        train_rasa)

# Neutral made-up messages for the warm-up (any that happens to be in an evaluation file is
# dropped, so no measured message is ever seen twice). Short and long, Chinese and Latin.
WARMUP = [
    "今天下午三点半的会议改到四点了吗", "帮我看看这张图片里的字", "我想问问你们几点下班",
    "麻烦问一下公交车站在哪边", "周末一起去公园散步吧", "这个月的水电费单子到了",
    "请问附近有没有修自行车的地方", "我刚才说到哪里了", "你叫什么名字来着",
    "明天记得带雨伞，听说要下雨", "这本书的作者是谁呢", "我家楼下新开了一家面馆，味道还不错",
    "ok thanks for the info", "test message please ignore", "晚饭吃饺子还是面条好呢",
    "我手机屏幕有点碎了要不要换", "老家的亲戚下个月要过来住几天，我们在商量住哪里比较方便，"
    "顺便想带他们去城里转一转看看风景", "刚买的电饭煲说明书看不太懂",
    "这个表格第三栏是填什么的", "谢谢你上次的回答，我再想一想", "收到一条短信不知道是谁发的",
    "今天的菜市场人特别多", "打印店几点开门", "这周三是不是要开家长会来着",
]


# --------------------------------------------------------------------------- small helpers

PHASES: dict[str, tuple[float, float]] = {}  # phase name → (wall seconds, load average), in order


@contextmanager
def phase(name: str):
    """Print the start of a phase; record its wall time and the machine's 5-minute load average
    at its end in PHASES (on a shared 2-core machine other work slows training down)."""
    print(f"\n== {name}", flush=True)
    started = time.perf_counter()
    try:
        yield
    finally:
        PHASES[name] = (time.perf_counter() - started, os.getloadavg()[1])
        print(f"== {name}: {PHASES[name][0]:.1f} s (load average {PHASES[name][1]:.1f})", flush=True)


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children(current)
    return found


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants, in MiB (from /proc)."""
    total = 0
    for p in process_tree(pid):
        try:
            total += memory_kb(p)[0]
        except (OSError, KeyError, ValueError):
            pass  # a process that ended meanwhile (or a zombie without VmRSS)
    return total / 1024


# --------------------------------------------------------------------------- servers

@dataclass
class Server:
    """One server process (its own process group, so it and its children stop together)."""

    name: str
    command: list
    port: int
    ready_path: str  # GET answering 200 once the model is loaded
    cwd: Path
    env: dict[str, str]
    log: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        print("$", shlex.join(str(c) for c in self.command), f"> {self.log}", flush=True)
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen([str(c) for c in self.command], cwd=self.cwd, env=self.env,
                                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float = 900) -> float:
        """Poll ``ready_path`` until it answers 200; returns the seconds since start."""
        started = time.perf_counter()
        with httpx.Client(base_url=self.url, timeout=10, trust_env=False) as client:
            while time.perf_counter() - started < timeout:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited ({self.process.returncode}):\n{self.log_tail()}")
                try:
                    if client.get(self.ready_path).status_code == 200:
                        return time.perf_counter() - started
                except httpx.HTTPError:
                    pass
                time.sleep(1)
        raise RuntimeError(f"{self.name} not ready after {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def rss_mb(self) -> float:
        return tree_rss_mb(self.process.pid)

    def stop(self) -> None:
        """SIGTERM to the server's process group, SIGKILL if it has not ended in 30 s."""
        if self.process is None or self.process.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.process.pid, sig)
                self.process.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue
            except ProcessLookupError:
                return


def rasa_server(rasa: Path, model: Path, root: Path) -> Server:
    port = free_port()
    command = [rasa, "run", "--enable-api", "-m", model, "--port", port, "-i", "127.0.0.1"]
    return Server(RASA, command, port, "/status", root, clean_env(), root / "rasa-server.log")


def our_server(data_dir: Path) -> Server:
    port = free_port()
    command = [OUR_BIN / "tongban", "serve", "--host", "127.0.0.1", "--port", port]
    return Server(OURS, command, port, "/healthz", data_dir, our_env(data_dir), data_dir.parent / "tongban-server.log")


# --------------------------------------------------------------------------- measuring

def parse(client: httpx.Client, text: str) -> tuple[str, float]:
    """(intent name, round-trip ms) of one ``POST /model/parse``; an error is an intent too."""
    started = time.perf_counter()
    try:
        response = client.post("/model/parse", json={"text": text})
        ms = (time.perf_counter() - started) * 1000
        response.raise_for_status()
        return ((response.json().get("intent") or {}).get("name") or "<none>"), ms
    except (httpx.HTTPError, ValueError) as exc:
        return f"<error {type(exc).__name__}>", (time.perf_counter() - started) * 1000


def send_all(servers: list[Server], texts: list[str], label: str) -> dict[str, dict[str, tuple[str, float]]]:
    """Each text once to each server, sequentially, alternating which server goes first.
    Returns text → server name → (intent, ms)."""
    clients = {s.name: httpx.Client(base_url=s.url, timeout=120, trust_env=False,
                                    headers=BENCH_HEADERS if s.name == OURS else None) for s in servers}
    out: dict[str, dict[str, tuple[str, float]]] = {}
    try:
        for i, text in enumerate(texts):
            order = servers if i % 2 == 0 else servers[::-1]
            out[text] = {s.name: parse(clients[s.name], text) for s in order}
            if (i + 1) % 100 == 0 or i + 1 == len(texts):
                print(f"  {label}: {i + 1}/{len(texts)}", flush=True)
    finally:
        for client in clients.values():
            client.close()
    return out


def warmup_texts(evaluation: dict[str, list]) -> list[str]:
    """20 warm-up messages, none of them in an evaluation file."""
    seen = {e.text for examples in evaluation.values() for e in examples}
    texts = [t for t in WARMUP if t not in seen][:20]
    if len(texts) < 20:
        raise SystemExit("fewer than 20 warm-up messages left outside the evaluation files")
    return texts


def unique_texts(evaluation: dict[str, list]) -> list[str]:
    """Every evaluation text once, in file order."""
    return list(dict.fromkeys(e.text for examples in evaluation.values() for e in examples))


# --------------------------------------------------------------------------- main

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    default_files = [REPO / "tests" / "data" / "nlu_heldout.tsv"]
    default_files += sorted(p for p in (REPO / "tests" / "data" / "independent").glob("*.tsv") if not p.name.startswith("tuning"))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, default=default_files, help="evaluation TSV files")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"markdown report (default {RESULTS.relative_to(REPO)})")
    parser.add_argument("--keep-temp", action="store_true", help="keep the temporary projects and server logs")
    return parser.parse_args(argv)


def measure(args: argparse.Namespace, tmp: Path, servers: list[Server]) -> dict:
    """Everything from the virtualenv to the server memory; returns the raw results."""
    evaluation = {p.name: [e for e in read_tsv(p) if e.intent] for p in args.files}
    texts, warm = unique_texts(evaluation), warmup_texts(evaluation)
    print(f"evaluation: {', '.join(f'{n} ({len(ex)})' for n, ex in evaluation.items())}; {len(texts)} distinct texts")
    with phase("Rasa virtualenv"):
        rasa = ensure_rasa_venv()
    # Others may edit nlu/data meanwhile: Rasa trains on a snapshot, ours trains and its server
    # loads the model right after the snapshot, and both are checked against it.
    copies = build_rasa_project(tmp / "rasa")
    snapshot = data_fingerprint(copies)
    training = {}
    with phase("Tongban training (tongban nlu train --force, then knowledge reindex)"):
        training[OURS] = train_ours(tmp / "tongban-data")
        check_same_data(snapshot, "while our model trained")
    with phase("Tongban server start"):  # it then waits, idle, while Rasa trains
        servers.append(our_server(tmp / "tongban-data"))
        code = git_state()  # the code our server loads (others may commit or edit while Rasa trains)
        start(servers[-1])
        check_same_data(snapshot, "before our server loaded its model")
    with phase("Rasa training (rasa train nlu)"):
        model, training[RASA] = train_rasa(rasa, tmp / "rasa")
    with phase("Rasa server start"):
        servers.append(rasa_server(rasa, model, tmp / "rasa"))
        start(servers[-1])
    with phase(f"warm-up ({len(warm)} messages) and evaluation ({len(texts)} messages) × 2 servers"):
        send_all(servers, warm, "warm-up")
        results = send_all(servers, texts, "evaluation")
    memory = {s.name: s.rss_mb() for s in servers}
    data = f"{', '.join(p.name for p in copies)} ({len(load_training_data(*copies).examples)} examples, " \
           f"fingerprint {snapshot})"
    return {"evaluation": evaluation, "results": results, "training": training, "memory": memory, "code": code,
            "versions": rasa_versions(), "data": data}


def start(server: Server) -> None:
    """Start a server and wait until it has loaded its model."""
    server.start()
    print(f"{server.name}: ready in {server.wait_ready():.1f} s at {server.url}", flush=True)


def report(args: argparse.Namespace, raw: dict) -> None:
    """Print the tables; write them, the context and the error lists to args.output."""
    evaluation, results = raw["evaluation"], raw["results"]
    names = list(evaluation)
    scores = {s: {n: score(ex, {t: r[s] for t, r in results.items()}) for n, ex in evaluation.items()} for s in (OURS, RASA)}
    latencies = {s: [r[s][1] for r in results.values()] for s in (OURS, RASA)}
    short = {s: [r[s][1] for t, r in results.items() if len(t) <= SHORT] for s in (OURS, RASA)}
    errors = {s: sum(r[s][0].startswith("<error") for r in results.values()) for s in (OURS, RASA)}
    table = main_table(names, scores, latencies, short, raw["memory"], raw["training"])
    classes = class_table(names, scores)
    print("\n" + "\n".join(table))
    if classes:
        print("\nEmergency recall per danger class:\n\n" + "\n".join(classes))
    print("\nHTTP errors (counted as wrong):", errors)
    md = [f"# Intent recognition: {OURS} vs {RASA}", "",
          f"Measured {dt.date.today().isoformat()} on {machine()}.", "",
          f"Command: {command_line()}", "",
          f"Tongban at {raw.get('code') or git_state()} when its server started; Rasa: {raw['versions']} (pipeline: bench/rasa/config.yml, "
          f"trained with `rasa train nlu`). Both models trained on {raw['data']}.", "",
          f"Each of the {len(results)} distinct evaluation texts was sent once to each freshly started server "
          "(`POST /model/parse`, HTTP keep-alive, sequential, alternating which server goes first), after 20 "
          "warm-up messages in no file. Latency is the client's round trip. Our server was started right "
          "after our training and waited idle while Rasa trained.", "",
          *table, ""]
    if classes:
        md += ["Emergency recall per danger class:", "", *classes, ""]
    md += [f"HTTP errors (counted as wrong): {OURS} {errors[OURS]}, {RASA} {errors[RASA]}.", "",
           "Wall time per phase (5-minute load average at its end; this run's own work is ~1 of it): "
           + "; ".join(f"{k} {v:.0f} s ({load:.1f})" for k, (v, load) in PHASES.items()) + ".", "",
           "## Missed emergencies and false alarms", *error_lists(names, scores)]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(md) + "\n", encoding="utf-8")
    print(f"\nwritten to {args.output} (with each server's missed emergencies and false alarms)")


def interrupt(signum: int, frame) -> None:
    """SIGTERM handler: end the run the way Ctrl-C does."""
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ["RASA_TELEMETRY_ENABLED"] = "false"
    # a SIGTERM (e.g. from a CI time-out) ends the run like Ctrl-C: servers stopped, temp removed
    signal.signal(signal.SIGTERM, interrupt)
    tmp = Path(tempfile.mkdtemp(prefix="rasa-compare-"))
    servers: list[Server] = []
    try:
        raw = measure(args, tmp, servers)
        report(args, raw)
    except KeyboardInterrupt:
        print("\ninterrupted: stopping the servers, removing the temporary folders", file=sys.stderr)
        return 130
    finally:
        for server in servers:
            server.stop()
        if args.keep_temp:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
