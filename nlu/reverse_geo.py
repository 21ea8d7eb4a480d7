"""Reverse geocoding: a location shared in Telegram → the district/county that contains it.

Phones send WGS-84 latitude/longitude. The point is looked up offline in the county-level
boundary polygons shipped by the ``geotool-cn`` package (``GeoToolCN``: DataV.GeoAtlas
boundaries, already converted from GCJ-02 to WGS-84 by the package, with a precomputed
grid index — a lookup is a few microseconds and the data is memory-mapped). Its adcodes
are mapped onto this project's gazetteer (:mod:`nlu.geo`), whose codes are newer in places:

* same code and same name → that code;
* renumbered districts (崇川区 320602 → 320613, 米林县 → 米林市 540481, Macau's parishes)
  → the gazetteer district with the same name in the same city, else the same province;
* a city without districts (东莞, 中山, 嘉峪关, 儋州, 三沙) → the city's own code, which is
  how the gazetteer lists it;
* districts merged since the boundary data was drawn → their successor (江北区 and 渝北区
  → 两江新区, November 2025); the dataset's 海西州直辖 area → 大柴旦行政区.

A point just outside every district polygon (a pier, a beach, GPS jitter, a thin gap
between two districts' polygons) is snapped to the district found within 2 km
(``distance_km`` then gives the probe radius that found it). Failing that, a point still
inside a province's outline (Taiwan, which has no county polygons; coastal waters) gets the
nearest gazetteer district centroid in that province within 60 km (``method="nearest"``).
Anything else — the open sea, other countries, NaN, out-of-range values — gives ``None``
and the bot asks the parent to type the district.

Licence: geotool-cn's code is MIT; the boundaries it ships come from DataV.GeoAtlas, whose
notice says the data is Amap's and "仅供学习交流使用" (see the package's NOTICE file).

Without ``geotool-cn`` installed the module still answers, by nearest district centroid
only (≤ 60 km), which is wrong near borders; a warning is logged once.

Known limits of the boundary data (fetched 2026-03): Taiwan has no county polygons (and the
gazetteer no centroids there, so Taiwan gives ``None``); the five northern towns of the
former 渝北区 moved to 北碚区 in 2025 still resolve to 两江新区, and the 北碚 streets that
moved into 两江新区 still resolve to 北碚区; county polygons overlap in parts of Xinjiang
(兵团 cities) and the package picks the lowest code.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from nlu.geo import DISTRICT, Gazetteer, gazetteer, short_forms

log = logging.getLogger(__name__)

POLYGON, NEAREST = "polygon", "nearest"

#: Nearest-centroid answers farther than this are not trusted.
MAX_NEAREST_KM = 60.0
#: A point outside every polygon but this close to one is snapped to it.
MAX_SNAP_KM = 2.0
_SNAP_RADII_KM = (0.25, 0.5, 1.0, 2.0)
_SNAP_BEARINGS = 8

# Rough extent of China (incl. the South China Sea islands); outside it nothing is looked up.
_LAT_RANGE = (3.0, 54.0)
_LON_RANGE = (73.0, 136.0)

_EARTH_KM = 6371.0088

# Boundary-data codes that the gazetteer does not have, and the gazetteer district that holds
# the same ground.
_SUCCESSORS = {
    "500105": "500157",  # 重庆江北区 → 两江新区 (2025-11)
    "500112": "500157",  # 重庆渝北区 → 两江新区 (2025-11; its 5 northern towns went to 北碚区)
    "632825": "632857",  # 海西州直辖 (the area of the former 大柴旦行委) → 大柴旦行政区
}


@dataclass(frozen=True)
class ReverseResult:
    # 6-digit code in nlu.geo.gazetteer().regions: the district/county, or for a city without
    # districts (东莞 441900, 中山, 嘉峪关, 儋州, 三沙) the city, as the gazetteer lists it.
    code: str
    name: str  # full name, e.g. 广东省深圳市宝安区
    method: str  # "polygon" or "nearest"
    # None: the point lies inside the district's polygon. For a snapped point, the probe radius
    # that reached the polygon (≤ MAX_SNAP_KM); for "nearest", the distance to the centroid.
    distance_km: float | None = None


def reverse_geocode(latitude: float, longitude: float) -> ReverseResult | None:
    """The district/county containing a WGS-84 point, or None outside China or on bad input."""
    lat, lon = _coordinate(latitude, -90.0, 90.0), _coordinate(longitude, -180.0, 180.0)
    if lat is None or lon is None:
        return None
    if not (_LAT_RANGE[0] <= lat <= _LAT_RANGE[1] and _LON_RANGE[0] <= lon <= _LON_RANGE[1]):
        return None
    return _locator().locate(lat, lon)


def warm_up() -> None:
    """Load the boundary data and indexes now rather than on the first lookup."""
    _locator()


def _coordinate(value: Any, low: float, high: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return None
    value = float(value)
    return value if math.isfinite(value) and low <= value <= high else None


def _haversine_km(lat1, lon1, lat2, lon2):
    """Great-circle distance; the second point may be numpy arrays."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2) - np.radians(lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * _EARTH_KM * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


def _offset(lat: float, lon: float, km: float, bearing_deg: float) -> tuple[float, float]:
    """The point ``km`` away from (lat, lon) on a bearing (small distances; flat-earth is fine)."""
    b = math.radians(bearing_deg)
    dlat = km * math.cos(b) / 111.195
    dlon = km * math.sin(b) / (111.195 * max(math.cos(math.radians(lat)), 1e-6))
    return lat + dlat, lon + dlon


def _same_name(a: str, b: str) -> bool:
    a, b = a.replace("凼", "氹"), b.replace("凼", "氹")
    return a == b or bool(short_forms(a) & short_forms(b))


