"""Passports as W3C Verifiable Credentials: did:web issuers, VC-JOSE-COSE proofs, Bitstring Status
Lists, identification links. See ``credential`` for the data model (UNTP DPP 0.5.0) and the proof."""

from passport.credentials.credential import (
    MEDIA_TYPE,
    UNTP_DPP_CONTEXT,
    UNTP_DPP_VERSION,
    VC_CONTEXT,
    LedgerAnchor,
    open_envelope,
)
from passport.credentials.did import (
    account_of,
    did_document,
    did_web,
    document_url,
    participant_did,
    validate_did_document,
)
from passport.credentials.issuing import PassportCredentials
from passport.credentials.keys import CredentialKeys
from passport.credentials.status import StatusIndex, bit_at, encode_list
from passport.credentials.verification import (
    CredentialReport,
    DocumentSource,
    HttpDocumentSource,
    verify_credential,
)
from passport.credentials.vocabulary import vc_v2_context

__all__ = [
    "MEDIA_TYPE",
    "UNTP_DPP_CONTEXT",
    "UNTP_DPP_VERSION",
    "VC_CONTEXT",
    "CredentialKeys",
    "CredentialReport",
    "DocumentSource",
    "HttpDocumentSource",
    "LedgerAnchor",
    "PassportCredentials",
    "StatusIndex",
    "account_of",
    "bit_at",
    "did_document",
    "did_web",
    "document_url",
    "encode_list",
    "open_envelope",
    "participant_did",
    "validate_did_document",
    "vc_v2_context",
    "verify_credential",
]
