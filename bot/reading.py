"""How the engine reads a message: small pure predicates over a parse or its text (is it put as a
question, does it name the priority-care list, is it about data held elsewhere, does a request for
help only ask...), and the parents' words they look for. No state, no search: the turn handlers
(bot/engine.py and its mixins) decide what to do with what these find."""

from __future__ import annotations

import re

from bot import referrals
from knowledge import aspects
from nlu import clauses
from nlu.giving import offers_to_give
from nlu.interpreter import ParseResult
from nlu.situations import SPECIAL_CARE, special_care_asked, temporary_care_asked

# who holds the data a privacy question is about: someone online, or this service
ELSEWHERE = re.compile(r"网站|(?<![a-zA-Z])(?i:app)(?![a-zA-Z])|软件|小程序|游戏|短视频|抖音|快手|视频号|直播间?|微信群|家长群|"
                       r"班级群|群里|朋友圈|微博|小红书|(?<![a-zA-Z])(?i:qq)(?![a-zA-Z])")
# only words that can mean nothing but Tongban: "您好，想让抖音把视频删掉" names Douyin as the holder
OURS = re.compile(r"童伴|(?:这个|本)(?:软件|(?i:app)|网站|小程序|平台|聊天)|(?:你们|您们)的?(?:这个)?(?:小程序|软件|(?i:app)|网站|平台)|提交的申请|填的申请|帮扶申请|申请表|我(?:的)?申请")
TO_US = re.compile(r"你们|您们|机器人|小童|这里|(?<![让要叫请])我们?(?:在这|这边)?(?:登记|填)")  # "我在你们这登记的信息", "我登记的信息" are ours
# Likeliest intents that are acts of the dialogue, not questions: an unsure "算了" or "找个人" is
# asked about, never answered from the checklists (_answer_if_found).
NOT_A_QUESTION = ("cancel", "affirm", "deny", "human_handoff", "delete_data", "greet", "goodbye", "thank")

# --- put as a question
# a question about a service ("哪些孩子", "要钱不", "是给娃的还是给大人的"), and a request for someone
# to do something ("能不能派个人来看看", "帮我们申请") — the first is answered, the second starts the request
ASKS_ABOUT = re.compile(r"[?？]|多久|多长时间|哪些|哪个|哪里|哪儿|什么|啥|多少|几[个岁年月天]|谁|怎么|咋|是不是|还是|会不会|啷个|么子|哪样|"
                        r"[会能][^，。\s]{0,10}[吗么不]$|要钱|收费|算不算|[吗么]$|[到去在上找]哪$")
# ... and the question form without a question word: one word twice around 不 ("行不行", "能不能请人
# 来"), 可不可以, 有没有, and "有…不/没" at the end ("学校有补助不", "有人指导不") — a question about a
# service where a request for help might ask one (a request put so is answered before its form;
# one told with hardship or harm keeps the form first, bot.md), not where a person is asked for
ASKS_WHETHER = re.compile(r"((?!不)[\u4e00-\u9fff])不\1(?![就都也地得])|可不可以|有没有|有冇|有[^,，。\s]{1,8}[不没]$")
# question words in a statement: "啥都没了", "没啥收入", "不知道怎么办了", "还是没人管", "动不动就打",
# "不知道有没有用"
NOT_ASKING = re.compile(r"(?:啥|什么)都|(?<!有)没(?:啥|什么)|不知道(?:该)?(?:去|找|到)哪|不知道(?:怎么|咋|找谁|该)|不知道[^，。\s]{0,6}多久|好多久|还是没|"
                        r"动不动|时不时|爱理不理|人不人|不(?:知道|管|论)[^,，。\s]{0,3}有没有")
# hardship told beside the question: a request for help before anything else ("孩子没人照顾 咋办")
HARDSHIP = re.compile(r"没人(?:照顾|管|带|看|养)|一个人在家|独自在家|没人看着|撑不下去|活不下去|过不下去|揭不开锅|没饭吃|走投无路|生病|住院|出事|没了|"
                      r"得了[^，。\s]{0,6}病|重病|大病|白血病|癌|没钱(?:交|看|治|吃|上学)")

