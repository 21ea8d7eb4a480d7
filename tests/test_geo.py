import pytest

from nlu.geo import gazetteer


# what a parent writes → the place's code and full name
PLACES = {
    "深圳宝安": ("440306", "广东省深圳市宝安区"),
    "我现在住在武汉市洪山区": ("420111", "湖北省武汉市洪山区"),
    "我们家在东莞": ("441900", "广东省东莞市"),
    "北京朝阳": ("110105", "北京市朝阳区"),
    "福州鼓楼": ("350102", "福建省福州市鼓楼区"),
    "新疆乌鲁木齐": ("650100", "新疆维吾尔自治区乌鲁木齐市"),
    "广西": ("450000", "广西壮族自治区"),
    "上海浦东": ("310115", "上海市浦东新区"),
}


@pytest.mark.parametrize("text, code, full", [(text, *place) for text, place in PLACES.items()])
def test_resolve_names_and_short_forms(text, code, full):
    region = gazetteer().resolve(text)
    assert region is not None and region.code == code
    assert gazetteer().full_name(code) == full


def test_ambiguous_short_name_alone_is_not_guessed():
    assert gazetteer().resolve("鼓楼") is None  # four cities have a 鼓楼区


def test_everyday_words_are_not_places():
    assert gazetteer().resolve("我们在和平年代长大") is None


def test_chain_from_community_code_up_to_national():
    assert gazetteer().chain("440306001002") == [
        "440306001002", "440306001", "440306", "440300", "440000", "national"]
    assert gazetteer().chain("110108") == ["110108", "110100", "110000", "national"]
    assert gazetteer().chain(None) == ["national"]


def test_resolve_code_accepts_codes_names_and_national():
    g = gazetteer()
    assert g.resolve_code("440306") == "440306"
    assert g.resolve_code("全国") == "national"
    assert g.resolve_code("宝安区") == "440306"
    assert g.resolve_code("999999") is None
    assert g.resolve_code("火星") is None


@pytest.mark.parametrize("text", ["孩子长多大了要打什么疫苗", "我家长子今年上初中", "被打了要找公安吗", "比如说医保怎么交",
                                  "有没有学习资源", "学校跟社区合作的活动"])
def test_county_short_forms_that_are_everyday_words_are_no_places(text):
    """子长市, 长子县, 公安县, 比如县…: their short forms are ordinary words; the answer must not be
    scoped to that county ("比如县暂未收录本地服务清单")."""
    assert gazetteer().resolve(text) is None


@pytest.mark.parametrize("text, code", [("我们住在子长市", "610681"), ("户口在公安县", "421022"), ("我们在广州白云", "440111")])
def test_their_full_names_still_are(text, code):
    region = gazetteer().resolve(text)
    assert region is not None and region.code == code
