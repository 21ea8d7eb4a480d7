"""Encryption of personal fields at rest, and keyed hashes to match them without decrypting.

The key comes from ``TONGBAN_SECURITY__DATA_KEY`` or, if unset, a key file
``<data_dir>/secret.key`` created with 0600 permissions on first run (never in the
repository). Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256); the keyed
hash is HMAC-SHA256 under a key derived from the same secret.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from tongban.settings import Settings


class DataCipher:
    def __init__(self, key: bytes):
        self._fernet = Fernet(key)
        self._hash_key = hashlib.sha256(b"tongban-lookup-hash:" + key).digest()

    @classmethod
    def from_settings(cls, settings: Settings) -> "DataCipher":
        configured = settings.security.data_key.get_secret_value()
        if configured:
            return cls(configured.encode("ascii"))
        return cls(load_or_create_key(settings.data_dir / "secret.key"))

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

    def lookup_hash(self, value: str) -> str:
        """A stable keyed hash of a normalised value, for finding duplicates."""
        normalised = "".join(value.split()).lower()
        return hmac.new(self._hash_key, normalised.encode("utf-8"), hashlib.sha256).hexdigest()


def load_or_create_key(path: Path) -> bytes:
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key + b"\n")
    finally:
        os.close(fd)
    return key
