"""What a parent's question is after, and the part of an item that answers it.

"孩子在这边上小学要带什么材料" asks for materials, "打疫苗要钱吗" for the cost, "医保在哪交" for where
to go, "公办园和普惠园有啥区别" for the difference between two things (answered with both items). The answer's first screen (knowledge/answer.py) leads with that part of the best item,
then its plain-words answer and the next step. Cues are ordinary question words, checked in the
order of ``CUES`` (a question about the cost of a document asks about the cost).

When the item does not say (no materials listed, no cost, no date, no telephone number) the line
says so — "清单里没有写…，以当地…为准" — instead of leaving the parent to look for it; a checklist
that names it answers from its own text.
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
# ... and an item that says so: an application taken before its papers (临时救助's 先行受理)
_TAKEN_FIRST = re.compile(r"先行受理|先受理|可以先提出申请|先提出申请")
ASK_12345 = "问不清楚的，可以打当地12345政务服务便民热线。"
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

_SENTENCE = re.compile(r"[^。！？；]+[。！？；]?")
_LEADS = re.compile(r"牵头|负责|主管")
_HARM = re.compile(r"(?<![拨去])打(?:孩子|娃|小孩|他|她|我|人)(?!电话|手机|微信|民医院|社|比赛|针|疫苗|工)|"
                   r"被(?:[^，。\s]{0,5}(?:打(?!疫苗|针|比赛)|要钱|欺负|抢(?!救)|骂|勒索|敲诈|锁|摸|拐))|挨打|殴打|"
                   r"(?:孩子|娃|小孩|儿子|女儿|闺女)(?!他?[爸妈爷奶姥外舅姨叔姑])[^，。\s]{0,4}(?<![没未有])受伤|打伤|伤痕|有伤(?!残)|欺负|霸凌|体罚|网暴|虐|性侵|猥亵|没人管|皮带|青一块紫一块|"
                   r"家暴|摔东西|砸东西|乱砸|打砸|砸(?:家|门|碗|桌子)|(?:饭|吃的)都?没得?吃|没饭吃|饿肚子|挨饿|不(?:给|让)(?:孩子|娃|他|她)?(?:吃饭|吃)|(?:锁|关)在家")
_AGE_WORDS = re.compile(r"\d+\s*[—\-～~至到]\s*\d+\s*(?:周)?岁|\d+\s*(?:周)?岁(?:以下|以上|以内|及以下|前)|不满\d+|年?满\d+周?岁|"
                        r"[一二三四五六七八九十]+(?:周)?岁(?:以下|以上|以内)|适龄")
_DATA_WORDS = re.compile(r"信息安全|保密|隐私|个人信息")
_SHARED_WORDS = re.compile(r"共享|推送|比对|互通")
# what a family pays or is given; not the money a kindergarten or school gets ("普惠性民办园补助标准")
_COST_WORDS = re.compile(r"\d+(?:\.\d+)?\s*(?:万)?元|免费|不收|收费|费用|公益性|(?<![园校])补贴|(?<![园校])补助|报销|资助|减免|(?<![园校]补助)(?<![园校]补贴)(?<!经费)标准")
_TIME_WORDS = re.compile(r"\d+\s*(?:个)?(?:天|日|月|年|周(?!岁)|工作日)|每(?:年|学期|半年|季度|月)|[一二三四五六七八九十半]+(?:个)?(?:月|年)|"
                         r"年底|月底|之前|以前|以内|期间|当年")
_LINE = r"(?:11[09]|12[02]|12\d{3})"  # the public lines: 110, 119, 120, 122, 12355, 12345…
# public lines, landlines and mobiles; not years or amounts
_PHONE = re.compile(rf"(?<!\d)(?:{_LINE}|0\d{{2,3}}-\d{{7,8}}|1[3-9]\d{{9}})(?!\d)")
# a public line named as such (110, 12356), not an amount (花了1235元, 12345块) or part of a longer number
_PUBLIC_LINE = re.compile(rf"(?<![\d.]){_LINE}(?![\d.]|\s*(?:元|块|毛|角|分|万|千|百|多|余|个|次|天|年|斤|米))")


def public_lines(text: str) -> list[str]:
    """The public line numbers ``text`` names, in order ("12356现在能打吗" → ["12356"])."""
    return _PUBLIC_LINE.findall(text or "")


# The national lines that serve a service (../shared/DOMAIN.md, the public lines): counselling 12355
# and 12356, a child being hurt 110 and 12355, a parent's work 12333, harmful content online 12377
# (Xinhua, 2023: the reporting centre's line; the item GUIDE-12377). A question for a number is given
# the item's own numbers, then these — each only when a hit of the search of the same service names
# it, or the line's own item (12356全国统一心理援助热线) is among the hits; that item joins the source
# line (knowledge/answer.py).
SERVICE_LINES = {"mental_health": ("12355", "12356"), "child_protection": ("110", "12355"),
                 "parent_employment": ("12333",), "online_safety": ("12377",)}
# 12345 answers any question about local public services, and takes complaints (../shared/DOMAIN.md)
NO_PHONE = "清单里没有写电话，可以打当地12345政务服务便民热线咨询或反映。"
NO_OFFICE = "清单里没有写负责部门，可以打当地12345政务服务便民热线问。"
# what a checklist does not say (the materials, a fee, a date) is asked of the local office or 12345
ASK_LINE = "可以打12345政务服务便民热线问。"
LINE_MAX = 50  # characters of an aspect line (knowledge/answer.py cuts a longer one)


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
_NEEDS_PERMIT = re.compile(r"(?:以|凭|持)居住证|居住证发放地")
# ... not a family that has one (有居住证, 居住证办好了) or asks about its validity (居住证有效期多久)
_HAS_PERMIT = re.compile(r"(?<![没还])有(?:了)?居住证|居住证(?:已经)?(?:办|拿)(?:好|了|下来了|到了|到手)|居住证(?:的)?有效期")
# how soon the permit can be had: the permit's own time (住半年) answers it, nothing else's
_PERMIT_TIME = re.compile(r"居住证[^，。\s]{0,8}(?:多久|多长时间|几个月|来得及|赶得上|要住|住够|住满)|"
                          r"(?:多久|多长时间|几个月|住够|住满)[^，。\s]{0,6}(?:才能|能)?办[^，。\s]{0,3}居住证")
PERMIT_TITLE = re.compile(r"^【?居住证")


def lacks_the_permit(question: str) -> bool:
    """Whether ``question`` says the family has no residence permit yet, or asks how soon it can have one."""
    return bool(_LACKS_PERMIT.search(question or "")) and not _HAS_PERMIT.search(question or "")


def asks_the_permits_time(question: str) -> bool:
    """Whether ``question`` asks how soon a residence permit can be had ("居住证要住多久才能办")."""
    return bool(_PERMIT_TIME.search(question or ""))


def needs_the_permit(item) -> bool:
    """Whether ``item`` (a ChecklistItem) rests on the residence permit: lists it among its materials or
    says the service is had with it ("凭居住证", "以居住证为主要依据", "居住证发放地")."""
    if "居住证" in (item.materials or []):
        return True
    return bool(_NEEDS_PERMIT.search(" ".join((item.service_object, item.content, item.how_to_apply or ""))))


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


def takes_it_first(item) -> bool:
    """Whether ``item`` says an application is taken before its papers are ready (先行受理)."""
    return bool(_TAKEN_FIRST.search(f"{item.brief}{item.content}{item.how_to_apply}"))


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


def _sentences(parts) -> list[str]:
    """The sentences of ``parts``, each part read on its own."""
    return [sentence.strip() for part in parts for sentence in _SENTENCE.findall(part or "")]


def _sentence(parts: tuple[str, ...], words: re.Pattern, question: str = "") -> str:
    """The sentence of ``parts`` (each read on its own) that holds one of ``words``: of several, the
    one sharing most two-character words with ``question`` ("多久更新一回" picks "每半年更新一次"
    over "住满6个月"), else the first."""
    found = [sentence for sentence in _sentences(parts) if words.search(sentence)]
    if not found:
        return ""
    asked = _asked_words(question, ())
    return max(found, key=lambda sentence: len(asked & _bigrams(sentence))) if asked else found[0]


def _bigrams(text: str) -> set[str]:
    han = re.sub(r"[^\u4e00-\u9fff0-9]", " ", text or "")
    return {han[i:i + 2] for i in range(len(han) - 1) if " " not in han[i:i + 2]}


# two-character words too common in questions and items to tell one sentence from another
_COMMON = frozenset("孩子 小孩 儿童 流动 动儿 可以 能不 不能 什么 怎么 这边 那边 我们 俺们 居住 住地 地方 一下 "
                    "是不 不是 有没 没有 要求 国家 各地 方案 部门 当地 外地 本地 这个 那个 现在 还是 就是 的话 "
                    "申请 需要 户口 请问 知道".split())
# a clause's opening word that ties it to the one before ("所以", "同时"): cut from a clause shown alone
_CONNECTIVE = re.compile(r"^(?:所以|因此|因而|但是|但(?!凡)|而且|并且|同时|另外|此外|其中)")
_PIECE = re.compile(r"[^。！？；，、：]+[。！？；，、：]?")


def _asked_words(question: str, common=_COMMON) -> set[str]:
    """The two-character words of ``question`` that can tell one sentence from another: not a number
    named (12356, 2024 are in every sentence about them), not ``common`` ones."""
    return {pair for pair in _bigrams(question) if not pair.isdigit()} - set(common)


def says(item, text: str) -> bool:
    """Whether ``text`` (a sentence, or its clauses) is ``item``'s own."""
    return text.rstrip("，、：") in " ".join((item.content or "", item.how_to_apply or ""))


