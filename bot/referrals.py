"""Questions outside Tongban's scope, and the public line that can answer them.

Tongban answers what migrant children are entitled to. A parent also asks about wages the boss
owes, their own pension, a driving licence, land back home: those get no checklist item (a wrong
answer from the wrong list is worse than none), but a kind "this is not something I can answer"
and, where one fits, the national line that can (../shared/DOMAIN.md, public lines).
"""

from __future__ import annotations

import re

from knowledge.aspects import public_lines

# (topic, pattern, the line to suggest); first match wins.
TOPICS: tuple[tuple[str, re.Pattern, str], ...] = (
    ("labour", re.compile(r"工资|欠薪|讨薪|工钱|拖欠|不发钱|加班费|劳动合同|辞退|开除|工伤|社保(?:转移|断缴|卡)|"
                          r"养老(?:保险|金)|社保养老|新?农保|退休|失业(?:金|保险)|公积金|(?:我|俺|咱|自己)的社保"),
     "工资、劳动合同、工伤和您自己的社保、养老保险，可以拨打 12333 人力资源和社会保障服务热线。"),
    ("legal", re.compile(r"离婚|抚养权|财产|宅基地|承包地|(?:老家|家里)的?(?:地|田|房子)|拆迁|征地|借钱不还|欠钱|贷款|网贷|"
                         r"起诉|打官司|律师|合同纠纷|房东.{0,6}(?:押金|不退)|(?:房租|租房|房子)的?押金|(?<!住院)(?<!医院)押金.{0,6}(?:不退|不给|不还|要不回|扣)"),
     "离婚、财产、土地、借贷这类法律问题，可以拨打 12348 公共法律服务热线，咨询免费的法律援助。"),
    ("violence_adult", re.compile(r"(?:老公|丈夫|男人|对象)(?:打我|家暴我)|我被(?:老公|丈夫|男人)打"),
     "您自己遭受家庭暴力，可以拨打 12338 妇女维权热线；有危险请立即拨打 110。"),
    ("travel", re.compile(r"火车票|高铁票|车票|12306|抢票|机票|航班"),
     "火车票请通过铁路 12306 购买和咨询。"),
    ("documents", re.compile(r"驾照|驾驶证|行驶证|护照|港澳通行证|签证|身份证(?:丢|补|换|办)|车牌|违章"),
     "证件的办理可以拨打当地 12345 政务服务便民热线，问清楚去哪里办、带什么。"),
)
CHILD = re.compile(r"孩子|娃|儿子|女儿|闺女|小孩|宝宝|学生|上学|入学|幼儿园|学校|疫苗|儿童|仔仔(?!细)|崽|伢|(?<!详)细路(?![线径])|囡")
GENERAL_LINE = "当地其他政务问题可以拨打 12345 政务服务便民热线。"


def outside_scope(text: str) -> tuple[str, str] | None:
    """(topic, line) when the message is about one of the topics above and not about a child."""
    if CHILD.search(text):
        return None
    for topic, pattern, line in TOPICS:
        if pattern.search(text):
            return topic, line
    return None


def public_line(text: str) -> str:
    """The line to suggest for an out-of-scope message (12345 when no topic fits)."""
    for _, pattern, line in TOPICS:
        if pattern.search(text):
            return line
    return GENERAL_LINE


def line_number(text: str) -> str:
    """The number of the public line an out-of-scope message is referred to ("12333"); "" when
    no topic fits (the general 12345 is no answer to a particular question)."""
    for _, pattern, line in TOPICS:
        if pattern.search(text):
            found = public_lines(line)
            return found[0] if found else ""
    return ""
