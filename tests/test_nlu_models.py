"""The trained models are fitted to their optimum, so that what the safety net decides does not
depend on the version of the optimiser that happened to be installed (nlu/features.py TOL)."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

from nlu.features import MAX_ITER, TOL


def _regressions(interpreter) -> dict[str, LogisticRegression]:
    danger = interpreter.danger
    found = {"intent": interpreter.model.model, "intent (characters)": interpreter.model.lexical,
             "danger": danger.characters.detector, "danger kind": danger.characters.kinds,
             "danger (pinyin)": danger.pinyin.detector, "danger kind (pinyin)": danger.pinyin.kinds,
             "context": danger.context.model if danger.context else None}
    return {name: model for name, model in found.items() if model is not None}


def test_every_regression_is_fitted_to_the_tolerance(interpreter):
    models = _regressions(interpreter)
    assert len(models) == 7
    for name, model in models.items():
        assert model.tol == TOL, name
        # L-BFGS stopped because it met the tolerance, not because it ran out of iterations
        assert int(np.max(model.n_iter_)) < MAX_ITER, name

