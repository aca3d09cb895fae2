"""Verifying a passport credential as an outside party would: JOSE proof against the issuer's did:web
document, validity period, status list, and (with a chain client) the on-chain anchor.

Documents are fetched through ``DocumentSource`` (``HttpDocumentSource`` over HTTP; tests may pass
another), and every failure to fetch or parse becomes a failed check that says why, never an exception:
only a token that is not a ``vc+jwt`` at all raises ``CredentialInvalid``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
from pydantic import BaseModel, ConfigDict, computed_field

from passport.chain.protocol import ChainClient
from passport.credentials.credential import (
    MEDIA_TYPE,
    Envelope,
    LedgerAnchor,
    check_signature,
    open_envelope,
)
from passport.credentials.did import assertion_key, document_url
from passport.credentials.status import bit_at
from passport.errors import CredentialError, DidResolutionError, PassportError
from passport.ids import passport_id_bytes32
from passport.verify import Check, CheckStatus

_MAX_DOCUMENT = 1024 * 1024


class DocumentSource(Protocol):
    """Where a verifier gets DID documents and status list credentials."""

    def did_document(self, did: str) -> Mapping[str, Any]:
        """The DID document of ``did``; ``DidResolutionError`` if it cannot be had."""
        ...

    def status_list(self, url: str) -> str:
        """The ``vc+jwt`` at ``url``; ``DidResolutionError`` if it cannot be had."""
        ...


class HttpDocumentSource:
    """did:web documents and status lists over HTTP(S) (plain HTTP only for loopback hosts)."""

    def __init__(self, client: httpx.Client | None = None, timeout: float = 10.0) -> None:
        self._client = client or httpx.Client(timeout=timeout, follow_redirects=False)

    def close(self) -> None:
        self._client.close()

    def _get(self, url: str, accept: str) -> httpx.Response:
        try:
            response = self._client.get(url, headers={"Accept": accept})
        except httpx.HTTPError as exc:
            raise DidResolutionError(f"{url}: {exc}") from None
        if response.status_code != 200:
            raise DidResolutionError(f"{url}: HTTP {response.status_code}")
        if len(response.content) > _MAX_DOCUMENT:
            raise DidResolutionError(f"{url}: larger than {_MAX_DOCUMENT} bytes")
        return response

    def did_document(self, did: str) -> Mapping[str, Any]:
        url = document_url(did)
        try:
            document = self._get(url, "application/did+json, application/json").json()
        except ValueError:
            raise DidResolutionError(f"{url}: not JSON") from None
        if not isinstance(document, dict) or document.get("id") != did:
            raise DidResolutionError(f"{url} is not the DID document of {did}")
        return document

    def status_list(self, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise DidResolutionError(f"status list {url!r} is not an http(s) URL")
        return self._get(url, MEDIA_TYPE).text


class CredentialReport(BaseModel):
    """Every check run on a credential; ``revoked`` is None when the status could not be read."""

    model_config = ConfigDict(frozen=True)

    checks: list[Check]
    issuer: str | None = None
    kid: str | None = None
    passport_id: str | None = None
    version: int | None = None
    revoked: bool | None = None
    chain_checked: bool = False

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented use on a property
    @property
    def ok(self) -> bool:
        """True when no check failed (skipped checks are not failures)."""
        return all(check.status is not CheckStatus.FAIL for check in self.checks)


def _subject(credential: Mapping[str, Any]) -> Mapping[str, Any]:
    """The credential's (single) subject as an object; empty when it is anything else."""
    subject = credential.get("credentialSubject")
    return subject if isinstance(subject, dict) else {}


def _check(name: str, passed: bool, reason: str) -> Check:
    return Check(name=name, status=CheckStatus.PASS if passed else CheckStatus.FAIL, reason=reason)


def _proof(envelope: Envelope, source: DocumentSource, name: str) -> Check:
    """The JOSE signature of ``envelope`` by a key its issuer's DID document lists for assertions."""
    try:
        if not envelope.kid.startswith(f"{envelope.issuer}#"):
            return _check(name, False, f"key {envelope.kid} is not a key of the issuer {envelope.issuer}")
        key = assertion_key(source.did_document(envelope.issuer), envelope.kid)
    except CredentialError as exc:
        return _check(name, False, str(exc))
    if not check_signature(envelope, key):
        return _check(name, False, f"the JOSE signature does not verify with {envelope.kid}")
    return _check(name, True, f"signed by {envelope.kid}")


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _validity(credential: Mapping[str, Any], now: datetime) -> Check:
    start = _parse_time(credential.get("validFrom"))
    if start is None:
        return _check("credential.valid_period", False, "validFrom is missing or not an RFC 3339 time")
    end = credential.get("validUntil")
    end_time = None if end is None else _parse_time(end)
    if end is not None and end_time is None:
        return _check("credential.valid_period", False, "validUntil is not an RFC 3339 time")
    if now < start:
        return _check("credential.valid_period", False, f"not valid before {credential['validFrom']}")
    if end_time is not None and now > end_time:
        return _check("credential.valid_period", False, f"expired at {end}")
    return _check("credential.valid_period", True, f"valid from {credential['validFrom']}")


