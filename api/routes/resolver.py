"""The resolver: identification links on the battery's data carrier (see ``passport.credentials.links``).

``/id/{passport_id}`` (IEC 61406-style, what the QR code carries) and ``/01/{gtin}/21/{serial}`` (GS1
Digital Link). Default: 303 to the passport page; ``linkType=linkset`` (or ``all``), or ``Accept:
application/linkset+json``: the RFC 9264 linkset; another ``linkType``: 303 to that relation's target
(the default link when the passport has none). 404 unknown, 410 recycled (the identifier has ended).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from api.deps import CredentialsDep, PassportId, ServicesDep
from api.errors import Gone, NotFound
from api.openapi import raises
from api.schemas import BATTERY_ID_SCHEMA
from passport.audit import EventQuery
from passport.chain.records import PassportRecord
from passport.credentials.issuing import IDENTIFICATION_PATH, PassportCredentials
from passport.credentials.links import (
    GS1_DEFAULT_LINK,
    GS1_PIP,
    LINKSET_MEDIA_TYPE,
    Link,
    gs1_link,
    gtins_of,
    link_type,
    linkset,
    parse_gtin,
)
from passport.ids import ZERO32, battery_id_hash, parse_passport_id, passport_id_bytes32
from passport.model import AccessTier, LifecycleStatus

router = APIRouter(tags=["resolver"])

LinkType = Annotated[
    str | None,
    Query(
        alias="linkType",
        max_length=200,
        description="`linkset` (or `all`) for the linkset; a relation (e.g. `gs1:pip`) for its target.",
    ),
]
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {LINKSET_MEDIA_TYPE: {}}, "description": "The identifier's RFC 9264 linkset"},
    303: {"description": "Redirect to the passport page (or the asked link type's target)"},
}
# GTIN-8, -12, -13 or -14; the check digit is verified by the route (400), no pattern can state it.
GTIN_PATTERN = r"^([0-9]{8}|[0-9]{12,14})$"


def _links(base: str, pid: uuid.UUID, record: PassportRecord, credentials: PassportCredentials) -> list[Link]:
    api = f"{base}/api/v1/passports/{pid}"
    page = f"{base}/p/{pid}"
    links = [
        Link(GS1_DEFAULT_LINK, page, "text/html", "Battery passport"),
        Link(GS1_PIP, page, "text/html", "Battery passport"),
        Link("describedby", f"{api}/credential?version={record.version}", "application/vc+jwt",
             f"Digital Product Passport credential, version {record.version}"),
        Link("latest-version", f"{api}/credential", "application/vc+jwt", "Current version's credential"),
        Link("version-history", f"{api}/versions", "application/json", "Versions"),
        Link("alternate", f"{api}/bundle", "application/json", "Offline verification bundle"),
    ]  # fmt: skip
    issuer = credentials.issuer_of(pid)
    if issuer is not None:
        links.append(
            Link("status", credentials.status_list_url(issuer), "application/vc+jwt", "Revocation list")
        )
    if record.predecessor != ZERO32:
        predecessor = parse_passport_id(record.predecessor)
        links.append(Link("predecessor-version", f"{base}{IDENTIFICATION_PATH}/{predecessor}", "text/html"))
    if record.successor != ZERO32:
        successor = parse_passport_id(record.successor)
        links.append(Link("successor-version", f"{base}{IDENTIFICATION_PATH}/{successor}", "text/html"))
    return links


def _resolve(
    request: Request, anchor: str, pid: uuid.UUID, services: ServicesDep, credentials: PassportCredentials,
    wanted: str | None,
) -> Response:  # fmt: skip
    record = services.reader.get_passport(passport_id_bytes32(pid))
    if record is None:
        raise NotFound(f"{anchor} names no passport on this ledger")
    if record.status is LifecycleStatus.RECYCLED:
        raise Gone(f"{anchor} has ended: the battery was recycled (its passport stays readable at /p/{pid})")
    links = _links(credentials.base_url, pid, record, credentials)
    accept = request.headers.get("accept", "")
    if wanted in ("linkset", "all") or (wanted is None and LINKSET_MEDIA_TYPE in accept):
        return JSONResponse(linkset(anchor, links), media_type=LINKSET_MEDIA_TYPE, headers={"Vary": "Accept"})
    relation = link_type(wanted) if wanted else GS1_DEFAULT_LINK
    target = next((link.href for link in links if link.rel == relation), links[0].href)
    return RedirectResponse(
        target,
        status_code=303,
        headers={
            "Link": f'<{anchor}?linkType=linkset>; rel="linkset"; type="{LINKSET_MEDIA_TYPE}"',
            "Vary": "Accept",
        },
    )


@router.get("/id/{passport_id}", response_class=Response, responses=_RESPONSES)
@raises(404, 410)
def resolve_identification_link(
    request: Request,
    pid: PassportId,
    services: ServicesDep,
    credentials: CredentialsDep,
    wanted: LinkType = None,
) -> Response:
    """The passport's identification link: the page, or its linkset."""
    return _resolve(request, credentials.product_link(pid), pid, services, credentials, wanted)


def _passport_by_battery(services: ServicesDep, battery_id: str) -> uuid.UUID | None:
    """The newest passport issued for ``battery_id`` (a repurposed battery's successor is newer)."""
    services.sync_index()
    page = services.audit.query(
        EventQuery(
            battery_id_hash=battery_id_hash(battery_id), names=("PassportIssued",), order="desc", limit=1
        )
    )
    if not page.items or page.items[0].passport_id is None:
        return None
    return parse_passport_id(page.items[0].passport_id)


@router.get(
    "/01/{gtin}/21/{serial}",
    response_class=Response,
    responses=_RESPONSES,
    operation_id="resolve_gs1_digital_link",
)
@raises(404, 410, 502)
def resolve_gs1_digital_link(
    request: Request,
    gtin: Annotated[
        str,
        Path(
            max_length=14,
            description="GTIN-8/12/13/14 (check digit verified).",
            json_schema_extra={"pattern": GTIN_PATTERN},
        ),
    ],
    serial: Annotated[
        str,
        Path(max_length=128, description="The battery id (GS1 AI 21).", json_schema_extra=BATTERY_ID_SCHEMA),
    ],
    services: ServicesDep,
    credentials: CredentialsDep,
    wanted: LinkType = None,
) -> Response:
    """A GS1 Digital Link (GTIN + serial): the page of the battery's passport, or its linkset."""
    normalised = parse_gtin(gtin)
    anchor = gs1_link(credentials.base_url, normalised, serial)
    pid = _passport_by_battery(services, serial)
    if pid is None:
        raise NotFound(f"{anchor} names no passport on this ledger")
    public = services.passports_for(None).fetch(pid, [AccessTier.PUBLIC]).sections[AccessTier.PUBLIC]
    if normalised not in gtins_of(public):
        raise NotFound(f"{anchor}: the passport of battery {serial} does not list GTIN {normalised}")
    return _resolve(request, anchor, pid, services, credentials, wanted)
