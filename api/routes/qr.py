"""QR codes for passport labels: ``/passports/{id}/qr.png`` and ``qr.svg``.

The code holds the passport's identification link (``{public_base_url}/id/{id}``, see
``api.routes.resolver``), never data: the label is printed once and must stay valid while the
passport's versions, custody and status change. The link redirects to the page, and answers with a
linkset (page, credential, bundle, status) for machines.
"""

from __future__ import annotations

import io
from typing import Annotated, Literal

import segno
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from api.deps import PassportIdPath, SettingsDep
from passport.credentials.issuing import IDENTIFICATION_PATH
from passport.ids import parse_passport_id

router = APIRouter(tags=["passports"])

# The content depends only on the id and the configured base URL, so clients and proxies may keep it.
_CACHE = {"Cache-Control": "public, max-age=86400"}
# Level M survives ~15 % damage: a scuffed label still scans, and the code stays small (version 4-5).
_ERROR_LEVEL = "m"
_BORDER = 4  # the quiet zone the QR spec requires; scanners miss codes printed without it


def get_public_base_url(settings: SettingsDep) -> str:
    return settings.public_base_url.rstrip("/")


def passport_url(base_url: str, passport_id: str) -> str:
    """The identification link of ``passport_id``; raises ``InvalidIdentifier`` (→ 400) for a bad id."""
    return f"{base_url.rstrip('/')}{IDENTIFICATION_PATH}/{parse_passport_id(passport_id)}"


def passport_qr(base_url: str, passport_id: str) -> segno.QRCode:
    # make_qr, not make: never a Micro QR, which most phone cameras cannot read.
    return segno.make_qr(passport_url(base_url, passport_id), error=_ERROR_LEVEL)


def _render(qr: segno.QRCode, kind: Literal["png", "svg"], scale: int) -> bytes:
    out = io.BytesIO()
    if kind == "svg":
        qr.save(out, kind="svg", scale=scale, border=_BORDER, xmldecl=False, title="Battery passport")
    else:
        qr.save(out, kind="png", scale=scale, border=_BORDER)
    return out.getvalue()


Scale = Annotated[int, Query(ge=1, le=40, description="Pixels (PNG) or user units (SVG) per module.")]
BaseUrl = Annotated[str, Depends(get_public_base_url)]


@router.get(
    "/passports/{passport_id}/qr.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "QR code of the identification link"}},
)
async def get_passport_qr_png(passport_id: PassportIdPath, base_url: BaseUrl, scale: Scale = 8) -> Response:
    body = _render(passport_qr(base_url, passport_id), "png", scale)
    return Response(body, media_type="image/png", headers=_CACHE)


@router.get(
    "/passports/{passport_id}/qr.svg",
    response_class=Response,
    responses={
        200: {
            "content": {"image/svg+xml": {}},
            "description": "QR code of the identification link",
        }
    },
)
async def get_passport_qr_svg(passport_id: PassportIdPath, base_url: BaseUrl, scale: Scale = 8) -> Response:
    body = _render(passport_qr(base_url, passport_id), "svg", scale)
    return Response(body, media_type="image/svg+xml", headers=_CACHE)
