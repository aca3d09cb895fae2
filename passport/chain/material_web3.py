"""``Web3MaterialLedger``: the ``MaterialLedger`` port over web3.py, and its deployment.

It reuses the registry client's transaction sender, so errors are translated exactly as there: custom
errors (of this contract and of the registry it calls) become ``ContractRevert``, an unreachable node
``ChainUnavailable``, anything else that stops a transaction ``TransactionFailed``. Built from a registry
client with ``for_client``, it shares that client's connection and nonce book, so one account writing
to both contracts never reuses a nonce.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_utils.address import to_checksum_address
from web3 import Web3

from passport.chain.material_ledger import (
    DEFAULT_MAX_RECOVERY_BPS,
    MATERIAL_LEDGER_CONTRACT,
    ClaimRecord,
    ClaimStatus,
    LotRecord,
    LotStatus,
    MaterialRole,
    Metal,
    MetalGrams,
)
from passport.chain.records import TxReceipt
from passport.chain.side_contracts import SideContractClient, deploy_side_contract, role_id
from passport.chain.web3_client import (
    _address,
    _b32,
    _Nonces,
)
from passport.errors import InvalidIdentifier
from passport.settings import Settings

_ZERO32 = b"\x00" * 32


def material_role_id(role: MaterialRole) -> bytes:
    """The contract's role id: zero for the default admin, else keccak256 of the role name."""
    return role_id(None if role is MaterialRole.ADMIN else role.role_name)


def _grams(values: Sequence[int], what: str) -> list[int]:
    grams = [int(v) for v in values]
    if len(grams) != len(Metal) or any(not 0 <= g < 2**64 for g in grams):
        raise InvalidIdentifier(f"{what} must be four gram amounts in 0..2**64-1, got {values!r}")
    return grams


def _metal_grams(value: Any) -> MetalGrams:
    a, b, c, d = (int(v) for v in value)
    return (a, b, c, d)


