"""``Web3BatteryServices``: the ``BatteryServicesLedger`` port over web3.py, and its deployment.

Like ``Web3MaterialLedger`` it reuses the registry client's transaction sender, so errors are translated
exactly as there: custom errors of this contract and of the registry it reads become ``ContractRevert``,
an unreachable node ``ChainUnavailable``, anything else that stops a transaction ``TransactionFailed``.
Built with ``for_client`` it shares the registry client's connection and nonce book.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_utils.address import to_checksum_address
from web3 import Web3

from passport.chain.records import LedgerEvent, TxReceipt
from passport.chain.services import (
    FULL_BPS,
    SERVICES_CONTRACT,
    Binding,
    BindingEvent,
    ClaimKind,
    Consent,
    ConsentAction,
    HandOver,
    HolderKind,
    Lease,
    ServiceClaim,
    ServicesRole,
    StorageInstallation,
    StorageRole,
)
from passport.chain.side_contracts import SideContractClient, deploy_side_contract, role_id
from passport.chain.web3_client import (
    _address,
    _b32,
    _Nonces,
)
from passport.errors import InvalidIdentifier
from passport.settings import Settings

_ZERO32 = b"\x00" * 32
_ZERO_ADDRESS = "0x" + "00" * 20


def services_role_id(role: ServicesRole) -> bytes:
    """The contract's role id: zero for the default admin, else keccak256 of the role name."""
    return role_id(None if role is ServicesRole.ADMIN else role.role_name)


def _reading(reading: HandOver) -> tuple[int, int]:
    if not (0 <= reading.soc_bps <= FULL_BPS and 0 <= reading.soh_bps <= FULL_BPS):
        raise InvalidIdentifier(f"state of charge / health must be 0..{FULL_BPS} bps, got {reading!r}")
    return (int(reading.soc_bps), int(reading.soh_bps))


def _uint(value: int, bits: int, what: str) -> int:
    if not 0 <= int(value) < 2**bits:
        raise InvalidIdentifier(f"{what} must fit uint{bits}, got {value!r}")
    return int(value)


def _optional_address(value: Any) -> str | None:
    address = to_checksum_address(value)
    return None if address == to_checksum_address(_ZERO_ADDRESS) else address


