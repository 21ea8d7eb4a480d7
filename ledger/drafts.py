"""Short-lived things a staff user comes back for: form text saved when the session expired
(encrypted, used once) and a parsed checklist upload waiting to be confirmed. Both are found by the
SHA-256 of a random token the browser holds."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ledger.accounts import new_token, token_hash
from ledger.clock import aware, utcnow
from ledger.crypto import DataCipher
from ledger.staff_models import StaffDraft, StagedChecklist

DRAFT_LIFETIME = dt.timedelta(hours=2)
STAGED_LIFETIME = dt.timedelta(hours=2)


# ------------------------------------------------------------------ drafts

def save_draft(*, session: Session, cipher: DataCipher, user_id: int, page: str, fields: dict[str, str],
               now: dt.datetime | None = None) -> str:
    now = now or utcnow()
    token = new_token()
    session.execute(delete(StaffDraft).where(StaffDraft.expires_at < now))
    session.add(StaffDraft(token_hash=token_hash(token), user_id=user_id, page=page[:300],
                           fields_enc=cipher.encrypt(json.dumps(fields, ensure_ascii=False)),
                           created_at=now, expires_at=now + DRAFT_LIFETIME))
    return token


def take_draft(*, session: Session, cipher: DataCipher, token: str | None, user_id: int, page: str,
               now: dt.datetime | None = None) -> dict[str, str] | None:
    """The draft for this user and page (used once), or None."""
    if not token:
        return None
    now = now or utcnow()
    draft = session.scalar(select(StaffDraft).where(StaffDraft.token_hash == token_hash(token)))
    if draft is None or draft.user_id != user_id or draft.page != page:
        return None
    session.delete(draft)
    if aware(draft.expires_at) <= now:
        return None
    try:
        fields = json.loads(cipher.decrypt(draft.fields_enc) or "{}")
    except ValueError:
        return None
    return {str(k): str(v) for k, v in fields.items()} if isinstance(fields, dict) else None


# ------------------------------------------------------------------ staged checklist uploads

def stage_checklist(*, session: Session, user_id: int, source_name: str, yaml_text: str,
                    now: dt.datetime | None = None) -> str:
    now = now or utcnow()
    token = new_token()
    session.execute(delete(StagedChecklist).where(StagedChecklist.expires_at < now))
    session.add(StagedChecklist(token_hash=token_hash(token), user_id=user_id, source_name=source_name[:200],
                                yaml_text=yaml_text, created_at=now, expires_at=now + STAGED_LIFETIME))
    return token


def staged_checklist(*, session: Session, token: str, user_id: int,
                     now: dt.datetime | None = None) -> StagedChecklist | None:
    now = now or utcnow()
    staged = session.scalar(select(StagedChecklist).where(StagedChecklist.token_hash == token_hash(token or "")))
    if staged is None or staged.user_id != user_id or aware(staged.expires_at) <= now:
        return None
    return staged
