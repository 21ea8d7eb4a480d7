"""The two sides of bench/rasa_compare.py made ready: the Python 3.10 virtualenv with stock Rasa
(built once), a Rasa project of our training data (checked unchanged while it runs), and each side's
model trained from scratch; the commands are run with ``run`` in a ``clean_env``."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shlex
import shutil
import subprocess
import time
from pathlib import Path



from benchutil import BENCH_API_TOKEN

from nlu.training import default_paths

REPO = Path(__file__).resolve().parent.parent
RASA_VERSION = "3.6.21"
RASA_VENV = REPO / ".venv-rasa"
RASA_STAMP = RASA_VENV / f".installed-rasa-{RASA_VERSION}"
RASA_CONFIG = REPO / "bench" / "rasa" / "config.yml"
OUR_BIN = REPO / ".venv" / "bin"
RESULTS = REPO / "bench" / "results" / "rasa_compare.md"
OURS, RASA = "Tongban", "stock Rasa DIET, our data"
SHORT = 200  # characters: the second latency row covers messages up to this length
EMERGENCY = "emergency"



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
