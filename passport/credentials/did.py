"""did:web identifiers of the ledger's participants and the DID documents that list their keys.

Each custodial participant gets a path-based did:web under the API's public base URL, named by its
Ethereum account: ``did:web:127.0.0.1%3A8000:participants:0xabc…`` resolves to
``http://127.0.0.1:8000/participants/0xabc…/did.json`` (did:web method spec: ``:`` separates path
segments, a port's colon is percent-encoded). The document lists

* the Ethereum account as ``EcdsaSecp256k1RecoveryMethod2020`` with a CAIP-10 ``blockchainAccountId``
  (``eip155:<chain id>:<address>``): what signs the passport versions anchored on the ledger;
* every JOSE key (``JsonWebKey``, P-256) the participant has signed credentials with, newest last, each
  under its RFC 7638 thumbprint as fragment. Rotating adds a key and keeps the old ones listed in
  ``assertionMethod``, so a credential signed before the rotation still verifies by its ``kid``.

The did:web spec mandates https; ``document_url`` allows plain http only for loopback hosts, so a
local stack (and the tests) resolve over HTTP without certificates.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final
from urllib.parse import quote, unquote, urlsplit

from joserfc.jwk import ECKey
from pydantic import ValidationError
from pydid.doc.doc import DIDDocumentRoot

from passport.errors import CredentialInvalid

DID_CONTEXT: Final = "https://www.w3.org/ns/did/v1"
JWS_2020_CONTEXT: Final = "https://w3id.org/security/suites/jws-2020/v1"
SECP256K1_RECOVERY_CONTEXT: Final = "https://w3id.org/security/suites/secp256k1recovery-2020/v2"

#: The path segment under which participants' DID documents are served.
PARTICIPANTS_SEGMENT: Final = "participants"
_ACCOUNT = re.compile(r"^0x[0-9a-f]{40}$")
_LOOPBACK_NAMES: Final = frozenset({"localhost"})


def key_fragment(key: ECKey) -> str:
    """The key's id within its DID document: ``key-`` and its RFC 7638 thumbprint."""
    return f"key-{key.thumbprint()}"


def did_web(base_url: str, *path: str) -> str:
    """The did:web identifier for ``path`` under ``base_url`` (whose own path becomes segments too)."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CredentialInvalid(f"public base URL {base_url!r} is not an http(s) URL with a host")
    host = quote(parts.netloc, safe="")
    segments = [s for s in parts.path.split("/") if s] + list(path)
    return ":".join(["did", "web", host, *(quote(s, safe="") for s in segments)])


def participant_did(base_url: str, account: str) -> str:
    """The did:web of the participant acting as Ethereum ``account``."""
    return did_web(base_url, PARTICIPANTS_SEGMENT, account.lower())


def account_of(did: str) -> str | None:
    """The Ethereum account a participant DID names (lowercase), or None for any other DID."""
    segments = did.split(":")
    if len(segments) >= 5 and segments[:2] == ["did", "web"] and segments[-2] == PARTICIPANTS_SEGMENT:
        account = unquote(segments[-1]).lower()
        return account if _ACCOUNT.fullmatch(account) else None
    return None


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def document_url(did: str) -> str:
    """Where a did:web document lives: https, or http for a loopback host (a local stack)."""
    segments = did.split("#", 1)[0].split(":")
    if len(segments) < 3 or segments[:2] != ["did", "web"] or not segments[2]:
        raise CredentialInvalid(f"{did!r} is not a did:web identifier")
    netloc = unquote(segments[2])
    if "/" in netloc or "@" in netloc:
        raise CredentialInvalid(f"{did!r} names no valid host")
    host = urlsplit(f"//{netloc}").hostname or ""
    scheme = "http" if _is_loopback(host) else "https"
    path = "/".join(unquote(s) for s in segments[3:])
    return f"{scheme}://{netloc}/{path}/did.json" if path else f"{scheme}://{netloc}/.well-known/did.json"


def did_document(
    did: str, *, account: str, chain_id: int, keys: Sequence[ECKey], controller: str | None = None
) -> dict[str, Any]:
    """The DID document of ``did``: its Ethereum account and JOSE ``keys`` (all may assert credentials)."""
    if not keys:
        raise CredentialInvalid(f"{did} has no credential keys")
    methods: list[dict[str, Any]] = [
        {
            "id": f"{did}#{key_fragment(key)}",
            "type": "JsonWebKey2020",
            "controller": controller or did,
            "publicKeyJwk": key.as_dict(private=False),
        }
        for key in keys
    ]
    methods.append(
        {
            "id": f"{did}#ethereum",
            "type": "EcdsaSecp256k1RecoveryMethod2020",
            "controller": controller or did,
            "blockchainAccountId": f"eip155:{chain_id}:{account}",
        }
    )
    ids = [method["id"] for method in methods]
    document = {
        "@context": [DID_CONTEXT, JWS_2020_CONTEXT, SECP256K1_RECOVERY_CONTEXT],
        "id": did,
        "verificationMethod": methods,
        "authentication": ids,
        "assertionMethod": ids,
    }
    validate_did_document(document)
    return document


def validate_did_document(document: Mapping[str, Any]) -> DIDDocumentRoot:
    """The document parsed by ``pydid``; ``CredentialInvalid`` when it is not a valid DID document.

    ``DIDDocumentRoot``: DID Core's structure, every verification method's id, controller and key
    material. (pydid 0.5.3's stricter ``DIDDocument`` trips an internal assertion on
    ``EcdsaSecp256k1RecoveryMethod2020`` under pydantic 2.14, although the method is well-formed.)
    """
    try:
        return DIDDocumentRoot.deserialize(dict(document))
    except (ValidationError, ValueError, TypeError) as exc:
        raise CredentialInvalid(f"not a valid DID document: {exc}") from None


def assertion_key(document: Mapping[str, Any], kid: str) -> ECKey:
    """The JOSE key ``kid`` names, if the document lists it for assertions; else ``CredentialInvalid``."""
    validate_did_document(document)
    did = document.get("id")
    if not kid.startswith(f"{did}#"):
        raise CredentialInvalid(f"key {kid!r} does not belong to {did}")
    asserted = {m if isinstance(m, str) else m.get("id") for m in document.get("assertionMethod", [])}
    if kid not in asserted:
        raise CredentialInvalid(f"{did} does not list {kid} for assertions")
    for method in document.get("verificationMethod", []):
        if method.get("id") == kid and isinstance(method.get("publicKeyJwk"), dict):
            try:
                return ECKey.import_key(method["publicKeyJwk"])
            except (ValueError, TypeError, KeyError) as exc:
                raise CredentialInvalid(f"{kid}: unusable public key: {exc}") from None
    raise CredentialInvalid(f"{did} lists no JSON Web Key {kid}")
