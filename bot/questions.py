"""Service questions: ask_service, an unsure message that may be one (answered when retrieval is sure
of it), help, and out of scope (the line we refer to, or the checklists' answer when they hold it)."""

from __future__ import annotations

import re

from bot import referrals
from bot.answers import SURE_SERVICE
from bot.reading import (
    NOT_A_QUESTION, OURS, REGISTER_US, _asks_about_people, _asks_about_the_registration, _asks_for_special_care,
    _asks_to_be_on_the_list, _for_the_checklists, _our_data_asked, names_the_list)
from bot.replies import HANDOFF_BUTTON, answer_reply, menu_buttons, person_offer
from knowledge import aspects
from knowledge.answer import item_answer, named_after
from knowledge.categories import CATEGORIES
from ledger.conversations import ConversationHandle
from ledger.reply import Reply
from nlu.interpreter import ParseResult

# what the model makes of a question about the community's registration when unsure: never a request,
# a person asked for, a yes or a no
REGISTRATION_READINGS = ("ask_service", "privacy", "delete_data", "check_status", "set_locality", "out_of_scope",
                         "check_eligibility")
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
# out of scope beyond doubt: no checklist answer however sure retrieval is ("今天天气怎么样")
OUT_OF_SCOPE_SURE = 0.8
# ... and below it, only a message about a child or naming the plan's own services is answered, never
# the adult's own affairs (routing sets: 7 adult or childless questions were answered without these)
THE_PLANS_WORDS = re.compile(r"流动儿童|流动娃|随迁|行动方案|关爱方案|国家(?:的|那个)?方案|方案(?:里|后面)|服务清单|清单里|"
                             r"托育|托班|台账|一人一档|重点关爱|儿童之家|童心港湾")
ADULTS_OWN = re.compile(r"我自己的|俺自己的|我本人|大人(?:得|的|自己)|(?:我|俺)(?:的)?(?:社保|养老|医保)")
# how to use Tongban itself ("不太会用 你教教我怎么弄"): a question about us, whatever service it seems to name
USING_US = re.compile(r"[你您]们?(?:教|帮我|告诉|说说|给我|都会|会干|能干)|不(?:太)?会用|不懂(?:怎么|咋)用|(?:怎么|咋)用(?:你|这个|童伴)")


class QuestionsMixin:
    """The turns that ask about a service: ``_on_ask_service``, ``_answer_if_found`` (an unsure
    message), ``_on_help`` and ``_on_out_of_scope``.

    Needs from the engine: ``config``, ``knowledge``, ``domain``, ``form``; the answers
    (``AnswersMixin``), the list's answers (``ListMixin``) and ``_on_check_status`` (``AssistanceMixin``)."""

    def _on_ask_service(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        entities = parse.payload_entities
        if not entities and referrals.outside_scope(parse.normalized):  # wages, pension, licences...
            return self._on_out_of_scope(convo, parse)
        locality = convo.state.get("locality")
        if "item" in entities:  # a button: an item's first screen, or its details (详细)
            entry = self.knowledge.find_item(str(entities["item"]))
            if entry is not None:
                return [answer_reply(item_answer(entry, detail=entities.get("detail") is True,
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
        return [answer_reply(answer)] + offer

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
            return answered + [person_offer()] if answered else []  # a person was maybe asked for: one tap away
        result, answer = self._answer_or_harm(text or parse.text, convo.state.get("locality"), parse)  # one search
        if answer.confident and (asked and result.confidence >= ASKED_SURE
                                 or served and ("ask_service" in likely or result.confidence >= SURE_SERVICE)):
            convo.state["failures"] = 0
            return [answer_reply(answer)] + self._assistance_offer(parse)
        if served and names_the_list(text):  # "那个台账是哪个单位在弄": the words name the list
            return self._ledger_data_answer(convo, parse)
        return []

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

    def _on_out_of_scope(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        """Not what Tongban does: say so; a second miss in a row also offers a person. When the
        checklists hold the very line we would suggest ("老板欠了俩月工资不给 打啥电话" → the 12333
        item), that item is the answer, cited, instead of the refusal; so is the list's own answer to
        a question about the priority-care list ("台账多久更新一次", ``_list_question_answer``)."""
        referred = (self._referral_answer(convo, parse) or self._list_question_answer(convo, parse)
                    or self._answer_if_sure(convo, parse))
        if referred:
            return referred
        failures = self._one_more_failure(convo)
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
            return [answer_reply(answer)]
        if not referrals.outside_scope(parse.normalized or ""):
            return []  # a story about a child that names wages or a dismissal is no labour question
        # "俺的社保养老在老家交的 问谁": the words chose the line; the item named after it says it
        entry = next((e for e in self.knowledge.items_of(CATEGORIES, locality) if named_after(e, line)), None)
        if entry is None:
            return []
        convo.state["failures"] = 0
        return [answer_reply(self._item_answer(entry, parse.normalized or "", locality, result, aspect=aspects.WHAT))]
