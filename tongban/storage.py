"""The ledger as the settings describe it: its database and the cipher of its personal data.

Every entry point (the server's runtime, the ``tongban`` commands, the standalone action server)
opens the ledger through ``open_ledger`` (or, where the key cannot be checked yet — a key rotation —
these two), so a key or a database is never read two ways and never used unchecked.
"""

from __future__ import annotations

from ledger.crypto import DataCipher
from ledger.db import Database
from ledger.keys import verify_data_key
from tongban.settings import Settings


def data_cipher(settings: Settings) -> DataCipher:
    """The data key's cipher: the configured key, else the key file in the data folder (none is
    made in production: a missing key stops the start)."""
    return DataCipher.from_settings(settings.security, data_dir=settings.data_dir,
                                    production=settings.env == "production")


def ledger_database(settings: Settings, *, migrate: bool = True) -> Database:
    return Database(settings.database_url, echo=settings.database.echo, migrate=migrate)


def open_ledger(settings: Settings, cipher: DataCipher | None = None) -> tuple[Database, DataCipher]:
    """The database and the cipher, the key checked against the one the database was written with
    (a wrong key stops here, before anything is read or written); ``cipher``: one already read."""
    cipher = cipher or data_cipher(settings)
    db = ledger_database(settings)
    try:
        verify_data_key(db, cipher)
    except Exception:
        db.dispose()
        raise
    return db, cipher
