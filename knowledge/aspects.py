"""What a parent's question is after.

"孩子在这边上小学要带什么材料" asks for materials, "打疫苗要钱吗" for the cost, "医保在哪交" for where
to go, "公办园和普惠园有啥区别" for the difference between two things (answered with both items). Cues
are ordinary question words, checked in the order of ``CUES`` (a question about the cost of a
document asks about the cost). The part of an item that answers each aspect is found by
``knowledge/item_text.py``; the answer's first screen (``knowledge/screen.py``) leads with it.
"""

from __future__ import annotations

import re

WHO, WHAT, HOW, MATERIALS, TIME, COST, CONTACT, DIFFERENCE, IN_CHARGE, SHARED, DATA, AGE = (
    "who", "what", "how", "materials", "time", "cost", "contact", "difference", "in_charge", "shared", "data",
    "age")

# an office in a parent's words: "是派出所管还是学校管" asks who runs it, "是爷爷管还是奶奶管" does not
_OFFICE = r"(?:部门|局|所|学校|街道|社区|居委会|村委会|政府|民政|教育|公安|派出所|医院|妇联|残联|团委)"

# whether an allowance's standard changes ("生活补助的标准会不会往上调"): what is paid; "多久调一次" asks a time
_STANDARD_CHANGES = r"^(?!.*(?:多久|什么时候|啥时候|几月))(?=.*(?:补助|补贴|生活费|救助|低保|保障)[^，。\s]{0,8}(?:变|调|涨|提高))"

# whom to ask or tell: an office or a person (a "how" question; with an office to name, the next step)
_WHOM_WORDS = r"找谁|问谁|跟谁说|和谁说|向谁"
_WHOM = re.compile(_WHOM_WORDS + r"|找哪个人|找什么人|找啥人|跟谁联系|[找去到上在]哪(?:里|儿)?问(?!诊)|问哪里")
# a complaint ("学校让开证明才给报名 这事找谁反映"): where to complain, before the document named in it
_COMPLAINT = r"投诉|(?:找谁|向谁|跟谁|去哪|哪里|找哪)反映|反映(?:给谁|找谁|到哪)"
# the materials to bring asked for ("要带啥材料", "准备哪些"), not whether one named paper is needed
_THE_LIST_WORDS = r"材料|带(?:什么|啥|哪些|些啥)|准备(?:什么|啥|哪些)|要(?:什么|啥|哪些|些啥)证"
# papers not gathered yet ("证明材料还没弄齐", "手续凑不齐"), and whether one may apply first all the same
_PAPERS_NOT_READY = (r"(?:材料|证明|手续|证件)[^，。\s]{0,5}(?:(?:还)?(?:没|不|未)(?:有)?(?:开好|弄齐|凑齐|弄好|备齐|齐|全|准备好|办好|开)|"
                     r"(?:凑|开|拿|弄|备)不(?:齐|全|出))")
_APPLY_FIRST = r"先(?:申请|受理|办)[^，。\s]{0,3}(?:吗|不|么|行|能|可以)|能(?:不能)?先(?:申请|受理|办)"
# ... an application, not a permit, a school place or a payment ("居住证的材料还没弄齐 能先办吗", "医保材料不全
# 能先交钱吗": their own services answer)
_APPLY_FIRST_ASKED = re.compile(rf"^(?!.*(?:居住证|医保|学校|入学|报名|幼儿园|户口|身份证))(?=.*(?:{_PAPERS_NOT_READY}))"
                                r"(?=.*(?:先(?:申请|受理)|先把申请(?:交|递)))")
_ANOTHER_NUMBER = re.compile(r"别的|其他|其它|还有(?:啥|什么|哪些|没有)|还能打|(?<!是)(?:什么|啥|哪个|几号)电话|打几号")

