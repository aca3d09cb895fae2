"""``ServiceModels``: leases, ownership, bindings, storage and claims over the services contract.

Each lease is signed by the lessor's key and stored before its digest goes on-chain; reading a lease
re-checks the stored document against the chain (digest, signer = lessor, parties and term) and refuses
(``ServiceDocumentError``) when they disagree. Everything else is a typed pass-through to the
``BatteryServicesLedger`` port, so the API and the CLI share one place that knows the workflow.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_account import Account

from passport.chain.protocol import ChainClient
from passport.chain.records import TxReceipt
from passport.chain.services import (
    BatteryServicesLedger,
    Binding,
    BindingEvent,
    ClaimKind,
    Consent,
    ConsentAction,
    HandOver,
    HolderKind,
    Lease,
    ServiceClaim,
    StorageInstallation,
    StorageRole,
)
from passport.materials import (
    MaterialsError,
    StoredDocument,
    document_cid,
    document_digest,
    open_document,
    sign_document,
)
from passport.materials.documents import hex32
from passport.servicemodels.documents import LeaseContract
from passport.servicemodels.errors import ServiceDocumentError, ServiceRecordNotFound
from passport.store.protocol import ContentStore


@dataclass(frozen=True, slots=True)
class LeaseView:
    """A lease as the chain holds it, with its signed contract from the store (checked against it)."""

    lease: Lease
    contract: LeaseContract
    cid: str


@dataclass(frozen=True, slots=True)
class ServiceOverview:
    """What the services contract says about one battery (the passport page's service section)."""

    passport_id: bytes
    legal_owner: str | None
    consents: tuple[Consent, ...]
    binding: Binding | None
    storage: StorageInstallation | None
    leases: tuple[Lease, ...]
    claims: tuple[ServiceClaim, ...]


class ServiceModels:
    """Battery service models acting as one participant (``signer_key`` None: read-only).

    ``from_block`` bounds the event scans behind lease, binding and claim histories (the services
    contract's deployment block is a good value; 0 always works).
    """

    def __init__(
        self,
        ledger: BatteryServicesLedger,
        store: ContentStore,
        *,
        chain: ChainClient | None = None,
        signer_key: bytes | None = None,
        from_block: int = 0,
    ) -> None:
        self.ledger = ledger
        self.store = store
        self.chain = chain
        self.from_block = from_block
        self._key = signer_key
        if signer_key is not None and Account.from_key(signer_key).address != ledger.account:
            raise ServiceDocumentError("the signing key is not the account the services client acts as")

    # -- leases -----------------------------------------------------------------------------------------
    def record_lease(self, contract: LeaseContract) -> StoredDocument:
        """Sign (as lessor), store and record a lease; the service's account must be the battery's
        legal owner and the contract's lessor."""
        if self._key is None:
            raise ServiceDocumentError("this services client is read-only (no signing key)")
        if contract.lessor != self.ledger.account:
            raise ServiceDocumentError(
                f"the contract names lessor {contract.lessor}, not {self.ledger.account}"
            )
        data = sign_document(contract, self._key)
        cid, digest = self.store.put(data), document_digest(data)
        starts_at, ends_at = contract.term
        receipt = self.ledger.record_lease(
            bytes.fromhex(contract.lease_id[2:]),
            bytes.fromhex(contract.passport_id[2:]),
            contract.lessee,
            digest,
            starts_at,
            ends_at,
        )
        return StoredDocument(cid, digest, receipt)

    def read_lease(self, lease_id: bytes) -> LeaseView:
        """The lease and its signed contract, checked against each other."""
        lease = self.ledger.get_lease(lease_id)
        if lease is None:
            raise ServiceRecordNotFound(f"no lease {hex32(lease_id)} on the services contract")
        cid = document_cid(lease.document_digest)
        data = self.store.get(cid)
        if document_digest(data) != lease.document_digest:
            raise ServiceDocumentError(f"stored bytes do not hash to {hex32(lease.document_digest)}")
        try:
            contract, signer = open_document(data, LeaseContract)
        except MaterialsError as exc:
            raise ServiceDocumentError(f"the lease contract does not open: {exc}") from exc
        expected = (hex32(lease_id), hex32(lease.passport_id), lease.lessor, lease.lessee)
        found = (contract.lease_id, contract.passport_id, contract.lessor, contract.lessee)
        if signer != lease.lessor or found != expected or contract.term != (lease.starts_at, lease.ends_at):
            raise ServiceDocumentError("the stored lease contract is not the one recorded on-chain")
        return LeaseView(lease, contract, cid)

    def end_lease(self, lease_id: bytes) -> TxReceipt:
        return self.ledger.end_lease(lease_id)

    # -- ownership and consent --------------------------------------------------------------------------
    def record_owner(self, passport_id: bytes, owner: str) -> TxReceipt:
        return self.ledger.record_owner(passport_id, owner)

    def transfer_ownership(self, passport_id: bytes, new_owner: str) -> TxReceipt:
        return self.ledger.transfer_ownership(passport_id, new_owner)

    def grant_consent(
        self, passport_id: bytes, action: ConsentAction, counterparty: str | None, expires_at: int
    ) -> TxReceipt:
        return self.ledger.grant_consent(passport_id, action, counterparty, expires_at)

    def revoke_consent(self, passport_id: bytes, action: ConsentAction) -> TxReceipt:
        return self.ledger.revoke_consent(passport_id, action)

    # -- bindings -------------------------------------------------------------------------------------
    def install(self, passport_id: bytes, kind: HolderKind, holder: bytes, reading: HandOver) -> TxReceipt:
        return self.ledger.install_pack(passport_id, kind, holder, reading)

    def remove(self, passport_id: bytes, reading: HandOver) -> TxReceipt:
        return self.ledger.remove_pack(passport_id, reading)

    def swap(
        self,
        vehicle: bytes,
        station: bytes,
        outgoing: bytes,
        incoming: bytes,
        outgoing_reading: HandOver,
        incoming_reading: HandOver,
    ) -> TxReceipt:
        return self.ledger.swap(vehicle, station, outgoing, incoming, outgoing_reading, incoming_reading)

    def binding_history(self, passport_id: bytes) -> list[BindingEvent]:
        return self.ledger.binding_history(passport_id, self.from_block)

    # -- second life and claims -------------------------------------------------------------------------
    def record_storage(
        self, passport_id: bytes, site: bytes, rated_energy_wh: int, role: StorageRole
    ) -> TxReceipt:
        return self.ledger.record_storage_installation(passport_id, site, rated_energy_wh, role)

    def record_claim(
        self, passport_id: bytes, kind: ClaimKind, period: int, quantity: int, evidence_digest: bytes
    ) -> TxReceipt:
        return self.ledger.record_claim(passport_id, kind, period, quantity, evidence_digest)

    def claim(self, passport_id: bytes, kind: ClaimKind, period: int) -> ServiceClaim:
        found = self.ledger.get_claim(passport_id, kind, period)
        if found is None:
            raise ServiceRecordNotFound(f"no {kind.name.lower()} claim for {hex32(passport_id)} in {period}")
        return found

    # -- overview ---------------------------------------------------------------------------------------
    def overview(self, passport_id: bytes) -> ServiceOverview:
        """Owner, live consents, binding, storage installation, leases and claims of one battery."""
        consents = tuple(
            c for action in ConsentAction if (c := self.ledger.get_consent(passport_id, action)) is not None
        )
        return ServiceOverview(
            passport_id=passport_id,
            legal_owner=self.ledger.legal_owner(passport_id),
            consents=consents,
            binding=self.ledger.get_binding(passport_id),
            storage=self.ledger.get_storage_installation(passport_id),
            leases=tuple(self.ledger.leases_of(passport_id, self.from_block)),
            claims=tuple(self.ledger.claims_of(passport_id, self.from_block)),
        )


__all__ = ["LeaseView", "ServiceModels", "ServiceOverview"]
