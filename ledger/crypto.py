"""Encryption of personal fields at rest, and keyed hashes to match them without decrypting.

The keys come from ``TONGBAN_SECURITY__DATA_KEY`` (required when ``env`` is production) or, in
development and tests, a key file ``<data_dir>/secret.key`` (the path made absolute) created
with 0600 permissions on first run (never in the repository); a key file that group or others
can read is refused. Several keys may be given, comma-separated: the first encrypts and keys the
lookup hashes, all of them decrypt (``cryptography``'s MultiFernet) — the state during a key
rotation (``tongban security rotate-key``, ``ledger/keys.py``). Values are encrypted with Fernet
(AES-128-CBC + HMAC-SHA256); the keyed hash is HMAC-SHA256 under a key derived from the primary.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import stat
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from ledger.settings import DataKeySettings


class DataKeyError(RuntimeError):
    """The data key is missing, unreadable, unsafe or not the one the database was written with.
    The message says what to do; the process must not start."""


def parse_keys(text: str) -> list[bytes]:
    """Keys separated by commas, spaces or new lines (the first is the primary)."""
    return [part.encode("ascii") for part in re.split(r"[,\s]+", text.strip()) if part]


class DataCipher:
    def __init__(self, key: bytes | list[bytes], *, source: str = "TONGBAN_SECURITY__DATA_KEY"):
        keys = list(key) if isinstance(key, (list, tuple)) else parse_keys(key.decode("ascii"))
        if not keys:
            raise DataKeyError(f"{source} 里没有密钥 (no data key in {source}).")
        try:
            self._fernets = [Fernet(k) for k in keys]
        except (ValueError, TypeError) as exc:
            raise DataKeyError(f"{source} 不是有效的 Fernet 密钥 (not a valid Fernet key: {exc}); "
                               "生成新密钥：python -c 'from cryptography.fernet import Fernet; "
                               "print(Fernet.generate_key().decode())'") from exc
        self._fernet = MultiFernet(self._fernets)
        self.primary_key = keys[0]
        self.key_count = len(keys)
        self.source = source
        self._hash_key = hashlib.sha256(b"tongban-lookup-hash:" + keys[0]).digest()

    @classmethod
    def from_settings(cls, settings: DataKeySettings, *, data_dir: Path, production: bool) -> "DataCipher":
        """The configured keys; without any, the key file in ``data_dir`` (never in production)."""
        configured = settings.data_key.get_secret_value().strip()
        if configured:
            return cls(parse_keys(configured))
        if production:
            raise DataKeyError(
                "生产环境必须设置 TONGBAN_SECURITY__DATA_KEY（数据库里个人信息的加密密钥），不会自动生成密钥文件。"
                " In production TONGBAN_SECURITY__DATA_KEY must be set (the key the database's personal data is "
                "encrypted with); refusing to start.")
        path = key_file_path(data_dir)
        return cls(load_or_create_key(path), source=f"key file {path}")

    def encrypt(self, value: str | None) -> str | None:
        if value is None:
            return None
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str | None) -> str | None:
        if token is None:
            return None
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise ValueError("cannot decrypt: wrong key or corrupted value") from exc

    def is_primary(self, token: str) -> bool:
        """Whether ``token`` is already encrypted under the primary key (nothing to rotate)."""
        try:
            self._fernets[0].decrypt(token.encode("ascii"))
            return True
        except InvalidToken:
            return False

    def rotate(self, token: str) -> str:
        """``token`` re-encrypted under the primary key (its timestamp kept)."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken as exc:
            raise ValueError("cannot decrypt: none of the keys fits this value") from exc

    def lookup_hash(self, value: str) -> str:
        """A stable keyed hash of a normalised value, for finding duplicates."""
        normalised = "".join(value.split()).lower()
        return hmac.new(self._hash_key, normalised.encode("utf-8"), hashlib.sha256).hexdigest()


def key_file_path(data_dir: Path) -> Path:
    """The key file, as an absolute path (``data_dir`` defaults to the relative ``var``: two
    processes started from different folders must not each make their own key unnoticed)."""
    return (data_dir / "secret.key").expanduser().resolve()


def load_or_create_key(path: Path) -> bytes:
    """The key in ``path``; created if missing. Two processes creating it at once: the key is
    written to a private temporary file and linked into place, so exactly one wins and the other
    reads the winner's complete key."""
    path = path.resolve()
    try:
        return _read_key_file(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    fd, temporary = tempfile.mkstemp(prefix=".secret-", dir=path.parent)  # mode 0600
    try:
        os.write(fd, key + b"\n")
        os.fsync(fd)
        os.close(fd)
        fd = -1
        try:
            os.link(temporary, path)  # fails if the file exists: the other process won
        except FileExistsError:
            return _read_key_file(path)
    finally:
        if fd >= 0:
            os.close(fd)
        os.unlink(temporary)
    return key


def _read_key_file(path: Path) -> bytes:
    info = path.stat()
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise DataKeyError(
            f"密钥文件 {path} 的权限是 {stat.filemode(info.st_mode)}，其他用户可以读取，拒绝使用。"
            f"请执行 chmod 600 {path}，或改用 TONGBAN_SECURITY__DATA_KEY。"
            f" The key file {path} is readable by group or others; run chmod 600 on it.")
    key = path.read_bytes().strip()
    if not key:
        raise DataKeyError(f"密钥文件 {path} 是空的 (the key file is empty).")
    return key
