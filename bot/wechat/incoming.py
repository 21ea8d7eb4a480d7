"""What a WeChat callback means for the engine: wechatpy's parsed message or event → text, or an
event in the turn's metadata (docs/architecture.md, "How to add a channel"), or no turn at all.

- text → the text (a tapped item of a menu message carries its id, ``bizmsgmenuid``); voice → WeChat's transcription (``Recognition``) when the account has speech
  recognition on and it heard something, else a polite line and no turn (nothing is stored);
- location → the district it falls in (the same reverse geocoder as Telegram's; WeChat's map gives
  GCJ-02 coordinates, converted to WGS-84 first), the engine's ``location`` event;
- image, video, link… → the engine's ``unsupported`` event, named for the parent;
- subscribe → the engine's ``start`` event (the welcome), with the committee's code when the parent
  followed through a committee's QR code (``qrscene_<code>``), like a Telegram deep link; SCAN (an
  existing follower scanning one) the same; unsubscribe → no turn: nothing more is pushed to them;
- a menu click → the command its key names (``MENU_KEYS``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wechatpy import events, messages

from bot.channel import referral_code
from nlu.reverse_geo import reverse_geocode

# The custom menu's click keys (自定义菜单, EventKey) → what the engine reads.
MENU_KEYS = {"ask": "/help", "apply": "/request_assistance", "status": "/check_status",
             "privacy": "/privacy", "delete": "/delete_data", "person": "/human_handoff", "help": "/help"}
# What the bot cannot read yet, named for the parent (the engine says it only reads text).
MEDIA_KINDS = {"image": "图片", "video": "视频", "shortvideo": "小视频", "link": "链接", "file": "文件",
               "miniprogrampage": "小程序卡片"}
NOT_HEARD = ("抱歉，这条语音我没能听清。请用文字再发一次，比如“孩子在这边上小学要带什么材料”。"
             "如果孩子现在有危险，请立即拨打 110；有人受伤请拨打 120。")


@dataclass
class Incoming:
    """One callback, translated: a turn (``text``/``metadata``), or ``answer`` said at once without a
    turn, or ``unsubscribed``; nothing set: answered with "success" and forgotten."""

    text: str | None = None
    metadata: dict = field(default_factory=dict)
    answer: str | None = None
    unsubscribed: bool = False
    menu_id: str | None = None  # a customer-service menu's item tapped: its id

    @property
    def turn(self) -> bool:
        return self.text is not None or bool(self.metadata)


def raw(message, name: str) -> str:
    """A field of the callback that wechatpy has no attribute for (it keeps the parsed XML's fields)."""
    value = getattr(message, "_data", {}).get(name)
    return value if isinstance(value, str) else ""


def translate(message) -> Incoming:
    """Runs the reverse geocoder for a location: call it off the event loop."""
    if isinstance(message, messages.TextMessage):
        return Incoming(text=message.content or "", menu_id=raw(message, "bizmsgmenuid") or None)
    if isinstance(message, messages.VoiceMessage):
        heard = (message.recognition or "").strip()
        return Incoming(text=heard) if heard else Incoming(answer=NOT_HEARD)
    if isinstance(message, messages.LocationMessage):
        return Incoming(metadata={"event": {"type": "location", "locality": _locality(message)}})
    if isinstance(message, (events.SubscribeScanEvent, events.ScanEvent)):
        return _start(message.scene_id)
    if isinstance(message, events.SubscribeEvent):
        return _start(None)
    if isinstance(message, events.UnsubscribeEvent):
        return Incoming(unsubscribed=True)
    if isinstance(message, events.ClickEvent):
        return Incoming(text=MENU_KEYS.get((message.key or "").strip().lower(), "/help"))
    if isinstance(message, events.BaseEvent) or raw(message, "MsgType").lower() == "event":
        return Incoming()  # menu links, reported locations, template receipts…: nothing to answer
    kind = raw(message, "MsgType").lower()
    return Incoming(metadata={"event": {"type": "unsupported", "what": MEDIA_KINDS.get(kind)}})


def _start(scene: str | None) -> Incoming:
    return Incoming(metadata={"event": {"type": "start", "referral": referral_code(scene)}})


def _locality(message) -> str | None:
    try:
        latitude, longitude = float(message.location_x), float(message.location_y)
    except (TypeError, ValueError):
        return None
    from GeoToolCN import gcj02_to_wgs84  # the boundary data's package (~80 ms to import: only when used)

    longitude, latitude = gcj02_to_wgs84(longitude, latitude)
    found = reverse_geocode(latitude, longitude)
    return found.code if found else None


def identity(message) -> str:
    """What makes a callback the same one again when WeChat retries it: a message's MsgId; an
    event's sender, time and kind (events have no MsgId)."""
    if message.id:
        return f"msg:{message.id}"
    return f"event:{message.source}:{message.time}:{raw(message, 'Event').lower()}:{raw(message, 'EventKey')}"
