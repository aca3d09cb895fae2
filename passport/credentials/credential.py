"""A passport version as a W3C Verifiable Credential 2.0, following the UNTP Digital Product Passport.

**Data model.** UN Transparency Protocol, Digital Product Passport **0.5.0** (context
``https://test.uncefact.org/vocabulary/untp/dpp/0.5.0/``): the credential is typed
``DigitalProductPassport``, its issuer a ``CredentialIssuer``, its subject the ``Product`` (identified
by the passport's identification link) with the identifiers, producer, facility, production date and
dimensions UNTP names. Three extension properties (the 0.5.0 ``Product`` allows them) carry the rest:
``passportId``; ``batteryPassport``, the **public tier only**, exactly as committed; ``ledgerAnchor``.
Restricted tiers never leave the ledger's store in a credential: each is a
``relatedResource`` (VC 2.0 section 5.3) naming its content id and the SHA-256 (``digestSRI``) of the
sealed bytes the manifest commits to, so a holder of the section can prove it is the one anchored.
``ledgerAnchor`` names the on-chain commitment: chain id, registry, passport id, version and manifest
digest; verifiers check it against the chain. The structure is checked against the UNTP DPP 0.5.0
types (``tests/passport/fixtures/untp/``).

**Proof.** An enveloping JOSE proof (VC-JOSE-COSE section 3.1.1): the credential is the payload of a
compact JWS, header ``{"alg": "ES256", "kid": <DID URL of the key>, "typ": "vc+jwt", "cty": "vc"}``,
served as ``application/vc+jwt``.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from passport.credentials.did import key_fragment
from passport.credentials.status import STATUS_PURPOSE
from passport.errors import CredentialInvalid
from passport.sections import Manifest, hex0x, unhex0x

VC_CONTEXT: Final = "https://www.w3.org/ns/credentials/v2"
UNTP_DPP_VERSION: Final = "0.5.0"
UNTP_DPP_CONTEXT: Final = f"https://test.uncefact.org/vocabulary/untp/dpp/{UNTP_DPP_VERSION}/"
MEDIA_TYPE: Final = "application/vc+jwt"
JOSE_ALGORITHM: Final = "ES256"
_PASSPORT_VC_NAMESPACE: Final = uuid.UUID("1b6b0c8e-5a55-4f55-9b4e-6d0d2f3b7a11")


@dataclass(frozen=True, slots=True)
class LedgerAnchor:
    """Where a passport version is committed on-chain."""

    chain_id: int
    registry: str
    passport_id: uuid.UUID
    version: int
    manifest_digest: bytes
    manifest_cid: str
    status: str

    def claim(self) -> dict[str, Any]:
        return {
            "type": ["LedgerAnchor"],
            "chainId": f"eip155:{self.chain_id}",
            "registry": self.registry,
            "passportId": str(self.passport_id),
            "version": self.version,
            "manifestDigest": hex0x(self.manifest_digest),
            "manifest": f"ipfs://{self.manifest_cid}",
            "lifecycleStatus": self.status,
        }

    @classmethod
    def from_claim(cls, claim: Mapping[str, Any]) -> LedgerAnchor:
        try:
            chain = str(claim["chainId"])
            if not chain.startswith("eip155:"):
                raise ValueError(f"chainId {chain!r} is not eip155:<id>")
            return cls(
                chain_id=int(chain.removeprefix("eip155:")),
                registry=str(claim["registry"]),
                passport_id=uuid.UUID(str(claim["passportId"])),
                version=int(claim["version"]),
                manifest_digest=unhex0x(str(claim["manifestDigest"])),
                manifest_cid=str(claim["manifest"]).removeprefix("ipfs://"),
                status=str(claim["lifecycleStatus"]),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise CredentialInvalid(f"ledgerAnchor is malformed: {exc}") from None


def digest_sri(digest: bytes) -> str:
    """Subresource-integrity form of a SHA-256 digest (what VC 2.0 ``digestSRI`` holds)."""
    return "sha256-" + base64.b64encode(digest).decode()


def status_entry(list_url: str, index: int) -> dict[str, Any]:
    """The credential's ``BitstringStatusListEntry`` at ``index`` of the list at ``list_url``."""
    return {
        "id": f"{list_url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": STATUS_PURPOSE,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def _identifier(entity: Mapping[str, Any]) -> dict[str, Any] | None:
    """A UNTP ``Identifier`` (both ``id`` and ``name`` are required), or None when either is missing."""
    if not entity.get("identifier") or not entity.get("name"):
        return None
    return {"type": ["Identifier"], "id": entity["identifier"], "name": entity["name"]}


def _product(public: Mapping[str, Any], product_link: str) -> dict[str, Any]:
    """The UNTP ``Product`` fields the public tier fills (the DPP 0.5.0 credential subject)."""
    general = public.get("general") or {}
    place = general.get("manufacturing_place") or {}
    dimensions = general.get("dimensions") or {}
    measures: dict[str, Any] = {
        name: {"value": dimensions[f"{name}_mm"], "unit": "MMT"}
        for name in ("length", "width", "height")
        if dimensions.get(f"{name}_mm") is not None
    }
    if general.get("mass_kg") is not None:
        measures["weight"] = {"value": general["mass_kg"], "unit": "KGM"}
    category = general.get("category")
    product: dict[str, Any] = {
        "type": ["Product"],
        "id": product_link,
        "name": general.get("product_name") or general.get("model_identifier") or general.get("battery_id"),
        "registeredId": general.get("battery_id"),
        "idScheme": {"type": ["IdentifierScheme"], "id": product_link.rsplit("/", 1)[0],
                     "name": "battery id"},
        "serialNumber": general.get("battery_id"),
        "batchNumber": general.get("batch_id"),
        "productCategory": None if category is None else [
            {"type": ["Classification"], "id": f"urn:eu:reg:2023-1542:battery-category:{category}",
             "code": category, "name": f"{category} battery",
             "schemeName": "Regulation (EU) 2023/1542 battery category"}
        ],
        "producedByParty": _identifier(general.get("manufacturer") or {}),
        "producedAtFacility": _identifier(place),
        "productionDate": general.get("manufacturing_date"),
        "countryOfProduction": (place.get("address") or {}).get("country"),
        "dimensions": measures or None,
        "granularityLevel": "item",
    }  # fmt: skip
    return {key: value for key, value in product.items() if value is not None}


def build_credential(
    *,
    issuer_did: str,
    issuer_name: str,
    anchor: LedgerAnchor,
    manifest: Manifest,
    public: Mapping[str, Any],
    product_link: str,
    status: Mapping[str, Any],
    valid_from: datetime,
) -> dict[str, Any]:
    """The (unsecured) credential of one passport version: public tier, digests of the rest, anchor."""
    related = [
        {"id": f"ipfs://{anchor.manifest_cid}", "mediaType": "application/json",
         "digestSRI": digest_sri(anchor.manifest_digest), "name": "manifest"},
        *(
            {"id": f"ipfs://{entry.cid}", "mediaType": "application/octet-stream",
             "digestSRI": digest_sri(unhex0x(entry.digest)), "name": f"{entry.tier} section"}
            for entry in manifest.sections
            if entry.encrypted
        ),
    ]  # fmt: skip
    credential_id = uuid.uuid5(_PASSPORT_VC_NAMESPACE, f"{anchor.passport_id}/{anchor.version}/{issuer_did}")
    return {
        "@context": [VC_CONTEXT, UNTP_DPP_CONTEXT],
        "type": ["VerifiableCredential", "DigitalProductPassport"],
        "id": f"urn:uuid:{credential_id}",
        "issuer": {"type": ["CredentialIssuer"], "id": issuer_did, "name": issuer_name},
        "validFrom": valid_from.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "credentialStatus": dict(status),
        "relatedResource": related,
        "credentialSubject": {
            **_product(public, product_link),
            "passportId": f"urn:uuid:{anchor.passport_id}",
            "ledgerAnchor": anchor.claim(),
            "batteryPassport": dict(public),
        },
    }


def sign(document: Mapping[str, Any], key: ECKey, issuer_did: str) -> str:
    """``document`` secured as ``application/vc+jwt`` with ``key`` (named in ``issuer_did``'s document)."""
    header = {"alg": JOSE_ALGORITHM, "kid": f"{issuer_did}#{key_fragment(key)}", "typ": "vc+jwt", "cty": "vc"}
    payload = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
    return jws.serialize_compact(header, payload, key, algorithms=[JOSE_ALGORITHM])


@dataclass(frozen=True, slots=True)
class Envelope:
    """A compact JWS split open (signature not yet checked)."""

    token: str
    header: dict[str, Any]
    credential: dict[str, Any]

    @property
    def kid(self) -> str:
        return str(self.header["kid"])

    @property
    def issuer(self) -> str:
        issuer = self.credential.get("issuer")
        value = issuer.get("id") if isinstance(issuer, dict) else issuer
        if not isinstance(value, str):
            raise CredentialInvalid("the credential names no issuer")
        return value


def open_envelope(token: str) -> Envelope:
    """The header and credential of a ``vc+jwt``; ``CredentialInvalid`` when it is not one."""
    try:
        compact = jws.extract_compact(token.strip().encode())
        credential = json.loads(compact.payload)
    except (JoseError, ValueError, UnicodeError) as exc:
        raise CredentialInvalid(f"not a compact JWS with a JSON payload: {exc}") from None
    header = dict(compact.protected)
    if header.get("alg") != JOSE_ALGORITHM:
        raise CredentialInvalid(
            f"unsupported JOSE algorithm {header.get('alg')!r}; expected {JOSE_ALGORITHM}"
        )
    if not isinstance(header.get("kid"), str):
        raise CredentialInvalid("the JOSE header names no key (kid)")
    if header.get("typ") != "vc+jwt":
        raise CredentialInvalid(f"JOSE typ is {header.get('typ')!r}, not 'vc+jwt'")
    if not isinstance(credential, dict) or "VerifiableCredential" not in (credential.get("type") or []):
        raise CredentialInvalid("the payload is not a VerifiableCredential")
    contexts = credential.get("@context")
    if not isinstance(contexts, list) or not contexts or contexts[0] != VC_CONTEXT:
        raise CredentialInvalid(f"the credential's first @context must be {VC_CONTEXT}")
    return Envelope(token.strip(), header, credential)


def check_signature(envelope: Envelope, key: ECKey) -> bool:
    """Whether ``key`` signed ``envelope``."""
    try:
        jws.deserialize_compact(envelope.token, key, algorithms=[JOSE_ALGORITHM])
    except (JoseError, ValueError):
        return False
    return True
