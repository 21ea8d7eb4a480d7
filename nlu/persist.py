"""Trained models on disk: written whole or not at all, read back only if they are what is expected.

Several processes may train and save the same model at once (the web workers of one server, a
test session and the server it starts): each writes its own temporary file in the target folder
and renames it over the target, so a reader sees the old file or a complete new one, never a mix.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator, TypeVar

T = TypeVar("T")


@contextmanager
def replacing(path: Path) -> Iterator[BinaryIO]:
    """A binary file that becomes ``path`` when the block ends without an error (and is removed
    when it does not): a temporary file of its own in the same folder, renamed over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_pickle(obj: object, path: Path) -> None:
    with replacing(path) as handle:
        pickle.dump(obj, handle, protocol=pickle.HIGHEST_PROTOCOL)


def load_pickle(path: Path, kind: type[T], *, expect: dict) -> T | None:
    """The object saved at ``path`` if it is a ``kind`` whose ``meta`` holds every item of
    ``expect`` (data fingerprint, code, library versions...), else None: the caller trains anew."""
    try:
        with open(path, "rb") as handle:
            loaded = pickle.load(handle)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
        return None
    if not isinstance(loaded, kind):
        return None
    meta = getattr(loaded, "meta", None)
    if not isinstance(meta, dict) or any(meta.get(k) != v for k, v in expect.items()):
        return None
    return loaded
