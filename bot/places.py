"""Where the family lives: a place typed (set_locality; the question asked beside it answered from
that place's checklists) or a location shared. Never the household registration's place."""

from __future__ import annotations

import re

from bot.reading import _asked, _put_as_a_question
from ledger.conversations import ConversationHandle
from ledger.reply import QUESTION, Reply
from nlu.entities import HUKOU, RESIDENCE
from nlu.interpreter import ParseResult

# places named by what they are, not by name ("按户口所在地还是按现在住的地方")
PLACE_KINDS = re.compile(r"户口所在地|户籍地|户口地|住的地方|居住地|现住地|按户口|按居住|老家还是|还是老家")


class PlacesMixin:
    """The family's place: ``_on_set_locality`` and the shared location (``_on_location``).

    Needs from the engine: ``knowledge`` (geo, search), ``interpreter``, ``form``, ``_digression``;
    ``_on_ask_service``, ``_answer_if_named`` and ``_waiting_handoff`` (a handoff waiting on the place)."""

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
        replies += self._waiting_handoff(convo)
        return replies

    def _question_beside_the_place(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        """The cited answer to a service question asked with the place ("户口在毕节 我们一家都在杭州
        娃的医保是在毕节交还是在杭州交"), when the checklists of the place just remembered answer it
        beyond doubt (the model read the message as telling a place); [] otherwise, and for a button or
        a place told alone ("我们在杭州上城区")."""
        if parse.payload_entities or not _put_as_a_question(parse.normalized or ""):
            return []
        return self._answer_if_named(convo, parse)

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
        replies += self._waiting_handoff(convo)
        if self.form.active(convo.state):
            replies += self.form.reask(convo.state)
        return replies
