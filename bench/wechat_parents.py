"""WeChat's side of bench/wechat_throughput.py: the followers of the account and the callbacks WeChat
posts for them — each a parent who sends the next message once what the bot said to the last one has
arrived (the passive reply, then the customer-service messages at the fake), and WeChat's retries of
a share of the callbacks with the same MsgId, late or while the first is in flight."""

from __future__ import annotations

import asyncio
import itertools
import random
import re
import secrets
import time
from dataclasses import dataclass, field

import aiohttp

from journeys import FormFiller, reference_in
from tests.fake_wechat import FakeWeChat, Parent

COMMITTEE = {"code": "xixiang01", "name": "西乡社区居委会", "locality_code": "440306005001",
             "locality_name": "广东省深圳市宝安区西乡街道"}
CITED = "依据"
NUMBERED = re.compile(r"(?m)^\s*(\d+)\. (.+?)\s*$")  # render.py's numbered choices, "1. 同意"
STEPS = ("welcome", "question", "form", "filing")  # the subscribe event, the question, the form's answers, 确认提交
READ_TIMEOUT = 60.0  # seconds a parent waits for what the bot must still say
QUIET = 2.5  # seconds without another message after which a reply offering no choices is taken as complete


@dataclass
class Message:
    """One message a parent sent (each of its POSTs: the first and WeChat's retry, if any)."""

    openid: str
    step: str  # STEPS
    started: float
    answered: float = 0.0  # when the response carrying the passive reply came (else the last response)
    passive: int = 0  # responses that carried a passive reply (more than one: doubled)
    retry: str = ""  # "", "late" (after the first was answered) or "in flight"
    heard: float = 0.0  # when the parent had the first reply (the passive one, or a customer-service message)


@dataclass
class Load:
    """How WeChat and its parents behave (the pace), and everything measured."""

    url: str
    client: aiohttp.ClientSession
    fake: FakeWeChat
    retry_share: float = 0.0  # of the callbacks, posted again
    typing: float = 0.0  # seconds a parent takes before the next message
    ramp: float = 0.0  # seconds over which the parents' first messages are spread
    show: bool = False  # print every message and what the bot said to it
    messages: list[Message] = field(default_factory=list)
    retries: int = 0
    ordinal: itertools.count = field(default_factory=itertools.count)
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def retry_kind(self) -> str:
        """Whether the next callback is retried and how: an exact share, evenly spread, kinds alternating."""
        n = next(self.ordinal)
        if int((n + 1) * self.retry_share) == int(n * self.retry_share):
            return ""
        self.retries += 1
        return "late" if self.retries % 2 else "in flight"


