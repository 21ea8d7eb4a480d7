"""What a new version of a checklist changes, in words staff can check before publishing.

Items are matched across versions by what they are, not by their ids (a row inserted in a table
renumbers everything after it): the same title first, then the most similar text (character
bigrams, ``nlu.overlap.similarity``, at least ``SAME_ITEM``). Each matched pair lists the fields that
changed; a changed text is shown as runs of kept, removed and added characters.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from knowledge.categories import label
from knowledge.schema import Checklist, ChecklistItem
from nlu.overlap import similarity

SAME_ITEM = 0.45  # bigram Jaccard of title + content at which two items are one item changed
FIELDS = (("category", "类别"), ("title", "名称"), ("service_object", "服务对象"), ("content", "内容"),
          ("departments", "责任单位"), ("how_to_apply", "办理渠道"), ("materials", "材料"), ("clause", "条款"))
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Run:
    """A run of characters: ``kind`` is "same", "removed" or "added"."""

    kind: str
    text: str


@dataclass(frozen=True)
class FieldChange:
    name: str  # the field's label (内容)
    old: str
    new: str
    runs: tuple[Run, ...]  # old → new, character by character


@dataclass(frozen=True)
class ItemChange:
    old: ChecklistItem
    new: ChecklistItem
    fields: tuple[FieldChange, ...]


@dataclass(frozen=True)
class Changes:
    """A new version against the version it replaces (``old`` None: a new checklist)."""

    added: tuple[ChecklistItem, ...] = ()
    removed: tuple[ChecklistItem, ...] = ()
    changed: tuple[ItemChange, ...] = ()
    unchanged: int = 0
    header: tuple[FieldChange, ...] = field(default_factory=tuple)

    @property
    def any(self) -> bool:
        return bool(self.added or self.removed or self.changed or self.header)

    def summary(self) -> str:
        """新增 2 条，删除 1 条，修改 3 条，未变 14 条."""
        return (f"新增 {len(self.added)} 条，删除 {len(self.removed)} 条，修改 {len(self.changed)} 条，"
                f"未变 {self.unchanged} 条")


def _shown(item: ChecklistItem, name: str) -> str:
    value = getattr(item, name)
    if name == "category":
        return label(value)
    if isinstance(value, list):
        return "、".join(value)
    return str(value)


def _key(text: str) -> str:
    return _SPACE.sub("", text)


def runs(old: str, new: str) -> tuple[Run, ...]:
    """``old`` → ``new`` as runs of kept, removed and added characters."""
    out: list[Run] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            out.append(Run("same", old[a0:a1]))
            continue
        if a1 > a0:
            out.append(Run("removed", old[a0:a1]))
        if b1 > b0:
            out.append(Run("added", new[b0:b1]))
    return tuple(out)


def _field_changes(old: ChecklistItem, new: ChecklistItem) -> tuple[FieldChange, ...]:
    out = []
    for name, shown_name in FIELDS:
        before, after = _shown(old, name), _shown(new, name)
        if _key(before) != _key(after):
            out.append(FieldChange(shown_name, before, after, runs(before, after)))
    return tuple(out)


def _header_changes(old: Checklist, new: Checklist) -> tuple[FieldChange, ...]:
    out = []
    for name, shown_name in (("title", "标题"), ("issuer", "发布机关"), ("doc_number", "文号"),
                             ("published", "发布日期")):
        before, after = str(getattr(old.header, name) or ""), str(getattr(new.header, name) or "")
        if before != after:
            out.append(FieldChange(shown_name, before, after, runs(before, after)))
    if old.header.locality.code != new.header.locality.code:
        before, after = old.header.locality.name, new.header.locality.name
        out.append(FieldChange("适用地区", before, after, runs(before, after)))
    return tuple(out)


def compare(old: Checklist | None, new: Checklist) -> Changes:
    """What ``new`` adds, removes and changes against ``old``."""
    if old is None:
        return Changes(added=tuple(new.items))
    remaining = list(old.items)
    pairs: list[tuple[ChecklistItem, ChecklistItem]] = []
    unmatched: list[ChecklistItem] = []
    for item in new.items:  # the same name first
        twin = next((o for o in remaining if _key(o.title) == _key(item.title)), None)
        if twin is None:
            unmatched.append(item)
        else:
            remaining.remove(twin)
            pairs.append((twin, item))
    added = []
    scored = sorted(((similarity(o.title + o.content, n.title + n.content), i, j)
                     for j, n in enumerate(unmatched) for i, o in enumerate(remaining)), reverse=True)
    taken_old, taken_new = set(), set()
    for score, i, j in scored:  # then the most similar text, best pairs first
        if score < SAME_ITEM:
            break
        if i in taken_old or j in taken_new:
            continue
        taken_old.add(i)
        taken_new.add(j)
        pairs.append((remaining[i], unmatched[j]))
    added = [n for j, n in enumerate(unmatched) if j not in taken_new]
    removed = [o for i, o in enumerate(remaining) if i not in taken_old]
    order = {item.id: n for n, item in enumerate(new.items)}
    changed, unchanged = [], 0
    for before, after in sorted(pairs, key=lambda pair: order[pair[1].id]):
        fields = _field_changes(before, after)
        if fields:
            changed.append(ItemChange(before, after, fields))
        else:
            unchanged += 1
    return Changes(tuple(added), tuple(removed), tuple(changed), unchanged, _header_changes(old, new))