# --- a person asked for
# a request for a person: to talk, call, be contacted or transferred (tests/data: every human_handoff line)
WANTS_A_PERSON = re.compile(r"人工|真人|活人|客服|机器|负责(?:的)?人|领导|联系|转|找(?!不)|叫|安排|当面|加我|视频|"
                            r"打(?:个)?电话|给我打|直接|跟我|和我|跟人|和人|说话|聊|工作人员|社工|在[吗么嘛]|上门|"
                            r"来一?趟|(?:能|可以|会)来|回.{0,2}电话|见(?:一?下|个面|面)|面谈|"
                            r"(?i:person|human|agent|talk|someone)")
ASKS_FOR_A_PERSON = re.compile(r"转人工|人工客服|(?:找|要|(?<!没)有)人工(?!耳蜗|晶体|授精|关节|作)|真人|活人|"
                               r"(?:来|过来)(?:我家|家里|一下)?一?趟|能(?:不能)?上门|回(?:个)?电(?:话)?(?:给我)?[吧呗]?$|"
                               r"来个人")  # beyond doubt, however unsure the model
# a person named by what they are called ("来家访的有个叫儿童主任的"): no request for a person
NAMED_SO = re.compile(r"(?:有个|有一个|一个|那个|个)?叫[^，。\s]{1,8}的")
IS_THERE = re.compile(r"有没有|有冇|有无|有吗|有么|有不$")

# --- the priority-care list and the community's registration
# the priority-care list in parents' words, asking whether one may, and asking to be put on it
LEDGER = re.compile(r"重点关爱|台账|台帐|关爱名单")
# parents' words for it, asked about beside the community: whether it takes special care of a child
# (社区会重点照看不, 会不会重点照顾), its register (社区给外地娃登记造册), its list (重点照顾的名单) — not a request for
# care (社区能不能重点照看一下), not a school's, a clinic's or a kindergarten's register, not the elderly;
# never with hardship or harm told (then it is the request that comes first: ``names_the_list``)
LEDGER_IN_WORDS = re.compile(r"(?:社区|居委会|居委|村委会|村里|街道|民政|网格员|儿童主任)[^，。\s]{0,10}"
                             r"(?:会不会重点(?:照顾|照看|关照)|会重点(?:照顾|照看|关照)[^，。\s]{0,2}[吗么不]|"
                             r"登记(?:在册|造册)|重点(?:照顾|照看|关照)的?名单|"
                             # whether they will come to see the child ("社区会上门来看看不", "会不会定期来走访")
                             r"会(?:不会)?(?:定期|经常|常)?(?:上门|来家里?|来屋里)[^，。\s]{0,3}(?:看|走访|探视))|"
                             # whether the child gets that care, whoever gives it ("这种能被重点关照吗")
                             r"(?:能|会)(?:不能|不会)?被重点(?:关照|照顾|照看|关注)")
NOT_THE_LIST = re.compile(r"(?:学校|老师|幼儿园|卫生|诊所|医院)[^，。\s]{0,8}(?:重点|登记)|学籍|疫苗|接种|老人|一下|"
                          r"(?<!申)请(?!问)|帮(?:我|俺|咱|忙)|"
                          r"去世|走了|坐牢|打骂|动手|失业|一个人带")
_DONE = r"(?<![没不未])(?<!不用)(?<!还没)"  # not negated: 没登记过, 不用登记了
REGISTERED = re.compile(r"摸排|建档|(?:社区|居委会|村里|村委会|街道|网格员|儿童主任|民政)[^，。\s]{0,6}登记|"
                        r"(?:社区|居委会|村委会|街道|网格员|儿童主任)[^，。\s]{0,6}(?:填|录|收集|采集)[^，。\s]{0,8}信息|"
                        r"登记[^，。\s]{0,4}(?:社区|居委会)|登记进|(?<!申请)(?<!帮扶)登记表上|(?:孩子|娃)的?信息[^，。\s]{0,2}登记|"
                        # a registration told as done, by whomever (not 没登记过, 不用登记了, 登记过程)
                        rf"{_DONE}登记[^，。\s]{{0,6}}?(?:的时候|完(?!整)|过(?!程))|{_DONE}登记了|"
                        r"(?:他们|人家|社区的人|上门的人|来的人|工作人员)[^，。\s]{0,3}登记(?:了|过)(?:俺|我家|我们家|咱)?的?(?:孩子|娃)")
