"""Sign-in, sessions, CSRF and drafts.

- The session cookie holds a random token; the database keeps only its SHA-256, with idle
  (30 min) and absolute (12 h) expiry. Cookie: HttpOnly, SameSite=Strict, Path=/staff,
  Secure on https (or in production / when ``settings.staff.secure_cookies`` is set).
- Every POST carries ``csrf_token``: a keyed hash of the session token, compared in constant
  time. The login form uses a double-submit cookie instead (there is no session yet).
- A POST that arrives after the session expired is not lost: if its CSRF token matches the
  expired session, the typed note fields are kept encrypted in ``staff_drafts`` for two hours,
  and the form is filled in again after the user signs in and returns to the page.
- Logins are throttled per (user name, client) and per client, never per user name alone
  (``staff/throttle.py``); the password is checked outside any database transaction.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from ledger import drafts
from ledger.accounts import (ABSOLUTE_TIMEOUT, PERMISSIONS, check_password, create_session, finish_login, load_session,
                             login_candidate, revoke_session)
from ledger.areas import area_name
from ledger.audit import audit
from staff.common import (DRAFT_COOKIE, LOGIN_CSRF_COOKIE, PREFIX, SESSION_COOKIE, Forbidden, LoginRequired, Staff,
                          client_ip, is_secure, render, runtime, safe_next)
from staff.throttle import LoginThrottle

router = APIRouter()

# Fields a draft may keep: what staff type into the casework forms (never passwords or tokens).
DRAFT_FIELDS = ("_form", "status", "note", "first_visit_on", "visited_on", "visitor", "findings", "next_visit_on",
                "review_done")
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def csrf_for(cipher, session_token: str) -> str:
    return cipher.lookup_hash("staff-csrf:" + session_token)


def _same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a).encode("utf-8"), str(b).encode("utf-8"))


def set_cookie(request: Request, response, name: str, value: str, *, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, path=PREFIX, httponly=True, samesite="strict",
                        secure=is_secure(request))


def _load(rt, token: str | None):
    with rt.db.session() as session:
        state = load_session(session=session, token=token)
        user = state.user
        snapshot = None
        if user is not None:
            snapshot = (user.id, user.username, user.display_name, user.role, user.area_code)
        return state.kind, snapshot


def _stash_draft(rt, user_id: int, page: str, fields: dict[str, str]) -> str:
    with rt.db.session() as session:
        return drafts.save_draft(session=session, cipher=rt.cipher, user_id=user_id, page=page, fields=fields)


async def require_staff(request: Request) -> Staff:
    """The signed-in user; POSTs must carry the session's CSRF token. Otherwise: to the login page."""
    rt = runtime(request)
    token = request.cookies.get(SESSION_COOKIE)
    kind, snapshot = await run_in_threadpool(_load, rt, token)
    unsafe = request.method not in _SAFE_METHODS
    if kind == "valid":
        user_id, username, display_name, role, area = snapshot
        staff = Staff(id=user_id, username=username, display_name=display_name or "", role=role, area=area,
                      csrf_token=csrf_for(rt.cipher, token),
                      permissions=PERMISSIONS.get(role, frozenset()), area_label=area_name(area, areas=rt.areas))
        request.state.staff = staff
        if unsafe:
            form = await request.form()
            if not _same(form.get("csrf_token"), staff.csrf_token):
                raise Forbidden("安全校验未通过（表单已过期或来源不明）。请返回上一页，刷新后重新提交。")
        return staff
    if not unsafe:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target, expired=kind == "expired")
    form = await request.form()
    page = safe_next(form.get("_page") if isinstance(form.get("_page"), str) else None)
    draft = None
    if kind == "expired" and snapshot is not None and _same(form.get("csrf_token"), csrf_for(rt.cipher, token)):
        fields = {name: form.get(name) for name in DRAFT_FIELDS if isinstance(form.get(name), str)}
        if any(v.strip() for k, v in fields.items() if k != "_form"):
            draft = await run_in_threadpool(_stash_draft, rt, snapshot[0], page.split("?")[0], fields)
    raise LoginRequired(page, draft_token=draft, expired=kind == "expired")


def need(permission: str):
    """A dependency: the signed-in user, who must hold ``permission``."""

    async def dependency(staff: Staff = Depends(require_staff)) -> Staff:
        if not staff.can(permission):
            raise Forbidden("您的账号没有这项操作的权限。如需开通，请联系系统管理员。")
        return staff

    return dependency


def take_draft(request: Request, staff: Staff, session) -> dict[str, str] | None:
    """The form text saved when the session expired on this page (once), else None."""
    token = request.cookies.get(DRAFT_COOKIE)
    if not token:
        return None
    request.state.clear_draft = True
    return drafts.take_draft(session=session, cipher=runtime(request).cipher, token=token, user_id=staff.id,
                             page=request.url.path)