CUES: tuple[tuple[str, re.Pattern], ...] = tuple((aspect, re.compile(pattern)) for aspect, pattern in (
    (DIFFERENCE, r"区别|不一样|有啥不同|有什么不同|差别|差异|哪个好|哪个划算|哪个更|一回事|一码事|一个意思|(?:啥|什么)两样"),
    (CONTACT, _COMPLAINT),
    # papers not ready yet ("证明材料还没开好 能先申请吗"): whether it can be done first, not the list
    (WHO, _PAPERS_NOT_READY + "|" + _APPLY_FIRST),
    (MATERIALS, _THE_LIST_WORDS + r"|证件|证明|手续"),
    (COST, _STANDARD_CHANGES + r"|多少钱|(?<!被)要钱|要不要钱|收费|收不收|免费|不要钱|花钱|费用|自费|贵不贵|掏钱|交钱|交多少|补多少|给多少|领多少|发多少|报多少|报销比例"),
    (CONTACT, r"电话|热线|号码|打哪|打给谁|联系方式|联系谁|拨打|打几号"),
    # who sees what was registered: the home county ("老家那边能看到吗") — the item's line on sharing;
    # anyone else ("会不会传出去") — its line on keeping the data safe. After the materials, cost,
    # time and contact cues: "有谁知道打疫苗要带什么" asks for the materials
    (SHARED, r"(?:老家|户籍地|户口所在地|那边)[^，。\s]{0,4}(?:看到|看得到|知道|共享|互通|(?<![打拨])(?<!打也)(?<!打得)(?<!拨也)(?<!拨得)通(?!知))"),
    (DATA, r"泄露|泄漏|传出去|保密|隐私|信息安全|(?:别人|外人|同学|老师|邻居)(?:都|也)?(?:能|会)?(?:看到|看得到|知道)|"
           r"谁(?:都|也)?(?:能|会)?(?:看到|看得到)|(?<!有)(?<!^)(?<!问)(?<!家)(?<!们)谁(?:都|也)?(?:能|会)?知道|"
           r"学校(?:都|也)?(?:能|会)?(?:看到|知道)"),
    # who runs it ("归哪个部门管", "是谁组织的", "谁在统计"): the departments, in plain words
    (IN_CHARGE, r"(?:哪个|哪些|什么|啥)(?:部门|单位)(?:在)?(?:管|负责|组织|主管|弄|搞)|找哪个(?:部门|单位)|归(?:哪|谁)|"
                r"谁(?:在)?(?:管|负责|组织|主管|统计|牵头|弄|搞)|谁来(?:统计|摸底|摸排|登记|负责|牵头)|"
                r"是谁(?:在)?(?:组织|办|搞|管|弄)|由谁|(?:哪个|哪些|什么|啥)(?:部门|单位)的事|"
                rf"{_OFFICE}管还是|还是{_OFFICE}[^，。\s]{{0,2}}管"),  # "是派出所管还是学校管"
    (TIME, r"什么时候|啥时候|哪天|几月|几号|多久|多长时间|截止|期限|来得及|有效期|多少天|(?<![好这那头前])(?:几天|几年(?![级前])|几个月(?![大前]))|多少年|啥时|何时|时间"),
    (HOW, r"怎么(?:办|申请|弄|报|交|登记|办理|参加|领|上|去)|咋(?:办|申请|弄|报|交|登记)|去哪|在哪(?:里|儿)?(?:办|申请|交|报|登记|领|打)|"
          + _WHOM_WORDS + r"|哪个部门|哪个单位|流程|如何(?:申请|办理|参加)|到哪|上哪"),
    # the age a service is for ("康复救助多大的娃能申请", "娃8岁了还行不"): the item's line on ages
    # (asked, not stated: "孩子12岁 残疾康复还能申请吗" is a yes-or-no question, not one about ages)
    (AGE, r"多大|几岁|多少岁|岁数|年龄|岁以[下上内]|岁之前|超过[^，。\s]{0,3}岁|满[^，。\s]{0,3}岁[^，。\s]{0,3}(?:还|就|能|可以)"),
    (WHO, r"能不能|能否|可不可以|可以.{0,8}[吗么]|算不算|符合|条件|资格|够不够|让不让|行不行|有没有份|能.{0,10}[吗么不]"),
))

