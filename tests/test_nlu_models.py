"""The trained models are fitted to their optimum, so that what the safety net decides does not
depend on the version of the optimiser that happened to be installed (nlu/features.py TOL)."""

from __future__ import annotations

import numpy as np
import pytest
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



def _small_training_set():
    from nlu.training import default_paths, load_training_data

    data = load_training_data(*default_paths())
    emergencies = [e for e in data.examples if e.intent == "emergency"][:120]
    others = [e for e in data.examples if e.intent != "emergency"][:240]
    return emergencies + others


@pytest.mark.slow
def test_the_danger_model_is_saved_and_used_again_only_for_the_same_data_and_code(tmp_path, monkeypatch):
    from nlu import danger

    examples = _small_training_set()
    path = tmp_path / "danger.pkl"
    trained = []
    real_train = danger.DangerModel.train.__func__

    def counting_train(cls, examples):
        trained.append(len(examples))
        return real_train(cls, examples)

    monkeypatch.setattr(danger.DangerModel, "train", classmethod(counting_train))
    first = danger.DangerModel.load_or_train(examples, "data-1", path)
    assert path.exists() and len(trained) == 1
    again = danger.DangerModel.load_or_train(examples, "data-1", path)
    assert len(trained) == 1  # read back, not trained
    texts = ["孩子被他爸打得头破血流", "想问一下医保怎么办"]
    assert np.allclose(first.probabilities(texts), again.probabilities(texts))
    assert again.context is not None
    danger.DangerModel.load_or_train(examples, "data-2", path)  # other data: trained anew
    assert len(trained) == 2
    from nlu import classifier

    monkeypatch.setattr(classifier, "LIBRARIES", classifier.LIBRARIES + ("pytest",))  # another library version
    danger.DangerModel.load_or_train(examples, "data-2", path)
    assert len(trained) == 3
    path.write_bytes(b"not a pickle")  # a damaged file: trained anew, never an error
    danger.DangerModel.load_or_train(examples, "data-2", path)
    assert len(trained) == 4
    assert not [p for p in tmp_path.iterdir() if p.name != "danger.pkl"]  # no temporary file left


@pytest.mark.slow
def test_a_model_saved_by_two_processes_at_once_is_whole(tmp_path):
    import multiprocessing

    from nlu.persist import load_pickle

    path = tmp_path / "model.pkl"
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_write_many, args=(path, n)) for n in range(2)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(60)
        assert writer.exitcode == 0
    loaded = load_pickle(path, _Saved, expect={"complete": True})
    assert loaded is not None and len(loaded.payload) == 200_000
    assert [p.name for p in tmp_path.iterdir()] == ["model.pkl"]


class _Saved:
    def __init__(self, writer: int):
        self.meta = {"complete": True, "writer": writer}
        self.payload = bytes([writer]) * 200_000


def _write_many(path, writer: int) -> None:
    from nlu.persist import save_pickle

    for _ in range(50):
        save_pickle(_Saved(writer), path)


def test_the_intent_model_and_the_category_prior_are_kept_only_for_the_same_code(tmp_path, monkeypatch):
    """Their fingerprints hold the nlu source (nlu.classifier.code_fingerprint), as the danger model's
    does: a model saved by other feature code is trained anew, not served."""
    from knowledge import category_prior
    from nlu import classifier, interpreter

    expected = []

    def no_model(path, expect):  # what each would have accepted, and nothing found
        expected.append(expect["fingerprint"])
        return None

    class Stop(Exception):
        pass

    def stop(*args, **kwargs):
        raise Stop

    monkeypatch.setattr(classifier.TextClassifier, "load", staticmethod(no_model))
    monkeypatch.setattr(interpreter, "train", stop)
    monkeypatch.setattr(classifier.TextClassifier, "train", staticmethod(stop))
    embedder = type("E", (), {"model_id": "test-model"})()
    entries = [type("I", (), {})()]
    monkeypatch.setattr(category_prior, "training_pairs", lambda entries, paths: (["公租房", "打疫苗"], ["housing", "immunization"]))
    for code in ("code-1", "code-2"):
        monkeypatch.setattr(interpreter, "code_fingerprint", lambda code=code: code)
        monkeypatch.setattr(category_prior, "code_fingerprint", lambda code=code: code)
        for build in (lambda: interpreter.Interpreter.load_or_train(embedder, tmp_path),
                      lambda: category_prior.load_or_train(entries, embedder, tmp_path)):
            with pytest.raises(Stop):
                build()
    intent_1, prior_1, intent_2, prior_2 = expected
    assert intent_1 != intent_2 and prior_1 != prior_2


def test_short_messages_are_read_by_the_danger_model_that_also_learnt_short_yml(interpreter):
    """The shipped interpreter has two danger models: messages of at most SHORT_CHARS characters
    (spaces aside) are read by the one trained with nlu/data/short.yml as well, longer ones by the
    main one (docs/nlu.md: what each caught on the unseen sets)."""
    from nlu.interpreter import SHORT_CHARS
    from nlu.training import load_training_data, short_danger_paths

    assert interpreter.short_danger is not None and interpreter.short_danger is not interpreter.danger
    assert short_danger_paths()[-1].name == "short.yml" and load_training_data(short_danger_paths()[-1]).examples
    short, long = "孩子" * (SHORT_CHARS // 2), "孩子" * (SHORT_CHARS // 2) + "呢"
    assert interpreter.danger_model(short) is interpreter.short_danger
    assert interpreter.danger_model(short[:4] + " " + short[4:]) is interpreter.short_danger
    assert interpreter.danger_model(long) is interpreter.danger
