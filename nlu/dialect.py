"""Southern dialect words written in characters, read as Mandarin by the classifiers.

Parents from Guangdong, Guangxi, Fujian, Shanghai and Zhejiang often type as they speak:
Cantonese ("个仔跌咗落水 冇气", "细路成日俾佢老豆打"), Hokkien ("囡仔伫厝内 老母三工无转来") or
Wu ("今朝夜里", "辰光", "侬").
The safety net's patterns, its clause model and the intent classifier were written and trained
on Mandarin, so before they read a message its common dialect words are replaced by their
Mandarin equivalents.

Every replacement keeps the length, so the places where danger is found (``danger_spans``)
still point into the message as the parent wrote it. Entities, retrieval and the reply use the
text as written.
"""

from __future__ import annotations

import re

# Longer words first (the regular expression tries them in this order).
WORDS: dict[str, str] = {
    # Cantonese
    "唔见咗": "不见了", "唔该": "谢谢", "冇反应": "没反应", "点算好": "咋办好", "点算": "咋办", "点办": "咋办",
    "啱啱": "刚刚", "而家": "现在", "头先": "刚才", "成日": "整天", "隔篱": "隔壁", "边度": "哪里",
    "细路": "小孩", "个仔": "儿子", "个女": "女儿", "老豆": "爸爸", "老窦": "爸爸", "阿爸": "爸爸",
    "佢哋": "他们", "我哋": "我们", "跌咗": "摔了", "唔识": "不会", "唔肯": "不肯", "唔好": "不要",
    "冇": "没", "咗": "了", "喺": "在", "佢": "他", "嘅": "的", "係": "是", "唔": "不", "揾": "找",
    "搵": "找", "瞓": "睡", "睇": "看", "畀": "给", "俾": "被", "嚟": "来", "攞": "拿", "啲": "些",
    "咁": "这", "乜": "啥", "冚": "全", "返": "回", "好似": "好像", "打紧": "在打", "哭紧": "在哭",
    "饮": "喝", "食": "吃", "成樽": "一瓶", "屋企": "家里",
    # Wu (Shanghai, Zhejiang)
    "辰光": "时候", "今朝": "今天", "明朝": "明天", "昨日": "昨天", "阿拉": "我们", "侬": "你",
    "勿": "不", "覅": "别", "物事": "东西", "老早": "很早", "伊拉": "他们",
    # Hokkien (Minnan)
    "囡仔": "孩子", "囝仔": "孩子", "家己": "自己", "老母": "妈妈", "老爸": "爸爸", "转来": "回来",
    "厝边": "邻居", "厝内": "家里", "一工": "一天", "两工": "两天", "三工": "三天", "几工": "几天",
    "跋落": "掉进", "跋倒": "摔倒", "无": "没", "伫": "在", "厝": "家", "伊": "他", "矣": "了", "甲": "得",
}
_PATTERN = re.compile("|".join(re.escape(w) for w in sorted(WORDS, key=len, reverse=True)))
_SOUTHERN = re.compile("[冇咗喺佢嘅係唔揾搵瞓睇畀嚟攞啲伫厝囡囝矣阮侬覅]|啱啱|而家|屋企|老豆|细路|个仔|家己|转来|跋落|"
                       "辰光|今朝|阿拉|伊拉")

assert all(len(k) == len(v) for k, v in WORDS.items()), "replacements must keep the length"


def to_mandarin(text: str) -> str:
    """``text`` with its Cantonese, Wu and Hokkien words in Mandarin, same length; a message with
    no marker word is returned as it is (伊, 甲, 咁, 无 alone are also Mandarin characters)."""
    if not _SOUTHERN.search(text):
        return text
    return _PATTERN.sub(lambda m: WORDS[m.group()], text)
