"""The duty alerts' settings: the ladder's timing and how each channel reaches its service.
Composed into ``tongban/settings.py`` as ``alerts`` (``TONGBAN_ALERTS__SMTP_HOST=…``).

A channel is on when what it needs is set (``build_channels``): the WeCom group robot always (a
target's address is its key), the WeCom application with a corp id, agent id and secret, e-mail
with an SMTP host and a sender, SMS with a provider's dotted path. docs/alerts.md says where each
value comes from.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

_PROVIDER = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
LOOPBACK = ("127.0.0.1", "::1", "localhost")


class AlertSettings(BaseModel):
    # The ladder: minutes without an acknowledgement before the next step; hours a link stays valid.
    escalate_after_minutes: int = Field(10, ge=1, le=24 * 60)
    link_ttl_hours: int = Field(24, ge=1, le=24 * 30)
    # Seconds between the delivery loop's looks for due steps and unsent alerts.
    poll_seconds: float = Field(1.0, gt=0)
    # Seconds for one request to a service (WeCom, the SMS gateway, the SMTP server's each step).
    timeout_seconds: float = Field(5.0, gt=0, le=60)

    # WeCom group robots (企业微信群机器人): each target's address is its robot's key.
    wecom_robot_base_url: str = "https://qyapi.weixin.qq.com"
    # A WeCom application (企业微信自建应用): the corp's id, the application's AgentId and Secret.
    wecom_corp_id: str = ""
    wecom_agent_id: int = 0
    wecom_secret: SecretStr = SecretStr("")
    wecom_base_url: str = "https://qyapi.weixin.qq.com"
    wecom_message_type: Literal["textcard", "text"] = "textcard"

    # E-mail: STARTTLS (587) or implicit TLS (465); "none" only to a server on this machine (tests).
    smtp_host: str = ""
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_from: str = ""
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_ca_file: str = ""  # a CA bundle beside the system's (a mail server with a private CA)

    # SMS: a provider class by dotted path ("package.module:Class") and its constructor's options
    # (JSON in the environment; may hold a token, so kept out of the settings' repr).
    sms_provider: str = ""
    sms_options: dict[str, Any] = Field(default_factory=dict, repr=False)

    @field_validator("wecom_robot_base_url", "wecom_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("a WeCom base URL is an http(s) address, like https://qyapi.weixin.qq.com")
        return value.rstrip("/")

    @field_validator("sms_provider")
    @classmethod
    def _provider(cls, value: str) -> str:
        if value and not _PROVIDER.match(value):
            raise ValueError("sms_provider is a dotted path with the class after a colon, "
                             "like alerts.sms:WebhookSmsProvider")
        return value

    @model_validator(mode="after")
    def _plain_smtp_only_locally(self) -> "AlertSettings":
        if self.smtp_security == "none" and self.smtp_host and self.smtp_host not in LOOPBACK:
            raise ValueError("smtp_security=none (no TLS: the password in the clear) is only for a "
                             "server on this machine; use starttls (587) or tls (465)")
        return self

    @property
    def wecom_app_enabled(self) -> bool:
        return bool(self.wecom_corp_id and self.wecom_agent_id and self.wecom_secret.get_secret_value())

    @property
    def email_enabled(self) -> bool:
        return bool(self.smtp_host and self.smtp_from)

    @property
    def sms_enabled(self) -> bool:
        return bool(self.sms_provider)
