"""The priority-care ledger's situations as a parent tells them.

The plan (二、（五）) keeps a ledger of children whose families live in hardship, who have a
disability, lack guardianship, have lived on the streets, or show psychological or behavioural
problems. A parent tells them in a story ("娃他爸跑了 俺一个人打零工带俩娃 房租都快交不起了",
"娃以前跑出去在外面流浪过两回"), or answers the form's question with them ("家里没钱 孩子自闭症").
The codes are the ledger's (../shared/DOMAIN.md); the form's own choice "none of these" is the
form's (actions/validators.py).

Two questions a parent asks about such a child are read here too: whether the child will be specially
looked after (the list's care, ``special_care_asked``), and who can look after the child for a while
when the parent cannot (the plan's temporary guardianship, ``temporary_care_asked``). Whether a child
is being hurt, and so the report answer comes first, is the dialogue's to weigh (bot/engine.py).
"""

from __future__ import annotations

import re

SITUATION_WORDS: dict[str, re.Pattern] = {code: re.compile(pattern) for code, pattern in {
    "family_hardship": r"困难|没钱|没收入|失业|负担|穷|低保|交不起|欠债|生病花|揭不开锅|吃不上饭",
    "disability": r"残疾|残障|脑瘫|自闭|孤独症|听障|视障|智力|唐氏|瘫",
    # a parent gone (坐牢, 进去了, 跑了, 失联) or nobody really looking after the child
    # (not "他爸出去跑了几天车", "妈妈带娃跑了好几家医院")
    "guardianship_gap": r"没人(?:正经)?(?:管|照看|照顾|带|监护)|监护|(?:父母|爸妈|爹妈|爹娘)(?:都)?不在|坐牢|服刑|失联|"
                        r"(?:爸爸?|妈妈?|爹|娘)(?:他|她|也|又|早)?(?:进去了|跑了(?!好?几[家趟天次]|一趟|\d))",
    # on the streets, now or before ("跑出去在外头晃了好几天", "睡桥洞"); the child who ran off, not a
    # parent gone to work ("孩子爸爸跑出去打工了")
    "vagrancy": r"流浪|在外(?:面|头)?(?:游荡|晃)|不回家|离家出走|(?<![爸妈爹娘爷奶])跑出去(?!打工|干活|挣钱|上班)|街上|"
                r"睡桥洞|没着没落",
    # the child's own behaviour (打架: a child who fights; a child hit by someone is harm, read elsewhere)
    "psych_behavior": r"心理|抑郁|焦虑|自伤|厌学|行为|叛逆|网瘾|情绪|发脾气|脾气[^，。\s]{0,2}(?:变|怪|大)|闷着|"
                      r"不(?:吭声|爱说话|说话|跟人说话)|打架",
}.items()}


def situations_told(text: str | None) -> list[str]:
    """The ledger's situations ``text`` tells of, in the ledger's order (codes of SITUATION_WORDS)."""
    text = text or ""
    return [code for code, pattern in SITUATION_WORDS.items() if pattern.search(text)]


SPECIAL_CARE = r"重点(?:照顾|照看|关照|关爱|关注)"  # the list's care in a parent's words
# special care asked ("这种情况政府会重点照顾不", "现在会有人跟进不", "以后社区会不会管管", "算不算要重点关照的"),
# as a question, not a request ("想找人帮忙管管")
_CARE = rf"(?:{SPECIAL_CARE}|专门(?:登记|照看|照顾|管)|登记照看|多照看|照看照看|跟进|管管|有人管)"
_CARE_ASKED = re.compile(rf"(?:会不会|能不能|会|能)[^，。\s]{{0,8}}{_CARE}|{_CARE}[^，。\s]{{0,4}}(?:[吗么嘛呢]|[不没](?:$|[，。？?]))|"
                         rf"有没有人(?:能)?{_CARE}|算不算[^，。\s]{{0,6}}{_CARE}")
# ... of those who keep the list (the government, the community, "有人"), or whether the child counts; not of a
# school, an insurance claim or an allowance named ("孩子有残疾 上学能不能重点照顾", "申请的补助有人管没"), nor
# of a person who handles a service in general ("学校里有没有人管娃心理问题")
_CARE_KEEPERS = re.compile(r"政府|国家|社区|居委会|村委会|村里|街道|民政|有人|算不算")
_CARE_OF_ANOTHER_SERVICE = re.compile(r"上学|学校|老师|入学|转学|幼儿园|学籍|医保|报销|补助|补贴|救助金|低保|疫苗|康复|"
                                      r"托育|申请的|进度")

# someone to look after the child for a while ("政府有地方能临时帮着照看不", "能临时送到哪", "谁来监护他"): not
# temporary assistance (临时救助要带啥), nor the guardianship named (临时监护跟长期监护有啥不一样)
_TEMPORARY_CARE = re.compile(r"临时(?:帮着?|帮忙|先)?(?:照看|照顾|带(?!薪)|收留|安置|送(?:到|去))|先帮着?(?:照看|照顾|带|管)|"
                             r"谁来(?:监护|抚养|养|带|照顾|照看)(?:他|她|孩子|娃|俩|他们)|谁(?:当|做)监护人")
# ... because the parent cannot (ill, in hospital, gone, nobody left) or by the state — not childcare a family
# arranges (托育, 暑托班, 保姆: "两口子都上班 谁来带娃啊 附近有没有托育"), nor a school place (插班, 学籍)
_CANNOT_CARE = re.compile(r"住院|手术|生病|病了|重病|出事|出了事|坐牢|服刑|没人(?:带|管|照看|照顾)|不在了|走了|都没了|"
                          r"政府|国家|有地方|机构|民政")
_ARRANGED_CARE = re.compile(r"托育|托管|暑托|托班|托儿|保姆|幼儿园|学籍|插班|上班|学校")


def special_care_asked(text: str | None) -> bool:
    """Whether ``text`` tells of one of the list's situations and asks those who keep the list whether
    the child will be specially looked after ("娃以前跑出去流浪过两回 现在会有人跟进不")."""
    text = text or ""
    return (bool(_CARE_ASKED.search(text)) and bool(_CARE_KEEPERS.search(text)) and bool(situations_told(text))
            and not _CARE_OF_ANOTHER_SERVICE.search(text))


def temporary_care_asked(text: str | None) -> bool:
    """Whether ``text`` asks who can look after the child for a while because the parent cannot, or of
    the state ("俺得住院 娃没人带 政府有地方能临时帮着照看不") — the words; whether it is put as a question
    is the dialogue's to read."""
    text = text or ""
    return bool(_TEMPORARY_CARE.search(text)) and bool(_CANNOT_CARE.search(text)) and not _ARRANGED_CARE.search(text)
