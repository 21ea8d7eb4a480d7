"""The ledger's settings groups. ``tongban/settings.py`` reads them once, as part of its settings
(``TONGBAN_DATABASE__*``, ``TONGBAN_SECURITY__DATA_KEY``, ``TONGBAN_RETENTION__*``), and hands each to
what needs it here."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr


class DatabaseSettings(BaseModel):
    """The ledger database. Empty url: SQLite at ``<data_dir>/tongban.db``."""

    url: str = ""
    echo: bool = False


class DataKeySettings(BaseModel):
    """The key for personal data at rest (``ledger/crypto.py``).

    ``data_key``: a Fernet key (urlsafe base64, 32 bytes). Empty: a key file
    ``<data_dir>/secret.key`` is created with 0600 permissions on first run.
    """

    data_key: SecretStr = SecretStr("")


class RetentionSettings(BaseModel):
    """How long records are kept before ``tongban ledger purge`` deletes or anonymises them (days).

    These are this deployment's choices, shown to parents in the privacy notice (docs/privacy.md):
    set them to what the local civil-affairs archives rules require.
    """

    transcript_days: int = Field(default=180, ge=1)  # chat messages in and out
    conversation_idle_days: int = Field(default=90, ge=1)  # dialogue state of a quiet conversation
    outbox_days: int = Field(default=7, ge=1)  # copies of delivered (or undeliverable) messages
    handoff_days: int = Field(default=365, ge=1)  # handled requests for a person
    urgent_days: int = Field(default=1095, ge=1)  # handled urgent records: the message text
    request_days: int = Field(default=365, ge=1)  # requests closed or not eligible, never in the ledger
    case_days: int = Field(default=1825, ge=1)  # case files: ledger entries, referrals, urgent requests
    telegram_update_days: int = Field(default=7, ge=1)  # ids of processed Telegram updates
    wechat_message_days: int = Field(default=7, ge=1)  # hashed identities of processed WeChat callbacks
    login_failure_days: int = Field(default=30, ge=1)  # failed staff logins
    # ``tongban serve`` runs the purge once a day (one worker per day).
    daily: bool = True
    batch_size: int = Field(default=500, ge=1)