_HARM = re.compile(r"(?<![拨去])打(?:孩子|娃|小孩|他|她|我|人)(?!电话|手机|微信|民医院|社|比赛|针|疫苗|工)|"
                   r"被(?:[^，。\s]{0,5}(?:打(?!疫苗|针|比赛)|要钱|欺负|抢(?!救)|骂|勒索|敲诈|锁|摸|拐))|挨打|殴打|"
                   r"(?:孩子|娃|小孩|儿子|女儿|闺女)(?!他?[爸妈爷奶姥外舅姨叔姑])[^，。\s]{0,4}(?<![没未有])受伤|打伤|伤痕|有伤(?!残)|欺负|霸凌|体罚|网暴|虐|性侵|猥亵|没人管|皮带|青一块紫一块|"
                   r"家暴|摔东西|砸东西|乱砸|打砸|砸(?:家|门|碗|桌子)|(?:饭|吃的)都?没得?吃|没饭吃|饿肚子|挨饿|不(?:给|让)(?:孩子|娃|他|她)?(?:吃饭|吃)|(?:锁|关)在家")
PUBLIC_LINE_NUMBER = r"(?:11[09]|12[02]|12\d{3})"  # the public lines: 110, 119, 120, 122, 12355, 12345…
# a public line named as such (110, 12356), not an amount (花了1235元, 12345块) or part of a longer number
_PUBLIC_LINE = re.compile(rf"(?<![\d.]){PUBLIC_LINE_NUMBER}(?![\d.]|\s*(?:元|块|毛|角|分|万|千|百|多|余|个|次|天|年|斤|米))")


def public_lines(text: str) -> list[str]:
    """The public line numbers ``text`` names, in order ("12356现在能打吗" → ["12356"])."""
    return _PUBLIC_LINE.findall(text or "")


def asks_whom(question: str) -> bool:
    """Whether ``question`` asks whom to ask or tell ("想问中考报名条件 找谁", "在哪问")."""
    return bool(_WHOM.search(question or ""))


def mentions_harm(text: str) -> bool:
    """Whether ``text`` tells of a child being hit, hurt, bullied or left alone ("爸爸天天打孩子",
    "被同学要钱", "没人管")."""
    return bool(_HARM.search(text or ""))


# The residence permit, on which schooling, insurance and rehabilitation where the family lives rest
# (the plan: 以居住证为主要依据, 凭居住证参加居民医保): a family that says it has none yet, or asks how soon
# it can have one ("没办居住证 娃能上学不", "才来两个月 居住证来得及办不"), is told what it takes to get one.
_LACKS_PERMIT = re.compile(r"(?:没有|没办|还没|莫得|没得|冇|没|不给)[^，。\s]{0,4}居住证|"
                           r"居住证[^，。\s]{0,8}(?:办不下来|办得下来|没办|还没|多久|多长时间|几个月|条件|来得及|赶得上|要住|住够|住满)|"
                           r"(?:才来|刚来)[^，。\s]{0,4}(?:[一二两三四五六七八九十几\d]+个?月)[^，。]{0,20}居住证")
# ... not a family that has one (有居住证, 居住证办好了) or asks about its validity (居住证有效期多久)
_HAS_PERMIT = re.compile(r"(?<![没还])有(?:了)?居住证|居住证(?:已经)?(?:办|拿)(?:好|了|下来了|到了|到手)|居住证(?:的)?有效期")
# how soon the permit can be had: the permit's own time (住半年) answers it, nothing else's
_PERMIT_TIME = re.compile(r"居住证[^，。\s]{0,8}(?:多久|多长时间|几个月|来得及|赶得上|要住|住够|住满)|"
                          r"(?:多久|多长时间|几个月|住够|住满)[^，。\s]{0,6}(?:才能|能)?办[^，。\s]{0,3}居住证")


def lacks_the_permit(question: str) -> bool:
    """Whether ``question`` says the family has no residence permit yet, or asks how soon it can have one."""
    return bool(_LACKS_PERMIT.search(question or "")) and not _HAS_PERMIT.search(question or "")


