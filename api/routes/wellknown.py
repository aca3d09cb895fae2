"""did:web documents of the participants this installation hosts: ``/participants/{account}/did.json``."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import BusinessAccount, CredentialsDep
from api.openapi import raises

router = APIRouter(tags=["credentials"])

DID_JSON = "application/did+json"


@router.get(
    "/participants/{account}/did.json",
    response_class=JSONResponse,
    responses={200: {"content": {DID_JSON: {}}, "description": "DID document"}},
)
@raises(409)
def get_did_document(account: BusinessAccount, credentials: CredentialsDep) -> JSONResponse:
    """The participant's did:web document: its Ethereum account and its credential keys."""
    return JSONResponse(credentials.did_document(account), media_type=DID_JSON)
