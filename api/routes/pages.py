"""``GET /p/{passport_id}``: the page a battery's QR code opens, for buyers, owners and inspectors.

Plain server-rendered HTML with one small optional script: it has to work on any phone, offline from
any CDN, with JavaScript off. Errors are pages too (a person scanned a label; a JSON problem document
would mean nothing to them), with the same status codes the API uses.

Two override points let the application plug in the real services:

* ``app.state.page_source``: a ``PassportPageSource`` (``create_app(page_source=…)`` sets it);
* ``get_page_caller``: who is looking. Anonymous (``None``) by default, since a QR scan carries no API
  key; ``app.state.page_caller`` (a function of the request) recognises signed-in owners.

Pages are in English or Korean (``api.web.i18n``): ``?lang=`` wins, then ``Accept-Language``, then
English. Error pages follow the same choice.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from api.auth import Caller
from api.deps import PassportIdPath
from api.errors import ApiError, _library_status
from api.services import Services
from api.web.chart import soh_chart
from api.web.i18n import PageFormat
from api.web.market_chart import price_chart
from api.web.render import STATIC_DIR, page_templates
from api.web.responses import error_page, get_page_locale, page_headers
from api.web.views import PassportPageSource, PassportPageView, latest_health, sorted_health
from passport.errors import PassportError
from passport.ids import parse_passport_id

log = logging.getLogger(__name__)

router = APIRouter(tags=["pages"])

# The statuses the page answers with besides 200, each as an HTML page (a person is reading it).
_PAGE_ERRORS = {
    400: "Malformed passport id",
    404: "No such passport",
    502: "Stored content failed its integrity check",
    503: "The ledger cannot be reached",
}


class PagesNotConfigured(ApiError):
    """Raised when a page is requested but the application has no ``PassportPageSource``."""

    status = 503
    title = "Service unavailable"


def get_page_source(request: Request) -> PassportPageSource:
    source: PassportPageSource | None = getattr(request.app.state, "page_source", None)
    if source is None:
        raise PagesNotConfigured("passport pages are not configured on this server")
    return source


def get_page_caller(request: Request) -> Caller | None:
    """Who is viewing the page: ``app.state.page_caller(request)`` when the application set one, else
    anonymous. (Not ``dependency_overrides``: with any override registered, FastAPI re-analyses every
    dependency of every route on every request, which cost ~10 ms a request here. Tests still override.)"""
    identify = getattr(request.app.state, "page_caller", None)
    return None if identify is None else cast(Caller | None, identify(request))


def get_owner_panel(request: Request) -> dict[str, Any] | None:
    """The owner's sign-in form or history under the chart: ``app.state.owner_panel(request, passport_id)``
    when the application set one (``api.routes.owner_pages``), else none."""
    panel = getattr(request.app.state, "owner_panel", None)
    if panel is None:
        return None
    return cast(dict[str, Any] | None, panel(request, str(request.path_params.get("passport_id", ""))))


def static_files() -> StaticFiles:
    """The page's stylesheet and script, mounted at ``/static`` (no CDN is reachable or wanted)."""
    return StaticFiles(directory=STATIC_DIR)


def _render(
    request: Request, locale: str, view: PassportPageView, owner_panel: dict[str, Any] | None = None
) -> HTMLResponse:
    health = sorted_health(view.health) if view.health is not None else None
    return page_templates(locale).TemplateResponse(
        request,
        "passport.html",
        {
            "view": view,
            "health": health,
            "latest": latest_health(view),
            "chart": soh_chart(health, PageFormat(locale)) if health else None,
            "owner_panel": owner_panel,
        },
        headers=page_headers(locale),
    )


# A plain ``def``: FastAPI runs it in a worker thread, so a source that blocks on the chain or the store
# does not stall the event loop.
@router.get(
    "/p/{passport_id}",
    response_class=HTMLResponse,
    responses={
        status: {"description": f"{title} (an HTML error page)", "content": {"text/html": {}}}
        for status, title in _PAGE_ERRORS.items()
    },
)
def get_passport_page(
    request: Request,
    passport_id: PassportIdPath,
    source: Annotated[PassportPageSource, Depends(get_page_source)],
    caller: Annotated[Caller | None, Depends(get_page_caller)],
    locale: Annotated[str, Depends(get_page_locale)],
    owner_panel: Annotated[dict[str, Any] | None, Depends(get_owner_panel)],
) -> HTMLResponse:
    try:
        view = source.page_view(str(parse_passport_id(passport_id)), caller)
    except ApiError as exc:
        return error_page(request, locale, exc.status, exc.title, exc.detail)
    except PassportError as exc:
        status, title = _library_status(exc)
        detail, detail_lang = str(exc), "en"
        if status >= 500:
            # Server-side failures (chain or store down) keep their cause in the log, not on the page.
            log.error("passport page %s failed: %r", passport_id, exc)
            detail = PageFormat(locale).gettext("The ledger cannot be reached right now; try again later.")
            detail_lang = locale
        return error_page(request, locale, status, title, detail, detail_lang=detail_lang)
    return _render(request, locale, view, owner_panel)


@router.get(
    "/market",
    response_class=HTMLResponse,
    responses={
        503: {
            "description": "The ledger cannot be reached (an HTML error page)",
            "content": {"text/html": {}},
        }
    },
)
def get_market_page(request: Request, locale: Annotated[str, Depends(get_page_locale)]) -> HTMLResponse:
    """The market page: active listings and the public price index with its chart."""
    services: Services | None = getattr(request.app.state, "services", None)
    if services is None:
        return error_page(
            request, locale, 503, "Service unavailable", "this server is not connected to a ledger"
        )
    market = services.market()
    try:
        listings = market.listings()
        index = market.price_index()
    except PassportError as exc:
        log.error("market page failed: %r", exc)
        detail = PageFormat(locale).gettext("The ledger cannot be reached right now; try again later.")
        return error_page(request, locale, 503, "Service unavailable", detail, detail_lang=locale)
    return page_templates(locale).TemplateResponse(
        request,
        "market.html",
        {"listings": listings, "index": index, "chart": price_chart(index)},
        headers=page_headers(locale),
    )
