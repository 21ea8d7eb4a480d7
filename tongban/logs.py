"""Logging set-up shared by every entry point."""

from __future__ import annotations

import logging
import sys

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str = "INFO") -> None:
    """Log to stderr in one plain format; safe to call more than once."""
    root = logging.getLogger()
    if not any(getattr(h, "_tongban", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(_FORMAT))
        handler._tongban = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level.upper())
    # httpx logs every request's URL at INFO; a WeCom group robot's URL holds its key (a secret:
    # whoever has it posts to the group), and a WeChat API URL its access token
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))
