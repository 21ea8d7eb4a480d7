"""Duty alerts' channels: one channel-neutral ``AlertMessage`` (nothing personal in it) and small
adapters that deliver it — a WeCom group robot, a WeCom application message, e-mail, SMS through a
provider — each a blocking ``send(address, message)`` that raises ``AlertFailed``. docs/alerts.md.

The channels know nothing of rosters or ladders; ``alerts/duty.py``, the loop every worker runs
(started by the composition root), works the ledger's alert state (``ledger/alerting.py``) and sends
through them. The package may import only the ledger.
"""

from alerts.base import AlertChannel, AlertFailed
from alerts.channels import CHANNEL_LABELS, CHANNEL_NAMES, build_channels
from alerts.mail import EmailChannel
from alerts.message import AlertMessage, message_for_record
from alerts.settings import AlertSettings
from alerts.sms import SmsChannel, SmsProvider, WebhookSmsProvider, load_provider, mobile_number
from alerts.wecom_app import WeComAppChannel
from alerts.wecom_robot import WeComRobotChannel, robot_key

__all__ = ["AlertChannel", "AlertFailed", "AlertMessage", "AlertSettings", "CHANNEL_LABELS",
           "CHANNEL_NAMES", "EmailChannel", "SmsChannel", "SmsProvider", "WebhookSmsProvider",
           "WeComAppChannel", "WeComRobotChannel", "build_channels", "load_provider",
           "message_for_record", "mobile_number", "robot_key"]
