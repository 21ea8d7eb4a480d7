"""One settings object, read once (env prefix ``TONGBAN_``, nested with ``__``).

The groups a package owns are defined in it (``nlu/settings.py``: embedding, nlu;
``knowledge/settings.py``: knowledge) and composed here; each package is handed its own group.

Example: ``TONGBAN_EMBEDDING__BACKEND=sentence-transformers`` and
``TONGBAN_EMBEDDING__MODEL=/models/bge-small-zh-v1.5``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from knowledge.settings import KnowledgeSettings
from alerts.settings import AlertSettings
from ledger.settings import DatabaseSettings, DataKeySettings, RetentionSettings
from nlu.settings import EmbeddingSettings, NluSettings


class ServerSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    # Worker processes (uvicorn). More than one uses more cores; they share the database, so any
    # of them continues any conversation. Telegram long polling needs exactly one.
    workers: int = 1
    # Where the public reaches this server (https://tongban.example.org): answers link to the stored
    # notice of an ingested checklist there (/knowledge/checklists/{id}/source). Empty: no such links.
    public_url: str = ""

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value:
            return value
        parts = urlsplit(value)
        if (parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment
                or any(c in value for c in " \"'<>#?\\") or any(ord(c) < 32 or ord(c) == 127 for c in value)):
            raise ValueError("public_url must be an http(s) address with a host, without query or fragment")
        return value


class SecuritySettings(DataKeySettings):
    """Keys and trust: the ledger's data key (``DataKeySettings``) and the HTTP side's."""

    # Bearer token for operator APIs (the conversation tracker) and trusted REST integrations
    # (which may name their own senders); empty disables both.
    api_token: SecretStr = SecretStr("")
    # Addresses of reverse proxies whose X-Forwarded-For header is believed (client addresses
    # for rate limits); empty: the connecting address is the client.
    trusted_proxies: list[str] = Field(default_factory=list)


class LimitSettings(BaseModel):
    """What one client may ask of the public routes (README, "Security"). Counts are shared by
    every worker process (``ledger/ratelimit.py``); a refused request gets 429 and a polite text."""

    # Request bodies, refused at the cap before they are read in full (bytes).
    rest_body_bytes: int = 64 * 1024
    staff_body_bytes: int = 1024 * 1024
    staff_upload_bytes: int = 10 * 1024 * 1024
    other_body_bytes: int = 64 * 1024
    # Public chat (REST channel, web chat): per client address and per chat session.
    messages_per_ip_per_minute: int = 60
    messages_per_session_per_minute: int = 20
    messages_per_session_per_day: int = 1000
    sessions_per_ip_per_hour: int = 30
    # /model/parse and /knowledge/* for clients without the API token, per address.
    lookups_per_ip_per_minute: int = 60
    # Per conversation and day: requests filed, requests for a person, urgent records opened.
    requests_per_day: int = 5
    handoffs_per_day: int = 3
    urgent_records_per_day: int = 5
    # Public chat turns run on their own threads, so a flood cannot take the staff pages' ones;
    # beyond ``public_queue`` waiting turns a client is asked to try again (503).
    public_threads: int = 8
    public_queue: int = 64
    # Chat sessions issued to public REST clients and the web chat expire after this many days.
    session_days: int = 30


class TelegramSettings(BaseModel):
    """The Telegram channel; it starts with ``tongban serve`` when ``token`` is set.

    ``webhook_url`` set: webhooks (production; Telegram posts to ``<webhook_url>``, which must
    route to ``/telegram/webhook`` of this app). Empty: long polling (development).
    ``base_url``: a self-hosted Bot API server, e.g. ``http://127.0.0.1:8081/bot``.
    """

    token: SecretStr = SecretStr("")
    webhook_url: str = ""
    # Checked on every webhook update (header X-Telegram-Bot-Api-Secret-Token). Empty: derived
    # from the token, so it is never absent.
    secret_token: SecretStr = SecretStr("")
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    # For referral links and posters (https://t.me/<bot_username>?start=<code>); empty: asked
    # from Telegram (getMe) at start.
    bot_username: str = ""
    max_concurrent_updates: int = 256
    # Seconds between sweeps of the outbox for notifications and retries.
    outbox_interval: float = 2.0
    # Longest flood-control wait honoured in place; longer ones are rescheduled.
    max_inline_retry_after: float = 30.0
    # Seconds for one Bot API request (connect/read/write).
    request_timeout: float = 10.0
    # Connections to the Bot API (python-telegram-bot's pool).
    connection_pool_size: int = 16
    set_commands: bool = True


# A WeChat template message's fields (bot/wechat/template.py): what a notification's summary holds,
# and the keys of the classic templates (新版 templates use thing1, character_string2, phrase3, time4…).
TEMPLATE_SUMMARY_FIELDS = ("title", "reference", "status", "status_short", "time", "next")
DEFAULT_TEMPLATE_FIELDS = {"first": "title", "keyword1": "reference", "keyword2": "status", "keyword3": "time",
                           "remark": "next"}
_TEMPLATE_KEY = re.compile(r"^[a-z_]{1,24}\d{0,3}$")


class WeChatSettings(BaseModel):
    """The WeChat Official Account channel (服务号); it runs with ``tongban serve`` when ``app_id``
    and ``token`` are set, answering ``GET/POST /wechat/callback`` (docs/wechat.md).

    ``encoding_aes_key`` set: safe mode (安全模式), every callback encrypted; then a plaintext one is
    refused. ``base_url``: WeChat's API host, or a proxy or test server in front of it.
    """

    app_id: str = ""
    app_secret: SecretStr = SecretStr("")
    token: SecretStr = SecretStr("")  # the callback token (服务器配置 → 令牌)
    encoding_aes_key: SecretStr = SecretStr("")  # 43 characters (服务器配置 → 消息加解密密钥)
    base_url: str = "https://api.weixin.qq.com/cgi-bin/"
    # WeChat waits 5 s for the passive reply; a turn ready within this many seconds answers in it,
    # anything later goes through the customer-service message API (客服消息).
    passive_window: float = 4.5
    # Seconds after the passive reply before a turn's further messages are sent, so they arrive after it.
    followup_delay: float = 0.3
    # Callbacks whose timestamp is further than this many seconds from now are refused (replays).
    replay_window: int = 300
    max_body_bytes: int = 64 * 1024
    # Seconds between sweeps of the outbox for notifications and retries.
    outbox_interval: float = 2.0
    # Seconds for one API request.
    request_timeout: float = 5.0
    # Threads the channel's turns run on, its own (and 4 more for short messages, bot/wechat/channel.py
    # ``_lane``). Each holds a database connection while it runs (ledger/db.py ``POOL_SIZE``).
    turn_threads: int = Field(default=12, ge=1, le=64)
    # Template messages (模板消息) for notifications outside the 48 hours customer-service messages
    # are allowed in: the template's id from the console (empty: such notifications are not sent),
    # where tapping it leads (empty: nowhere; e.g. the account's profile page), and which of the
    # template's keys shows which field of the notification (JSON in the environment), docs/wechat.md.
    template_id: str = ""
    template_url: str = ""
    template_fields: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_TEMPLATE_FIELDS))

    @field_validator("template_fields")
    @classmethod
    def _template_fields(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("name at least one of the template's keys")
        for key, name in value.items():
            if not _TEMPLATE_KEY.match(key):
                raise ValueError(f"{key!r} is not a template key (like thing1, keyword2, first)")
            if name not in TEMPLATE_SUMMARY_FIELDS:
                raise ValueError(f"{key} → {name!r}: the fields are {', '.join(TEMPLATE_SUMMARY_FIELDS)}")
        return value

    @field_validator("template_url")
    @classmethod
    def _template_url(cls, value: str) -> str:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("template_url must be an http(s) address")
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return value.rstrip("/") + "/"

    @property
    def enabled(self) -> bool:
        return bool(self.app_id and self.token.get_secret_value())


class StaffSettings(BaseModel):
    """The staff review app (``/staff``)."""

    # Session cookies marked Secure: None = on https requests and when env is production.
    secure_cookies: bool | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TONGBAN_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("var")
    log_level: str = "INFO"
    server: ServerSettings = Field(default_factory=ServerSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    knowledge: KnowledgeSettings = Field(default_factory=KnowledgeSettings)
    nlu: NluSettings = Field(default_factory=NluSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    wechat: WeChatSettings = Field(default_factory=WeChatSettings)
    staff: StaffSettings = Field(default_factory=StaffSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)  # duty alerts (docs/alerts.md)

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{(self.data_dir / 'tongban.db').resolve()}"

    @property
    def checklist_dir(self) -> Path:
        """Where ingested and published checklist versions are stored."""
        return self.data_dir / "checklists"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def models_dir(self) -> Path:
        """Trained classifiers and their embedding caches."""
        return self.data_dir / "models"

    def ensure_dirs(self) -> None:
        for path in (self.data_dir, self.checklist_dir, self.index_dir, self.models_dir):
            path.mkdir(parents=True, exist_ok=True)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings()
