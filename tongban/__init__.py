"""童伴 Tongban: settings, logging, the CLI and the HTTP app factory."""

from tongban.settings import Settings, get_settings

__all__ = ["Settings", "get_settings"]