def closest_line(items, question: str, shown: str, least: int = 2) -> str:
    """The part of ``items``' text (content and how to apply, sentence by sentence) that shares the most
    words with ``question`` beyond what ``shown`` (the screen's plain answer) already says — at least
    ``least`` two-character words, the common ones not counted — within LINE_MAX characters; "" when
    none does. "俺们是低保户 娃残疾 康复救助能优先不" finds "优先救助低保家庭、经济困难家庭的残疾儿童…"
    in the item on rehabilitation, where its plain answer names ages and services only."""
    asked = _asked_words(question) - _bigrams(shown)
    if len(asked) < least:
        return ""
    best, best_count = "", least - 1
    for item in items:
        for sentence in _sentences((item.content, item.how_to_apply)):
            count = len(asked & _bigrams(sentence))
            if count > best_count and sentence.rstrip("。；") not in shown:
                best, best_count = sentence, count
    if len(best) <= LINE_MAX:
        return best
    # a long sentence: the run of its clauses around the words asked, within LINE_MAX
    pieces = _PIECE.findall(best)
    scores = [len(asked & _bigrams(piece)) for piece in pieces]
    start = max(range(len(pieces)), key=lambda i: scores[i])
    end = start + 1
    while end < len(pieces) and len("".join(pieces[start:end + 1])) <= LINE_MAX and scores[end]:
        end += 1
    while start > 0 and len("".join(pieces[start - 1:end])) <= LINE_MAX and scores[start - 1]:
        start -= 1
    run = "".join(pieces[start:end])
    if len(run) > LINE_MAX or run.endswith("："):  # "所以不用干等人家上门排查：": a lead-in, not what it leads to
        return ""
    return _CONNECTIVE.sub("", run.rstrip("，、"))


