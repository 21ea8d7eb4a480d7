"""For administrators: the audit log and the list of accounts."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from ledger.accounts import list_users
from ledger.audit import audit_page
from staff.auth import need
from staff.common import FormErrors, Staff, page_number, query_date, render, runtime, text_field

router = APIRouter()

AUDIT_ACTIONS = {
    "": "全部", "login": "登录与退出", "request.view": "查看申请详情", "request.status": "变更申请状态",
    "visit": "登记走访", "urgent": "紧急记录", "handoff": "人工协助请求", "ledger.export": "导出台账",
    "committee": "居委会与海报", "knowledge": "知识库发布", "user": "账号管理", "request.create": "家长提交申请",
}


@router.get("/audit", name="staff_audit")
def audit_log(request: Request, staff: Staff = Depends(need("audit"))):
    params = request.query_params
    errors = FormErrors()
    actor = text_field(params, "actor", errors, label="操作人", max_length=64)
    action = params.get("action", "")
    if action not in AUDIT_ACTIONS:
        errors.add("action", "请选择列表中的操作类型。")
        action = ""
    target = text_field(params, "target", errors, label="对象", max_length=80)
    since = query_date(request, "since", errors, "开始日期")
    until = query_date(request, "until", errors, "结束日期")
    with runtime(request).db.session() as session:
        page = audit_page(session=session, page=page_number(request), actor=actor, action=action,
                          target=target, since=since, until=until, user_area=staff.area)
    return render(request, "audit.html", {"page": page, "actions": AUDIT_ACTIONS, "errors": errors,
                                          "values": dict(params)}, status_code=400 if errors else 200)


@router.get("/users", name="staff_users")
def users(request: Request, staff: Staff = Depends(need("users"))):
    with runtime(request).db.session() as session:
        rows = list_users(session, staff.area)
    return render(request, "users.html", {"rows": rows})
