"""Reverse geocoding of shared Telegram locations (WGS-84) to the gazetteer's districts.

Coordinates are WGS-84 positions of well-known places (airports, stations, campuses,
landmarks), not GCJ-02 map-app coordinates.
"""

import math

import pytest

from nlu import reverse_geo
from nlu.geo import gazetteer
from nlu.reverse_geo import ReverseResult, reverse_geocode

# (place, latitude, longitude, district code)
INSIDE = [
    ("深圳宝安国际机场", 22.639, 113.811, "440306"),
    ("深圳湾体育中心 (南山)", 22.518, 113.943, "440305"),
    ("北京大学 (海淀)", 39.9925, 116.3060, "110108"),
    ("上海浦东国际机场", 31.1443, 121.8083, "310115"),
    ("广州天河体育中心", 23.137, 113.324, "440106"),
    ("成都武侯祠", 30.6458, 104.0478, "510107"),
    ("四川大学望江校区 (武侯)", 30.630, 104.083, "510107"),
    ("华中科技大学 (武汉洪山)", 30.513, 114.413, "420111"),
    ("杭州灵隐寺 (西湖)", 30.2408, 120.0986, "330106"),
    # rural counties
    ("凤凰古城 (湘西凤凰县)", 27.948, 109.599, "433123"),
    ("阳朔县城 (桂林)", 24.778, 110.496, "450321"),
    ("塔什库尔干县城", 37.775, 75.229, "653131"),
    ("拉萨 (城关区)", 29.6525, 91.1721, "540102"),
    # a city without districts: the gazetteer's code is the city's
    ("东莞市区", 23.0207, 113.7518, "441900"),
    # renumbered since the boundary data's codes (崇川区 320602 → 320613)
    ("南通濠河 (崇川)", 32.010, 120.862, "320613"),
    # 江北区/渝北区 merged into 两江新区 in 2025
    ("重庆江北国际机场", 29.7192, 106.6417, "500157"),
    ("香港中环 (中西区)", 22.2819, 114.1582, "810101"),
]

# Points within a few km of a district border where the nearest district seat is across it.
NEAR_BORDER = [
    ("上海虹桥站 (闵行)", 31.1944, 121.3200, "310112"),
    ("广州南站 (番禺)", 22.9889, 113.2689, "440113"),
    ("武汉站 (洪山)", 30.6072, 114.4247, "420111"),
    ("成都东站 (成华)", 30.6289, 104.1414, "510108"),
    ("国家体育场鸟巢 (北京朝阳)", 39.9917, 116.3906, "110105"),
]

OUTSIDE = [
    ("东海, 200 km offshore", 30.0, 125.0),
    ("黄海", 35.0, 123.5),
    ("青岛外海, 10 km offshore", 36.00, 120.468),
    ("Hanoi", 21.0285, 105.8542),
    ("Seoul", 37.5665, 126.9780),
    ("Pyongyang", 39.0392, 125.7625),
    ("Ulaanbaatar", 47.9, 106.9),
    ("Tokyo", 35.6812, 139.7671),
    ("Null Island", 0.0, 0.0),
]


@pytest.mark.parametrize("place, lat, lon, code", INSIDE + NEAR_BORDER,
                         ids=[p[0] for p in INSIDE + NEAR_BORDER])
def test_known_places_resolve_to_their_district(place, lat, lon, code):
    result = reverse_geocode(lat, lon)
    assert result == ReverseResult(code, gazetteer().full_name(code), "polygon", None), place


def test_full_names_and_codes_come_from_the_gazetteer():
    result = reverse_geocode(22.639, 113.811)
    assert result.name == "广东省深圳市宝安区"
    assert result.code in gazetteer().regions
    with pytest.raises(AttributeError):
        result.code = "440305"  # frozen


def test_polygons_beat_nearest_centroid_near_borders():
    locator = reverse_geo._locator()
    wrong = [place for place, lat, lon, code in NEAR_BORDER
             if (nearest := locator._nearest(lat, lon, None)) is None or nearest.code != code]
    assert len(wrong) == len(NEAR_BORDER)  # every one of them is a real border case


@pytest.mark.parametrize("place, lat, lon", OUTSIDE, ids=[p[0] for p in OUTSIDE])
def test_sea_and_other_countries_give_none(place, lat, lon):
    assert reverse_geocode(lat, lon) is None, place


@pytest.mark.parametrize("lat, lon", [
    (math.nan, 113.8), (22.6, math.nan), (math.inf, 113.8), (22.6, -math.inf),
    (91.0, 113.8), (-90.5, 113.8), (22.6, 181.0), (22.6, -200.0),
    (None, 113.8), ("22.6", "113.8"), (True, 113.8), ([22.6], 113.8),
])
def test_invalid_input_gives_none(lat, lon):
    assert reverse_geocode(lat, lon) is None


def test_swapped_coordinates_are_not_in_china():
    assert reverse_geocode(113.811, 22.639) is None


def test_integer_coordinates_are_accepted():
    assert reverse_geocode(30, 114).code.startswith("42")  # 湖北


def test_point_just_off_the_beach_snaps_to_the_coastal_district():
    # ~0.7 km into the sea off 石老人 beach, Qingdao; ~0.4 km off 大梅沙, Shenzhen.
    for lat, lon, code in [(36.082, 120.468, "370212"), (22.575, 114.305, "440308")]:
        result = reverse_geocode(lat, lon)
        assert result is not None and result.code == code
        assert result.method == "polygon"
        assert 0 < result.distance_km <= reverse_geo.MAX_SNAP_KM


def test_every_boundary_district_maps_into_the_gazetteer():
    locator = reverse_geo._locator()
    assert locator.tool is not None, "geotool-cn is not installed"
    regions = gazetteer().regions
    assert len(locator.mapping) > 2800
    unmapped = [c for c, target in locator.mapping.items() if target not in regions]
    assert unmapped == []
    assert locator.mapping["320602"] == "320613"  # 崇川区 renumbered
    assert locator.mapping["820001"] == "820008"  # 花地玛堂区: Macau's codes are ordered differently
    assert locator.mapping["632825"] == "632857"  # 海西州直辖 → 大柴旦行政区


def test_without_polygons_falls_back_to_nearest_centroid_within_60_km(monkeypatch):
    monkeypatch.setattr(reverse_geo._Locator, "_open_tool", staticmethod(lambda: None))
    locator = reverse_geo._Locator(gazetteer())
    result = locator.locate(22.639, 113.811)
    assert result.code == "440306" and result.method == "nearest"
    assert 0 < result.distance_km <= reverse_geo.MAX_NEAREST_KM
    assert locator.locate(30.0, 125.0) is None  # far from every district seat


def test_lookups_after_warm_up_answer_as_the_first_lookup_did():
    """Once the touched polygons are decoded and kept, a lookup answers from them as the first
    lookup did. (How fast: bench/reverse_geo_latency.py.)"""
    reverse_geo.warm_up()
    points = [(lat, lon) for _, lat, lon, _ in INSIDE + NEAR_BORDER] + \
             [(lat, lon) for _, lat, lon in OUTSIDE]
    first = [reverse_geocode(lat, lon) for lat, lon in points]
    assert [r.code for r in first[:len(INSIDE + NEAR_BORDER)]] == [code for *_, code in INSIDE + NEAR_BORDER]
    assert first[len(INSIDE + NEAR_BORDER):] == [None] * len(OUTSIDE)
    for _ in range(3):
        assert [reverse_geocode(lat, lon) for lat, lon in points] == first