# ------------------------------------------------------------------ login and logout

def _login_page(request: Request, *, next_path: str, error: str = "", username: str = "", status_code: int = 200):
    token = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not token or len(token) > 100:
        token = secrets.token_urlsafe(32)
    expired = request.query_params.get("expired") == "1"
    response = render(request, "login.html", {
        "next": next_path, "error": error, "username": username, "login_csrf": token, "expired": expired,
        "has_draft": bool(request.cookies.get(DRAFT_COOKIE)), "bye": request.query_params.get("bye") == "1",
        "user": None,
    }, status_code=status_code)
    set_cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


@router.get("/login", name="staff_login")
async def login_form(request: Request):
    next_path = safe_next(request.query_params.get("next"))
    kind, _ = await run_in_threadpool(_load, runtime(request), request.cookies.get(SESSION_COOKIE))
    if kind == "valid":
        return RedirectResponse(next_path, status_code=303)
    return _login_page(request, next_path=next_path)


def _authenticate(rt, throttle: LoginThrottle, username: str, password: str, ip: str, agent: str,
                  old_token: str | None):
    """Check a password (outside any transaction: argon2 takes ~100 ms and 64 MiB), then record the
    outcome in a short transaction; the throttle's counts are written after it."""
    with rt.db.session() as session:
        candidate = login_candidate(session, username)
    check = check_password(candidate, password)
    with rt.db.session() as session:
        result = finish_login(session=session, username=username, candidate=candidate, check=check,
                              client_ip=ip)
        token = None
        if result.user is not None:
            if old_token:
                revoke_session(session=session, token=old_token)
            token = create_session(session=session, user=result.user, client_ip=ip, user_agent=agent)
    if token is None:
        throttle.failed(username, ip)
        return None, result.error
    throttle.succeeded(username, ip)
    return token, None


def _admit(rt, throttle: LoginThrottle, username: str, ip: str):
    admission = throttle.admit(username, ip)
    if not admission.allowed or admission.first_alarm:
        with rt.db.session() as session:
            audit(session, actor=username[:64] or "-",
                  action="login.throttled" if not admission.allowed else "login.under_attack",
                  target=f"ip:{ip}"[:80])
    return admission


@router.post("/login")
async def login(request: Request):
    form = await request.form()
    next_path = safe_next(form.get("next") if isinstance(form.get("next"), str) else None)
    username = form.get("username") if isinstance(form.get("username"), str) else ""
    password = form.get("password") if isinstance(form.get("password"), str) else ""
    if not _same(form.get("csrf_token"), request.cookies.get(LOGIN_CSRF_COOKIE)):
        return _login_page(request, next_path=next_path, username=username, status_code=403,
                           error="登录页面已过期，请重新输入用户名和密码后提交。")
    if not username.strip() or not password:
        return _login_page(request, next_path=next_path, username=username, status_code=400,
                           error="请输入用户名和密码。")
    rt, ip = runtime(request), client_ip(request)
    username = username.strip()[:64]
    throttle = LoginThrottle(rt.limiter)
    admission = await run_in_threadpool(_admit, rt, throttle, username, ip)
    if not admission.allowed:
        minutes = max(1, -(-admission.retry_after // 60))
        response = _login_page(request, next_path=next_path, username=username, status_code=429,
                               error=f"这台设备登录失败次数过多，请 {minutes} 分钟后再试。")
        response.headers["Retry-After"] = str(admission.retry_after)
        return response
    if admission.delay:  # the account is under attack: every attempt waits, without holding a thread
        await asyncio.sleep(admission.delay)
    token, error = await run_in_threadpool(_authenticate, rt, throttle, username, password, ip,
                                           request.headers.get("user-agent", ""),
                                           request.cookies.get(SESSION_COOKIE))
    if token is None:
        return _login_page(request, next_path=next_path, username=username, error=error or "", status_code=401)
    response = RedirectResponse(next_path, status_code=303)
    set_cookie(request, response, SESSION_COOKIE, token, max_age=int(ABSOLUTE_TIMEOUT.total_seconds()))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=PREFIX, secure=is_secure(request), httponly=True,
                           samesite="strict")
    return response


def _logout(rt, token: str, actor: str):
    with rt.db.session() as session:
        revoke_session(session=session, token=token)
        audit(session, actor=actor, action="logout", target=f"user:{actor}")


@router.post("/logout")
async def logout(request: Request, staff: Staff = Depends(require_staff)):
    await run_in_threadpool(_logout, runtime(request), request.cookies.get(SESSION_COOKIE, ""), staff.username)
    response = RedirectResponse(f"{PREFIX}/login?bye=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=PREFIX, secure=is_secure(request), httponly=True, samesite="strict")
    return response
