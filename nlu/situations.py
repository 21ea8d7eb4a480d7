"""The priority-care ledger's situations as a parent tells them.

The plan (二、（五）) keeps a ledger of children whose families live in hardship, who have a
disability, lack guardianship, have lived on the streets, or show psychological or behavioural
problems. A parent tells them in a story ("娃他爸跑了 俺一个人打零工带俩娃 房租都快交不起了",
"娃以前跑出去在外面流浪过两回"), or answers the form's question with them ("家里没钱 孩子自闭症").
The codes are the ledger's (../shared/DOMAIN.md); the form's own choice "none of these" is the
form's (actions/validators.py).
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