# another office's form: registered with a school, a clinic, the police, for a permit or insurance,
# or filled in for one ("社区医院让填娃的疫苗信息", "街道让填学籍信息")
_OTHER_FORMS = r"(?:入学|学籍|学位|疫苗|接种|居住证|医保|参保)"  # what the form is for
_FILLED = r"(?:填|录|收集|采集)"
REGISTERED_ELSEWHERE = re.compile(r"(?:入学|上学|学校|疫苗|接种|居住证|医保|医院|派出所|户口|酒店|宾馆|小区|单位|厂里)[^，。\s]{0,3}登记|登记[^，。\s]{0,3}(?:入学|疫苗|接种|居住证|医保)|"
                                  rf"(?:{_OTHER_FORMS}|学校|医院|卫生|派出所)[^，。\s]{{0,6}}{_FILLED}|{_FILLED}[^，。\s]{{0,6}}{_OTHER_FORMS}")
ON_THE_LIST = re.compile(r"(?:能|可以|咋|怎么|怎样|如何|会)[^，。\s]{0,4}(?:进|纳入|列入|列进|被列|上)|够(?:不够|条件)|符合|"
                         rf"会不会{SPECIAL_CARE}|会{SPECIAL_CARE}[^，。\s]{{0,2}}[吗么不]|"  # "社区会重点照看不"
                         r"算不算|(?<![就打总还])算(?!了|是)[^，。\s]{0,6}(?:对象|的)[吗么不]$")  # "这种算重点关爱的不"
LIST_ASPECTS = (aspects.IN_CHARGE, aspects.HOW, aspects.TIME, aspects.CONTACT, aspects.WHO, aspects.AGE)
# an update asked about ("多久更新一回", "会跟着改不", "能跟过去不")
UPDATE_ASKED = re.compile(r"更新|跟着(?:改|变|走)|跟过去")

# --- help asked for, and what a request for help may only ask
MAY_WE = re.compile(r"能不能|可不可以|能否|可以.{0,8}[吗么]|还是(?:得|要)")
REGISTER_US = re.compile(r"帮(?:我|俺|咱)们?|给(?:我|俺|咱)们?(?:家)?(?:登记|申请|报)|替(?:我|俺)")
# A parent asking for a person to step in, beside a question.
_SOMEONE_ACTS = r"有人(?:来|能|可以)?(?:管|帮|看看|上门|指导)|管管|谁能帮|找人(?:帮|管|看)|有没有人(?:能|可以|来)"
_STEP_IN = _SOMEONE_ACTS + r"|上门|走访|登记|申请帮扶"
_HELP_WORDS = r"帮帮|帮忙|想申请|帮扶|来家里|来看看|"
ASKS_FOR_HELP = re.compile(_HELP_WORDS + _STEP_IN)
# help asked for in a message that tells of a registration (登记, 上门, 走访 are the registration's words there)
HELP_BESIDE_A_REGISTRATION = re.compile(_HELP_WORDS + _SOMEONE_ACTS)
# whether the family may ask for it themselves ("能不能自己去申请", "可以主动提吗", "还是只能等人家来查"):
# a rule of the service asked about (the plan's 主动提出), not a request for us to act
_OWN_ACT = r"(?:去|来)?(?:提|申请|报名|要|找|说|反映|求助)"  # the family's own act, not ours (主动联系我们, 主动上我们家)
SELF_ASK = re.compile(rf"(?:能不能|可不可以|能否|能|可以)(?:我们?|俺们?|咱们?|我家|俺家)?(?:自己|自个儿?|主动){_OWN_ACT}|"
                      rf"(?:能不能|可不可以|能否|能|可以)(?:自己|主动)?(?:跟|向|找)(?:社区|街道|居委会|村委会|村里|民政|儿童主任)[^，。\s]{{0,3}}(?:申请|提|说|反映|求助)|"
                      rf"(?:自己|自个儿?)(?:能不能|可不可以|可以|能){_OWN_ACT}|"
                      r"(?:还是|是不是|非得|只能)(?:只能|得|要|必须)?(?:等|靠)(?:人|人家|社区|上门|排查|摸排|他们)")