class Web3MaterialLedger(SideContractClient):
    """A ``MaterialLedger`` for a deployed ``RecycledMaterialLedger``, acting as one account."""

    CONTRACT = MATERIAL_LEDGER_CONTRACT
    LABEL = "material ledger"

    # -- roles ----------------------------------------------------------------------------------------
    def grant_role(self, role: MaterialRole, account: str) -> TxReceipt:
        return self._transact("grantRole", material_role_id(role), _address(account))

    def has_role(self, role: MaterialRole, account: str) -> bool:
        return bool(self._call("hasRole", material_role_id(role), _address(account)))

    # -- writes ---------------------------------------------------------------------------------------
    def record_lot(
        self,
        lot_id: bytes,
        *,
        post_consumer: bool,
        feedstock: Sequence[bytes],
        feedstock_grams: MetalGrams,
        recovered_grams: MetalGrams,
        document_digest: bytes,
    ) -> TxReceipt:
        return self._transact(
            "recordLot",
            _b32(lot_id),
            bool(post_consumer),
            [_b32(p) for p in feedstock],
            _grams(feedstock_grams, "feedstock grams"),
            _grams(recovered_grams, "recovered grams"),
            _b32(document_digest),
        )

    def certify_lot(self, lot_id: bytes, certificate_digest: bytes) -> TxReceipt:
        return self._transact("certifyLot", _b32(lot_id), _b32(certificate_digest))

    def transfer_credits(self, to: str, metal: Metal, grams: int, *, post_consumer: bool) -> TxReceipt:
        if not 0 <= int(grams) < 2**256:
            raise InvalidIdentifier(f"grams must be a non-negative uint256, got {grams!r}")
        return self._transact(
            "transferCredits", _address(to), int(Metal(metal)), bool(post_consumer), int(grams)
        )

    def submit_usage_claim(
        self, claim_id: bytes, claim_digest: bytes, pre_consumer: MetalGrams, post_consumer: MetalGrams
    ) -> TxReceipt:
        return self._transact(
            "submitUsageClaim",
            _b32(claim_id),
            _b32(claim_digest),
            _grams(pre_consumer, "pre-consumer grams"),
            _grams(post_consumer, "post-consumer grams"),
        )

    def certify_usage(self, claim_id: bytes, certificate_digest: bytes) -> TxReceipt:
        return self._transact("certifyUsage", _b32(claim_id), _b32(certificate_digest))

    def reject_usage_claim(self, claim_id: bytes, reason_digest: bytes) -> TxReceipt:
        return self._transact("rejectUsageClaim", _b32(claim_id), _b32(reason_digest))

    def set_max_recovery(self, metal: Metal, basis_points: int) -> TxReceipt:
        if not 0 <= int(basis_points) < 2**16:
            raise InvalidIdentifier(f"basis points must fit uint16, got {basis_points!r}")
        return self._transact("setMaxRecovery", int(Metal(metal)), int(basis_points))

    # -- reads ----------------------------------------------------------------------------------------
    def get_lot(self, lot_id: bytes) -> LotRecord | None:
        raw = self._call("getLot", _b32(lot_id))
        status = LotStatus(int(raw[1]))
        if status is LotStatus.NONE:
            return None
        feedstock = tuple(bytes(p) for p in self._call("lotFeedstock", _b32(lot_id)))
        return LotRecord(
            lot_id=bytes(lot_id),
            recycler=to_checksum_address(raw[0]),
            status=status,
            post_consumer=bool(raw[2]),
            recorded_at=int(raw[3]),
            document_digest=bytes(raw[4]),
            certificate_digest=bytes(raw[5]),
            feedstock_grams=_metal_grams(raw[6]),
            recovered_grams=_metal_grams(raw[7]),
            feedstock=feedstock,
        )

    def get_claim(self, claim_id: bytes) -> ClaimRecord | None:
        raw = self._call("getClaim", _b32(claim_id))
        status = ClaimStatus(int(raw[1]))
        if status is ClaimStatus.NONE:
            return None
        return ClaimRecord(
            claim_id=bytes(claim_id),
            claimant=to_checksum_address(raw[0]),
            status=status,
            submitted_at=int(raw[2]),
            claim_digest=bytes(raw[3]),
            certificate_digest=bytes(raw[4]),
            pre_consumer_grams=_metal_grams(raw[5]),
            post_consumer_grams=_metal_grams(raw[6]),
        )

    def feedstock_lot(self, passport_id: bytes) -> bytes | None:
        lot = bytes(self._call("feedstockLot", _b32(passport_id)))
        return None if lot == _ZERO32 else lot

    def credit_balance(self, holder: str, metal: Metal, *, post_consumer: bool) -> int:
        return int(self._call("creditBalance", _address(holder), int(Metal(metal)), bool(post_consumer)))

    def credit_totals(self, metal: Metal, *, post_consumer: bool) -> tuple[int, int]:
        certified, retired = self._call("creditTotals", int(Metal(metal)), bool(post_consumer))
        return int(certified), int(retired)

    def max_recovery(self, metal: Metal) -> int:
        return int(self._call("maxRecovery", int(Metal(metal))))


def deploy_material_ledger(
    chain: Web3,
    private_key: bytes | str,
    registry_address: str,
    *,
    max_recovery_bps: MetalGrams = DEFAULT_MAX_RECOVERY_BPS,
    admin: str | None = None,
    admin_delay: int = 0,
    settings: Settings,
    nonces: _Nonces | None = None,
) -> tuple[str, TxReceipt]:
    """Deploy ``RecycledMaterialLedger`` reading ``registry_address``; returns its address and receipt.

    ``nonces`` shares a nonce book with clients of the same deployer (the registry's deployment).
    """
    recovery = _grams(max_recovery_bps, "max recovery")
    return deploy_side_contract(
        chain,
        private_key,
        registry_address,
        contract=MATERIAL_LEDGER_CONTRACT,
        label="material ledger",
        constructor_args=lambda registry, delay, owner: (registry, recovery, delay, owner),
        admin=admin,
        admin_delay=admin_delay,
        settings=settings,
        nonces=nonces,
    )


__all__ = ["MATERIAL_LEDGER_CONTRACT", "Web3MaterialLedger", "deploy_material_ledger", "material_role_id"]