def numbers_in(item) -> list[str]:
    """The telephone numbers ``item``'s own text names, in order, once each."""
    return list(dict.fromkeys(_PHONE.findall(" ".join((item.brief, item.content, item.how_to_apply)))))


def aspect_line(item, aspect: str, question: str = "", more_numbers: tuple[str, ...] = ()) -> str:
    """The line that answers ``aspect`` from ``item`` (a ChecklistItem); "" when the item's plain
    answer and next step already are that (what, how, who without a separate object). Of several
    lines that could, the one closest to ``question``. ``more_numbers``: national lines of the
    service that another cited item names (knowledge/answer.py), after the item's own."""
    parts = (item.brief, item.content, item.how_to_apply)
    if aspect == MATERIALS:
        if item.materials:
            return "要带：" + "、".join(item.materials)
        return "清单里没有列出要带的材料，以当地部门公布的为准，" + ASK_LINE
    if aspect == COST:
        found = _sentence(parts, _COST_WORDS, question)
        return found or "清单里没有写费用，以当地部门的答复为准，" + ASK_LINE
    if aspect == TIME:
        found = _sentence(parts, _TIME_WORDS, question)
        return found or "清单里没有写具体时间，以当地通知为准，" + ASK_LINE
    if aspect == CONTACT:
        phones = list(dict.fromkeys(numbers_in(item) + list(more_numbers)))
        if phones:
            return "电话：" + "、".join(phones[:3])
        offices = plain_departments(item.departments)
        if not offices:
            return NO_PHONE
        first = next(name for name in item.departments if not _NOT_AN_OFFICE.search(name))
        where = "户籍地" if "户籍地" in first else "" if "示例" in first else "当地"
        return f"清单里没有写电话，可以问{where}{offices[0]}，或打12345政务服务便民热线。"
    if aspect == IN_CHARGE:  # the item's own sentence on who leads it, else its departments
        found = _sentence((item.content,), _LEADS)
        if found:
            return found
        offices = plain_departments(item.departments)
        return ("负责：" + "、".join(offices[:4])) if offices else NO_OFFICE
    if aspect == AGE:
        if _AGE_WORDS.search(item.service_object or ""):
            return "适用：" + item.service_object
        return _sentence(parts, _AGE_WORDS, question)
    if aspect in (DATA, SHARED):
        return _sentence(parts, _DATA_WORDS if aspect == DATA else _SHARED_WORDS, question)
    if (aspect == HOW and _WHOM.search(question or "") and not numbers_in(item)
            and item.category not in SERVICE_LINES and not mentions_harm(question)):
        return ASK_12345  # "想问中考报名条件 找谁": the office in the next step, and the line that answers the rest
    if aspect == WHO and item.service_object:
        return "适用：" + item.service_object
    return ""