class Web3BatteryServices(SideContractClient):
    """A ``BatteryServicesLedger`` for a deployed ``BatteryServices``, acting as one account."""

    CONTRACT = SERVICES_CONTRACT
    LABEL = "services contract"

    def passport_events(
        self, passport_id: bytes, names: Sequence[str], from_block: int = 0
    ) -> list[LedgerEvent]:
        """This contract's events ``names`` whose ``passportId`` topic (the first indexed argument) is
        ``passport_id``, in chain order: one ``eth_getLogs`` filtered by topic."""
        topics = ["0x" + t.hex() for t, n in self._events_by_topic.items() if n in set(names)]
        if not topics:
            return []
        params: dict[str, Any] = {
            "address": self._contract.address,
            "fromBlock": int(from_block),
            "toBlock": "latest",
            "topics": [topics, "0x" + _b32(passport_id).hex()],
        }
        with self._sender.boundary():
            logs = self._w3.eth.get_logs(params)  # type: ignore[arg-type]
        found = [e for entry in logs if (e := self._decode(entry)) is not None]
        found.sort(key=lambda e: (e.block_number, e.log_index))
        return found

    # -- roles ----------------------------------------------------------------------------------------
    def grant_role(self, role: ServicesRole, account: str) -> TxReceipt:
        return self._transact("grantRole", services_role_id(role), _address(account))

    def has_role(self, role: ServicesRole, account: str) -> bool:
        return bool(self._call("hasRole", services_role_id(role), _address(account)))

    # -- ownership and consent ---------------------------------------------------------------------
    def record_owner(self, passport_id: bytes, owner: str) -> TxReceipt:
        return self._transact("recordOwner", _b32(passport_id), _address(owner))

    def transfer_ownership(self, passport_id: bytes, new_owner: str) -> TxReceipt:
        return self._transact("transferOwnership", _b32(passport_id), _address(new_owner))

    def grant_consent(
        self, passport_id: bytes, action: ConsentAction, counterparty: str | None, expires_at: int
    ) -> TxReceipt:
        return self._transact(
            "grantConsent",
            _b32(passport_id),
            int(ConsentAction(action)),
            _ZERO_ADDRESS if counterparty is None else _address(counterparty),
            _uint(expires_at, 64, "expiry"),
        )

    def revoke_consent(self, passport_id: bytes, action: ConsentAction) -> TxReceipt:
        return self._transact("revokeConsent", _b32(passport_id), int(ConsentAction(action)))

    def legal_owner(self, passport_id: bytes) -> str | None:
        return _optional_address(self._call("legalOwner", _b32(passport_id)))

    def get_consent(self, passport_id: bytes, action: ConsentAction) -> Consent | None:
        counterparty, expires_at = self._call("getConsent", _b32(passport_id), int(ConsentAction(action)))
        if int(expires_at) == 0:
            return None
        return Consent(ConsentAction(action), _optional_address(counterparty), int(expires_at))

    # -- leases -------------------------------------------------------------------------------------
    def record_lease(
        self,
        lease_id: bytes,
        passport_id: bytes,
        lessee: str,
        document_digest: bytes,
        starts_at: int,
        ends_at: int,
    ) -> TxReceipt:
        return self._transact(
            "recordLease",
            _b32(lease_id),
            _b32(passport_id),
            _address(lessee),
            _b32(document_digest),
            _uint(starts_at, 64, "lease start"),
            _uint(ends_at, 64, "lease end"),
        )

    def end_lease(self, lease_id: bytes) -> TxReceipt:
        return self._transact("endLease", _b32(lease_id))

    def get_lease(self, lease_id: bytes) -> Lease | None:
        raw = self._call("getLease", _b32(lease_id))
        if bytes(raw[0]) == _ZERO32:
            return None
        return Lease(
            lease_id=bytes(lease_id),
            passport_id=bytes(raw[0]),
            document_digest=bytes(raw[1]),
            lessor=to_checksum_address(raw[2]),
            starts_at=int(raw[3]),
            lessee=to_checksum_address(raw[4]),
            ends_at=int(raw[5]),
            ended_at=int(raw[6]),
        )

    def leases_of(self, passport_id: bytes, from_block: int = 0) -> list[Lease]:
        # LeaseRecorded's first indexed argument is the lease id: filter its second topic (passportId).
        topic = next(t for t, n in self._events_by_topic.items() if n == "LeaseRecorded")
        params: dict[str, Any] = {
            "address": self._contract.address,
            "fromBlock": int(from_block),
            "toBlock": "latest",
            "topics": ["0x" + topic.hex(), None, "0x" + _b32(passport_id).hex()],
        }
        with self._sender.boundary():
            logs = self._w3.eth.get_logs(params)  # type: ignore[arg-type]
        events = sorted(
            (e for entry in logs if (e := self._decode(entry)) is not None),
            key=lambda e: (e.block_number, e.log_index),
        )
        leases = [self.get_lease(bytes(e.args["leaseId"])) for e in events]
        return [lease for lease in leases if lease is not None]

    # -- bindings -----------------------------------------------------------------------------------
    def install_pack(
        self, passport_id: bytes, kind: HolderKind, holder: bytes, reading: HandOver
    ) -> TxReceipt:
        return self._transact(
            "installPack", _b32(passport_id), int(HolderKind(kind)), _b32(holder), _reading(reading)
        )

    def remove_pack(self, passport_id: bytes, reading: HandOver) -> TxReceipt:
        return self._transact("removePack", _b32(passport_id), _reading(reading))

    def swap(
        self,
        vehicle: bytes,
        station: bytes,
        outgoing: bytes,
        incoming: bytes,
        outgoing_reading: HandOver,
        incoming_reading: HandOver,
    ) -> TxReceipt:
        return self._transact(
            "swap",
            _b32(vehicle),
            _b32(station),
            _b32(outgoing),
            _b32(incoming),
            _reading(outgoing_reading),
            _reading(incoming_reading),
        )

    def get_binding(self, passport_id: bytes) -> Binding | None:
        kind, holder, since, soc, soh = self._call("getBinding", _b32(passport_id))
        if HolderKind(int(kind)) is HolderKind.NONE:
            return None
        return Binding(HolderKind(int(kind)), bytes(holder), int(since), HandOver(int(soc), int(soh)))

    def binding_history(self, passport_id: bytes, from_block: int = 0) -> list[BindingEvent]:
        events = self.passport_events(passport_id, ("PackInstalled", "PackRemoved"), from_block)
        return [BindingEvent.of(e) for e in events]

    # -- second life and claims ---------------------------------------------------------------------
    def record_storage_installation(
        self, passport_id: bytes, site: bytes, rated_energy_wh: int, role: StorageRole
    ) -> TxReceipt:
        return self._transact(
            "recordStorageInstallation",
            _b32(passport_id),
            _b32(site),
            _uint(rated_energy_wh, 64, "rated energy"),
            int(StorageRole(role)),
        )

    def get_storage_installation(self, passport_id: bytes) -> StorageInstallation | None:
        site, rated, role, installed_at, recorded_by = self._call("getStorageInstallation", _b32(passport_id))
        if bytes(site) == _ZERO32:
            return None
        return StorageInstallation(
            bytes(site),
            int(rated),
            StorageRole(int(role)),
            int(installed_at),
            to_checksum_address(recorded_by),
        )

    def record_claim(
        self, passport_id: bytes, kind: ClaimKind, period: int, quantity: int, evidence_digest: bytes
    ) -> TxReceipt:
        return self._transact(
            "recordClaim",
            _b32(passport_id),
            int(ClaimKind(kind)),
            _uint(period, 32, "period"),
            _uint(quantity, 128, "quantity"),
            _b32(evidence_digest),
        )

    def get_claim(self, passport_id: bytes, kind: ClaimKind, period: int) -> ServiceClaim | None:
        claimant, recorded_at, quantity, evidence = self._call(
            "getClaim", _b32(passport_id), int(ClaimKind(kind)), _uint(period, 32, "period")
        )
        if _optional_address(claimant) is None:
            return None
        return ServiceClaim(
            passport_id=bytes(passport_id),
            kind=ClaimKind(kind),
            period=int(period),
            claimant=to_checksum_address(claimant),
            recorded_at=int(recorded_at),
            quantity=int(quantity),
            evidence_digest=bytes(evidence),
        )

    def claims_of(self, passport_id: bytes, from_block: int = 0) -> list[ServiceClaim]:
        claims = []
        for event in self.passport_events(passport_id, ("ClaimRecorded",), from_block):
            claim = self.get_claim(passport_id, ClaimKind(int(event.args["kind"])), int(event.args["period"]))
            if claim is not None:
                claims.append(claim)
        return claims


def deploy_services(
    chain: Web3,
    private_key: bytes | str,
    registry_address: str,
    *,
    admin: str | None = None,
    admin_delay: int = 0,
    settings: Settings,
    nonces: _Nonces | None = None,
) -> tuple[str, TxReceipt]:
    """Deploy ``BatteryServices`` reading ``registry_address``; returns its address and receipt.

    It does not wire the registry to it: the registry's admin calls ``set_services`` (see
    ``passport.chain.deployment``), after which custody transfers, repurposing and recycling of a battery
    with a legal owner other than its custodian need that owner's consent.
    """
    return deploy_side_contract(
        chain,
        private_key,
        registry_address,
        contract=SERVICES_CONTRACT,
        label="services",
        constructor_args=lambda registry, delay, owner: (registry, delay, owner),
        admin=admin,
        admin_delay=admin_delay,
        settings=settings,
        nonces=nonces,
    )


__all__ = ["Web3BatteryServices", "deploy_services", "services_role_id"]
