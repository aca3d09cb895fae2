"""``GET /p/{passport_id}/materials``: the passport's recycled content per metal with the certificate chain
behind each figure (verified on every view, hop by hop), and its carbon footprint per life-cycle stage
as a bar chart. Server-rendered like the passport page, same headers, English or Korean."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from api.deps import PassportIdPath
from api.errors import _library_status
from api.services import Services
from api.web.i18n import choose_locale
from api.web.render import page_templates
from api.web.responses import error_page, page_headers
from passport.errors import PassportError
from passport.ids import parse_passport_id
from passport.materials import collect_evidence, verify_evidence
from passport.materials.targets import EU_TARGETS_2031, EU_TARGETS_2036
from passport.model.carbon import LIFECYCLE_STAGES
from passport.model.circularity import RecycledContentShare

log = logging.getLogger(__name__)

router = APIRouter(tags=["pages"])

_BAR_WIDTH = 300  # px of the longest stage bar


@dataclass(frozen=True)
class StageBar:
    stage: str
    value: float
    width: int
    y: int


def stage_bars(values: dict[str, float | None]) -> list[StageBar]:
    """One bar per stage with a value, scaled to the largest (an SVG with presentation attributes only:
    the page's CSP allows no inline style)."""
    known = {stage: v for stage, v in values.items() if v is not None}
    top = max(known.values(), default=0.0) or 1.0
    return [
        StageBar(stage, value, max(1, round(_BAR_WIDTH * value / top)), 8 + 28 * i)
        for i, (stage, value) in enumerate(known.items())
    ]


@router.get("/p/{passport_id}/materials", response_class=HTMLResponse, include_in_schema=False)
def get_materials_page(
    request: Request,
    passport_id: PassportIdPath,
    lang: Annotated[str | None, Query(description="Page language: en or ko")] = None,
) -> HTMLResponse:
    locale = choose_locale(lang, request.headers.get("accept-language"))
    services: Services | None = getattr(request.app.state, "services", None)
    if services is None:
        return error_page(request, locale, 503, "Service unavailable", "this server has no ledger")
    try:
        document = services.current_document(parse_passport_id(passport_id))
        shares: list[RecycledContentShare] = list(document.circularity.recycled_content)
        checks = None
        if any(s.usage_certificate is not None for s in shares) and services.material_ledger_address:
            service = services.materials_for(None)
            evidence = collect_evidence(
                shares, store=service.store, ledger=service.ledger, chain=services.reader
            )
            checks = verify_evidence(evidence, trusted_certifiers=services.trusted_certifiers)
    except PassportError as exc:
        status, title = _library_status(exc)
        if status >= 500:
            log.error("materials page %s failed: %r", passport_id, exc)
        return error_page(request, locale, status, title, str(exc))
    carbon = document.carbon_footprint
    return page_templates(locale).TemplateResponse(
        request,
        "materials.html",
        {
            "passport_id": str(document.passport_id),
            "shares": shares,
            "targets": {e.value: (EU_TARGETS_2031[e], EU_TARGETS_2036[e]) for e in EU_TARGETS_2031},
            "checks": checks,
            "carbon": carbon,
            "bars": stage_bars(carbon.stage_values()),
            "stages": LIFECYCLE_STAGES,
        },
        headers=page_headers(locale),
    )
