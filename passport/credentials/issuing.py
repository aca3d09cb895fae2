"""Issuing credentials for the ledger's passports: DID documents, passport credentials, status lists.

``PassportCredentials`` works for the participants whose Ethereum keys this installation holds
(``participants``: account -> name). A version's credential is issued by the participant that signed
that version (the version log knows it), else by the passport's on-chain issuer.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from passport.chain.protocol import ChainClient
from passport.credentials.credential import LedgerAnchor, build_credential, sign, status_entry
from passport.credentials.did import account_of, did_document, participant_did
from passport.credentials.keys import CredentialKeys
from passport.credentials.status import LIST_BITS, STATUS_PURPOSE, StatusIndex, encode_list
from passport.errors import DidResolutionError, IssuerNotHosted, PassportNotFound
from passport.ids import passport_id_bytes32
from passport.sections import PUBLIC_TIER, Manifest, load_manifest, parse_section_document
from passport.service import PassportService, VersionInfo
from passport.store.protocol import ContentStore

STATUS_LIST_PATH = "/api/v1/status-lists"
IDENTIFICATION_PATH = "/id"


@dataclass
class PassportCredentials:
    """Credentials, DID documents and status lists for the participants this installation hosts."""

    base_url: str
    chain: ChainClient
    store: ContentStore
    passports: PassportService
    keys: CredentialKeys
    status: StatusIndex
    participants: Mapping[str, str]

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.participants = {account.lower(): name for account, name in self.participants.items()}

    def at(self, base_url: str) -> PassportCredentials:
        """The same credentials published under ``base_url`` (the API's configured public URL)."""
        return self if base_url.rstrip("/") == self.base_url else replace(self, base_url=base_url)

    # -- identifiers ---------------------------------------------------------------------------------

    def did_of(self, account: str) -> str:
        return participant_did(self.base_url, account)

    def product_link(self, passport_id: uuid.UUID) -> str:
        """The passport's identification link (IEC 61406 style: one URL per item, resolved here)."""
        return f"{self.base_url}{IDENTIFICATION_PATH}/{passport_id}"

    def status_list_url(self, account: str) -> str:
        return f"{self.base_url}{STATUS_LIST_PATH}/{account.lower()}"

    def _hosted(self, account: str) -> str:
        name = self.participants.get(account.lower())
        if name is None:
            raise IssuerNotHosted(f"this installation holds no keys for {account}")
        return name

    # -- documents -----------------------------------------------------------------------------------

    def did_document(self, account: str) -> dict[str, Any]:
        """The participant's DID document (creating its first credential key if it has none)."""
        self._hosted(account)
        self.keys.current(account)
        return did_document(
            self.did_of(account),
            account=account.lower(),
            chain_id=self.chain.chain_id,
            keys=self.keys.keys(account),
        )

    def export(self, passport_id: uuid.UUID, version: int | None = None) -> str:
        """The ``vc+jwt`` of ``version`` (default: the current one) of the passport."""
        record = self.chain.get_passport(passport_id_bytes32(passport_id))
        if record is None:
            raise PassportNotFound(f"no passport {passport_id} on the ledger")
        info, manifest, public = self.public_version(passport_id, version)
        issuer = self._issuer(info.signer, record.issuer)
        name = self._hosted(issuer)
        did = self.did_of(issuer)
        index = self.status.index_for(issuer, str(passport_id))
        credential = build_credential(
            issuer_did=did,
            issuer_name=name,
            anchor=LedgerAnchor(
                chain_id=self.chain.chain_id,
                registry=self.chain.registry_address,
                passport_id=passport_id,
                version=info.version,
                manifest_digest=info.manifest_digest,
                manifest_cid=info.manifest_cid,
                status=manifest.status,
            ),
            manifest=manifest,
            public=public,
            product_link=self.product_link(passport_id),
            status=status_entry(self.status_list_url(issuer), index),
            valid_from=datetime.now(UTC),
        )
        return sign(credential, self.keys.current(issuer), did)

    def public_version(
        self, passport_id: uuid.UUID, version: int | None = None
    ) -> tuple[VersionInfo, Manifest, dict[str, Any]]:
        """A version (default: the current one): its ledger entry, manifest and public tier, checked."""
        infos = self.passports.versions(passport_id)
        number = len(infos) if version is None else version
        if not 1 <= number <= len(infos):
            raise PassportNotFound(f"passport {passport_id} has no version {number} (it has {len(infos)})")
        info = infos[number - 1]
        manifest = load_manifest(info.manifest_cid, self.store, expected_digest=info.manifest_digest)
        public = parse_section_document(self.store.get(manifest.entry(PUBLIC_TIER).cid), PUBLIC_TIER)
        return info, manifest, public

    def _issuer(self, signer: str | None, passport_issuer: str) -> str:
        """Who issues a version's credential: its signer when hosted here, else the passport's issuer."""
        return signer if signer and signer.lower() in self.participants else passport_issuer

    def issuer_of(self, passport_id: uuid.UUID) -> str | None:
        """The account that issues the current version's credential, if hosted here (else None)."""
        record = self.chain.get_passport(passport_id_bytes32(passport_id))
        if record is None:
            return None
        current = self.passports.versions(passport_id)[-1]
        issuer = self._issuer(current.signer, record.issuer)
        return issuer if issuer.lower() in self.participants else None

    def revoked_indices(self, account: str) -> list[int]:
        """The indices of ``account``'s list whose passports the ledger closed or the issuer revoked."""
        closed = []
        for pid, index, revoked in self.status.entries(account):
            if revoked:
                closed.append(index)
                continue
            record = self.chain.get_passport(passport_id_bytes32(pid))
            if record is not None and record.is_closed:
                closed.append(index)
        return closed

    def revoke(self, account: str, passport_id: uuid.UUID) -> int:
        """Revoke ``account``'s credentials of the passport (its status bit stays set); the bit's index."""
        self._hosted(account)
        return self.status.revoke(account, str(passport_id))

    def status_list(self, account: str) -> str:
        """The participant's Bitstring Status List credential, its bits read from the ledger now."""
        self._hosted(account)
        did = self.did_of(account)
        url = self.status_list_url(account)
        now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        credential = {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": url,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": did,
            "validFrom": now,
            "credentialSubject": {
                "id": f"{url}#list",
                "type": "BitstringStatusList",
                "statusPurpose": STATUS_PURPOSE,
                "encodedList": encode_list(self.revoked_indices(account), LIST_BITS),
            },
        }
        return sign(credential, self.keys.current(account), did)


class HostedDocuments:
    """A ``DocumentSource`` that answers only for the DIDs and status lists ``credentials`` publishes.

    What a server uses to verify credentials sent to it: it never fetches a URL a client chose.
    """

    def __init__(self, credentials: PassportCredentials) -> None:
        self._credentials = credentials

    def did_document(self, did: str) -> Mapping[str, Any]:
        account = account_of(did)
        if account is None or did != self._credentials.did_of(account):
            raise DidResolutionError(f"{did} is not published by this installation")
        try:
            return self._credentials.did_document(account)
        except IssuerNotHosted as exc:
            raise DidResolutionError(str(exc)) from None

    def status_list(self, url: str) -> str:
        prefix = f"{self._credentials.base_url}{STATUS_LIST_PATH}/"
        account = url.removeprefix(prefix)
        if not url.startswith(prefix) or self._credentials.status_list_url(account) != url:
            raise DidResolutionError(f"status list {url} is not published by this installation")
        try:
            return self._credentials.status_list(account)
        except IssuerNotHosted as exc:
            raise DidResolutionError(str(exc)) from None
