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
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import math
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchutil import BENCH_API_TOKEN, BENCH_HEADERS, children, free_port, memory_kb  # noqa: E402

from nlu.evaluate import read_tsv  # noqa: E402
from nlu.training import default_paths, load_training_data  # noqa: E402

RASA_VERSION = "3.6.21"
RASA_VENV = REPO / ".venv-rasa"
RASA_STAMP = RASA_VENV / f".installed-rasa-{RASA_VERSION}"
RASA_CONFIG = REPO / "bench" / "rasa" / "config.yml"
OUR_BIN = REPO / ".venv" / "bin"
RESULTS = REPO / "bench" / "results" / "rasa_compare.md"
OURS, RASA = "Tongban", "stock Rasa DIET, our data"
SHORT = 200  # characters: the second latency row covers messages up to this length
EMERGENCY = "emergency"

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


def run(command: list, **kwargs) -> None:
    """Run a command (printed first); raise with its exit status if it fails."""
    print("$", shlex.join(str(c) for c in command), flush=True)
    subprocess.run([str(c) for c in command], check=True, **kwargs)


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any TONGBAN_* setting (our server takes only what we give it),
    with Rasa's telemetry off, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TONGBAN_")}
    env["RASA_TELEMETRY_ENABLED"] = "false"
    env.update(extra)
    return env


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


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


# --------------------------------------------------------------------------- the Rasa virtualenv

