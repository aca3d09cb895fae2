"""What every server-rendered page shares: its language, its security headers and its error page.

The passport page, the owner's sign-in pages, the materials page and the market page all answer with
these, so a change to the page's security policy or its error wording is made once.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import HTMLResponse

from api.web.i18n import N_, PageFormat, choose_locale
from api.web.render import page_templates

# The pages draw everything from this origin; nothing inline may run, nothing may frame them.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self'; style-src 'self'; script-src 'self'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: with no-referrer a browser sends "Origin: null" on the page's own form
    # posts (owner sign-in), which the CSRF check must refuse; other sites still get no referrer.
    "Referrer-Policy": "same-origin",
    # Verification is re-run on every view and restricted data depends on the caller: never cache.
    "Cache-Control": "no-store",
    "Vary": "Accept-Language",
}

# The error titles a page can show (``api.errors``'s English titles), so the catalogues translate them;
# a title not listed here is shown as it is.
ERROR_TITLES = frozenset(
    {
        N_("Invalid identifier"),
        N_("Not found"),
        N_("Passport not found"),
        N_("Content not found"),
        N_("Invalid document"),
        N_("Cannot verify"),
        N_("Stored content failed its integrity check"),
        N_("Chain unavailable"),
        N_("Content store unavailable"),
        N_("Service unavailable"),
        N_("Internal error"),
    }
)


def get_page_locale(
    request: Request,
    # Any value is accepted: an unsupported one falls back to the header, then English.
    lang: Annotated[str | None, Query(description="Page language: en or ko")] = None,
) -> str:
    """The page's language (``?lang=``, then ``Accept-Language``, then English)."""
    return choose_locale(lang, request.headers.get("accept-language"))


def page_headers(locale: str) -> dict[str, str]:
    """``PAGE_HEADERS`` with the answer's language."""
    return {**PAGE_HEADERS, "Content-Language": locale}


def error_page(
    request: Request, locale: str, status: int, title: str, detail: str, *, detail_lang: str = "en"
) -> HTMLResponse:
    """An error page; ``detail`` is the service's English wording unless ``detail_lang`` says otherwise."""
    shown = PageFormat(locale).gettext(title) if title in ERROR_TITLES else title
    return page_templates(locale).TemplateResponse(
        request,
        "error.html",
        {"status": status, "title": shown, "detail": detail, "detail_lang": detail_lang},
        status_code=status,
        headers=page_headers(locale),
    )