def names_an_age(text: str) -> bool:
    """Whether ``text`` says which ages something is for ("0—6岁", "不满16周岁", "3岁以下")."""
    return bool(_AGE_WORDS.search(text or ""))


def holds_in(text: str, aspect: str) -> bool:
    """Whether ``text`` states a time or a cost (the words that would answer ``aspect``)."""
    words = {COST: _COST_WORDS, TIME: _TIME_WORDS}.get(aspect)
    return bool(words and words.search(text or ""))


def holds(item, aspect: str) -> bool:
    """Whether ``item`` itself says what ``aspect`` asks (its materials, a cost, a time, a
    telephone number, who leads it, how its data is kept) — not the "清单里没有写…" line."""
    parts = (item.brief, item.content, item.how_to_apply)
    if aspect == MATERIALS:
        return bool(item.materials)
    if aspect == CONTACT:
        return bool(numbers_in(item))
    if aspect == IN_CHARGE:
        return bool(_sentence((item.content,), _LEADS) or item.departments)
    if aspect == AGE:
        return bool(_sentence((item.service_object, *parts), _AGE_WORDS))
    words = {COST: _COST_WORDS, TIME: _TIME_WORDS, DATA: _DATA_WORDS, SHARED: _SHARED_WORDS}.get(aspect)
    return bool(words and _sentence(parts, words))


# A national body by the local office a parent can walk into ("国家卫生健康委" → "卫生健康部门");
# the courts, the procuratorate and the political-legal committee are no office for a parent.
_LOCAL_OFFICE = (
    (re.compile(r"街道|乡镇|人民政府"), "乡镇政府（街道办）"),  # before 民政: 人民政府 holds it
    (re.compile(r"网信"), "网信部门"), (re.compile(r"民政"), "民政部门"), (re.compile(r"财政"), "财政部门"), (re.compile(r"教育"), "教育部门"),
    (re.compile(r"公安"), "公安机关"), (re.compile(r"卫生健康"), "卫生健康部门"), (re.compile(r"医保"), "医保部门"),
    (re.compile(r"疾控"), "疾控部门"), (re.compile(r"残联"), "残联"), (re.compile(r"共青团|团委"), "团委"),
    (re.compile(r"妇联"), "妇联"), (re.compile(r"广电"), "广电部门"), (re.compile(r"人力资源社会保障|人社"), "人社部门"),
    (re.compile(r"住房城乡建设|住建"), "住房城乡建设部门"), (re.compile(r"交通运输"), "交通运输部门"),
    (re.compile(r"发展改革"), "发展改革部门"), (re.compile(r"妇儿工委"), "妇儿工委"),
    (re.compile(r"村（居）民委员会|居委会|村委会"), "居委会（村委会）"),
    (re.compile(r"救助管理"), "救助管理机构"),
)
_NOT_AN_OFFICE = re.compile(r"法院|检察院|政法委")


def plain_departments(departments) -> list[str]:
    """``departments`` as the local offices a parent can reach, in order, once each; a name with
    no plain form is kept as it is ("示例：某街道办事处" stays)."""
    offices: list[str] = []
    for name in departments or ():
        if _NOT_AN_OFFICE.search(name):
            continue
        if "示例" in name:
            plain = name
        else:
            plain = next((office for pattern, office in _LOCAL_OFFICE if pattern.search(name)), name)
        if plain not in offices:
            offices.append(plain)
    return offices
