"""The ledger as the settings describe it: its database and the cipher of its personal data.

Every entry point (the server's runtime, the ``tongban`` commands, the standalone action server)
opens the ledger through these two, so a key or a database is never read two ways.
"""

from __future__ import annotations

from ledger.crypto import DataCipher
from ledger.db import Database
from tongban.settings import Settings


def data_cipher(settings: Settings) -> DataCipher:
    """The data key's cipher: the configured key, else the key file in the data folder (none is
    made in production: a missing key stops the start)."""
    return DataCipher.from_settings(settings.security, data_dir=settings.data_dir,
                                    production=settings.env == "production")


def ledger_database(settings: Settings, *, migrate: bool = True) -> Database:
    return Database(settings.database_url, echo=settings.database.echo, migrate=migrate)
