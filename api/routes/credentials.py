"""Passports as W3C Verifiable Credentials (``application/vc+jwt``), issuers' status lists, and a
verification endpoint for credentials this installation issued.

Anyone may fetch a credential: it holds the public tier only, and digests of the rest.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query
from fastapi.responses import Response
from pydantic import BaseModel

from api.deps import (
    ActingAccount,
    AuthCaller,
    BusinessAccount,
    CredentialsDep,
    ExistingRecord,
    PassportId,
    ServicesDep,
)
from api.openapi import raises
from passport.audit import MAX_INDEX_INT
from passport.credentials import MEDIA_TYPE, CredentialReport, verify_credential
from passport.credentials.issuing import HostedDocuments

router = APIRouter(tags=["credentials"])


# Three base64url parts; what they say (header, claims, signature) is checked by the verifier (422).
COMPACT_JWS_PATTERN = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$"
_VC = {"content": {MEDIA_TYPE: {"schema": {"type": "string"}}}, "description": "A vc+jwt (compact JWS)"}


@router.get(
    "/passports/{passport_id}/credential",
    response_class=Response,
    responses={200: _VC},
    operation_id="get_passport_credential",
)
@raises(404, 409, 502)
def get_passport_credential(
    pid: PassportId,
    record: ExistingRecord,
    credentials: CredentialsDep,
    version: Annotated[
        int | None, Query(ge=1, le=MAX_INDEX_INT, description="A version (default: the current one).")
    ] = None,
) -> Response:
    """The passport version as a UNTP Digital Product Passport credential (VC 2.0, VC-JOSE-COSE)."""
    return Response(credentials.export(pid, version), media_type=MEDIA_TYPE)


@router.get("/status-lists/{account}", response_class=Response, responses={200: _VC})
@raises(409)
def get_status_list(account: BusinessAccount, credentials: CredentialsDep) -> Response:
    """The issuer's Bitstring Status List credential (revocation), its bits read from the ledger now."""
    return Response(
        credentials.status_list(account), media_type=MEDIA_TYPE, headers={"Cache-Control": "no-cache"}
    )


@router.post("/credentials/verify", operation_id="verify_passport_credential")
@raises(409, 422)
def verify_passport_credential(
    credential: Annotated[
        str,
        Body(
            media_type=MEDIA_TYPE,
            description="The vc+jwt to verify (a compact JWS).",
            json_schema_extra={"pattern": COMPACT_JWS_PATTERN},
        ),
    ],
    credentials: CredentialsDep,
    services: ServicesDep,
    chain: Annotated[bool, Query(description="Also check the anchor on the ledger.")] = True,
) -> CredentialReport:
    """Verify a credential issued here: JOSE proof, validity, status list and (by default) the anchor.

    Only DID documents and status lists this installation publishes are consulted; the server never
    fetches a URL a client names (verify other issuers' credentials with ``passport vc verify``).
    """
    return verify_credential(
        credential, HostedDocuments(credentials), chain=services.reader if chain else None
    )


class RevocationPublic(BaseModel):
    """A revoked status bit: whose list, which bit."""

    passport_id: str
    issuer: str
    status_list: str
    index: int


@router.post(
    "/passports/{passport_id}/credential/revocation",
    status_code=201,
)
@raises(409)
def revoke_passport_credential(
    caller: AuthCaller,
    pid: PassportId,
    record: ExistingRecord,
    account: ActingAccount,
    credentials: CredentialsDep,
) -> RevocationPublic:
    """Revoke the caller's credentials of this passport (e.g. issued in error); the ledger is unchanged.

    Superseded and recycled passports need no revocation: their bits are set from the ledger.
    """
    index = credentials.revoke(account, pid)
    return RevocationPublic(
        passport_id=str(pid),
        issuer=credentials.did_of(account),
        status_list=credentials.status_list_url(account),
        index=index,
    )
