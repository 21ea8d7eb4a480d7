"""What a sender has handed over, written before the database knows it: no second copies after a crash.

A push channel's send (Telegram's sendMessage) has no idempotency key. A sender records the rows
it sent in the database a few to a hundred milliseconds after the channel accepted them (in
batches, ``bot/telegram/delivery.py``); a sender killed in that moment leaves them ``sending``,
and whoever takes its claim over after the lease would send them again — the parent gets the
same message twice (bench/crash_recovery.py saw it after 4 of 8 SIGKILLs).

So each sender first appends the id of every row the channel accepted to a file of its own,
``<data_dir>/outbox-sent/<sender>.ids``: one ``write(2)`` right after the send returns, no fsync.
A killed process's writes stay in the kernel (a machine that loses power loses them: those rows
are sent again, at least once, as before). A sender that takes over a crashed sender's claim
(``ledger.outbox.claim``) reads that sender's file and records the rows listed there as sent
instead of sending them. Senders on another machine, without this data folder, have no file
here; their rows stay at least once.

The file holds only rows not yet recorded in the database: it is emptied whenever everything
the sender handed over is recorded, rewritten when it grows, removed at a clean shutdown; the
files of senders gone for a day are removed by ``prune``.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Iterable

FOLDER = "outbox-sent"
SUFFIX = ".ids"
REWRITE_AT = 64 * 1024  # bytes: past this, the file is rewritten with only the unrecorded rows
KEEP_SECONDS = 24 * 3600  # another sender's file untouched this long is removed
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def folder_of(data_dir: Path) -> Path:
    return Path(data_dir) / FOLDER


def _file(folder: Path, sender: str) -> Path:
    # sender ids come from the database (claimed_by): only a plain file name inside the folder
    return folder / (_UNSAFE.sub("_", sender)[:120] + SUFFIX)


def handed_over(folder: Path, sender: str) -> set[int]:
    """Rows ``sender`` logged as accepted by the channel (empty when it has no file here)."""
    try:
        data = _file(folder, sender).read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return set()
    ids: set[int] = set()
    for line in data.split(b"\n")[:-1]:  # the last piece is empty or cut short by the kill
        if line.isdigit():
            ids.add(int(line))
    return ids


def prune(folder: Path, *, keep: Path | None = None, older_than: float = KEEP_SECONDS) -> int:
    """Remove other senders' files untouched for ``older_than`` seconds; how many were removed."""
    removed = 0
    limit = time.time() - older_than
    try:
        entries = list(folder.glob("*" + SUFFIX))
    except OSError:
        return 0
    for path in entries:
        if keep is not None and path == keep:
            continue
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


class SentLog:
    """One sender's log. Not thread-safe: a sender writes it from its event loop only."""

    def __init__(self, folder: Path, sender: str):
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.folder = folder
        self.path = _file(folder, sender)
        self._fd: int | None = None

    def _open(self) -> int:
        if self._fd is not None and os.fstat(self._fd).st_nlink == 0:  # removed meanwhile (prune)
            os.close(self._fd)
            self._fd = None
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return self._fd

    def append(self, ids: Iterable[int]) -> None:
        """Log rows the channel accepted; one write, so a kill leaves whole lines or a cut last one."""
        data = "".join(f"{int(row_id)}\n" for row_id in ids).encode()
        if data:
            os.write(self._open(), data)

    def recorded(self, unrecorded: Iterable[int]) -> None:
        """The database now knows every row but ``unrecorded``: empty the log, or rewrite it when large."""
        rest = list(unrecorded)
        fd = self._open()
        if not rest:
            os.ftruncate(fd, 0)
        elif os.fstat(fd).st_size > REWRITE_AT:
            temporary = self.path.with_suffix(".tmp")
            temporary.write_bytes("".join(f"{row_id}\n" for row_id in rest).encode())
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)
            os.close(fd)
            self._fd = None

    def close(self, *, remove: bool) -> None:
        """At shutdown; ``remove`` once everything sent is recorded."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if remove:
            self.path.unlink(missing_ok=True)
