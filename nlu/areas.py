"""The gazetteer as the ledger's area directory (``AreaDirectory`` in ledger/areas.py): which 6-digit
region codes exist, which are county-level, and what they are called. The composition root hands it
to the staff app and the staff commands; nlu does not import the ledger (the protocol is structural)."""

from __future__ import annotations

from nlu.geo import DISTRICT, Gazetteer, gazetteer


class GazetteerAreas:
    def __init__(self, geo: Gazetteer | None = None):
        self.geo = geo or gazetteer()
        self._parents = {region.parent for region in self.geo.regions.values() if region.parent}

    def region_name(self, code: str) -> str | None:
        region = self.geo.regions.get(code)
        return region.name if region else None

    def is_county_level(self, code: str) -> bool:
        """A district or county, or a region with none below it (a city without districts, 东莞市)."""
        region = self.geo.regions.get(code)
        return region is not None and (region.level == DISTRICT or code not in self._parents)

    def full_name(self, code: str) -> str:
        return self.geo.full_name(code) if code in self.geo.regions else ""
