"""Reads by product identifier and by date (EN 18222): the passport of a battery, and any passport as
it stood on a date, each with the verification of the version returned.

The verification is that version's credential checked as an outside verifier would (JOSE proof by the
issuer's did:web key, status list, anchor on the ledger); it is None when the version's issuer is not
hosted here (no credential can be issued for it).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from api.deps import CredentialsDep, PassportId, ServicesDep
from api.errors import NotFound
from api.openapi import raises
from api.schemas import BATTERY_ID_SCHEMA
from passport.audit import EventQuery
from passport.credentials import PassportCredentials, verify_credential
from passport.credentials.issuing import HostedDocuments
from passport.credentials.reads import parse_moment, version_at
from passport.credentials.verification import CredentialReport
from passport.errors import IssuerNotHosted
from passport.ids import battery_id_hash, parse_passport_id

router = APIRouter(tags=["passports"])

AsOf = Annotated[
    str | None,
    Query(
        alias="date",
        max_length=40,
        description="YYYY-MM-DD (the end of that day, UTC) or an RFC 3339 time; default: the latest.",
        examples=["2025-06-30"],
        # Replaces the string member's schema: a calendar date or a date-time, exactly what is parsed.
        json_schema_extra={
            "anyOf": [
                {"type": "string", "format": "date", "maxLength": 40},
                {"type": "string", "format": "date-time", "maxLength": 40},
                {"type": "null"},
            ]
        },
    ),
]


class PassportReading(BaseModel):
    """One version of a passport (public tier) as it stood at ``as_of``, with its verification."""

    passport_id: str
    version: int
    as_of: datetime = Field(description="The date asked, or when the latest version took effect.")
    in_force_since: datetime | None = Field(description="When the ledger anchored this version.")
    status: str
    manifest_digest: str
    credential: str = Field(description="URL of this version's credential (application/vc+jwt).")
    data: dict[str, Any] = Field(description="The version's public tier.")
    verification: CredentialReport | None


def _reading(
    pid: uuid.UUID, moment: datetime | None, services: ServicesDep, credentials: PassportCredentials
) -> PassportReading:
    services.sync_index()
    in_force = version_at(services.audit.version_history(pid), moment)
    if in_force is None:
        raise NotFound(f"passport {pid} did not exist yet at {_shown(moment)}")
    info, manifest, public = credentials.public_version(pid, in_force.version)
    try:
        token = credentials.export(pid, info.version)
    except IssuerNotHosted:
        report = None
    else:
        report = verify_credential(token, HostedDocuments(credentials), chain=services.reader)
    return PassportReading(
        passport_id=str(pid),
        version=info.version,
        as_of=moment or datetime.fromtimestamp(in_force.since, UTC),
        in_force_since=datetime.fromtimestamp(in_force.since, UTC),
        status=manifest.status,
        manifest_digest="0x" + info.manifest_digest.hex(),
        credential=f"{credentials.base_url}/api/v1/passports/{pid}/credential?version={info.version}",
        data=public,
        verification=report,
    )


def _moment(value: str | None) -> datetime | None:
    return None if value is None else parse_moment(value)


def _shown(moment: datetime | None) -> str:
    return "now" if moment is None else moment.isoformat()


@router.get("/passports/{passport_id}/as-of", operation_id="get_passport_as_of")
@raises(400, 404, 502)
def get_passport_as_of(
    pid: PassportId, services: ServicesDep, credentials: CredentialsDep, when: AsOf = None
) -> PassportReading:
    """The passport's version in force on a date (its public tier) and that version's verification."""
    return _reading(pid, _moment(when), services, credentials)


@router.get("/products/{battery_id}/passport", operation_id="get_product_passport")
@raises(400, 404, 502)
def get_product_passport(
    battery_id: Annotated[
        str,
        Path(
            max_length=128,
            description="The battery's identifier (serial).",
            json_schema_extra=BATTERY_ID_SCHEMA,
        ),
    ],
    services: ServicesDep,
    credentials: CredentialsDep,
    when: AsOf = None,
) -> PassportReading:
    """The battery's passport (the newest issued by then: a successor after repurposing), on a date."""
    moment = _moment(when)
    services.sync_index()
    query = EventQuery(
        battery_id_hash=battery_id_hash(battery_id),
        names=("PassportIssued",),
        to_time=None if moment is None else max(0, int(moment.timestamp())),
        order="desc",
        limit=1,
    )
    page = services.audit.query(query)
    if not page.items or page.items[0].passport_id is None:
        raise NotFound(f"no passport for battery {battery_id!r} at {_shown(moment)}")
    return _reading(parse_passport_id(page.items[0].passport_id), moment, services, credentials)