class _Locator:
    def __init__(self, gaz: Gazetteer):
        self.gaz = gaz
        self._names: dict[str, str] = {}
        self.districts = {c: r for c, r in gaz.regions.items() if r.level == DISTRICT}
        self.tool = self._open_tool()
        self.mapping: dict[str, str | None] = {}
        centroids = {c: (r.lat, r.lon) for c, r in self.districts.items() if r.lat is not None}
        if self.tool is not None:
            for region in self.tool.list_regions("district"):
                target = self._map(region.code, region.name)
                self.mapping[region.code] = target
                # A district with no centroid in the gazetteer (Hong Kong, Macau, …) borrows
                # the boundary data's own, for the nearest-centroid fallback.
                if target and target not in centroids and region.latitude is not None:
                    centroids[target] = (region.latitude, region.longitude)
            unmapped = sorted(c for c, t in self.mapping.items() if t is None)
            if unmapped:
                log.info("reverse_geo: %d boundary districts not in the gazetteer: %s",
                         len(unmapped), ", ".join(unmapped[:20]))
        self.codes = sorted(centroids)
        self.lats = np.array([centroids[c][0] for c in self.codes], dtype=np.float64)
        self.lons = np.array([centroids[c][1] for c in self.codes], dtype=np.float64)
        self.prefixes = np.array([c[:2] for c in self.codes])

    @staticmethod
    def _open_tool():
        try:
            from GeoToolCN import GeoTool
        except ImportError:
            log.warning("reverse_geo: geotool-cn is not installed; using nearest district "
                        "centroids only, which is wrong near district borders")
            return None
        return GeoTool()

    def _map(self, code: str, name: str) -> str | None:
        """A boundary-data district → the gazetteer's code for it (None if no counterpart)."""
        if code in _SUCCESSORS:
            return _SUCCESSORS[code]
        region = self.districts.get(code)
        if region is not None and _same_name(region.name, name):
            return code
        for prefix in (code[:4], code[:2]):
            same = [c for c, r in self.districts.items()
                    if c.startswith(prefix) and _same_name(r.name, name)]
            if len(same) == 1:
                return same[0]
        if region is not None:  # same code, name spelt differently
            return code
        # A city without districts (东莞, 中山, 嘉峪关, 儋州; 三沙 in the gazetteer) is itself the
        # county-level unit, as in the gazetteer, which lists no districts under it.
        city = self.gaz.regions.get(code[:4] + "00")
        if city is not None and city.level != DISTRICT and not any(
                c.startswith(code[:4]) for c in self.districts):
            return city.code
        return None

    def full_name(self, code: str) -> str:
        name = self._names.get(code)
        if name is None:
            name = self._names[code] = self.gaz.full_name(code)
        return name

    # --- lookups ------------------------------------------------------------
    def locate(self, lat: float, lon: float) -> ReverseResult | None:
        if self.tool is None:
            return self._nearest(lat, lon, prefix=None)
        result = self.tool.reverse(lat, lon)
        if result.district is not None:
            return self._from_polygon(result.district.code, lat, lon, None)
        snapped = self._snap(lat, lon)
        if snapped is not None or result.province is None:
            return snapped
        # Inside a province's outline but no district's: a gap between districts' polygons
        # wider than the snap distance, coastal waters, or Taiwan (no county polygons).
        return self._nearest(lat, lon, prefix=result.province.code[:2])

    def _from_polygon(self, code: str, lat: float, lon: float,
                      distance: float | None) -> ReverseResult | None:
        target = self.mapping.get(code)
        if target is None:  # no counterpart in the gazetteer: nearest district in the province
            return self._nearest(lat, lon, prefix=code[:2])
        return ReverseResult(target, self.full_name(target), POLYGON, distance)

    def _district_at(self, lat: float, lon: float) -> str | None:
        """The boundary data's district code at a point, without the province fallback."""
        data = getattr(self.tool, "_data", None)
        if data is not None and hasattr(data, "locate") and hasattr(data, "adcodes"):
            # The .gtc reader's own lookup: reverse() also tries the province layer on a
            # miss, which triples the cost of the probes below.
            index = data.locate(lat, lon)
            return None if index is None else data.adcodes[index]
        district = self.tool.reverse(lat, lon).district
        return None if district is None else district.code

    def _snap(self, lat: float, lon: float) -> ReverseResult | None:
        """Outside every polygon: the district whose polygon is within MAX_SNAP_KM, if any."""
        for radius in _SNAP_RADII_KM:
            hits: dict[str, int] = {}
            for k in range(_SNAP_BEARINGS):
                code = self._district_at(*_offset(lat, lon, radius, 360.0 * k / _SNAP_BEARINGS))
                if code is not None:
                    hits[code] = hits.get(code, 0) + 1
            if hits:
                code = max(sorted(hits), key=hits.__getitem__)
                return self._from_polygon(code, lat, lon, radius)
        return None

    def _nearest(self, lat: float, lon: float, prefix: str | None) -> ReverseResult | None:
        if not self.codes:
            return None
        dists = _haversine_km(lat, lon, self.lats, self.lons)
        if prefix is not None:
            dists = np.where(self.prefixes == prefix, dists, np.inf)
        best = int(np.argmin(dists))
        distance = float(dists[best])
        if not distance <= MAX_NEAREST_KM:
            return None
        code = self.codes[best]
        return ReverseResult(code, self.full_name(code), NEAREST, round(distance, 1))


_lock = threading.Lock()
_instance: _Locator | None = None


def _locator() -> _Locator:
    global _instance
    if _instance is None:
        with _lock:
            if _instance is None:
                _instance = _Locator(gazetteer())
    return _instance
