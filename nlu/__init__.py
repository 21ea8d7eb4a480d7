"""Text normalisation, intent classification and entity extraction."""

from nlu.normalize import normalize, strip_emoji, to_simplified

__all__ = ["normalize", "strip_emoji", "to_simplified"]