class Follower:
    """One openid: its visits, and everything the bot said to it (passive replies and customer-service
    messages, in the order they arrived)."""

    def __init__(self, n: int, question: str, aes_key: str | None):
        self.openid = f"oBenchFollower{n:014d}"  # 28 characters, like WeChat's
        self.parent = Parent(None, self.openid, aes_key=aes_key)
        self.n = n
        self.question = question
        self.heard: list[str] = []
        self.custom = 0  # customer-service messages taken from the fake so far
        self.callbacks = 0
        self.cited = 0
        self.references: list[str] = []

    async def visit(self, load: Load, number: int) -> None:
        """Visit ``number`` (0: the first, through the QR code; later ones file for another child: the
        same child again within 30 days would be merged into the first request)."""
        first = number == 0
        said = await self.say(load, "welcome", self.event("subscribe", f"qrscene_{COMMITTEE['code']}") if first
                              else self.event("SCAN", COMMITTEE["code"]), _welcome)
        said = await self.say(load, "question", self.text(self.question), _asks)
        self.cited += CITED in said
        form = FormFiller(self.n + 7 * number, self.openid)
        step = form.step(said, set(_numbered(said)))
        while True:
            value = step[1] if step[0] == "text" else _numbered(said)[step[1]]  # a choice: its digit
            submitting, wanted = form.submitted, {}

            def answered(said: str) -> bool:
                if submitting:
                    return reference_in(said) is not None
                wanted["step"] = form.step(said, set(_numbered(said)), opening=False)
                return wanted["step"] is not None

            said = await self.say(load, "filing" if submitting else "form", self.text(value), answered)
            if submitting:
                self.references.append(reference_in(said))
                return
            step = wanted["step"]

    def text(self, content: str) -> str:
        return self.parent.xml("text", f"<Content><![CDATA[{content}]]></Content>")

    def event(self, kind: str, key: str) -> str:
        return self.parent.xml("event", f"<Event><![CDATA[{kind}]]></Event><EventKey><![CDATA[{key}]]></EventKey>",
                               msg_id=0)

    async def say(self, load: Load, step: str, xml: str, enough) -> str:
        """Post ``xml`` (and WeChat's retry of it, for a share); wait until what the bot said to it —
        the passive reply and the customer-service messages after it — is ``enough``; return that."""
        if self.callbacks and load.typing:
            await asyncio.sleep(load.typing)  # reading the reply and typing the next message
        self.callbacks += 1
        message = Message(self.openid, step, time.perf_counter(), retry=load.retry_kind())
        load.messages.append(message)
        heard_before = len(self.heard)
        first = asyncio.create_task(self.post(load, xml, message))
        if message.retry == "in flight":
            await asyncio.sleep(load.rng.uniform(0.005, 0.1))
            if first.done():
                message.retry = "late"  # the turn was quicker than the retry
            await asyncio.gather(first, self.post(load, xml, message))
        else:
            await first
            if message.retry:
                await self.post(load, xml, message)
        deadline = time.monotonic() + READ_TIMEOUT
        quiet_since, heard = time.monotonic(), len(self.heard)
        while True:
            self.read_custom(load.fake)
            said = "\n".join(self.heard[heard_before:])
            if said and not message.heard:
                message.heard = time.perf_counter()
            if len(self.heard) > heard:
                quiet_since, heard = time.monotonic(), len(self.heard)
            if said and (enough(said) or (enough is _asks and time.monotonic() - quiet_since > QUIET)):
                if load.show:
                    how = f"passive reply in {(message.answered - message.started) * 1000:.0f} ms" \
                        if message.passive else "answered 'success'"
                    how += f", retried {message.retry}" if message.retry else ""
                    print(f"--- {self.openid} sent {_content(xml)!r} ({how})\n{said}\n")
                return said
            if time.monotonic() > deadline:
                raise SystemExit(f"{self.openid}: no fitting reply to {_content(xml)!r} within {READ_TIMEOUT:.0f} s; "
                                 f"heard: {said[-200:]!r}")
            await asyncio.sleep(0.02)

    def read_custom(self, fake: FakeWeChat) -> None:
        """The customer-service messages that have come since the last look."""
        texts = fake.texts(self.openid)
        if len(texts) > self.custom:
            self.heard += texts[self.custom:]
            self.custom = len(texts)

    async def post(self, load: Load, xml: str, message: Message) -> None:
        params, body = self.parent.request(xml, self.parent.signed(nonce=secrets.token_hex(5)))
        async with load.client.post(load.url, params=params, data=body,
                                    headers={"content-type": "text/xml"}) as response:
            status, answer = response.status, await response.text()
        now = time.perf_counter()
        if status != 200:
            raise SystemExit(f"{self.openid}: the callback answered {status}: {answer[:100]!r}")
        reply = self.parent.passive_text(status, answer)
        if reply is not None:
            self.read_custom(load.fake)  # those sent before it was answered came first
            message.passive += 1
            message.answered = message.heard = now
            self.heard.append(reply)  # the passive reply comes before the customer-service messages
        elif not message.passive:
            message.answered = max(message.answered, now)


def _welcome(said: str) -> bool:
    """The whole welcome: the committee's greeting, then the menu of what the bot can do."""
    return COMMITTEE["name"] in said and _asks(said)


def _asks(said: str) -> bool:
    """What the bot said ends its turn: it offers numbered choices (the welcome's menu, an answer's
    follow-up questions). A turn that offers none is taken as said after ``QUIET`` s without more."""
    return bool(_numbered(said))


def _numbered(said: str) -> dict[str, str]:
    """The numbered choices in what was said, title → digit (the last list wins)."""
    return {title: number for number, title in NUMBERED.findall(said)}


def _content(xml: str) -> str:
    found = re.search(r"<(?:Content|Event)><!\[CDATA\[(.*?)\]\]>", xml)
    return found.group(1) if found else xml[:40]


async def run(load: Load, followers: list[Follower], rounds: int) -> float:
    """All followers' visits at once (their starts spread evenly over ``load.ramp``); the seconds they took."""
    async def visits(index: int, follower: Follower) -> None:
        await asyncio.sleep(load.ramp * index / len(followers))
        for number in range(rounds):
            await follower.visit(load, number)

    started = time.perf_counter()
    await asyncio.gather(*(visits(index, follower) for index, follower in enumerate(followers)))
    return time.perf_counter() - started


async def drive(url: str, fake: FakeWeChat, followers: list[Follower], rounds: int, **pace) -> tuple[Load, float]:
    """``pace``: Load's retry_share, typing, ramp, show."""
    # a connection per callback, as WeChat's servers make them (no keep-alive to race with the server
    # closing an idle one); the kernel spreads them over the workers' sockets (SO_REUSEPORT)
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as client:
        load = Load(url, client, fake, **pace)
        return load, await run(load, followers, rounds)