# A clause that asks about a service ("这边有没有心理咨询"), beside a request for help.
ASKS_A_QUESTION = re.compile(r"[?？]|有没有|有什么|有哪些|怎么(?:办|申请|弄|报名|办理)|哪里|哪儿|去哪|多少|能不能报|可以报|吗$|"
                             r"找谁|联系谁|哪个部门|(?:什么|啥)条件")
ASKS_TO_ACT = re.compile(r"能不能|可不可以|能否|可以.{0,8}[吗么]|(?<![申邀])请(?![问教假])|(?<![要需追])求|"
                         r"帮(?:我|俺|咱|忙|帮|一下|下|个忙)|派(?!出所)|安排|来.{0,3}(?:看|家访|管)|陪|调解|对接|跟进|救救|"
                         r"(?:需要|想要|申请)帮助|帮扶申请|(?:想|要)(?:申请|求)|" + _STEP_IN)
ALSO_ASKS_PROBABILITY = 0.1  # P(ask_service) of a request for help that also asks a question
# ... of a request for help put wholly as a question ("慈善帮扶主要帮谁" reads as a request at 0.96);
# the question form, no one asked to act, and a sure answer decide (none of the 360 requests of the
# held-out and independent sets changed route, measured 2026-12-05; the question form without a
# question word, ASKS_WHETHER, later moved 11 service questions read as requests to their answer and
# gave 15 requests the answer before their form)
ONLY_ASKS_PROBABILITY = 0.02
# whether someone else may apply for the family ("能让居委会帮我申请临时救助不"): a rule of the service
# (who may apply on one's behalf), asked about, not a request to us
_PROXIES = r"(?:居委会|村委会|居委|村委|社区|村里|街道|别人|亲戚|老乡|朋友|邻居|单位|学校)"
BY_PROXY = re.compile(r"(?:(?:让|叫|请|找|托)" + _PROXIES + r"[^，。\s]{0,2}|"
                      + _PROXIES + r"(?:能|可以|会|能不能|可不可以|给)[^，。\s]{0,2})"
                      r"(?:帮|代)(?:着|忙)?(?:我|俺|咱)?们?家?(?:递|交|提|办)?[^，。\s我俺咱看去买找]{0,6}?(?:申请|办理|代办|报名)")
# whether there is a service that helps ("有没有慈善的能帮帮娃", "有冇地方帮忙介绍工作"), not a person to come
IS_THERE_A_SERVICE = re.compile(r"有(?:没有|冇|没(?!有)|无)(?!人|谁|哪个人|什么人|啥人)[^，。\s]{1,8}(?:能|可以|会)?帮|有人指导")
HELP_WORDS = re.compile(r"帮帮|帮忙|帮(?:一下|下)|谁能帮|有人指导")


def _put_as_a_question(text: str) -> bool:
    """A question word that asks ("哪些", "要钱不"), not one inside a statement ("啥都没了")."""
    return bool(ASKS_ABOUT.search(NOT_ASKING.sub("", text)))


def _asks_whether(text: str) -> bool:
    """A question put without a question word ("行不行", "学校有补助不"), not a statement that looks
    like one ("动不动就打", "不知道有没有用")."""
    return bool(ASKS_WHETHER.search(NOT_ASKING.sub("", text)))


def _asked(text: str) -> bool:
    """Put as a question either way: with a question word or in the question form without one."""
    return _put_as_a_question(text) or _asks_whether(text)