def asks_the_permits_time(question: str) -> bool:
    """Whether ``question`` asks how soon a residence permit can be had ("居住证要住多久才能办")."""
    return bool(_PERMIT_TIME.search(question or ""))


_THE_LIST = re.compile(_THE_LIST_WORDS)
_FREE = re.compile(r"不要钱|免费|不收费|不花钱|不用花钱|不用交钱|不用掏钱|白给")


def asks_if_free(question: str) -> bool:
    """Whether ``question`` asks for something free ("有没有不要钱的兴趣班"), not what a thing costs."""
    return bool(_FREE.search(question or ""))


# The plan named beside one of its parts ("国家那个流动儿童方案里 医保这块到底说了啥",
# "方案里交通这块对流动娃有啥照顾"): the part is what is asked, not the plan
_PLAN_NAME = re.compile(r"(?:国家|中央|省里|政府)?的?(?:那个|这个|这次)?(?:流动儿童|流动娃|外地娃)?的?(?:关爱保护)?(?:行动)?"
                        r"(?:方案|政策|服务清单|清单|文件)(?:里面|里头|里)?")  # not 中/上: 政策中考, 政策上学
_PART = re.compile(r"[\u4e00-\u9fff]{1,8}(?:这块|这一块|那块|方面)")


def part_of_the_plan(question: str) -> str:
    """``question`` without the plan's name when it asks about one part of the plan ("方案里医保这块说了啥"
    → "医保这块说了啥"); ``question`` itself otherwise."""
    question = question or ""
    if not _PART.search(question) or not _PLAN_NAME.search(question):
        return question
    rest = _PLAN_NAME.sub(" ", question).strip()
    return rest if _PART.search(rest) else question


def asks_to_apply_first(question: str) -> bool:
    """Whether ``question`` asks to apply before the papers are gathered ("事情急 证明材料还没弄齐 能先申请不")."""
    return bool(_APPLY_FIRST_ASKED.search(question or ""))


def asks_for_the_list(question: str) -> bool:
    """Whether ``question`` asks for the materials to bring ("要带啥材料", "准备哪些"), not whether one
    document named in it is needed ("这个证明必须开吗")."""
    return bool(_THE_LIST.search(question or ""))


# migrant children beside local ones, and how they are treated ("外地娃跟本地娃上学待遇一样吗"); not two services
# compared for local children ("当地孩子上公办跟民办有啥不一样", "本地户口跟居住证入学有啥区别")
_BESIDE_LOCALS = re.compile(r"^(?=.*(?:外地|随迁|流动|外来|非本地|没本地户口))"
                            r"(?=.*(?:本地|当地)(?:户口)?的?(?:娃|孩子|小孩|学生|人))(?=.*(?:待遇|一样|区别对待|同等|平等|排在|后头))")


def aspect_of(question: str) -> str:
    """The first aspect whose cue the question holds; WHAT (what you get) otherwise. A message about
    a child being hurt ("孩子被同学要钱", "爸爸天天打孩子 谁管") never opens with a fee or a list of
    offices: it is answered by what the service does. A question that names a line's number does not
    ask for a number ("12356现在全国都能打通吗 啥时候开始的" asks a time)."""
    harmed = mentions_harm(question)
    # "心理热线12356 现在能打通吗 啥时候开始的": the number is known — unless another is asked for
    # ("打了110派出所不管 还能打什么电话")
    named = bool(public_lines(question)) and not _ANOTHER_NUMBER.search(question or "")
    # "外地娃跟本地娃上学待遇一样吗": whether the child is treated as local children are — the service's
    # own answer (平等, 同等), not a contrast of two services
    beside_locals = bool(_BESIDE_LOCALS.search(question or ""))
    for aspect, cue in CUES:
        if harmed and aspect in (COST, IN_CHARGE) or named and aspect == CONTACT or beside_locals and aspect == DIFFERENCE:
            continue
        if cue.search(question or ""):
            return aspect
    return WHAT

