"""The owner's sign-in on the passport page (``/p/{id}``): a phone that scanned the QR has no API key.

The owner signs in with the battery's claim code (first time: it creates their owner participant and
burns the code) or with a one-time link (``POST /api/v1/passports/{id}/owner/sign-in-links``), and gets a
short-lived session cookie: ``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no other site's
page sends it), ``Secure`` when served over https. State-changing form posts (sign-in, sign-out) must
come from this origin: ``Origin`` (or, failing that, ``Referer``) is checked, which with
``SameSite=Strict`` closes cross-site request forgery, login CSRF included.

With the session the page shows the SoH chart (the owner may read the ``legitimate_interest`` tier)
and the device history by month, and every such view is logged in the passport's access log.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.access import bearer_token, is_owner
from api.auth import ApiRole, Caller
from api.deps import PassportIdPath
from api.errors import ApiError, Forbidden
from api.owners import READING_KINDS, battery_of, redeem
from api.services import Services
from api.web.render import page_templates
from api.web.responses import error_page, get_page_locale, page_headers
from passport.errors import PassportError
from passport.ids import parse_passport_id, passport_id_bytes32

router = APIRouter(tags=["pages"], include_in_schema=False)

SESSION_COOKIE = "bpl_owner_session"
SESSION_TTL_S = 30 * 60
MAX_FORM_BYTES = 4096


def _services(request: Request) -> Services | None:
    services: Services | None = getattr(request.app.state, "services", None)
    return services


def session_caller(request: Request, services: Services) -> Caller | None:
    """The owner behind the request's session cookie, or None."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 100:
        return None
    name = services.ownership.session_participant(token)
    return None if name is None else services.api_keys.participant(name)


def page_caller(request: Request) -> Caller | None:
    """Who views ``/p/{id}``: the API key's holder, else the signed-in owner, else anonymous."""
    services = _services(request)
    if services is None:
        return None
    token = bearer_token(request)
    if token is not None:
        return services.api_keys.authenticate(token)
    return session_caller(request, services)


def owner_panel(request: Request, passport_id: PassportIdPath) -> dict[str, Any] | None:
    """The page's owner panel: the sign-in form, or (signed in as this battery's owner) its history."""
    services = _services(request)
    if services is None or services.history is None:
        return None
    try:
        pid = parse_passport_id(passport_id)
    except PassportError:
        return None
    base = {"sign_in_action": f"/p/{pid}/sign-in", "sign_out_action": f"/p/{pid}/sign-out"}
    caller = session_caller(request, services)
    if caller is None:  # the common case, a QR scan: no chain read for the form
        return {**base, "signed_in": False}
    record = services.reader.get_passport(passport_id_bytes32(pid))
    if record is None or not is_owner(services, caller, pid, record):
        return {**base, "signed_in": False}
    battery = battery_of(services, pid, record)
    months = services.history.months(battery, kinds=READING_KINDS)
    bindings = services.devices.history(battery_id=battery) if services.devices is not None else []
    services.ownership.log_access(str(pid), caller.name, "owner", "page-history", {"via": "session"})
    return {
        **base,
        "signed_in": True,
        "participant": caller.name,
        "months": months,
        "bindings": [
            {"at": datetime.fromtimestamp(e.at, UTC), "action": e.action, "device_id": e.device_id}
            for e in bindings
        ],
    }


def _same_origin(request: Request, services: Services) -> bool:
    sent = request.headers.get("origin") or request.headers.get("referer")
    if not sent:
        return False
    parts = urlsplit(sent)
    origin = f"{parts.scheme}://{parts.netloc}"
    allowed = {f"{request.url.scheme}://{request.url.netloc}"}
    public = urlsplit(services.settings.public_base_url)
    allowed.add(f"{public.scheme}://{public.netloc}")
    return origin in allowed


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise ApiError("form too large", status=413, title="Request body too large")
    fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
    return {key: values[0] for key, values in fields.items() if values}


def _signed_in(request: Request, pid: uuid.UUID, services: Services, participant: str) -> Response:
    token, _ = services.ownership.start_session(participant, SESSION_TTL_S)
    response = RedirectResponse(f"/p/{pid}", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_TTL_S,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


Locale = Annotated[str, Depends(get_page_locale)]


@router.get("/p/{passport_id}/sign-in", response_class=HTMLResponse)
def sign_in_link_page(
    request: Request,
    passport_id: PassportIdPath,
    locale: Locale,
    token: Annotated[str, Query(min_length=20, max_length=100)],
) -> Response:
    """A one-time link's landing page: a button that posts the token (a GET never consumes it, so link
    previews and prefetchers cannot burn it)."""
    try:
        pid = parse_passport_id(passport_id)
    except PassportError as exc:
        return error_page(request, locale, 400, "Invalid identifier", str(exc))
    return page_templates(locale).TemplateResponse(
        request,
        "owner_sign_in.html",
        {"action": f"/p/{pid}/sign-in", "token": token},
        headers=page_headers(locale),
    )


@router.post("/p/{passport_id}/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request, passport_id: PassportIdPath, locale: Locale) -> Response:
    """Sign the owner in with a claim code (creating their owner participant) or a one-time link token."""
    services = _services(request)
    if services is None:
        return error_page(request, locale, 503, "Service unavailable", "this server has no ledger")
    if not _same_origin(request, services):
        return error_page(request, locale, 403, "Forbidden", "sign-in must be posted from this site's page")
    try:
        pid = parse_passport_id(passport_id)
        form = await _form(request)
        if form.get("token"):
            participant = services.ownership.redeem_sign_in_link(form["token"][:100], str(pid))
        elif form.get("claim_code"):
            code = form["claim_code"][:64]
            target, _ = services.ownership.claim_target(code)
            if target != str(pid):
                raise Forbidden("this claim code belongs to another battery")
            participant = f"owner-{secrets.token_hex(6)}"
            services.api_keys.upsert_participant(participant, [ApiRole.OWNER])
            redeem(services, participant, code)
        else:
            raise ApiError("enter the claim code", status=422, title="Invalid request")
    except ApiError as exc:
        return error_page(request, locale, exc.status, exc.title, exc.detail)
    except PassportError as exc:
        return error_page(request, locale, 400, "Invalid identifier", str(exc))
    return _signed_in(request, pid, services, participant)


@router.post("/p/{passport_id}/sign-out", response_class=HTMLResponse)
def sign_out(request: Request, passport_id: PassportIdPath, locale: Locale) -> Response:
    """End the owner's session and clear the cookie."""
    services = _services(request)
    if services is None or not _same_origin(request, services):
        return error_page(request, locale, 403, "Forbidden", "sign-out must be posted from this site's page")
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        services.ownership.end_session(token[:100])
    response = RedirectResponse(f"/p/{passport_id}", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response
