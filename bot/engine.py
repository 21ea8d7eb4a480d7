"""The dialogue engine: one message in, a list of replies out.

Every message goes through intent recognition first. The safety net is checked before
anything else, in every state of the conversation. Channels (REST, web chat, Telegram)
call :meth:`DialogueEngine.handle` and know nothing of NLU or retrieval; the engine knows
nothing of HTTP. Conversation state lives (encrypted) in the ledger database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re

from bot import eligibility, referrals
from bot.channel import TurnHook
from bot.config import EngineConfig
from bot.danger_guidance import guidance_lines, health_now
from bot.form import AssistanceForm
from bot.replies import HANDOFF_BUTTON, INTENT_TITLES, button, menu_buttons, rasa_buttons
from knowledge import KnowledgeBase, aspects, compose, item_text, not_understood
from knowledge.answer import detail_button, item_answer, named_after, no_local_notice
from knowledge.citation import basis, source_record
from knowledge.categories import CATEGORIES
from knowledge.retrieval import Hit
from ledger import services
from ledger.conversations import ConcurrentUpdate, ConversationHandle, ConversationStore
from ledger.crypto import DataCipher
from ledger.erasure import erase_conversation, erasure_plan
from ledger.reply import ANSWER, EMERGENCY, QUESTION, Reply
from ledger.requests import STATUS_LABELS, committee_by_code, requests_of, requests_since
from ledger.transcript import record_transcript
from nlu import clauses
from nlu.domain import Domain, load_domain
from nlu.entities import HUKOU, RESIDENCE
from nlu.giving import offers_to_give
from nlu.interpreter import Interpreter, ParseResult
from nlu.safety import all_clear
from nlu.situations import SPECIAL_CARE, special_care_asked, temporary_care_asked

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 10_000
MAX_TURN_ATTEMPTS = 3
EMPTY_REPLY = "您好，请直接输入想问的问题，比如“孩子在这边上小学要带什么材料”。"
ELIGIBILITY_ITEM = ("national-action-plan", "NAP-04-eligibility")  # checklist, item: in its current version
ELIGIBLE_NEXT_STEP = "下一步：可以接着问我上学、医保、打疫苗等怎么办。"
CLARIFY_INTENTS = tuple(INTENT_TITLES)
FORM_TEXT_EMERGENCY_PROBABILITY = 0.85
# Intents whose own reply says nothing useful beside first aid for the child now ("this is not
# something I can answer"): the first aid is the whole answer (bot.danger_guidance.health_now).
ANSWERED_BY_AID = ("out_of_scope",)
# A status question with nothing filed here that names a service this surely ("临时救助审批得怎么样了")
# also gets that service's answer: chosen on the selection files, where every status question at or
# above it names a service, and "帮扶申请批下来没有" (our own form, 0.72) stays below.
NAMED_SERVICE_CONFIDENCE = 0.8
# who holds the data a privacy question is about: someone online, or this service
ELSEWHERE = re.compile(r"网站|(?<![a-zA-Z])(?i:app)(?![a-zA-Z])|软件|小程序|游戏|短视频|抖音|快手|视频号|直播间?|微信群|家长群|"
                       r"班级群|群里|朋友圈|微博|小红书|(?<![a-zA-Z])(?i:qq)(?![a-zA-Z])")
# only words that can mean nothing but Tongban: "您好，想让抖音把视频删掉" names Douyin as the holder
OURS = re.compile(r"童伴|(?:这个|本)(?:软件|(?i:app)|网站|小程序|平台|聊天)|(?:你们|您们)的?(?:这个)?(?:小程序|软件|(?i:app)|网站|平台)|提交的申请|填的申请|帮扶申请|申请表|我(?:的)?申请")
# what an eligibility question may ask besides "does my child count": answered from the checklists
RULE_ASPECTS = (aspects.HOW, aspects.TIME, aspects.IN_CHARGE, aspects.CONTACT)
ASKS_THE_VERDICT = re.compile(r"算不算|(?<![打计预])算(?!了)[^，。\s]{0,8}[吗么不没]|是不是流动|属于流动|算流动|是流动儿童[吗么]")
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
# the monitoring's record of a child, kept up to date and passed between places ("孩子信息多久更新一回")
MONITORED = re.compile(r"^(?!.*(?:转学|学籍|档案))(?=.*(?:孩子|娃|小孩)的?(?:信息|情况)[^，。\s]{0,4}(?:更新|共享|跟过去|推送|同步|互通))")
# an update asked about ("多久更新一回", "会跟着改不", "能跟过去不")
UPDATE_ASKED = re.compile(r"更新|跟着(?:改|变|走)|跟过去")
# how often a child's registered record is updated, by whomever the parent thinks keeps it
# (not a school, insurance, permit or health-code record, and not a correction of what was given to us)
UPDATED = re.compile(r"^(?!.*(?:学籍|档案|医保|居住证|健康码|填错|写错|改|填的|填了))"
                     r"(?=.*(?:孩子|娃|小孩)[^，。]{0,4}(?:信息|情况)[^，。]{0,8}(?:多久|多长时间|几个月|啥时候|什么时候|定期)[^，。]{0,4}更新)")
# a request for a person: to talk, call, be contacted or transferred (tests/data: every human_handoff line)
WANTS_A_PERSON = re.compile(r"人工|真人|活人|客服|机器|负责(?:的)?人|领导|联系|转|找(?!不)|叫|安排|当面|加我|视频|"
                            r"打(?:个)?电话|给我打|直接|跟我|和我|跟人|和人|说话|聊|工作人员|社工|在[吗么嘛]|上门|"
                            r"来一?趟|(?:能|可以|会)来|回.{0,2}电话|见(?:一?下|个面|面)|面谈|"
                            r"(?i:person|human|agent|talk|someone)")
ASKS_FOR_A_PERSON = re.compile(r"转人工|人工客服|(?:找|要|(?<!没)有)人工(?!耳蜗|晶体|授精|关节|作)|真人|活人|"
                               r"(?:来|过来)(?:我家|家里|一下)?一?趟|能(?:不能)?上门|回(?:个)?电(?:话)?(?:给我)?[吧呗]?$|"
                               r"来个人")  # beyond doubt, however unsure the model
# what someone does or is ("儿童主任是干啥的", "啥是儿童督导员"): a question, whoever it names
ABOUT_A_ROLE = re.compile(r"(?:儿童主任|儿童督导员|督导员|网格员|社工)[^，。\s]{0,3}(?:是谁|是干|干啥|干什么|管什么|管啥|管哪些|负责|是什么|是啥|是做)|"
                          r"(?:啥|什么)是(?:儿童主任|儿童督导员|督导员|网格员|社工)")
# a person named by what they are called ("来家访的有个叫儿童主任的"): no request for a person
NAMED_SO = re.compile(r"(?:有个|有一个|一个|那个|个)?叫[^，。\s]{1,8}的")
IS_THERE = re.compile(r"有没有|有冇|有无|有吗|有么|有不$")
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
# a request that someone be sent ("社区能不能派人来管管"): the form, not an answer
SOMEONE_SENT = re.compile(r"派|找人|上门|来(?:家|看|管)")
LIST_ASPECTS = (aspects.IN_CHARGE, aspects.HOW, aspects.TIME, aspects.CONTACT, aspects.WHO, aspects.AGE)
HARM_CATEGORY = "child_protection"  # the service a message about a child being hurt is about
# ... and its item that says anyone may report it, whom to call now (110) and for violence at home
# (12338): the answer when retrieval is unsure, before a neighbour in the same service (legal aid's
# 12348 tied with it for "孩子他爸喝了酒就骂人摔东西 有没有热线能咨询下")
HARM_ITEM = "GUIDE-report-harm"
HARM_ENTRY = ("national-guidance", HARM_ITEM)  # checklist, item: in its current version
# a child's data held by a website, an app or a chat group: guardian's consent, deletion (PIPL, the regulation)
DATA_ONLINE_ENTRY = ("national-guidance", "GUIDE-child-data-online")
# an emergency that is a question about someone else's child, hurt or left alone, and asks whom to tell
# ("邻居家小孩经常一个人在家 我能跟谁说", "对门把娃锁屋里 居委会能管不"): answered after the urgent reply
REPORTED_KINDS = {"abuse", "neglect", "sexual_harm"}
REPORT_TO_WHOM = re.compile(r"跟谁说|和谁说|告诉谁|找谁|向谁|问谁|联系谁|反映|举报|报告|打哪个电话|打什么电话|(?:能|可以|要不要)报警|报警有用|"
                            r"有人管|管不管|(?:谁|哪个部门|哪里|居委会|社区|派出所|警察)[^，。\s]{0,3}(?:管|能管|会管)")
# ... told by a bystander: the child is a neighbour's or another family's (a child or a parent in danger
# themselves is answered by the emergency reply alone, the last message on their screen)
SOMEONE_ELSES = re.compile(r"邻居|隔壁|对门|楼上|楼下|亲戚家|朋友家|同事家|工友家|老乡家|别人家|那家|那户|人家的?(?:孩子|娃|小孩)")
# ... and never the family's own: the child writing (打我, 我爸), or a parent of the child (我老公, 孩子他爸,
# 我家娃, 我有个小孩) — "孩子他爸在楼下打娃 我能跟谁说" is a family in danger, not a bystander
FAMILY_TELLS = re.compile(r"打我|骂我|我爸|我妈|我老公|我男人|我媳妇|我老婆|我(?:家)?(?:娃|孩子|儿子|女儿|闺女)|俺(?:家)?(?:娃|孩子|男人)|"
                          r"(?:孩子|娃|娃娃)他?(?:爸|妈|爹|娘)|我有个|我继父|我后爸|我后妈")
WHOLE_QUESTION_HITS = 10
WHOLE_QUESTION_CHARS = 60  # a question put in a few words (the longest of the answer sets' such questions: 45)
# what to do now: the emergency reply is the answer to that ("他爸掐孩子脖子 我要怎么办")
WHAT_NOW = re.compile(r"怎么办|咋办|咋整|咋弄|怎么弄|怎么做|该咋|如何是好|咋个办|怎么搞|怎么处理|咋处理|怎么报警|要不要报警|"
                      r"该做什么|该干啥|能做啥|能做什么")
# the kinds of danger after whose reply a question the checklists are sure of is answered too: a child
# no one looks after (谁来监护), a false alarm on a missing child (没公交车 …打啥电话); never a child being
# hurt, abused or hurting themselves, where the emergency reply stays the last message on the screen
WHOLE_QUESTION_KINDS = {"neglect", "missing"}
HARM_ITEM_MARGIN = 0.03  # ... when it scores this close to the best child-protection hit (法律援助 named: legal aid)
GIVING = "charity"  # the service of those who offer to give (nlu/giving.py)
GUARDIANSHIP = "basic_living"  # the service of temporary guardianship (nlu/situations.py)
LEDGER_CATEGORIES = ("priority_care", "eligibility")  # the ledger (clause 五) and the monitoring (四)
TO_US = re.compile(r"你们|您们|机器人|小童|这里|(?<![让要叫请])我们?(?:在这|这边)?(?:登记|填)")  # "我在你们这登记的信息", "我登记的信息" are ours
# places named by what they are, not by name ("按户口所在地还是按现在住的地方")
PLACE_KINDS = re.compile(r"户口所在地|户籍地|户口地|住的地方|居住地|现住地|按户口|按居住|老家还是|还是老家")
# how to use Tongban itself ("不太会用 你教教我怎么弄"): a question about us, whatever service it seems to name
USING_US = re.compile(r"[你您]们?(?:教|帮我|告诉|说说|给我|都会|会干|能干)|不(?:太)?会用|不懂(?:怎么|咋)用|(?:怎么|咋)用(?:你|这个|童伴)")
MAY_WE = re.compile(r"能不能|可不可以|能否|可以.{0,8}[吗么]|还是(?:得|要)")
REGISTER_US = re.compile(r"帮(?:我|俺|咱)们?|给(?:我|俺|咱)们?(?:家)?(?:登记|申请|报)|替(?:我|俺)")
# a typed answer to "确认要删除…吗？": a refusal or a doubt, and a plain yes
REFUSES = re.compile(r"不|别|算了|等|想想|再说|[?？]")
CONFIRMS_DELETION = re.compile(r"(?:确认|确定|是的?|对的?|好的?|嗯+|可以|同意|要|要删|删吧|删了吧|删掉吧|确认删除)[。.!！~～]*")
SURE_YES = 0.85  # P(affirm) of a typed yes that erases
# Likeliest intents that are acts of the dialogue, not questions: an unsure "算了" or "找个人" is
# asked about, never answered from the checklists (_answer_if_found).
NOT_A_QUESTION = ("cancel", "affirm", "deny", "human_handoff", "delete_data", "greet", "goodbye", "thank")
# what the model makes of a question about the community's registration when unsure: never a request,
# a person asked for, a yes or a no
REGISTRATION_READINGS = ("ask_service", "privacy", "delete_data", "check_status", "set_locality", "out_of_scope",
                         "check_eligibility")
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
ASSISTANCE_OFFER_PROBABILITY = 0.2  # P(request_assistance) of a message routed to ask_service
# A clause that asks about a service ("这边有没有心理咨询"), beside a request for help.
ASKS_A_QUESTION = re.compile(r"[?？]|有没有|有什么|有哪些|怎么(?:办|申请|弄|报名|办理)|哪里|哪儿|去哪|多少|能不能报|可以报|吗$|"
                             r"找谁|联系谁|哪个部门|(?:什么|啥)条件")
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
ASKS_TO_ACT = re.compile(r"能不能|可不可以|能否|可以.{0,8}[吗么]|(?<![申邀])请(?![问教假])|(?<![要需追])求|"
                         r"帮(?:我|俺|咱|忙|帮|一下|下|个忙)|派(?!出所)|安排|来.{0,3}(?:看|家访|管)|陪|调解|对接|跟进|救救|"
                         r"(?:需要|想要|申请)帮助|帮扶申请|(?:想|要)(?:申请|求)|" + _STEP_IN)
# An unsure message whose third intent is ask_service at this probability is answered when retrieval
# is this sure of the service (the first two being a request, a place, a status question...)
THIRD_ASK_PROBABILITY = 0.1
# an unsure parse put as a question: answered when retrieval is at least this sure (answer sets A–H:
# 0.6 and 0.8 measured, 0.6 answered 6 more right, no set lost one; on the independent routing sets a
# status message now gets the status reply — TELLS_OF_A_FILING — and a service question its answer)
ASKED_SURE = 0.6
# something filed and waited on, in one sentence: what was filed or asked for, and the wait ("困难补助我上礼拜交的
# 咋还没消息", "公租房排上了没有", "救助批下来没"); not how long a service takes ("一般多久能批下来") nor a
# relative out of touch ("孩子他爸出去三个月一直没消息")
_FILED = r"(?:申请|提交|交|递|报|材料|补助|救助|帮扶|补贴|公租房|单子)"
_WAITED = (r"(?:没消息|没动静|没信儿|有信儿|回音|进度|到哪一步|批下来(?:了)?没|批了没|排上了?没|审(?:批|核)(?:得)?(?:怎么样|咋样|通过|下来)|"
           r"(?:咋|怎么)还没)")
TELLS_OF_A_FILING = re.compile(rf"{_FILED}[^。？?!！]{{0,14}}{_WAITED}|{_WAITED}[^。？?!！]{{0,6}}{_FILED}")
SURE_SERVICE = 0.9
# out of scope beyond doubt: no checklist answer however sure retrieval is ("今天天气怎么样")
OUT_OF_SCOPE_SURE = 0.8
# ... and below it, only a message about a child or naming the plan's own services is answered, never
# the adult's own affairs (routing sets: 7 adult or childless questions were answered without these)
THE_PLANS_WORDS = re.compile(r"流动儿童|流动娃|随迁|行动方案|关爱方案|国家(?:的|那个)?方案|方案(?:里|后面)|服务清单|清单里|"
                             r"托育|托班|台账|一人一档|重点关爱|儿童之家|童心港湾")
ADULTS_OWN = re.compile(r"我自己的|俺自己的|我本人|大人(?:得|的|自己)|(?:我|俺)(?:的)?(?:社保|养老|医保)")
ALSO_ASKS_PROBABILITY = 0.1  # P(ask_service) of a request for help that also asks a question
# ... of a request for help put wholly as a question ("慈善帮扶主要帮谁" reads as a request at 0.96);
# the question form, no one asked to act, and a sure answer decide (none of the 360 requests of the
# held-out and independent sets changed route, measured 2026-12-05; the question form without a
# question word, ASKS_WHETHER, later moved 11 service questions read as requests to their answer and
# gave 15 requests the answer before their form)
ONLY_ASKS_PROBABILITY = 0.02
# what a request for help may also ask and have answered before its form: whether, what and how; a
# question of materials, fees or dates the checklists seldom state is left to the staff who call back
BEFORE_THE_FORM_ASPECTS = (aspects.WHO, aspects.WHAT, aspects.HOW)
# ... when retrieval is this sure of the service (0.9 before 2026-12-05's fifth session: on the 360
# requests of the held-out and independent sets, 0.8 adds one answer before the form — a family
# that cannot pay a rent rise asking for cheaper housing gets the housing answer, then the form)
BEFORE_THE_FORM_CONFIDENCE = 0.8
# whether someone else may apply for the family ("能让居委会帮我申请临时救助不"): a rule of the service
# (who may apply on one's behalf), asked about, not a request to us
_PROXIES = r"(?:居委会|村委会|居委|村委|社区|村里|街道|别人|亲戚|老乡|朋友|邻居|单位|学校)"
BY_PROXY = re.compile(r"(?:(?:让|叫|请|找|托)" + _PROXIES + r"[^，。\s]{0,2}|"
                      + _PROXIES + r"(?:能|可以|会|能不能|可不可以|给)[^，。\s]{0,2})"
                      r"(?:帮|代)(?:着|忙)?(?:我|俺|咱)?们?家?(?:递|交|提|办)?[^，。\s我俺咱看去买找]{0,6}?(?:申请|办理|代办|报名)")
# whether there is a service that helps ("有没有慈善的能帮帮娃", "有冇地方帮忙介绍工作"), not a person to come
IS_THERE_A_SERVICE = re.compile(r"有(?:没有|冇|没(?!有)|无)(?!人|谁|哪个人|什么人|啥人)[^，。\s]{1,8}(?:能|可以|会)?帮|有人指导")
# hardship told beside the question: a request for help before anything else ("孩子没人照顾 咋办")
HARDSHIP = re.compile(r"没人(?:照顾|管|带|看|养)|一个人在家|独自在家|没人看着|撑不下去|活不下去|过不下去|揭不开锅|没饭吃|走投无路|生病|住院|出事|没了|"
                      r"得了[^，。\s]{0,6}病|重病|大病|白血病|癌|没钱(?:交|看|治|吃|上学)")
HELP_WORDS = re.compile(r"帮帮|帮忙|帮(?:一下|下)|谁能帮|有人指导")
# connectives left hanging once the danger clauses are taken out of a message
_DANGLING = re.compile(r"(?:[,，。.?？!！;；\s]*(?:还有|另外|而且|然后|但是|可是|对了|还)[,，。.?？!！;；\s]*)+$")
STAND_DOWN_WINDOW = dt.timedelta(days=1)  # how long after an emergency a parent's all-clear is tied to it
# how long after it a message we cannot place ("还没找到 怎么办", "警察还没来") is read as about it
FOLLOW_UP_WINDOW = dt.timedelta(hours=6)
STAND_DOWN_REPLY = ("收到。孩子平安就好；如果孩子受了伤、身体不舒服，或者还有危险，请立即拨打 120 或 110。"
                    "您说的情况已经告诉了负责这条紧急记录的工作人员，他们可能还会联系您确认一下。")
URGENT_KEPT_REPLY = ("好的。刚才那条紧急记录仍会保留给工作人员，他们可能会联系您确认孩子是否安全。"
                     "如果孩子还有危险，请立即拨打 110；有人受伤请拨打 120。")
SAFETY_HINT = ("如果孩子现在有危险，请立即拨打 110；有人受伤请拨打 120；家庭暴力也可拨打 12338；"
               "孩子情绪低落、想不开，可拨打 12355 青少年服务热线。")


class DialogueEngine:
    def __init__(self, *, config: EngineConfig, knowledge: KnowledgeBase, interpreter: Interpreter,
                 store: ConversationStore, cipher: DataCipher, domain: Domain | None = None):
        self.config = config
        self.knowledge = knowledge
        self.interpreter = interpreter
        self.store = store
        self.cipher = cipher
        self.domain = domain or load_domain()
        self.form = AssistanceForm(self.domain, cipher)

    # --- entry point ----------------------------------------------------------------
    def handle(self, sender: str, text: str | None, metadata: dict | None = None,
               channel: str = "rest", hook: TurnHook | None = None) -> list[Reply]:
        """One turn, in one transaction: state, records, transcript and (through ``hook``) the
        channel's own bookkeeping commit together or not at all. A turn that lost a race with
        another process (the conversation's version moved) is replayed on the fresh state."""
        for attempt in range(MAX_TURN_ATTEMPTS):
            try:
                return self._turn(sender, text, metadata or {}, channel, hook)
            except ConcurrentUpdate:
                if attempt == MAX_TURN_ATTEMPTS - 1:
                    raise
                log.info("conversation changed by another process; replaying the turn")
        raise AssertionError("unreachable")

    def _turn(self, sender: str, text: str | None, metadata: dict, channel: str,
              hook: TurnHook | None) -> list[Reply]:
        text = (text or "")[:MAX_MESSAGE_CHARS].strip()
        # Intent recognition needs no state: done before the transaction, so the database (on
        # SQLite, the one write lock) is held only for the routing and the writes.
        parsed = self.interpreter.parse(text) if text and not isinstance(metadata.get("event"), dict) else None
        with self.store.open(sender, channel) as convo:
            if hook is not None:
                if not hook.begin(convo):
                    return []
                text = (hook.rewrite(convo, text) or "")[:MAX_MESSAGE_CHARS].strip()
            convo.unblock()  # they wrote to us: they have not blocked the bot
            self._apply_metadata(convo, metadata)
            event = metadata.get("event")
            if isinstance(event, dict):
                replies = self._on_event(convo, event)
            elif not text:
                replies = [Reply(EMPTY_REPLY, buttons=menu_buttons())]
            else:
                parse = parsed if parsed is not None and parsed.text == text else self.interpreter.parse(text)
                convo.state["latest_message"] = parse.to_rasa()
                replies = self._route(convo, parse)
            if not any(reply.facts.get("deleted") for reply in replies):  # nothing kept of an erasing turn
                record_transcript(convo, self.cipher, text or _event_label(event), replies)
            if hook is not None:
                hook.finish(convo, replies)
            return replies

    def _route(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        if parse.intent == "emergency" and self._form_free_text_false_alarm(convo, parse):
            parse.intent, parse.confidence = next((n, c) for n, c in parse.ranking if n != "emergency")
            parse.safety_hint = True
        if parse.intent != "emergency" and not parse.payload_entities and aspects.mentions_harm(parse.normalized):
            parse.safety_hint = True  # "爸爸天天打孩子 谁管": whatever the answer, 110 is named beside it
        if parse.intent != "emergency":
            confirmed = self._deletion_answer(convo, parse)
            if confirmed is not None:
                return confirmed
        lapsed = []
        if parse.intent not in ("affirm", "deny", "cancel"):
            # a confirmation asked for ("确认要删除…吗？") is answered by the next message or never: a
            # later "好的" after another question must not erase anything
            if convo.state.pop("pending_confirm", None) == "delete_data" and parse.intent != "delete_data":
                lapsed = [Reply("刚才的删除没有执行；需要的话请再发“删除我的信息”。")]
        if parse.intent == "emergency":
            replies = self._emergency(convo, parse)
            if self.form.active(convo.state):
                replies += self.form.kept(convo.state)
            else:
                try:  # the emergency reply and its record stand whatever happens to the rest of the message
                    replies += self._rest_of_message(convo, parse)
                except Exception:
                    log.exception("answering the rest of an emergency message failed; the emergency reply stands")
            return replies
        if not parse.payload_entities:
            after = self._after_emergency(convo, parse)
            if after:
                return after
        replies = lapsed + self._calm(convo, parse)
        if parse.safety_hint:  # on every path, first: in the form, before the question it waits on
            at = len(replies) - 1 if self.form.active(convo.state) and replies else 0
            replies.insert(at, Reply(SAFETY_HINT))
        return replies

    def _deletion_answer(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply] | None:
        """The parent's answer to "确认要删除…吗？" when typed: a refusal or a doubt (不删了, 等等, 嗯？)
        deletes nothing; a clear yes (确认, 对 删吧, 确认删除) deletes; an unsure yes is asked again.
        None when no deletion waits, for a button (its payload says which), or for anything else (the
        confirmation then lapses)."""
        if convo.state.get("pending_confirm") != "delete_data" or parse.payload_entities or parse.text.startswith("/"):
            return None
        text = parse.normalized or parse.text or ""
        if REFUSES.search(text):
            return self._on_deny(convo, parse)
        if (parse.intent == "delete_data" or CONFIRMS_DELETION.fullmatch(text)
                or parse.intent == "affirm" and parse.confidence >= SURE_YES):
            return self._on_affirm(convo, parse)
        if parse.intent == "affirm":
            return [Reply("还没有删除。确定要删除请回复“确认”，不删请回复“取消”。",
                          buttons=[button("确认删除", "affirm"), button("不删了", "deny")], kind=QUESTION)]
        return None

    def _calm(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        """Every turn that is no emergency: the form, the eligibility check, then the intents."""
        threshold = self.config.fallback_threshold
        if parse.intent == "delete_data" and parse.confidence >= threshold and not parse.payload_entities:
            return self._on_delete_data(convo, parse)  # "删除我的信息" is never a child's name in the form
        if self.form.active(convo.state):
            return self.form.step(convo, parse, self._digression)
        if self._answers_eligibility(convo, parse):
            return self._on_check_eligibility(convo, parse)
        convo.state.pop("eligibility", None)  # the parent moved on
        # where the family lives, never the household registration (户口在河南 现在住深圳宝安)
        residence = parse.entity("locality", role=RESIDENCE)
        if residence and parse.intent in (
                "set_locality", "ask_service", "check_eligibility", "human_handoff"):
            convo.state["locality"] = residence
        aid = None if parse.payload_entities else health_now(parse.normalized)
        decided = []
        if self._offers_to_give(parse):  # "我们老板想搞个项目帮工人的娃 行不行": charity, whatever else is named
            decided = self._answer_within(convo, parse, GIVING)
        elif self._asks_for_temporary_care(parse):  # "俺得住院 娃没人带 政府有地方能临时帮着照看不"
            decided = self._answer_within(convo, parse, GUARDIANSHIP, prefer="临时") + [_offer_reply()]
        if decided:  # what to do for the child now first ("娃被狗咬了…能临时帮着照看不")
            return ([Reply(aid)] if aid else []) + decided
        handler = getattr(self, f"_on_{parse.intent}", None)
        unsure = parse.confidence < threshold and not parse.payload_entities
        if aid and (handler is None or unsure or parse.intent in ANSWERED_BY_AID):
            # "娃被猫咬了 出了点血": what to do now is the answer, not "I can't help" or a menu
            convo.state["failures"] = 0
            return [Reply(aid, buttons=menu_buttons())]
        if unsure and not parse.text.startswith("/") and ASKS_FOR_A_PERSON.search(parse.normalized or ""):
            replies = self._on_human_handoff(convo, parse)  # "问了三遍还是没说清楚 转人工吧": no menu first
        elif handler is None or unsure:
            replies = self._answer_if_found(convo, parse) or self._list_question_answer(convo, parse)
            if not replies:  # "我的社保在这边交的 有问题找谁": the line that answers it, not a menu
                outside = not parse.payload_entities and referrals.outside_scope(parse.normalized or "")
                replies = self._on_out_of_scope(convo, parse) if outside else self._clarify(convo, parse)
        else:
            replies = handler(convo, parse)
            if parse.intent not in ("ask_service", "out_of_scope") and not _held_elsewhere(parse):  # these decide themselves
                convo.state["failures"] = 0
        if aid:  # first what to do for the child now, then the entitlement asked about
            replies.insert(0, Reply(aid))
        return replies

    @staticmethod
    def _offers_to_give(parse: ParseResult) -> bool:
        """A question from someone who offers to give (a donation, a project, volunteering), typed."""
        text = parse.normalized or ""
        return _typed_may_ask(parse) and offers_to_give(text) and not referrals.outside_scope(text)

    @staticmethod
    def _asks_for_temporary_care(parse: ParseResult) -> bool:
        """Someone to look after the child for a while, asked for by a parent who cannot, typed."""
        text = parse.normalized or ""
        return _typed_may_ask(parse) and temporary_care_asked(text) and _asked(text)

    def _answer_within(self, convo: ConversationHandle, parse: ParseResult, category: str,
                       prefer: str = "") -> list[Reply]:
        """The answer from the items of ``category``, the service the words decided (not the score):
        the best of them by the search — only those whose title or text holds ``prefer``, when any
        does — or its items in order when the search passed them all by."""
        locality = convo.state.get("locality")
        result = self._search(parse.normalized or parse.text, locality, parse, k=30)
        hits = ([hit for hit in result.hits if hit.entry.item.category == category]
                or [Hit(entry, 0.0, 0.0, 0.0, 0) for entry in self.knowledge.items_of((category,), locality)])
        if not hits:
            return self._clarify(convo, parse)
        if prefer:  # only those, when there are any: another item's step is no answer to what was asked
            hits = [hit for hit in hits if prefer in hit.entry.item.title + hit.entry.item.content] or hits
        return [self._decided_answer(convo, result, hits[:3], locality)]

    def _decided_answer(self, convo: ConversationHandle, result, hits, locality: str | None) -> Reply:
        """The answer from ``hits``, the items the words decided on, whatever retrieval's confidence."""
        convo.state["failures"] = 0
        ranked = dataclasses.replace(result, hits=hits, confidence=1.0,
                                     categories=list(dict.fromkeys(hit.entry.item.category for hit in hits)))
        return _answer_reply(self._compose(ranked, locality))

    def _form_free_text_false_alarm(self, convo: ConversationHandle, parse: ParseResult) -> bool:
        """In the form's free-text answers parents describe hardship (受伤, 没人管…): there the
        classifier alone needs more certainty; the pattern layer still fires as everywhere."""
        if not self.form.active(convo.state) or parse.emergency_by != "classifier":
            return False
        if convo.state.get("requested_slot") not in ("description", "situations"):
            return False
        return dict(parse.ranking).get("emergency", 0.0) < FORM_TEXT_EMERGENCY_PROBABILITY

    def _digression(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        """A question asked in the middle of the form: answered, then the form resumes."""
        handler = getattr(self, f"_on_{parse.intent}", None)
        return handler(convo, parse) if handler else []

    def _apply_metadata(self, convo: ConversationHandle, metadata: dict) -> None:
        locality = metadata.get("locality")
        if isinstance(locality, str) and locality.strip():
            code = self.knowledge.geo.resolve_code(locality)
            if code:
                convo.state["locality"] = code
        referral = metadata.get("referral")
        if isinstance(referral, str) and referral.strip():
            convo.state["referral"] = referral.strip()[:64]

    # --- non-text events (channels translate shared locations, contacts, media) ----------
    def _on_event(self, convo: ConversationHandle, event: dict) -> list[Reply]:
        kind = event.get("type")
        if kind == "start":
            return self._on_start(convo, event)
        if kind == "location":
            return self._on_location(convo, event.get("locality"))
        if kind == "contact":
            return self._on_contact(convo, str(event.get("phone") or ""))
        what = _what_was_sent(event) or "这类消息"
        replies = [Reply(f"抱歉，我目前只能看懂文字消息，还不能处理{what}。请用文字告诉我，谢谢！")]
        if self.form.active(convo.state):
            replies += self.form.reask(convo.state)
        return replies

    def _on_start(self, convo: ConversationHandle, event: dict) -> list[Reply]:
        """``/start`` with or without a committee's referral code (deep link)."""
        code = event.get("referral")
        replies = [Reply(self.domain.text("utter_greet"), buttons=menu_buttons())]
        committee = committee_by_code(session=convo.session, code=code) if code else None
        if committee is not None:
            convo.state["referral"] = committee.code
            convo.state["locality"] = committee.locality_code
            replies.insert(0, Reply(f"欢迎！您是通过{committee.name}（{committee.locality_name}）了解到童伴的。"
                                    "之后的回答会优先用当地的服务清单。"))
            return replies
        if code:
            convo.state["referral"] = str(code)[:64]
        if not convo.state.get("locality"):
            replies.append(Reply("为了告诉您当地的政策，请问您现在住在哪个市、哪个区？"
                                 "可以直接输入（例如“深圳市宝安区”），也可以发送您的位置。", kind=QUESTION))
        if self.form.active(convo.state):
            replies += [Reply("您有一份没填完的帮扶申请，我们接着填写。")] + self.form.reask(convo.state)
        return replies

    def _on_location(self, convo: ConversationHandle, code: str | None) -> list[Reply]:
        form_wants = self.form.asking(convo.state) == "residence"
        if not code:
            replies = [Reply("没能从这个位置识别出所在的区县。请直接输入，例如“深圳市宝安区”。")]
            return replies + (self.form.reask(convo.state) if self.form.active(convo.state) else [])
        name = self.knowledge.geo.full_name(code)
        if form_wants:  # answer the form's question with the district the location lies in
            return self.form.step(convo, self.interpreter.parse(name), self._digression)
        convo.state["locality"] = code
        replies = [Reply(f"好的，根据您分享的位置，已记下您住在{name}。")]
        if convo.state.pop("pending_handoff", None):
            replies += self._create_handoff(convo, convo.state.pop("handoff_reason", "请求人工帮助"))
        if self.form.active(convo.state):
            replies += self.form.reask(convo.state)
        return replies

    def _on_contact(self, convo: ConversationHandle, phone: str) -> list[Reply]:
        if self.form.asking(convo.state) == "guardian_phone":
            return self.form.step(convo, self.interpreter.parse(phone), self._digression)
        replies = [Reply("谢谢。现在还不需要电话号码，我没有保存它；填写帮扶申请时会再请您留下。")]
        if self.form.active(convo.state):
            replies += self.form.reask(convo.state)
        return replies

    # --- safety net -------------------------------------------------------------------
    def _emergency(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        locality = convo.state.get("locality")
        kinds = list(parse.danger_kinds)
        record = services.create_urgent_record(
            session=convo.session, cipher=self.cipher, conversation_id=convo.id, channel=convo.channel,
            locality=locality, kinds=kinds, detected_by=parse.emergency_by or "classifier", message=parse.text,
            per_day=self.config.urgent_records_per_day)
        log.warning("urgent record %s %s (%s)", record.id, "repeated" if record.repeats else "created",
                    ",".join(kinds) or "classifier")
        contact = self._local_contact(locality)
        lines = ["【紧急】", *guidance_lines(kinds, parse.normalized)]
        if contact:
            lines.append(f"当地联系人：{contact}")
        lines.append("我们已把这条消息标记为紧急，转给您所在地区的工作人员尽快处理。")
        return [Reply("\n".join(lines), buttons=[HANDOFF_BUTTON], kind=EMERGENCY, facts={"urgent": True, "kinds": kinds})]

    def _after_emergency(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        """A message after an emergency in this conversation, about it: the parent's word that it is
        over ("孩子找到了 在同学家", "虚惊一场"), a "不用了" to it, or (within FOLLOW_UP_WINDOW, outside
        any question of ours) a message we cannot place ("还没找到 怎么办"). Each is added to the
        urgent record for staff (which stays open: staff confirm with the family) and answered: an
        acknowledgement, or what to do now again. [] when there was no emergency lately."""
        form_active = self.form.active(convo.state)
        if form_active and convo.state.get("requested_slot") in ("description", "situations"):
            return []  # the family's story for the form: kept there, never taken for an all-clear
        stand_down = all_clear(parse.normalized)
        ours_pending = form_active or any(convo.state.get(k) for k in ("eligibility", "pending_confirm", "pending_handoff"))
        never_mind = parse.intent in ("cancel", "deny") and not ours_pending  # "算了 不用了": to the emergency
        unplaced = parse.confidence < self.config.fallback_threshold and not ours_pending
        says_so = stand_down or never_mind  # else only unplaced: about the emergency if it is recent and open
        if not (says_so or unplaced):
            return []
        now = dt.datetime.now(dt.timezone.utc)
        record = services.latest_urgent_record(session=convo.session, conversation_id=convo.id,
                                               since=now - (STAND_DOWN_WINDOW if says_so else FOLLOW_UP_WINDOW))
        if record is None or not says_so and record.status != "new":
            return []
        session, buttons = convo.session, [] if form_active else menu_buttons()
        if stand_down:
            services.record_stand_down(session=session, cipher=self.cipher, record=record, message=parse.text, now=now)
            log.info("urgent record %s: the parent says it is over", record.id)
            reply = Reply(STAND_DOWN_REPLY, buttons=buttons, facts={"stand_down": True})
        else:
            services.record_follow_up(session=session, cipher=self.cipher, record=record, message=parse.text, now=now)
            if never_mind:
                reply = Reply(URGENT_KEPT_REPLY, buttons=buttons, facts={"stand_down": False})
            else:
                kinds = [k for k in record.kinds.split(",") if k]
                lines = ["如果刚才的紧急情况还没有解决：", *guidance_lines(kinds, parse.normalized),
                         "您这条消息也已转给处理这条紧急记录的工作人员。"]
                reply = Reply("\n".join(lines), buttons=[HANDOFF_BUTTON, *buttons],
                              kind=EMERGENCY, facts={"urgent_follow_up": True, "kinds": kinds})
        return [reply, *self.form.reask(convo.state)] if form_active else [reply]

    def _rest_of_message(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        """After the emergency reply: the question the parent also asked, answered (the danger
        clauses taken out). Only questions; a request for help waits until they are safe."""
        text = parse.normalized
        for start, end in sorted(parse.danger_spans, reverse=True):
            text = text[:start] + " " + text[end:]
        text = _DANGLING.sub("", " ".join(text.split())).strip()
        if len(text) < 6 or text == parse.normalized:
            return self._whole_question(convo, parse)
        rest = self.interpreter.parse(text)
        if rest.intent not in ("ask_service", "check_eligibility") or rest.confidence < self.config.fallback_threshold:
            return self._whole_question(convo, parse, reports_only=True)  # "…饭都吃不上，俺想跟谁说一声"
        answer = getattr(self, f"_on_{rest.intent}")(convo, rest)
        if not answer or not answer[0].sources:
            return self._whole_question(convo, parse, reports_only=True)
        return [Reply("您还问到的问题："), *answer]

    def _whole_question(self, convo: ConversationHandle, parse: ParseResult, reports_only: bool = False) -> list[Reply]:
        """After the emergency reply, for a message that is a question: when the danger is the whole
        message, its answer too if the checklists answer it beyond doubt and it asks more than what to
        do now ("娃爹娘都不在了 没人管他 谁来监护": who takes in a child no one looks after); and whatever
        else it holds (``reports_only``: a question beside the danger that could not be answered on its
        own), for a child hurt or neglected, when it asks whom to tell ("邻居家小孩经常一个人在家 饭都吃
        不上 我能跟谁说"): that anyone may report it, and to whom."""
        text = parse.normalized or ""
        if len(text) > WHOLE_QUESTION_CHARS or not _asked(text) or referrals.outside_scope(text):
            return []  # a long story of danger: the emergency reply alone, the last on their screen
        kinds = set(parse.danger_kinds)
        may_be_sure = not reports_only and kinds <= WHOLE_QUESTION_KINDS and not WHAT_NOW.search(text)
        reported = bool(kinds & REPORTED_KINDS and REPORT_TO_WHOM.search(text) and SOMEONE_ELSES.search(text)
                        and not FAMILY_TELLS.search(text))
        if not (may_be_sure or reported):
            return []  # no search on the emergency path for what cannot be answered
        locality = convo.state.get("locality")
        result = self._search(text, locality, parse, k=WHOLE_QUESTION_HITS)
        if may_be_sure and result.confidence >= SURE_SERVICE:
            answer = self._compose(result, locality)
        elif reported:
            answer = self._report_answer(text, locality, result)
        else:
            return []
        if answer is None or not answer.confident:
            return []
        return [Reply("您还问到的问题："), _answer_reply(answer)]

    def _report_answer(self, text: str, locality: str | None, result, margin: float | None = None):
        """The item saying who may report a child hurt or neglected, and to whom (HARM_ITEM): from the
        search's hits, else its current version from the index. ``margin``: a child-protection hit
        this far ahead of it answers instead (legal aid named); None: the item always."""
        hits = [h for h in result.hits if h.entry.item.category == HARM_CATEGORY]
        harm = next((h for h in hits if h.entry.item.id == HARM_ITEM), None)
        if harm is None:  # "怀疑楼下那家人打娃 能报吗" beside a missing child's item: whom to report a child hurt to
            entry = self.knowledge.current_item(*HARM_ENTRY) or (hits[0].entry if hits else None)
        elif margin is not None and harm.score < hits[0].score - margin:
            entry = hits[0].entry
        else:
            entry = harm.entry
        if entry is None:
            return None
        return self._item_answer(entry, text, locality, result)

    def _item_answer(self, entry, text: str, locality: str | None, result, aspect: str | None = None):
        """The answer from one item the engine chose (not retrieval's first), for ``text`` asked in
        ``locality``; ``result``'s search says whether a local list was passed over. ``aspect``: what is
        asked, read from ``text`` when None."""
        return item_answer(entry, public_url=self.public_url, question=text,
                           aspect=aspects.aspect_of(text) if aspect is None else aspect,
                           notice=no_local_notice(result, self.knowledge.locality_name(locality), entry))

    def _local_contact(self, locality: str | None) -> str:
        """A local (non-national) child-protection item for the family's area, if any."""
        if not locality:
            return ""
        result = self.knowledge.search("未成年人保护 儿童保护 求助 联系", locality, k=20)
        for hit in result.hits:
            if hit.entry.item.category == "child_protection" and hit.entry.locality != "national":
                return f"{hit.entry.item.title}：{hit.entry.item.how_to_apply or hit.entry.item.content}"
        return ""

    # --- clarification ladder -------------------------------------------------------------
    def _clarify(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        failures = int(convo.state.get("failures", 0)) + 1
        convo.state["failures"] = failures
        if failures >= self.config.failures_before_handoff:
            return [Reply("抱歉，我还是没能弄明白。要不要请工作人员来帮您？也可以换个说法再问一次。",
                          buttons=[HANDOFF_BUTTON, button(INTENT_TITLES["help"], "help")], kind=QUESTION)]
        candidates = [name for name, _ in parse.ranking if name in CLARIFY_INTENTS][:3]
        buttons = []
        for name in candidates:
            if name == "ask_service":
                buttons.append(button(INTENT_TITLES[name], name, text=parse.normalized[:200]))
            else:
                buttons.append(button(INTENT_TITLES[name], name))
        return [Reply("不好意思，我没太明白。您是想做下面哪一件事？也可以换个说法再说一遍。",
                      buttons=buttons or menu_buttons(), kind=QUESTION)]

    # --- intents ---------------------------------------------------------------------------
    def _on_ask_service(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        entities = parse.payload_entities
        if not entities and referrals.outside_scope(parse.normalized):  # wages, pension, licences...
            return self._on_out_of_scope(convo, parse)
        locality = convo.state.get("locality")
        if "item" in entities:  # a button: an item's first screen, or its details (详细)
            entry = self.knowledge.find_item(str(entities["item"]))
            if entry is not None:
                return [_answer_reply(item_answer(entry, detail=entities.get("detail") is True,
                                                  public_url=self.public_url))]
        if entities.get("category") in CATEGORIES:
            return [self._answer_category(locality, entities["category"])]
        if not entities and (_asks_about_the_registration(parse) or _asks_to_be_on_the_list(parse)):
            # "登记进去会不会传出去让同学知道", "娃有自闭症 这种能进重点关爱不": the list is what is asked about
            answered = self._ledger_data_answer(convo, parse)
            if answered:
                return answered + self._assistance_offer(parse)
        if not entities and _asks_for_special_care(parse):  # "娃睡过桥洞 这种政府会重点照顾不"
            answered = self._special_care_answer(convo, parse)
            if answered:
                return answered
        _, answer = self._answer_or_harm(str(entities.get("text") or parse.normalized or parse.text),
                                         locality, parse)
        if not answer.confident and not entities and names_the_list(parse.normalized):
            answered = self._ledger_data_answer(convo, parse)  # "那个台账是哪个单位在弄": the words say it
            if answered:
                return answered
        offer = self._assistance_offer(parse) if not entities and not self.form.active(convo.state) else []
        if not answer.confident and not entities:
            return offer + self._not_confident(convo, answer) if offer else self._not_confident(convo, answer)
        convo.state["failures"] = 0
        return [_answer_reply(answer)] + offer

    def _answer_if_found(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        """An unsure parse that may be a service question: the checklists' answer when retrieval is
        sure of one, with the assistance request offered as for any answer; [] to ask instead.
        The bot asks to rephrase only when it really has nothing (selection files: of 166 unsure
        messages 79 answered — 56 service questions, 50 of them from the right service; most of the
        other 23 tell a family's difficulty, and get the assistance request offered beside)."""
        if parse.payload_entities or self.form.active(convo.state):
            return []
        ranked = [(name, p) for name, p in parse.ranking if name != "emergency"]
        likely = [name for name, _ in ranked[:2]]
        if likely and likely[0] == "human_handoff" and _asks_about_people(parse):
            likely[0] = "ask_service"  # "政府有没有帮忙介绍工作的" asks about a service, not for a person
        text = parse.normalized or ""
        if likely and likely[0] == "check_status" and (TELLS_OF_A_FILING.search(text) or OURS.search(text)):
            return self._on_check_status(convo, parse)  # "困难补助我上礼拜交的 咋还没消息": what was filed, where
        if likely and likely[0] in REGISTRATION_READINGS and _asks_about_the_registration(parse):
            # "之前登记过娃的信息 多久会更新一回" read as a status or a deletion: the community's list asked about
            answered = self._ledger_data_answer(convo, parse)
            if answered:
                return answered + self._assistance_offer(parse)
        if likely and likely[0] not in NOT_A_QUESTION and _asks_for_special_care(parse):
            # "娃他爸跑了 俺一个人带俩娃 房租都快交不起了 俺们算不算要重点关照的": the list, the request beside
            answered = self._special_care_answer(convo, parse)
            if answered:
                return answered
        # "急着用钱 证明材料凑不齐 是不是就申请不了了": the intents undecided, but a question the checklists
        # may answer — answered when retrieval is ASKED_SURE of it, with the request offered, not a menu
        asked = (bool(likely) and likely[0] not in NOT_A_QUESTION + ("privacy",) and _for_the_checklists(text)
                 and not names_the_list(text)  # the list: below
                 and not (likely[0] == "request_assistance" and REGISTER_US.search(text)))  # "能不能帮我们申请"
        # ask_service likely, or third yet likely enough with the service beyond doubt: "残疾人两项补贴 我们在外地 在那办"
        third = len(ranked) > 2 and ranked[2][0] == "ask_service" and ranked[2][1] >= THIRD_ASK_PROBABILITY
        served = (("ask_service" in likely or third) and likely[0] not in NOT_A_QUESTION
                  and not referrals.outside_scope(text)
                  # "你们会不会把娃的信息给别人": our own data, whatever a checklist says of the community's
                  and not _our_data_asked(text, likely))
        if not (asked or served):
            # "俩口子想换个活 找工作能找谁帮忙" read as asking for a person: a question that names a
            # service beyond doubt is answered
            answered = self._answer_if_named_question(convo, parse) if likely and likely[0] == "human_handoff" else []
            return answered + [_person_offer()] if answered else []  # a person was maybe asked for: one tap away
        result, answer = self._answer_or_harm(text or parse.text, convo.state.get("locality"), parse)  # one search
        if answer.confident and (asked and result.confidence >= ASKED_SURE
                                 or served and ("ask_service" in likely or result.confidence >= SURE_SERVICE)):
            convo.state["failures"] = 0
            return [_answer_reply(answer)] + self._assistance_offer(parse)
        if served and names_the_list(text):  # "那个台账是哪个单位在弄": the words name the list
            return self._ledger_data_answer(convo, parse)
        return []

    def _answer_or_harm(self, text: str, locality: str | None, parse: ParseResult):
        """(search result, answer) for ``text``: the composed answer, or when it is not confident the
        child-protection answer to a question about a child being hurt (``_harm_answer``)."""
        result = self._search(text, locality, parse)
        answer = self._compose(result, locality)
        if not answer.confident:
            answer = self._harm_answer(parse, locality, result) or answer
        return result, answer

    def _harm_answer(self, parse: ParseResult, locality: str | None, result):
        """A typed question about a child being hurt (the safety line beside it) that retrieval
        ``result`` cannot place ("怀疑楼下那家人打娃 能报吗"): the checklists' item on protecting children
        (anyone who finds a child hurt may report it) when one is among the best hits; None otherwise."""
        text = parse.normalized or ""
        if not parse.safety_hint or parse.payload_entities or not _asked(text):
            return None  # "孩子没被打", "虚惊一场": told, not asked — the safety line alone
        if not any(h.entry.item.category == HARM_CATEGORY for h in result.hits):
            return None
        return self._report_answer(text, locality, result, margin=HARM_ITEM_MARGIN)

    @property
    def public_url(self) -> str:
        """Where the public reaches this server: answers link to stored notices there."""
        return self.config.public_url

    def _retrieve(self, question: str, locality: str | None, parse: ParseResult | None = None):
        """The cited answer composed from the checklists for ``question`` in ``locality``."""
        return self._compose(self._search(question, locality, parse), locality)

    def _search(self, question: str, locality: str | None, parse: ParseResult | None = None, k: int | None = None):
        """Retrieval for ``question``, handed the parse's embedding: retrieval reuses it when it is of
        the text searched by the same model (``nlu.embedding.QueryVector``)."""
        query_vector = parse.query_vector if parse is not None else None
        return self.knowledge.search(question, locality, k=k, query_vector=query_vector)

    def _compose(self, result, locality: str | None):
        return compose(result, min_confidence=self.config.min_confidence,
                       locality_name=self.knowledge.locality_name(locality),
                       public_url=self.public_url)

    def _assistance_offer(self, parse: ParseResult) -> list[Reply]:
        """A question that also asks for someone to help ("孩子好几个月不说话了 能不能有人来看看"):
        the answer, and the assistance request offered with buttons."""
        text = parse.normalized or ""
        asks_help = ASKS_FOR_HELP.search(text) or HARDSHIP.search(text) or aspects.mentions_harm(text)
        runner_up = dict(parse.ranking).get("request_assistance", 0.0)
        if not asks_help and runner_up < ASSISTANCE_OFFER_PROBABILITY:
            return []
        return [_offer_reply()]


    def _not_confident(self, convo: ConversationHandle, answer) -> list[Reply]:
        failures = int(convo.state.get("failures", 0)) + 1
        convo.state["failures"] = failures
        buttons = rasa_buttons(answer.buttons)
        if failures >= self.config.failures_before_handoff:
            return [Reply("抱歉，我还是没找到合适的答案。要不要请工作人员来帮您？", buttons=[HANDOFF_BUTTON] + buttons[:6])]
        return [Reply(answer.text, buttons=buttons)]

    def _answer_category(self, locality: str | None, category: str) -> Reply:
        result = self.knowledge.search(CATEGORIES[category], locality, k=30)
        for hit in result.hits:
            if hit.entry.item.category == category:
                return _answer_reply(item_answer(hit.entry, public_url=self.public_url))
        return Reply(not_understood(result).text, buttons=menu_buttons())

    def _on_set_locality(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        hukou, code = parse.entity("locality", role=HUKOU), parse.entity("locality", role=RESIDENCE)  # never the hukou
        given = parse.payload_entities.get("locality")
        if not code and isinstance(given, str) and len(given) <= 64:  # a button's payload: a code or a name
            code = self.knowledge.geo.resolve_code(given)
        if not code and hukou:
            return [Reply("这是孩子户口所在的地方吧？我需要的是你们现在住的地方，请写到市和区，例如“深圳市宝安区”。",
                          kind=QUESTION)]
        if (not code and not given and not convo.state.get("pending_handoff") and _asked(parse.normalized or "")
                and PLACE_KINDS.search(parse.normalized or "")):
            # "打疫苗是按户口所在地还是按现在住的地方": places named by what they are, no place given — a
            # question about a service, answered as one
            return self._on_ask_service(convo, parse)
        if not code:
            return [Reply("没能识别这个地方。请写到市和区，例如“深圳市宝安区”或“武汉洪山”。")]
        convo.state["locality"] = code
        name = self.knowledge.geo.full_name(code)
        answered = [] if convo.state.get("pending_handoff") else self._question_beside_the_place(convo, parse)
        if answered:  # the place remembered, the question answered from its checklists
            convo.state["failures"] = 0
            return [Reply(f"好的，已记住您住在{name}。"), *answered]
        local = self.knowledge.search("服务", code, k=1).has_local_checklist
        note = "之后的回答会优先用当地的服务清单。" if local else "目前还没有收录当地的服务清单，先按全国规定回答。"
        replies = [Reply(f"好的，已记住您住在{name}。{note}")]
        if convo.state.pop("pending_handoff", None):
            replies += self._create_handoff(convo, convo.state.pop("handoff_reason", "请求人工帮助"))
        return replies

    def _question_beside_the_place(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        """The cited answer to a service question asked with the place ("户口在毕节 我们一家都在杭州
        娃的医保是在毕节交还是在杭州交"), when the checklists of the place just remembered answer it
        beyond doubt (the model read the message as telling a place); [] otherwise, and for a button or
        a place told alone ("我们在杭州上城区")."""
        if parse.payload_entities or not _put_as_a_question(parse.normalized or ""):
            return []
        return self._answer_if_named(convo, parse)

    def _on_check_eligibility(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        """The verdict of clause (四), from the facts gathered over this and earlier turns; while a
        fact is missing the check stays open and the next answer (yes, no, a number, a place)
        completes it."""
        facts = convo.state.get("eligibility") or {}
        if self._asks_about_the_rule(parse):
            # "流动儿童是谁在统计啊" asks who counts them, not whether this child counts; the verdict
            # and the rule line stay the answer when the checklists have nothing surer, and an open
            # check stays open for its answer
            answer = self._retrieve(parse.normalized or parse.text, convo.state.get("locality"), parse)
            if answer.confident:
                convo.state["failures"] = 0
                return [_answer_reply(answer)]
        elif not facts and not parse.payload_entities and not ASKS_THE_VERDICT.search(parse.normalized or ""):
            # "家里有流动儿童是不是就能分公租房", "闺女高考非得回户籍地吗": a question about a service that
            # names migrant children or the hukou place, not whether this child counts
            locality = convo.state.get("locality")
            result = self._search(parse.normalized or parse.text, locality, parse)
            top = result.hits[0].entry.item.category if result.hits else "eligibility"
            if top != "eligibility" and result.confidence >= NAMED_SERVICE_CONFIDENCE:
                convo.state["failures"] = 0
                return [_answer_reply(self._compose(result, locality))]
        answer = parse.intent if parse.intent in ("affirm", "deny") else None
        residence = parse.entity("locality", role=RESIDENCE)
        facts = eligibility.update_facts(facts, parse.normalized, age=parse.entity("child_age"),
                                         months=parse.entity("months"), geo=self.knowledge.geo, answer=answer,
                                         hukou=parse.entity("locality", role=HUKOU), residence=residence)
        if residence:
            convo.state["locality"] = residence  # where they live, never the hukou place
        verdict = eligibility.check(facts)
        # the phone layout of any answer: the verdict and why (or what is still needed), the rule in
        # one line, the next step; then the source line, the clause's whole text behind 详细
        lines = [eligibility.verdict_line(verdict), eligibility.RULE_SHORT]
        buttons = []
        if verdict.missing:
            facts["asked"] = "across" if verdict.missing == (eligibility.ASK_ACROSS,) else "facts"
            convo.state["eligibility"] = facts
            if facts["asked"] == "across":
                buttons = [button("是", "affirm"), button("不是", "deny")]
        else:
            convo.state.pop("eligibility", None)
            if verdict.answer == eligibility.YES:
                lines.append(ELIGIBLE_NEXT_STEP)
        entry = self.knowledge.current_item(*ELIGIBILITY_ITEM)
        sources = []
        if entry is not None:
            lines.append(basis(entry))
            buttons += rasa_buttons([detail_button(entry)])
            sources = [source_record(entry, self.public_url)]
        return [Reply("\n".join(lines), buttons=buttons, sources=sources, facts={"eligibility": verdict.answer},
                      kind=QUESTION if verdict.missing else ANSWER)]

    @staticmethod
    def _asks_about_the_rule(parse: ParseResult) -> bool:
        """A question about the counting of migrant children — how, when, who keeps the list — that
        tells nothing of this child (no age, no months, no place, no move)."""
        if parse.payload_entities or aspects.aspect_of(parse.normalized) not in RULE_ASPECTS:
            return False
        if ASKS_THE_VERDICT.search(parse.normalized or ""):  # "我们来这边时间不长 算流动儿童吗"
            return False
        if any(parse.entity(name) is not None for name in ("child_age", "months", "locality")):
            return False
        return not eligibility.mentions_a_move(parse.normalized)

    def _answers_eligibility(self, convo: ConversationHandle, parse: ParseResult) -> bool:
        """Whether this message answers the open eligibility check's question."""
        pending = convo.state.get("eligibility")
        if not pending or parse.payload_entities and parse.intent not in ("affirm", "deny"):
            return False
        if parse.intent in ("affirm", "deny", "check_eligibility"):
            return True
        if any(parse.entity(name) is not None for name in ("child_age", "months", "locality")):
            return True
        return bool(eligibility.mentions_a_move(parse.normalized))

    def _on_help(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        # "人社局都能给俺们外地打工的提供些啥" asks what an office does, not what Tongban does: a
        # question naming a service beyond doubt is answered
        answered = self._answer_if_named_question(convo, parse)
        if answered:
            return answered
        return [Reply(self.domain.text("utter_help"), buttons=menu_buttons())]

    def _answer_if_named_question(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        """A message read as an act of the dialogue (help, a person) that is a question naming a service
        beyond doubt (SURE_SERVICE): its cited answer; [] otherwise, and for our own data or
        application, a person asked for by name (转人工), or what lies outside the plan."""
        text = parse.normalized or ""
        if parse.payload_entities or parse.text.startswith("/") or not _for_the_checklists(text) or USING_US.search(text):
            return []
        return self._answer_if_named(convo, parse, sure=SURE_SERVICE)

    def _on_greet(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        return [Reply(self.domain.text("utter_greet"), buttons=menu_buttons())]

    def _on_thank(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        return [Reply(self.domain.text("utter_thank"))]

    def _on_goodbye(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        return [Reply(self.domain.text("utter_goodbye"))]

    def _on_out_of_scope(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        """Not what Tongban does: say so; a second miss in a row also offers a person. When the
        checklists hold the very line we would suggest ("老板欠了俩月工资不给 打啥电话" → the 12333
        item), that item is the answer, cited, instead of the refusal; so is the list's own answer to
        a question about the priority-care list ("台账多久更新一次", ``_list_question_answer``)."""
        referred = (self._referral_answer(convo, parse) or self._list_question_answer(convo, parse)
                    or self._answer_if_sure(convo, parse))
        if referred:
            return referred
        failures = int(convo.state.get("failures", 0)) + 1
        convo.state["failures"] = failures
        text = self.domain.text("utter_out_of_scope") + "\n" + referrals.public_line(parse.normalized)
        if failures >= self.config.failures_before_handoff:
            return [Reply(text + "\n如果您有具体的困难，也可以请工作人员来帮您。",
                          buttons=[HANDOFF_BUTTON] + menu_buttons())]
        return [Reply(text, buttons=menu_buttons())]

    def _answer_if_sure(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        """Read as out of scope, but not beyond doubt, a question about a child or the plan's services
        that the checklists answer for sure ("新闻里说的1+N托育是个啥", "听说方案后面附了个服务清单 一共多少项",
        "娃老是撒谎…咋办"): the answer, as for a service question; [] for anything else — no child and no
        service named ("杀鸡要先放血还是先烫毛", "老家的村干部贪污怎么举报"), the adult's own affairs ("我自己的医保
        断缴了半年"), what lies outside the plan, our own data, or retrieval less than sure."""
        text = parse.normalized or ""
        if (parse.payload_entities or self.form.active(convo.state)
                or dict(parse.ranking).get("out_of_scope", 0.0) >= OUT_OF_SCOPE_SURE
                or not (referrals.CHILD.search(text) or THE_PLANS_WORDS.search(text)) or ADULTS_OWN.search(text)
                or not _for_the_checklists(text) or names_the_list(text)
                or _our_data_asked(text, [name for name, _ in parse.ranking[:2]])):
            return []
        answered = self._answer_if_named(convo, parse, sure=SURE_SERVICE)
        if not answered:
            return []
        convo.state["failures"] = 0
        return answered + self._assistance_offer(parse)

    def _list_question_answer(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        """A question that names the priority-care list or a child's monitored record, whatever the model
        made of it ("台账多久更新一次" read as out of scope, "登记进台账要带什么材料" or "孩子信息多久更新一回"
        unsure): answered from the monitoring and ledger clauses; [] for anything else (an app's data:
        "孩子在抖音上的信息会同步吗")."""
        text = parse.normalized or ""
        if parse.payload_entities or self.form.active(convo.state) or not (names_the_list(text) or MONITORED.search(text)):
            return []
        if not _put_as_a_question(text) or REGISTER_US.search(text) or _held_elsewhere(parse):
            return []
        answered = self._ledger_data_answer(convo, parse)
        return answered + self._assistance_offer(parse) if answered else []

    def _referral_answer(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        """The checklist item about the public line an out-of-scope message is referred to (its
        title names the number): retrieval's best when it is sure, else — the message about that
        topic and no child — the item named after the line; [] otherwise."""
        if parse.payload_entities:
            return []
        line = referrals.line_number(parse.normalized)
        if not line:
            return []
        locality = convo.state.get("locality")
        result = self._search(parse.normalized or parse.text, locality, parse)
        answer = self._compose(result, locality)
        if answer.confident and result.hits and named_after(result.hits[0].entry, line):
            convo.state["failures"] = 0
            return [_answer_reply(answer)]
        if not referrals.outside_scope(parse.normalized or ""):
            return []  # a story about a child that names wages or a dismissal is no labour question
        # "俺的社保养老在老家交的 问谁": the words chose the line; the item named after it says it
        entry = next((e for e in self.knowledge.items_of(CATEGORIES, locality) if named_after(e, line)), None)
        if entry is None:
            return []
        convo.state["failures"] = 0
        return [_answer_reply(self._item_answer(entry, parse.normalized or "", locality, result, aspect=aspects.WHAT))]

    def _on_inform(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        """A form button pressed when no form is waiting for it (an old message's button)."""
        return [Reply("这个按钮对应的填写已经结束了。需要的话可以重新点“申请帮扶”，或者直接告诉我您想问什么。",
                      buttons=menu_buttons())]

    def _on_privacy(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        if _held_elsewhere(parse):  # "娃手机上的APP老要填个人信息": a question about a child's data online
            return self._answer_about_data_elsewhere(convo, parse, _privacy_offer())
        text = parse.normalized or ""
        if (_about_the_ledger(parse) or UPDATED.search(text)) and not self.form.active(convo.state):
            # "你们登记的那些娃的信息 多久更新一回": Tongban updates nothing — the monitoring does, every
            # half year; how Tongban keeps its own data is one tap away
            answered = self._ledger_data_answer(convo, parse)
            if answered:
                return answered
        return [Reply(self.domain.text("utter_privacy"))]

    def _ledger_data_answer(self, convo: ConversationHandle, parse: ParseResult, offer: bool = True,
                            care: bool = False) -> list[Reply]:
        """"在这边登记的重点关爱信息 老家那边也能看到吗", "社区登记的信息会不会传出去", "那个台账是哪个单位
        在弄": the answer from the monitoring and ledger clauses, the item that says what is asked
        first (kept safe, shared with the home county, who runs it); for a question about the data,
        how Tongban keeps its own one tap away. [] when the checklists hold no such item."""
        locality = convo.state.get("locality")
        result = self._search(parse.normalized or parse.text, locality, parse, k=30)
        found = {hit.entry.key: hit for hit in result.hits}
        # every item of the clauses, ranked: the one that says what is asked first, then by the search
        # special care asked after a story of the list's situations (``care``): the list's own items
        hits = [found.get(entry.key) or Hit(entry, 0.0, 0.0, 0.0, 0)
                for entry in self.knowledge.items_of(("priority_care",) if care else LEDGER_CATEGORIES, locality)]
        if not hits:
            return []
        aspect = aspects.aspect_of(parse.normalized or parse.text)
        # a registration by the community is the monitoring survey (the plan's 四, eligibility); the list
        # named (台账, 重点关爱) is the ledger (五): of the items that say what is asked, that one first
        survey = "priority_care" if care or names_the_list(parse.normalized) else "eligibility"
        def rank(hit):
            item = hit.entry.item
            says = item_text.holds(item, aspect)
            # the care asked for is the list's visits, not how its data is shared or kept
            visits = not care or "走访" in item.brief + item.content
            return not visits, not says, says and item.category != survey, -hit.score

        # the topic is decided by the words, not by the score: the ledger's items are the answer
        replies = [self._decided_answer(convo, result, sorted(hits, key=rank)[:3], locality)]
        if offer and (parse.intent == "privacy" or aspect in (aspects.DATA, aspects.SHARED)):
            replies.append(_privacy_offer())
        return replies

    def _special_care_answer(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        """Special care asked after a story of the list's situations: the list's visiting items, the
        request offered beside them; [] when the checklists hold no such item."""
        answered = self._ledger_data_answer(convo, parse, offer=False, care=True)
        return answered + [_offer_reply()] if answered else []

    def _answer_about_data_elsewhere(self, convo: ConversationHandle, parse: ParseResult, offer: Reply) -> list[Reply]:
        """The law on a child's data online, with what concerns the parent's data here one tap away.
        What is asked is known already (a child's data held by a website, an app, a chat group): when
        retrieval is not sure which item says it, the item on a child's data online answers."""
        if referrals.outside_scope(parse.normalized):
            return self._on_ask_service(convo, parse) + [offer]
        locality = convo.state.get("locality")
        text = parse.normalized or parse.text
        result, answer = self._answer_or_harm(text, locality, parse)
        if not answer.confident and parse.safety_hint:  # "娃在班级群被网暴 能让群主删吗": harm first
            answer = self._report_answer(text, locality, result) or answer
        if not answer.confident:
            entry = (next((h.entry for h in result.hits if h.entry.item.id == DATA_ONLINE_ENTRY[1]), None)
                     or self.knowledge.current_item(*DATA_ONLINE_ENTRY))
            if entry is None:
                return self._not_confident(convo, answer) + [offer]
            answer = self._item_answer(entry, text, locality, result)
        convo.state["failures"] = 0
        return [_answer_reply(answer), offer]

    def _on_human_handoff(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        if _asks_about_people(parse):  # "儿童主任跟儿童督导员有啥区别": answered, a person one tap away
            locality = convo.state.get("locality")
            result = self._search(parse.normalized or parse.text, locality, parse)
            # a difference is only ever a question; anything else must name its service beyond doubt
            sure = (self.config.min_confidence
                    if aspects.aspect_of(parse.normalized) == aspects.DIFFERENCE or ABOUT_A_ROLE.search(parse.normalized or "")
                    else NAMED_SERVICE_CONFIDENCE)
            if result.confidence >= sure:
                return [_answer_reply(self._compose(result, locality)), _person_offer()]
        reason = parse.text if not parse.text.startswith("/") else "请求人工帮助"
        return self._handoff_or_ask_locality(convo, reason)

    def _handoff_or_ask_locality(self, convo: ConversationHandle, reason: str) -> list[Reply]:
        if not convo.state.get("locality"):
            convo.state["pending_handoff"] = True
            convo.state["handoff_reason"] = reason[:500]
            return [Reply("好的。为了转给您所在地区的工作人员，请告诉我您现在住在哪个市、哪个区"
                          "（例如：深圳市宝安区）。孩子如有危险请直接拨打 110。", kind=QUESTION)]
        return self._create_handoff(convo, reason)

    def _create_handoff(self, convo: ConversationHandle, reason: str) -> list[Reply]:
        session = convo.session
        existing = services.open_handoff(session=session, conversation_id=convo.id)
        locality = convo.state.get("locality")
        area = self.knowledge.geo.full_name(locality) if locality else "您所在地区"
        if existing is not None:
            return [Reply(f"您的人工帮助请求（编号 {services.handoff_reference(existing)}）已经在处理队列里了，"
                          f"{area}的工作人员会通过这里联系您。孩子如有危险请直接拨打 110。")]
        if _used_today(convo, services.handoffs_since) >= self.config.handoffs_per_day:
            return [Reply(f"今天已经转给{area}的工作人员好几次了，他们会看到您的请求，请耐心等待联系。"
                          "孩子如有危险请直接拨打 110；有人受伤请拨打 120。")]
        request = services.create_handoff(session=session, cipher=self.cipher, conversation_id=convo.id,
                                          channel=convo.channel, locality=locality, reason=reason)
        return [Reply(f"已把您的请求转给{area}的民政工作人员和儿童主任（编号 {services.handoff_reference(request)}）。"
                      "他们在工作日查看，会通过这个对话联系您；我们不能保证具体的回复时间。"
                      "孩子如有危险请直接拨打 110。",
                      facts={"handoff": services.handoff_reference(request)})]

    def _on_request_assistance(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        if _used_today(convo, requests_since) >= self.config.requests_per_day:
            return [Reply("今天已经提交了好几份帮扶申请，工作人员会逐一审核。如需再为其他孩子申请，请明天再来；"
                          "发送“查进度”可以查看已提交的申请。孩子如有危险请直接拨打 110。")]
        listed = _asks_to_be_on_the_list(parse)
        care = _asks_for_special_care(parse) and not SOMEONE_SENT.search(parse.normalized or "")
        if (listed or care) and not REGISTER_US.search(parse.normalized or ""):
            answered = self._ledger_data_answer(convo, parse, care=care and not listed)  # "娃有自闭症 这种能进重点关爱不"
            if answered:
                return answered + [_offer_reply()]
        question = self._service_question(parse)
        if question:
            # "想找慈善帮扶 该找谁联系": the whole message names the service beyond doubt, or the
            # clauses that ask do
            named = self._answer_if_named(convo, parse)
            if named:
                convo.state["failures"] = 0
                return named + [_offer_reply()]
            answer = self._retrieve(question, convo.state.get("locality"))
            if answer.confident:  # answer what was asked, and offer the request rather than start it
                convo.state["failures"] = 0
                return [_answer_reply(answer), _offer_reply()]
        if self._only_asks(parse) or self._asks_about_the_ledger(parse):
            # "慈善帮扶优先帮哪些孩子", "我们户口不在这能申请临时救助不": a question about a service, not a
            # request to be registered — the answer, and the request one tap away
            answer = self._retrieve(parse.normalized or parse.text, convo.state.get("locality"), parse)
            if answer.confident:
                convo.state["failures"] = 0
                return [_answer_reply(answer), _offer_reply()]
            if self._asks_about_the_ledger(parse):  # "听说有个重点关爱的 咋样能进": the words name the list
                answered = self._ledger_data_answer(convo, parse)
                if answered:
                    return answered + [_offer_reply()]
        return self._answer_before_the_form(convo, parse) + self.form.start(convo, parse)

    def _answer_before_the_form(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        """A request for help that also asks a question the checklists answer beyond doubt ("家里揭不开锅了
        能不能自己主动去要帮扶 还是只能干等人家来排查"): the answer first, then the request is filed as
        asked; [] otherwise."""
        text = parse.normalized or ""
        if parse.payload_entities or parse.text.startswith("/"):
            return []
        if not (_asked(text) or BY_PROXY.search(text) and MAY_WE.search(text)):
            # "能不能让居委会帮着递申请": a rule asked; "让社区帮我们家申请一下" asks, and is filed
            return []
        if aspects.aspect_of(text) not in BEFORE_THE_FORM_ASPECTS:  # "要什么材料": the form finds out
            return []
        # "揭不开锅了 能不能自己去说要帮扶 还是得等人家来查": whether they may ask is the rule they want
        # to know before filing, answered as any question is; else only a service beyond doubt
        sure = self.config.min_confidence if SELF_ASK.search(text) else BEFORE_THE_FORM_CONFIDENCE
        return self._answer_if_named(convo, parse, sure=sure)

    @staticmethod
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

    @staticmethod
    def _asks_about_the_ledger(parse: ParseResult) -> bool:
        """A question about the priority-care list itself ("上了重点关爱名单会有人来看不", "能不能自己去
        申请进重点关爱名单"): whether a family may ask, who is on it, what follows — answered from clause
        (五), with the request (which is how a family asks) one tap away. Not when someone is asked to
        register the family ("帮我们登记进名单")."""
        text = parse.normalized or ""
        if parse.payload_entities or parse.text.startswith("/") or not names_the_list(text):
            return False
        return (_put_as_a_question(text) or bool(MAY_WE.search(text))) and not REGISTER_US.search(text)

    def _service_question(self, parse: ParseResult) -> str:
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

    def _on_check_status(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        session = convo.session
        lines = [f"{r.reference}：{STATUS_LABELS.get(r.status, r.status)}（{r.created_at:%Y-%m-%d}提交）"
                 for r in requests_of(session=session, conversation_id=convo.id,
                                      references=convo.state.get("references"))]
        handoff_labels = {"open": "等待工作人员联系", "closed": "已处理"}
        lines += [f"{services.handoff_reference(r)}（人工帮助）：{handoff_labels.get(r.status, r.status)}"
                  f"（{r.created_at:%Y-%m-%d}）" for r in services.handoffs_of(session=session, conversation_id=convo.id)]
        if not lines:
            # "临时救助审批得怎么样了" with nothing filed here: applied at the street office, most likely —
            # say so, and answer what the checklists say of that service (where to ask)
            service = [] if parse.payload_entities else self._answer_if_named(convo, parse)
            if service:
                return [Reply("在童伴没有查到您的申请。如果是在街道、乡镇或有关部门申请的，请向经办的地方询问进度；"
                              "这项服务的说明：")] + service
            return [Reply("您还没有提交过申请或人工帮助请求。需要的话可以点“申请帮扶”。",
                          buttons=[button(INTENT_TITLES["request_assistance"], "request_assistance")])]
        return [Reply("您提交的申请和请求：\n" + "\n".join(lines))]

    def _answer_if_named(self, convo: ConversationHandle, parse: ParseResult,
                         sure: float = NAMED_SERVICE_CONFIDENCE) -> list[Reply]:
        """The checklists' answer for a message that names a service beyond doubt (retrieval at least
        ``sure``), else []."""
        locality = convo.state.get("locality")
        result = self._search(parse.normalized or parse.text, locality, parse)
        if result.confidence < sure:
            return []
        return [_answer_reply(self._compose(result, locality))]

    def _on_delete_data(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        """Ask first, saying exactly what would be deleted and what the law makes us keep."""
        offer = _data_offer("如果是想删除您留在童伴的信息", "删除我留在童伴的信息", "delete_data")
        if _held_elsewhere(parse):
            # "想让抖音把娃的视频删了": the law on a child's data online answers it; deleting what the
            # parent left here stays one tap away, never dropped
            return self._answer_about_data_elsewhere(convo, parse, offer)
        if _about_the_ledger(parse) and not self.form.active(convo.state):
            # "登记表上娃的名字写错了 能让他们改或者删掉不": the list the community keeps, not what the parent left
            # here — the law's right to correct and delete, and whom to ask; deleting ours one tap away
            answered = self._ledger_data_answer(convo, parse, offer=False)
            if answered:
                return answered + [offer]
        convo.state["pending_confirm"] = "delete_data"
        plan = erasure_plan(convo.session, convo.id, policy=self.config.retention)
        return [Reply("确认要删除您留在童伴的个人信息吗？\n" + plan.parent_text(done=False)
                      + "\n删除后无法恢复。请回复“确认”或“取消”。",
                      buttons=[button("确认删除", "affirm"), button("不删了", "deny")], kind=QUESTION)]

    def _on_affirm(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        if convo.state.pop("pending_confirm", None) == "delete_data":
            now = dt.datetime.now(dt.timezone.utc)
            convo.state.clear()
            report = erase_conversation(convo.session, self.cipher, convo.id, now, policy=self.config.retention)
            convo.deletion_requested(now)
            return [Reply(report.parent_text(done=True)
                          + "\n您还可以继续使用童伴；之后的对话会重新保存，保存多久见“隐私说明”。",
                          facts={"deleted": True, "kept": [k.reference for k in report.kept]})]
        return [Reply("好的。还有什么可以帮您？", buttons=menu_buttons())]

    def _on_deny(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        if convo.state.pop("pending_confirm", None):
            return [Reply("好的，没有删除任何信息。")]
        return [Reply("好的。还有什么可以帮您？", buttons=menu_buttons())]

    def _on_cancel(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        pending = convo.state.pop("pending_confirm", None) or convo.state.pop("pending_handoff", None)
        if pending:
            convo.state.pop("handoff_reason", None)
            return [Reply(self.domain.text("utter_cancelled"))]
        return [Reply("现在没有正在进行的事项。需要什么帮助可以直接问我。", buttons=menu_buttons())]


def _for_the_checklists(text: str) -> bool:
    """Put as a question the checklists may answer: not a person asked for by name (转人工), not what
    lies outside the plan (wages, pensions), not our own data or the parent's application with us."""
    return (_asked(text) and not ASKS_FOR_A_PERSON.search(text) and not referrals.outside_scope(text)
            and not (OURS.search(text) or TO_US.search(text)))


def _person_offer() -> Reply:
    """A person one tap away, beside an answer to a message that may have asked for one."""
    return Reply("需要的话，也可以请工作人员联系您。", buttons=[HANDOFF_BUTTON])


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


def _held_elsewhere(parse: ParseResult) -> bool:
    """A message about a child's data held by a website, an app or a game, not by Tongban."""
    text = parse.normalized or ""
    return not parse.payload_entities and bool(ELSEWHERE.search(text)) and not OURS.search(text)


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


def _typed_may_ask(parse: ParseResult) -> bool:
    """Typed (no button, no /intent), and read as something that may ask a question."""
    return (not parse.payload_entities and not parse.text.startswith("/")
            and parse.intent not in NOT_A_QUESTION + ("privacy",))


def _about_the_ledger(parse: ParseResult) -> bool:
    """A message about the priority-care ledger or a registration by the community ("社区登记的信息会不会
    传出去", "那个台账是哪个单位在弄"), not about what the parent gave Tongban."""
    text = parse.normalized or ""
    if parse.payload_entities or parse.text.startswith("/") or OURS.search(text) or TO_US.search(text):
        return False
    return bool(names_the_list(text) or REGISTERED.search(text) and not REGISTERED_ELSEWHERE.search(text))


def _our_data_asked(text: str, likely: list[str]) -> bool:
    """Privacy or a deletion among the likeliest readings of a message addressed to us (你们, 这里,
    童伴…): led by them, or asking what becomes of data ("你们会不会把娃的信息给别人")."""
    if not (OURS.search(text) or TO_US.search(text)) or not {"privacy", "delete_data"} & set(likely):
        return False
    return likely[0] in ("privacy", "delete_data") or aspects.aspect_of(text) in (aspects.DATA, aspects.SHARED)


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


def _used_today(convo: ConversationHandle, count_since) -> int:
    """How many of something (``count_since``: requests, handoffs) the conversation made in 24 h."""
    return count_since(session=convo.session, conversation_id=convo.id,
                       since=dt.datetime.now(dt.timezone.utc) - services.DAY)


def _event_label(event) -> str:
    if not isinstance(event, dict):
        return ""
    return {"start": "[开始对话]", "location": "[分享了位置]", "contact": "[分享了联系人]"}.get(
        str(event.get("type")), f"[{_what_was_sent(event) or '非文字消息'}]")


def _answer_reply(answer) -> Reply:
    """A composed checklist answer as a reply, with the sources it cites."""
    return Reply(answer.text, buttons=rasa_buttons(answer.buttons), sources=answer.sources)


def _what_was_sent(event: dict) -> str:
    """What a parent sent that the bot cannot read, in their words ("语音", "图片"): named by the
    channel that received it, which alone knows its platform's kinds of message; "" when unnamed."""
    what = event.get("what")
    return what[:20] if isinstance(what, str) else ""


def _privacy_offer() -> Reply:
    """How Tongban keeps the parent's own data, one tap away beside an answer about someone else's."""
    return _data_offer("想了解童伴怎么保存和使用您的信息", "童伴的隐私说明", "privacy")


def _data_offer(offer: str, title: str, intent: str) -> Reply:
    return Reply(f"{offer}，可以点下面的按钮。", buttons=[button(title, intent)])


def _offer_reply() -> Reply:
    """The assistance request offered with buttons (beside an answer), not started."""
    return Reply("如果需要工作人员上门了解情况、帮您登记帮扶，可以点“申请帮扶”，也可以请工作人员联系您。",
                 buttons=[button(INTENT_TITLES["request_assistance"], "request_assistance"), HANDOFF_BUTTON])