def _for_the_checklists(text: str) -> bool:
    """Put as a question the checklists may answer: not a person asked for by name (转人工), not what
    lies outside the plan (wages, pensions), not our own data or the parent's application with us."""
    return (_asked(text) and not ASKS_FOR_A_PERSON.search(text) and not referrals.outside_scope(text)
            and not (OURS.search(text) or TO_US.search(text)))


def _typed_may_ask(parse: ParseResult) -> bool:
    """Typed (no button, no /intent), and read as something that may ask a question."""
    return (not parse.payload_entities and not parse.text.startswith("/")
            and parse.intent not in NOT_A_QUESTION + ("privacy",))


def _held_elsewhere(parse: ParseResult) -> bool:
    """A message about a child's data held by a website, an app or a game, not by Tongban."""
    text = parse.normalized or ""
    return not parse.payload_entities and bool(ELSEWHERE.search(text)) and not OURS.search(text)


def _our_data_asked(text: str, likely: list[str]) -> bool:
    """Privacy or a deletion among the likeliest readings of a message addressed to us (你们, 这里,
    童伴…): led by them, or asking what becomes of data ("你们会不会把娃的信息给别人")."""
    if not (OURS.search(text) or TO_US.search(text)) or not {"privacy", "delete_data"} & set(likely):
        return False
    return likely[0] in ("privacy", "delete_data") or aspects.aspect_of(text) in (aspects.DATA, aspects.SHARED)


def _asks_about_people(parse: ParseResult) -> bool:
    """A question read as a request for a person that asks about someone or a service instead
    ("儿童主任跟儿童督导员有啥区别", "有没有帮忙介绍工作的"): put as a question, and no word of
    wanting a person to talk to, call or contact ("转人工", "儿童主任的电话是多少 我想直接找她")."""
    text = parse.normalized or ""
    if parse.payload_entities or parse.text.startswith("/"):
        return False
    # someone named ("有个叫儿童主任的") is no one asked for; "我要找负责人" still is
    said = NAMED_SO.sub("", text)
    return (_put_as_a_question(said) or bool(IS_THERE.search(said))) and not WANTS_A_PERSON.search(said)


def _offers_to_give(parse: ParseResult) -> bool:
    """A question from someone who offers to give (a donation, a project, volunteering), typed."""
    text = parse.normalized or ""
    return _typed_may_ask(parse) and offers_to_give(text) and not referrals.outside_scope(text)


def _asks_for_temporary_care(parse: ParseResult) -> bool:
    """Someone to look after the child for a while, asked for by a parent who cannot, typed."""
    text = parse.normalized or ""
    return _typed_may_ask(parse) and temporary_care_asked(text) and _asked(text)


def names_the_list(text: str | None) -> bool:
    """Whether ``text`` names the priority-care list: its own names (台账, 重点关爱), or parents' words for
    it beside the community (社区会重点照看不, 社区把娃的情况登记在册了) when no hardship or harm is told
    with them — then they ask for care, and the request comes first."""
    text = text or ""
    if LEDGER.search(text):
        return True
    if not LEDGER_IN_WORDS.search(text) or REGISTERED_ELSEWHERE.search(text) or NOT_THE_LIST.search(text):
        return False
    return not (HARDSHIP.search(text) or aspects.mentions_harm(text))


def _asks_to_be_on_the_list(parse: ParseResult) -> bool:
    """Whether a child can get on the priority-care list ("这种能进重点关爱不", "咋样能列入台账"), or
    how the list works ("重点关爱那个台帐归哪个部门管", "上了名单多久来一次")."""
    text = parse.normalized or ""
    if not names_the_list(text):
        return False
    return bool(ON_THE_LIST.search(text)) or aspects.aspect_of(text) in LIST_ASPECTS


def _asks_for_special_care(parse: ParseResult) -> bool:
    """Whether a parent who tells of one of the list's situations (a parent in prison, a child who ran away,
    a family in hardship) asks whether the child will be specially looked after ("这种政府会专门管管不"):
    of those who keep the list, of no other service, and with no child being hurt told (then the report
    answer and the safety line come first: "他爸喝了酒就动手打娃 社区会不会管管")."""
    text = parse.normalized or ""
    return special_care_asked(text) and not parse.safety_hint and not aspects.mentions_harm(text)