def _status(envelope: Envelope, source: DocumentSource) -> tuple[Check, bool | None]:
    name = "credential.status"
    entries = envelope.credential.get("credentialStatus")
    entry = entries[0] if isinstance(entries, list) and entries else entries
    if entry is None:
        return Check(name=name, status=CheckStatus.SKIPPED, reason="the credential has no status"), None
    if not isinstance(entry, dict) or entry.get("type") != "BitstringStatusListEntry":
        return _check(name, False, "credentialStatus is not a BitstringStatusListEntry"), None
    try:
        url = str(entry["statusListCredential"])
        index = int(entry["statusListIndex"])
        status_envelope = open_envelope(source.status_list(url))
    except (KeyError, ValueError, TypeError, CredentialError) as exc:
        return _check(name, False, f"status list unavailable: {exc}"), None
    proof = _proof(status_envelope, source, name)
    if proof.status is CheckStatus.FAIL:
        return _check(name, False, f"status list {url}: {proof.reason}"), None
    if status_envelope.issuer != envelope.issuer:
        return _check(name, False, f"status list {url} is issued by {status_envelope.issuer}"), None
    subject = _subject(status_envelope.credential)
    if subject.get("statusPurpose") != entry.get("statusPurpose"):
        return _check(name, False, f"status list {url} has another purpose"), None
    try:
        revoked = bit_at(str(subject.get("encodedList", "")), index)
    except CredentialError as exc:
        return _check(name, False, f"status list {url}: {exc}"), None
    if revoked:
        return _check(name, False, f"revoked: bit {index} of {url} is set"), True
    return _check(name, True, f"not revoked (bit {index} of {url})"), False


def _anchor(envelope: Envelope, chain: ChainClient | None) -> Check:
    name = "credential.anchor"
    if chain is None:
        return Check(name=name, status=CheckStatus.SKIPPED, reason="no chain client given")
    claim = _subject(envelope.credential).get("ledgerAnchor")
    try:
        anchor = LedgerAnchor.from_claim(claim if isinstance(claim, dict) else {})
    except CredentialError as exc:
        return _check(name, False, str(exc))
    if anchor.chain_id != chain.chain_id or anchor.registry.lower() != chain.registry_address.lower():
        return _check(
            name, False, f"anchored on chain {anchor.chain_id} registry {anchor.registry}: not ours"
        )
    try:
        record = chain.get_passport(passport_id_bytes32(anchor.passport_id))
        if record is None or not 1 <= anchor.version <= record.version:
            return _check(name, False, f"the ledger has no version {anchor.version} of {anchor.passport_id}")
        digest = chain.version_digest(record.passport_id, anchor.version)
    except PassportError as exc:
        return _check(name, False, f"ledger unavailable: {exc}")
    if digest != anchor.manifest_digest:
        return _check(name, False, f"version {anchor.version}'s manifest digest on the ledger differs")
    latest = "the latest" if anchor.version == record.version else f"superseded by version {record.version}"
    return _check(name, True, f"version {anchor.version} is anchored ({latest})")


def verify_credential(
    token: str,
    source: DocumentSource,
    *,
    chain: ChainClient | None = None,
    now: datetime | None = None,
) -> CredentialReport:
    """Every check of a ``vc+jwt`` passport credential; ``CredentialInvalid`` if it is not one."""
    envelope = open_envelope(token)
    issuer = envelope.issuer
    checks = [
        _proof(envelope, source, "credential.proof"),
        _validity(envelope.credential, now or datetime.now(UTC)),
    ]
    status, revoked = _status(envelope, source)
    checks.append(status)
    checks.append(_anchor(envelope, chain))
    anchor = _subject(envelope.credential).get("ledgerAnchor")
    anchor = anchor if isinstance(anchor, dict) else {}
    version = anchor.get("version")
    return CredentialReport(
        checks=checks,
        issuer=issuer,
        kid=envelope.kid,
        passport_id=str(anchor["passportId"]) if "passportId" in anchor else None,
        version=version if isinstance(version, int) else None,
        revoked=revoked,
        chain_checked=chain is not None,
    )
