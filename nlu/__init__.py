"""The language layer: normalisation, sentence embeddings, intent classification, entities,
the safety net and geography. It imports nothing of Tongban's other packages."""

from nlu.normalize import normalize, strip_emoji, to_simplified

__all__ = ["normalize", "strip_emoji", "to_simplified"]