def _about_the_ledger(parse: ParseResult) -> bool:
    """A message about the priority-care ledger or a registration by the community ("社区登记的信息会不会
    传出去", "那个台账是哪个单位在弄"), not about what the parent gave Tongban."""
    text = parse.normalized or ""
    if parse.payload_entities or parse.text.startswith("/") or OURS.search(text) or TO_US.search(text):
        return False
    return bool(names_the_list(text) or REGISTERED.search(text) and not REGISTERED_ELSEWHERE.search(text))


def _asks_about_the_registration(parse: ParseResult) -> bool:
    """A question about the community's registration or the ledger (``_about_the_ledger``) that asks
    what becomes of the data, with whom it is shared, or how often it is updated ("社区登记的信息会不会
    传出去", "之前登记过娃的信息 多久会更新一回"; a time asked of something else — 临时救助多久能批下来 —
    is not). Nothing of hardship, harm or a request for help told with it: those go to help first."""
    text = parse.normalized or ""
    if (parse.safety_hint or HARDSHIP.search(text) or aspects.mentions_harm(text)
            or HELP_BESIDE_A_REGISTRATION.search(text)):
        return False
    aspect = aspects.aspect_of(text)
    return (_about_the_ledger(parse) and _asked(text)
            and (aspect in (aspects.DATA, aspects.SHARED) or aspect == aspects.TIME and bool(UPDATE_ASKED.search(text))))


def _only_asks(parse: ParseResult) -> bool:
    """A message read as a request for help that only asks about a service: a question word, and
    no one asked to come, arrange, apply or help."""
    text = parse.normalized or ""
    if parse.payload_entities or parse.text.startswith("/"):
        return False
    hardship = bool(HARDSHIP.search(text) or aspects.mentions_harm(text))
    floor = ALSO_ASKS_PROBABILITY if hardship else ONLY_ASKS_PROBABILITY
    if dict(parse.ranking).get("ask_service", 0.0) < floor:
        return False  # the classifier sees no question about a service in it at all
    if BY_PROXY.search(text) and _put_as_a_question(text) and not hardship:
        return True  # whether the committee may apply for us: the rule, not a request to us
    if IS_THERE_A_SERVICE.search(text) and not hardship:  # whether such help exists: a question
        asked = IS_THERE.search(text) or _put_as_a_question(text) or text.endswith(("不", "没"))
        return bool(asked) and not ASKS_TO_ACT.search(HELP_WORDS.sub("", text))
    asked = _put_as_a_question(text) or not hardship and _asks_whether(text)  # "学校有补助不"
    return asked and not ASKS_TO_ACT.search(SELF_ASK.sub("", text))  # "能不能自己去申请": no one asked to act


def _asks_about_the_ledger(parse: ParseResult) -> bool:
    """A question about the priority-care list itself ("上了重点关爱名单会有人来看不", "能不能自己去
    申请进重点关爱名单"): whether a family may ask, who is on it, what follows — answered from clause
    (五), with the request (which is how a family asks) one tap away. Not when someone is asked to
    register the family ("帮我们登记进名单")."""
    text = parse.normalized or ""
    if parse.payload_entities or parse.text.startswith("/") or not names_the_list(text):
        return False
    return (_put_as_a_question(text) or bool(MAY_WE.search(text))) and not REGISTER_US.search(text)


def _service_question(parse: ParseResult) -> str:
    """The clauses of a request for help that ask about a service ("孩子好几个月不说话了
    这边有没有心理咨询 能不能有人上门来看看" → "这边有没有心理咨询"), or "" when there are none."""
    if parse.payload_entities or parse.text.startswith("/"):
        return ""
    if dict(parse.ranking).get("ask_service", 0.0) < ALSO_ASKS_PROBABILITY:
        return ""
    text = parse.normalized or parse.text or ""
    asked = [c.text for c in clauses.split(text)
             if ASKS_A_QUESTION.search(c.text) and not ASKS_FOR_HELP.search(c.text)]
    return " ".join(asked)
