"""The safety net's turns: the emergency reply and its urgent record, the question asked beside the
danger, and the messages after an emergency that are about it (all clear, never mind, still not
found)."""

from __future__ import annotations

import datetime as dt
import logging
import re

from actions.slots import SLOTS
from actions.validators import looks_like_a_name
from bot import referrals
from bot.answers import SURE_SERVICE
from bot.danger_guidance import guidance_lines
from bot.reading import _asked
from bot.replies import HANDOFF_BUTTON, answer_reply, menu_buttons
from ledger import services
from ledger.conversations import ConversationHandle
from ledger.reply import EMERGENCY, Reply
from nlu.interpreter import ParseResult
from nlu.safety import all_clear

log = logging.getLogger(__name__)

FORM_TEXT_EMERGENCY_PROBABILITY = 0.85
# The form's questions answered by a name or a word (the slots declared ``short_answer``): there an answer
# that looks like a name (a common surname and one to three characters: actions.validators) is the name
# asked for, however the danger readings of a whole message take it — of 800 everyday names (38 surnames ×
# 20 given names) 26 read as an emergency, "孙子涵" as 孙子 and something medical, 杨子涵/吴子轩 as abuse
# (clause model and classifier). The pattern layer still fires as everywhere, and the reply to such a name
# names 110/120 beside the next question (the safety hint). Of the training files' 11 emergencies of two to
# four characters (救命, 孩子丢了, 崽不见咯…) none looks like a name; the independent sets hold none that short.
SHORT_ANSWER_SLOTS = frozenset(slot.name for slot in SLOTS if slot.short_answer)
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
# connectives left hanging once the danger clauses are taken out of a message
_DANGLING = re.compile(r"(?:[,，。.?？!！;；\s]*(?:还有|另外|而且|然后|但是|可是|对了|还)[,，。.?？!！;；\s]*)+$")
STAND_DOWN_WINDOW = dt.timedelta(days=1)  # how long after an emergency a parent's all-clear is tied to it
# how long after it a message we cannot place ("还没找到 怎么办", "警察还没来") is read as about it
FOLLOW_UP_WINDOW = dt.timedelta(hours=6)
STAND_DOWN_REPLY = ("收到。孩子平安就好；如果孩子受了伤、身体不舒服，或者还有危险，请立即拨打 120 或 110。"
                    "您说的情况已经告诉了负责这条紧急记录的工作人员，他们可能还会联系您确认一下。")
URGENT_KEPT_REPLY = ("好的。刚才那条紧急记录仍会保留给工作人员，他们可能会联系您确认孩子是否安全。"
                     "如果孩子还有危险，请立即拨打 110；有人受伤请拨打 120。")


class EmergencyMixin:
    """``_emergency`` (the reply and the urgent record), ``_rest_of_message`` and
    ``_whole_question`` (what else the message asked), ``_after_emergency``.

    Needs from the engine: ``config`` (urgent_records_per_day, fallback_threshold), ``cipher``,
    ``interpreter``, ``knowledge``, ``form``; ``_search``, ``_compose``, ``_report_answer``
    (``AnswersMixin``) and the intents' handlers (``_on_ask_service``, ``_on_check_eligibility``)."""

    def _form_free_text_false_alarm(self, convo: ConversationHandle, parse: ParseResult) -> bool:
        """In the form's free-text answers parents describe hardship (受伤, 没人管…): there the
        classifier alone needs more certainty; in its name and word answers a name is what was asked
        (SHORT_ANSWER_SLOTS). The pattern layer fires as everywhere."""
        if not self.form.active(convo.state):
            return False
        requested = convo.state.get("requested_slot")
        if requested in SHORT_ANSWER_SLOTS:
            return "patterns" not in (parse.emergency_by or "").split("+") and looks_like_a_name(parse.normalized)
        if parse.emergency_by != "classifier" or requested not in ("description", "situations"):
            return False
        return dict(parse.ranking).get("emergency", 0.0) < FORM_TEXT_EMERGENCY_PROBABILITY

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

    def _local_contact(self, locality: str | None) -> str:
        """A local (non-national) child-protection item for the family's area, if any."""
        if not locality:
            return ""
        result = self.knowledge.search("未成年人保护 儿童保护 求助 联系", locality, k=20)
        for hit in result.hits:
            if hit.entry.item.category == "child_protection" and hit.entry.locality != "national":
                return f"{hit.entry.item.title}：{hit.entry.item.how_to_apply or hit.entry.item.content}"
        return ""

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
        return [Reply("您还问到的问题："), answer_reply(answer)]
