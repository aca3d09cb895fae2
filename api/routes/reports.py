"""``GET /passports/{id}/report``: the provenance report a buyer keeps (PDF or HTML).

Public: it shows what the passport's public facts and the holder-visible summary disclose to a buyer
(grade, inspections, incidents), the verification result and the bundle; ``passport verify-report``
checks the file against the ledger later.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import ExistingRecord, PassportId, ServicesDep, SettingsDep
from api.openapi import raises
from passport.report import build_report, render_html, render_pdf

router = APIRouter(tags=["reports"])


@router.get(
    "/passports/{passport_id}/report",
    operation_id="get_provenance_report",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}, "text/html": {}}, "description": "The report"}},
)
@raises(404)
def get_provenance_report(
    pid: PassportId,
    record: ExistingRecord,
    services: ServicesDep,
    settings: SettingsDep,
    format: Annotated[Literal["pdf", "html"], Query(description="pdf (default) or html")] = "pdf",
) -> Response:
    """The passport's provenance report, with its data embedded and digested for later checking."""
    del record  # resolved for its 404
    payload = build_report(
        services.passports_for(None), pid, custody=services.market_custody, base_url=settings.public_base_url
    )
    if format == "html":
        return Response(render_html(payload), media_type="text/html; charset=utf-8")
    return Response(
        render_pdf(payload),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="provenance-{pid}.pdf"'},
    )