def python_version(python: str | Path) -> tuple[int, int] | None:
    """(major, minor) of an interpreter, or None if it does not run."""
    try:
        out = subprocess.run([str(python), "-c", "import sys; print(*sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=60, check=True).stdout
        major, minor = out.split()
        return int(major), int(minor)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def find_python310() -> str:
    """Python 3.10 for the Rasa virtualenv: pyenv's newest 3.10.x, else python3.10 on PATH."""
    candidates: list[str] = []
    try:
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        root = str(Path.home() / ".pyenv")
    versions = Path(root, "versions").glob("3.10*/bin/python")
    key = lambda p: [int(x) if x.isdigit() else 0 for x in p.parent.parent.name.split(".")]  # noqa: E731
    candidates += [str(p) for p in sorted(versions, key=key, reverse=True)]
    candidates += [c for c in [shutil.which("python3.10")] if c]
    for candidate in candidates:
        if python_version(candidate) == (3, 10):
            return candidate
    raise SystemExit("Python 3.10 not found (tried pyenv root's versions/3.10*, python3.10 on PATH); "
                     "install one, e.g. `pyenv install 3.10.13`")


def ensure_rasa_venv() -> Path:
    """``.venv-rasa`` with rasa and jieba; installs only when its stamp file is missing.
    Returns the ``rasa`` command."""
    rasa = RASA_VENV / "bin" / "rasa"
    if RASA_STAMP.exists() and rasa.exists():
        print(f"{RASA_VENV.name}: rasa {RASA_VERSION} already installed ({RASA_STAMP.name})")
        return rasa
    python = RASA_VENV / "bin" / "python"
    if python_version(python) != (3, 10):  # missing, or a broken / foreign venv
        run([find_python310(), "-m", "venv", "--clear", RASA_VENV])
    print(f"installing rasa=={RASA_VERSION} and jieba into {RASA_VENV.name} "
          "(downloads TensorFlow, ~600 MB: several minutes)", flush=True)
    run([python, "-m", "pip", "install", "-q", "--progress-bar", "off", f"rasa=={RASA_VERSION}", "jieba"],
        env=clean_env(PIP_DISABLE_PIP_VERSION_CHECK="1"))
    RASA_STAMP.write_text(f"rasa=={RASA_VERSION} jieba, installed {dt.datetime.now().isoformat(timespec='seconds')}\n")
    return rasa


def rasa_versions() -> str:
    """Installed rasa / tensorflow / jieba versions (package metadata, no heavy import)."""
    code = ("from importlib.metadata import version as v; "
            "print(', '.join(f'{n} {v(n)}' for n in ('rasa', 'tensorflow', 'jieba')))")
    out = subprocess.run([str(RASA_VENV / "bin" / "python"), "-c", code], capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


# --------------------------------------------------------------------------- training

def data_fingerprint(paths: list[Path]) -> str:
    """Short hash of the training files' names and bytes."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def build_rasa_project(root: Path) -> list[Path]:
    """A Rasa project in ``root``: a snapshot of our training files (the list
    ``default_paths()`` gives now) in data/, and bench/rasa/config.yml. Returns the copies."""
    data = root / "data"
    data.mkdir(parents=True)
    copies = [Path(shutil.copy2(path, data / path.name)) for path in default_paths()]
    shutil.copy2(RASA_CONFIG, root / "config.yml")
    print("Rasa project:", ", ".join(p.name for p in copies), "+ config.yml")
    return copies


def check_same_data(snapshot: str, when: str) -> None:
    """Stop if nlu/data no longer matches the snapshot Rasa trains on (someone edited it):
    the two models would have learnt from different examples."""
    now = data_fingerprint(default_paths())
    if now != snapshot:
        raise RuntimeError(f"the training files changed {when} (fingerprint {snapshot} → {now}); "
                           "the two models would not learn from the same data: run again")


def train_rasa(rasa: Path, root: Path) -> tuple[Path, float]:
    """``rasa train nlu`` in the project; returns the model file and the wall seconds."""
    started = time.perf_counter()
    run([rasa, "train", "nlu", "--config", "config.yml", "--nlu", "data", "--out", "models",
         "--fixed-model-name", "nlu"], cwd=root, env=clean_env())
    seconds = time.perf_counter() - started
    return next((root / "models").glob("nlu*.tar.gz")), seconds


def our_env(data_dir: Path) -> dict[str, str]:
    """Environment for our commands: a fresh data folder and nothing else of ours."""
    return clean_env(TONGBAN_DATA_DIR=str(data_dir), TONGBAN_SECURITY__API_TOKEN=BENCH_API_TOKEN)


def train_ours(data_dir: Path) -> float:
    """``tongban nlu train --force`` in a fresh data folder (timed), then the index (not timed,
    as ``make run`` does before serving)."""
    data_dir.mkdir(parents=True)
    started = time.perf_counter()
    run([OUR_BIN / "tongban", "nlu", "train", "--force"], cwd=data_dir, env=our_env(data_dir))
    seconds = time.perf_counter() - started
    run([OUR_BIN / "tongban", "knowledge", "reindex"], cwd=data_dir, env=our_env(data_dir))
    return seconds


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


# --------------------------------------------------------------------------- scoring

@dataclass
class Score:
    """One server on one file."""

    total: int = 0
    correct: int = 0
    emergencies: int = 0
    recalled: int = 0
    others: int = 0
    alarms: int = 0
    per_class: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    missed: list[tuple[str, str, str]] = field(default_factory=list)  # text, class, predicted
    false_alarms: list[tuple[str, str]] = field(default_factory=list)  # text, expected


def score(examples: list, predicted: dict[str, tuple[str, float]]) -> Score:
    """Accuracy, emergency recall (overall and per danger class) and false alarms."""
    s = Score()
    for e in examples:
        intent = predicted[e.text][0]
        s.total += 1
        s.correct += intent == e.intent
        if e.intent == EMERGENCY:
            s.emergencies += 1
            s.recalled += intent == EMERGENCY
            if e.category:
                s.per_class[e.category][0] += intent == EMERGENCY
                s.per_class[e.category][1] += 1
            if intent != EMERGENCY:
                s.missed.append((e.text, e.category, intent))
        else:
            s.others += 1
            s.alarms += intent == EMERGENCY
            if intent == EMERGENCY:
                s.false_alarms.append((e.text, e.intent))
    return s


def latency_cell(values: list[float]) -> str:
    return f"{percentile(values, 0.5):.1f} / {percentile(values, 0.95):.1f} ms" if values else "–"


# --------------------------------------------------------------------------- report

def main_table(names: list[str], scores: dict, latencies: dict, short: dict, memory: dict, training: dict) -> list[str]:
    """The comparison table (markdown lines)."""
    lines = [f"| | {OURS} | {RASA} |", "|---|---:|---:|"]
    row = lambda label, a, b: lines.append(f"| {label} | {a} | {b} |")  # noqa: E731
    for name in names:
        a, b = scores[OURS][name], scores[RASA][name]
        acc = lambda s: f"{s.correct / s.total:.3f} ({s.correct}/{s.total})" if s.total else "–"  # noqa: E731
        row(f"intent accuracy, {name}", acc(a), acc(b))
        row(f"emergency recall, {name}", f"{a.recalled}/{a.emergencies}", f"{b.recalled}/{b.emergencies}")
        row(f"false alarms, {name}", f"{a.alarms}/{a.others}", f"{b.alarms}/{b.others}")
    n, m = len(latencies[OURS]), len(short[OURS])
    row(f"/model/parse p50 / p95, first-seen text (n={n})", latency_cell(latencies[OURS]), latency_cell(latencies[RASA]))
    row(f"/model/parse p50 / p95, first-seen text ≤ {SHORT} chars (n={m})", latency_cell(short[OURS]), latency_cell(short[RASA]))
    row("server memory (RSS of the process tree after the run)", f"{memory[OURS]:.0f} MB", f"{memory[RASA]:.0f} MB")
    row("training (wall, CLI start to end)", f"{training[OURS]:.1f} s", f"{training[RASA]:.1f} s")
    return lines


def class_table(names: list[str], scores: dict) -> list[str]:
    """Emergency recall per danger class, for the files that name classes."""
    lines = []
    for name in names:
        classes = sorted(set(scores[OURS][name].per_class) | set(scores[RASA][name].per_class))
        if not classes:
            continue
        if not lines:
            lines += [f"| file | danger class | {OURS} | {RASA} |", "|---|---|---:|---:|"]
        for cls in classes:
            a, b = scores[OURS][name].per_class[cls], scores[RASA][name].per_class[cls]
            lines.append(f"| {name} | {cls} | {a[0]}/{a[1]} | {b[0]}/{b[1]} |")
    return lines


def clip(text: str, width: int = 80) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= width else text[: width - 1] + "…"


def error_lists(names: list[str], scores: dict) -> list[str]:
    """Each server's missed emergencies and false alarms, per file."""
    lines = []
    for server in (OURS, RASA):
        lines.append(f"\n### {server}")
        for name in names:
            s = scores[server][name]
            lines.append(f"\n{name}: {len(s.missed)} missed emergencies, {len(s.false_alarms)} false alarms")
            lines += [f"- missed ({cls or 'no class'}; predicted {pred}): {clip(t)}" for t, cls, pred in s.missed]
            lines += [f"- false alarm (expected {exp}): {clip(t)}" for t, exp in s.false_alarms]
    return lines


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown CPU")
    return f"{os.cpu_count()} cores (nproc {len(os.sched_getaffinity(0))}), {model}, {platform.platform()}"


def command_line() -> str:
    cmd = shlex.join([os.path.relpath(sys.executable, REPO) if sys.executable.startswith(str(REPO)) else sys.executable,
                      *sys.argv])
    return f"`make rasa-compare` (runs `{cmd}`)" if os.environ.get("MAKELEVEL") else f"`{cmd}`"


def git_state() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()
    dirty = git("status", "--porcelain", "--", "nlu", "knowledge", "tongban", "bot")
    return git("rev-parse", "--short", "HEAD") + (" (with uncommitted changes in nlu/ knowledge/ tongban/ bot/)" if dirty else "")


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
