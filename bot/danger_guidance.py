"""What to tell a parent, first, for each kind of danger: whom to call, and one or two things to do
while help comes. Only well-established advice, each with the body that gives it (the research
behind it: docs/safety_sources.md). Kinds are those of ``nlu.safety.KINDS``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nlu import safety


@dataclass(frozen=True)
class Guidance:
    call: str  # whom to call, now
    steps: tuple[str, ...] = ()  # what to do while waiting
    source: str = ""  # who says so


KIND_GUIDANCE = {
    safety.ABUSE: Guidance(
        "孩子正在挨打或被伤害，请立即拨打 110 报警；受了伤请拨打 120。",
        ("先把孩子带到安全的地方，离开动手的人。",),
        "任何人发现孩子受到侵害，都可以向公安机关报告（《未成年人保护法》第十一条）。"),
    safety.SEXUAL: Guidance(
        "请立即拨打 110 报警。",
        ("先不要给孩子洗澡，不要洗孩子换下的衣服、床单，单独装好交给警察；尽快带孩子去医院检查。",
         "相信孩子说的话，不要责备孩子。"),
        "报警：《未成年人保护法》第十一条；保留证据：英国国家医疗服务体系（NHS）对性侵害后的指引。"),
    safety.MISSING: Guidance(
        "请立即拨打 110 报警。孩子走失报警不需要等满24小时，公安机关接到报警就会立即查找。",
        ("准备好孩子的近照、穿的衣服、最后见到的时间和地点。",),
        "公安部辟谣“失踪24小时才能报警”（新华社，2019-06-02）。"),
    safety.SELF_HARM: Guidance(
        "有轻生的危险：有人受伤或服了药请立即拨打 120，危险正在发生请拨打 110。",
        ("不要让孩子（或您自己）一个人待着，把刀具、药物、绳子等拿开。",
         "可以拨打 12356 全国心理援助热线，或 12355 青少年服务热线，有人会陪您说话。"),
        "12356 是国家卫生健康委设立的全国统一心理援助热线（人民日报，2024-12-27）。"),
    safety.NEGLECT: Guidance(
        "孩子没人照顾、被关在屋里或挨饿，请立即拨打 110，警察会联系民政部门先把孩子安顿好。",
        ("有吃的、能开门的话先让孩子吃饱、保暖，等警察来。",),
        "监护人不能履行监护职责时，由民政部门临时监护（《未成年人保护法》第九十二条）。"),
    safety.ONLINE: Guidance(
        "请拨打 110 报警。",
        ("保存聊天记录、截图、对方的账号和转账记录，先不要删；不要再发照片，不要给对方转钱，"
         "也不要让孩子去见对方。", "在平台上举报这个账号。"),
        "未成年人遭受网络侵害可以报警（《未成年人保护法》第十一条）。"),
}

# Medical emergencies: 120 first, then the one thing to do for what the parent describes.
MEDICAL_CALL = "请立即拨打 120 急救电话；着火、被困、落水请同时拨打 119。"
_BURN = ("用流动的凉水冲烫伤处 10–20 分钟；不要涂牙膏、酱油，不要弄破水泡。", "英国国家医疗服务体系（NHS）")
_CHOKING = ("还能咳就让孩子用力咳；不能咳、不能哭、喘不上气：1岁以上拍背5次、腹部冲击（海姆立克法）5次，交替进行；"
            "1岁以下拍背5次、按压胸口5次，交替进行。孩子没反应了，立即打120并做心肺复苏。",
            "美国心脏协会（AHA）2025年心肺复苏与心血管急救指南（2025年10月）")
_FIRST_AID: tuple[tuple[str, str, str], ...] = (
    (r"抽|惊厥|翻白眼|吐白沫", "让孩子侧躺在平稳的地方，移开周围的硬物；不要往嘴里塞任何东西，不要按住手脚，记下抽了多久。",
     "国家卫生健康委新闻发布会（2025-01-05）"),
    (r"误食|误喝|误吞|误服|吞了|吃了|喝了|农药|药片|洗衣|消毒|电池|洁厕|老鼠药", "不要给孩子催吐；带上药盒、瓶子或剩下的东西去医院。纽扣电池要马上去医院。",
     "深圳市卫生健康委员会；英国国家医疗服务体系（NHS）"),
    (r"溺水|落水|掉.{0,4}(?:河|水|井|池塘|湖)|淹", "不要把孩子倒挂控水；孩子没有呼吸时，马上做人工呼吸和心肺复苏，120 电话里会教您。",
     "应急管理部防溺水提示"),
    (r"烫|烧伤|开水|热油", *_BURN),
    (r"^(?!.*(?:鱼刺|鱼骨|骨头|刺)).*(?:噎|卡住|卡喉|喘不上|呼吸)", *_CHOKING),  # not for a fish bone
    (r"摔|掉下|跌|坠", "怀疑伤到头、脖子或背的，不要搬动孩子，除非原地有危险。", "梅奥诊所（Mayo Clinic）急救指南"),
    (r"血", "用干净的布用力按住出血的地方，不要松开。", "中国红十字会急救培训"),
    (r"电", "先关掉电源，不要直接用手去拉孩子。", "英国圣约翰救护机构（St John Ambulance）"),
    (r"煤气|一氧化碳|燃气", "马上开窗，把孩子带到屋外；屋里不要开关电器、不要打电话、不要点火。", "北京急救中心（人民网，2022-01-04）"),
)
# violence at home (家暴, a parent or partner who hits): the women's federation line as well
FAMILY_VIOLENCE = re.compile(r"家暴|家庭暴力|(?:老公|丈夫|媳妇|老婆|爸爸|妈妈|爸|妈|爹|娘|父亲|母亲|继父|继母|后妈|后爸|"
                             r"爷爷|奶奶|姥姥|姥爷|外公|外婆|公公|婆婆)(?:喝(?:了)?(?:酒|醉了?))?[^，。\s]{0,2}"
                             r"(?:打|揍|踢|掐|烫|抽|扇|砸|摔|动手)")
FAMILY_VIOLENCE_LINE = "家庭暴力也可以拨打 12338 妇女维权热线求助。"
GENERIC = Guidance("如果孩子现在有危险，请立即拨打 110 报警；有人受伤请拨打 120 急救。")
FOOTER = "其他求助电话：110 报警，120 急救，119 消防救援，12355 青少年服务热线，12356 心理援助热线。"


def guidance_lines(kinds: tuple[str, ...] | list[str], text: str) -> list[str]:
    """The lines of the emergency reply for these kinds (at most two), most certain first."""
    lines: list[str] = []
    for kind in [k for k in kinds if k in KIND_GUIDANCE or k == safety.MEDICAL][:2]:
        if kind == safety.MEDICAL:
            lines.append(MEDICAL_CALL)
            aid = next(((step, source) for pattern, step, source in _FIRST_AID if re.search(pattern, text)), None)
            if aid:
                lines.append(f"{aid[0]}（依据：{aid[1]}）")
            continue
        guide = KIND_GUIDANCE[kind]
        lines.append(guide.call)
        lines += list(guide.steps)
        if guide.source:
            lines.append(f"（依据：{guide.source}）")
        if kind == safety.ABUSE and FAMILY_VIOLENCE.search(text):
            lines.append(FAMILY_VIOLENCE_LINE)  # after the source, which is about reporting to the police
    if not lines:
        lines.append(GENERIC.call)
    lines.append(FOOTER)
    return lines


# Something happening to the child now that is no emergency (the safety net did not fire): what to
# do first, said before any entitlement ("孩子被狗抓了一下 要打疫苗吗" is first a wound to wash).
_ANIMAL = "(?:狗|猫|犬|老鼠|耗子|蝙蝠|猴)"
_NEAR = "[^，。,.!?！？；;]"  # within one clause
_BITTEN = (rf"(?:被|让|叫|给){_NEAR}{{0,4}}{_ANIMAL}{_NEAR}{{0,6}}(?:咬|抓|挠|舔)|"
           rf"{_ANIMAL}{_NEAR}{{0,3}}(?:咬|抓|挠)(?:伤|破|了|出)")
_HEAVY_BLEEDING = "止不住|好多血|很多血|血流不止|流了一地|喷血|很深|见骨"
HEALTH_NOW: tuple[tuple[str, str, str, str], ...] = (  # (pattern, situation, what to do, source); first match
    (rf"(?:{_BITTEN}).*(?:{_HEAVY_BLEEDING})|(?:{_HEAVY_BLEEDING}).*(?:{_BITTEN})", "被动物咬伤、血止不住：",
     "请立即拨打120；先用干净的布用力按住出血的地方，不要松开。血止住后再冲洗伤口，去狂犬病暴露预防处置门诊。",
     "中国红十字会急救培训；国家疾控局、国家卫生健康委《狂犬病暴露预防处置工作规范（2023年版）》"),
    (_BITTEN, "被猫、狗等动物咬伤、抓伤：",
     "先用肥皂水和流动清水交替冲洗伤口约15分钟，尽快去狂犬病暴露预防处置门诊（社区卫生服务中心能告诉您在哪），"
     "由医生决定打不打疫苗。伤口深或血止不住，拨打120。",
     "国家疾控局、国家卫生健康委《狂犬病暴露预防处置工作规范（2023年版）》（人民日报海外版，2023-09-25）"),
    (r"鼻血|流鼻血|鼻子.{0,3}(?:出|流|冒)血", "孩子流鼻血：",
     "让孩子坐下、头稍向前低，用嘴呼吸，捏住鼻子前端软的部分10分钟，不要仰头；还在流就再捏10分钟，超过30分钟止不住去医院。",
     "圣约翰救护机构（St John Ambulance NI）急救提示"),
    (r"(?<!发)烧伤|烫(?:伤|红|破|肿|起泡|出泡|到|着)|被.{0,6}烫", "烫伤、烧伤：", *_BURN),
    (rf"(?:噎|卡(?:在)?(?:喉咙|嗓子)|(?:吃|喝){_NEAR}{{0,6}}卡住){_NEAR}{{0,10}}(?:怎么办|咋办|咋弄|怎么弄|怎么处理|如何|咋整)",
     "孩子噎住时：", *_CHOKING),
)


def health_now(text: str) -> str | None:
    """What to do first for what ``text`` says is happening to the child (not an emergency), with
    its source; None when it names nothing of the kind."""
    for pattern, situation, step, source in HEALTH_NOW:
        if re.search(pattern, text):
            return f"{situation}{step}\n依据：{source}"  # the phone layout of an answer: source on its own line
    return None
