"""Calibrating retrieval confidence (Platt scaling) from a tuning set.

Positives: in-scope tuning questions whose top-1 category is right. Negatives:
in-scope questions answered with the wrong category, and off-topic messages. The
fitted ``a``, ``b`` map the top fused score to the probability that the answer is
right; they are stored per embedding model, because score scales differ by model.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from nlu.evaluate import Example
from knowledge.retrieval import Calibration

SHIPPED = Path(__file__).parent / "data" / "calibration.json"


def fit(kb, in_scope: list[Example], off_topic: list[str]) -> tuple[Calibration, dict]:
    from sklearn.linear_model import LogisticRegression

    scores, labels = [], []
    for example in in_scope:
        result = kb.search(example.text, None, k=3)
        top = result.hits[0].score if result.hits else 0.0
        scores.append(top)
        labels.append(int(result.categories[:1] == [example.category]))
    for text in off_topic:
        result = kb.search(text, None, k=3)
        scores.append(result.hits[0].score if result.hits else 0.0)
        labels.append(0)
    model = LogisticRegression(C=100.0).fit(np.array(scores)[:, None], np.array(labels))
    calibration = Calibration(a=float(model.coef_[0][0]), b=float(model.intercept_[0]))
    stats = {"positives": int(sum(labels)), "negatives": len(labels) - int(sum(labels)),
             "brier": _brier(calibration, scores, labels)}
    return calibration, stats


def _brier(calibration: Calibration, scores: list[float], labels: list[int]) -> float:
    return float(np.mean([(calibration.confidence(s) - y) ** 2 for s, y in zip(scores, labels)]))


def load(model_id: str, data_dir_file: Path) -> Calibration:
    """The calibration for a model: the data dir's, else the shipped one, else the default."""
    for path in (data_dir_file, SHIPPED):
        try:
            table = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        entry = table.get(model_id)
        if entry and all(math.isfinite(entry.get(k, math.nan)) for k in ("a", "b")):
            return Calibration(a=entry["a"], b=entry["b"])
    return Calibration()


def save(model_id: str, calibration: Calibration, stats: dict, path: Path) -> None:
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        table = {}
    table[model_id] = {"a": calibration.a, "b": calibration.b, **stats}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(table, ensure_ascii=False, indent=2), encoding="utf-8")
