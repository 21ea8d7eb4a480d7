"""The channels the settings configure, by name: what the delivery loop looks a target's channel up
in. The group robot needs nothing but WeCom's address (each target carries its own key), so it is
always there; the others only when their settings are complete. A target whose channel is missing
here fails over to the next one (its reason says the channel is not configured)."""

from __future__ import annotations

from alerts.base import AlertChannel
from alerts.mail import EmailChannel
from alerts.settings import AlertSettings
from alerts.sms import SmsChannel, load_provider
from alerts.wecom_app import WeComAppChannel
from alerts.wecom_robot import WeComRobotChannel

CHANNEL_NAMES = ("wecom_robot", "wecom_app", "email", "sms")
# What staff read for each channel (the targets' pages).
CHANNEL_LABELS = {"wecom_robot": "企业微信群机器人", "wecom_app": "企业微信应用消息", "email": "电子邮件",
                  "sms": "短信"}


def build_channels(settings: AlertSettings) -> dict[str, AlertChannel]:
    """``{name: channel}`` for the configured channels. A wrong SMS provider path or options raise
    ``ValueError`` (at start-up)."""
    timeout = settings.timeout_seconds
    channels: dict[str, AlertChannel] = {
        "wecom_robot": WeComRobotChannel(base_url=settings.wecom_robot_base_url, timeout=timeout)}
    if settings.wecom_app_enabled:
        channels["wecom_app"] = WeComAppChannel(
            corp_id=settings.wecom_corp_id, agent_id=settings.wecom_agent_id,
            secret=settings.wecom_secret.get_secret_value(), base_url=settings.wecom_base_url,
            timeout=timeout, message_type=settings.wecom_message_type)
    if settings.email_enabled:
        channels["email"] = EmailChannel(
            host=settings.smtp_host, port=settings.smtp_port, sender=settings.smtp_from,
            username=settings.smtp_username, password=settings.smtp_password.get_secret_value(),
            security=settings.smtp_security, timeout=timeout, ca_file=settings.smtp_ca_file)
    if settings.sms_enabled:
        channels["sms"] = SmsChannel(load_provider(settings.sms_provider, settings.sms_options))
    return channels
