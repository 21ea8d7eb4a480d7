"""The error of the ledger's staff operations (accounts, areas, committees)."""

from __future__ import annotations


class StaffError(ValueError):
    """A refused staff operation; the message is Chinese and safe to show."""
