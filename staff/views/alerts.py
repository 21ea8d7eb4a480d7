"""Acknowledging a duty alert: the link in the alert (after login) and the button on the urgent
record's page. The first acknowledgement stops the ladder (``ledger.alerting``); the link is signed and
expires, and once the alert is acknowledged it only leads to the record."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from ledger import alerting
from ledger.cases import case_visible
from ledger.duty_models import AlertDelivery, UrgentAlert
from ledger.models import UrgentRecord
from staff.auth import require_staff
from staff.common import PREFIX, Forbidden, NotFound, Staff, runtime

router = APIRouter()


def may_open(session, record: UrgentRecord, staff: Staff) -> bool:
    """Staff whose area the record lies in, and whoever its ladder alerted (a community's child
    director on the street's roster is alerted about the street's other communities too)."""
    return case_visible(session, record, staff.area) or alerting.is_recipient(session, record.id, staff.id)


@router.get("/alerts/ack/{token}", name="staff_alert_ack")
def acknowledge_by_link(request: Request, token: str, staff: Staff = Depends(require_staff)):
    rt = runtime(request)
    try:
        delivery_id = alerting.read_ack_token(rt.cipher, token)
    except alerting.BadLink as error:
        raise Forbidden(str(error)) from None
    with rt.db.session() as session:
        delivery = session.get(AlertDelivery, delivery_id)
        alert = session.get(UrgentAlert, delivery.alert_id) if delivery else None
        record = session.get(UrgentRecord, alert.urgent_record_id) if alert else None
        if record is None or not may_open(session, record, staff):
            raise NotFound()
        first = alerting.acknowledge(session, alert=alert, username=staff.username, how=f"link:step{delivery.step + 1}")
    return RedirectResponse(f"{PREFIX}/urgent/{record.id}?ack={'done' if first else 'already'}", status_code=303)


@router.post("/urgent/{record_id}/acknowledge", name="staff_alert_ack_button")
def acknowledge_on_page(request: Request, record_id: int, staff: Staff = Depends(require_staff)):
    rt = runtime(request)
    with rt.db.session() as session:
        record = session.get(UrgentRecord, record_id)
        if record is None or not may_open(session, record, staff):
            raise NotFound()
        alert = alerting.alert_of_record(session, record.id)
        if alert is None:
            raise NotFound("这条紧急记录没有发出值班提醒。")
        first = alerting.acknowledge(session, alert=alert, username=staff.username, how="page")
    return RedirectResponse(f"{PREFIX}/urgent/{record_id}?ack={'done' if first else 'already'}", status_code=303)
