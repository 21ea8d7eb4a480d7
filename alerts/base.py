"""What every alert channel is: a name and a blocking ``send``, which raises ``AlertFailed``.

The delivery loop (the caller) decides what a failure means for the ladder: a permanent one (a bad
robot key, a refused SMTP login, an unknown WeCom user) marks that target broken and tries the next
one now; a temporary one (a timeout, a rate limit) is retried later with back-off. ``reason`` is
Chinese and shown to staff on the record's page and the targets' list; it never holds an address
in full or a secret.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from alerts.message import AlertMessage


class AlertFailed(Exception):
    """An alert a channel could not deliver. ``permanent``: the target itself is wrong (don't retry
    it; fix it); otherwise the service or the network was (try again later)."""

    def __init__(self, reason: str, *, permanent: bool = False, code: int | str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.code = code  # the service's own error code, when it gave one (93000, 535…)

    def __repr__(self) -> str:
        return f"AlertFailed({self.reason!r}, permanent={self.permanent}, code={self.code!r})"


@runtime_checkable
class AlertChannel(Protocol):
    """One way of reaching staff. ``address`` is the target's decrypted address (a robot key, a
    WeCom user id, an e-mail address, a phone number)."""

    name: str

    def send(self, address: str, message: AlertMessage) -> None:
        """Deliver ``message`` or raise ``AlertFailed``; blocks (run it in a thread from async code)."""
        ...
