"""The ``MaterialLedger`` boundary: what the system asks of the deployed ``RecycledMaterialLedger``.

A narrow port beside ``ChainClient``: lots, production certificates, per-metal mass-balance credits and
usage claims. The real implementation is ``passport.chain.material_web3.Web3MaterialLedger``; callers
pass and receive plain bytes/ints/str and the records below, and catch ``passport.errors`` only (reverts
arrive as ``ContractRevert`` naming the contract's custom error).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol, runtime_checkable

from passport.chain.records import TxReceipt
from passport.model.circularity import RecycledElement

#: The contract's name (its artifact is ``passport/_artifacts/RecycledMaterialLedger.json``).
MATERIAL_LEDGER_CONTRACT = "RecycledMaterialLedger"

#: Grams of cobalt, lithium, nickel and lead, in the contract's ``Metal`` order.
MetalGrams = tuple[int, int, int, int]
NO_GRAMS: MetalGrams = (0, 0, 0, 0)
UINT64_MAX = 2**64 - 1

#: Maximum recovery efficiency per metal (basis points) a lot may claim of its feedstock's metal content:
#: cobalt, lithium, nickel, lead. Project policy, documented: a little above the highest recovery that
#: industrial hydrometallurgy reports (Ni/Co ~98 %, Li ~90-95 %) and above the EU's 2031 recovery targets
#: (Reg. 2023/1542 Annex XII Part C: Co/Ni/Pb 95 %, Li 80 %), so an honest lot always fits and a claim
#: beyond physics never does. The admin may tighten them on-chain (``set_max_recovery``).
DEFAULT_MAX_RECOVERY_BPS: MetalGrams = (9_800, 9_500, 9_800, 9_900)


class Metal(IntEnum):
    """The contract's ``Metal`` enum: the four elements Art. 8 sets recycled-content targets for."""

    COBALT = 0
    LITHIUM = 1
    NICKEL = 2
    LEAD = 3

    @property
    def element(self) -> RecycledElement:
        """The same metal as the passport model names it."""
        return RecycledElement(self.name.lower())

    @classmethod
    def of(cls, element: RecycledElement | str) -> Metal:
        """The metal for a ``RecycledElement`` (or its value, ``"cobalt"``)."""
        return cls[RecycledElement(element).name]


class MaterialRole(IntEnum):
    """Roles of the material ledger; the role id is keccak256 of ``<NAME>_ROLE`` (ADMIN: zero)."""

    ADMIN = 0
    RECYCLER = 1
    CERTIFIER = 2

    @property
    def role_name(self) -> str:
        return f"{self.name}_ROLE"


class LotStatus(IntEnum):
    """The contract's ``LotStatus``."""

    NONE = 0
    RECORDED = 1
    CERTIFIED = 2


class ClaimStatus(IntEnum):
    """The contract's ``ClaimStatus``."""

    NONE = 0
    SUBMITTED = 1
    CERTIFIED = 2
    REJECTED = 3


@dataclass(frozen=True, slots=True)
class LotRecord:
    """A lot as the chain holds it (digests of its documents; amounts in grams of metal)."""

    lot_id: bytes
    recycler: str
    status: LotStatus
    post_consumer: bool
    recorded_at: int
    document_digest: bytes
    certificate_digest: bytes  # zero until certified
    feedstock_grams: MetalGrams
    recovered_grams: MetalGrams
    feedstock: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class ClaimRecord:
    """A usage claim as the chain holds it: who retired how many grams of which credits."""

    claim_id: bytes
    claimant: str
    status: ClaimStatus
    submitted_at: int
    claim_digest: bytes
    certificate_digest: bytes  # the usage certificate (or the rejection's reasons); zero while submitted
    pre_consumer_grams: MetalGrams
    post_consumer_grams: MetalGrams


@runtime_checkable
class MaterialLedger(Protocol):
    """A typed client of the deployed ``RecycledMaterialLedger``, acting as one account."""

    @property
    def address(self) -> str:
        """Checksummed address of the material ledger contract."""
        ...

    @property
    def account(self) -> str:
        """Checksummed address this client signs transactions with."""
        ...

    def grant_role(self, role: MaterialRole, account: str) -> TxReceipt: ...

    def has_role(self, role: MaterialRole, account: str) -> bool: ...

    def record_lot(
        self,
        lot_id: bytes,
        *,
        post_consumer: bool,
        feedstock: Sequence[bytes],
        feedstock_grams: MetalGrams,
        recovered_grams: MetalGrams,
        document_digest: bytes,
    ) -> TxReceipt: ...

    def certify_lot(self, lot_id: bytes, certificate_digest: bytes) -> TxReceipt: ...

    def transfer_credits(self, to: str, metal: Metal, grams: int, *, post_consumer: bool) -> TxReceipt: ...

    def submit_usage_claim(
        self, claim_id: bytes, claim_digest: bytes, pre_consumer: MetalGrams, post_consumer: MetalGrams
    ) -> TxReceipt: ...

    def certify_usage(self, claim_id: bytes, certificate_digest: bytes) -> TxReceipt: ...

    def reject_usage_claim(self, claim_id: bytes, reason_digest: bytes) -> TxReceipt: ...

    def set_max_recovery(self, metal: Metal, basis_points: int) -> TxReceipt: ...

    def get_lot(self, lot_id: bytes) -> LotRecord | None:
        """The lot, or None if it was never recorded."""
        ...

    def get_claim(self, claim_id: bytes) -> ClaimRecord | None:
        """The claim, or None if it was never submitted."""
        ...

    def feedstock_lot(self, passport_id: bytes) -> bytes | None:
        """The lot a passport's battery fed, or None."""
        ...

    def credit_balance(self, holder: str, metal: Metal, *, post_consumer: bool) -> int: ...

    def credit_totals(self, metal: Metal, *, post_consumer: bool) -> tuple[int, int]:
        """Grams (certified, retired) so far for a metal and origin."""
        ...

    def max_recovery(self, metal: Metal) -> int:
        """The metal's maximum recovery efficiency, basis points."""
        ...


__all__ = [
    "DEFAULT_MAX_RECOVERY_BPS",
    "MATERIAL_LEDGER_CONTRACT",
    "NO_GRAMS",
    "UINT64_MAX",
    "ClaimRecord",
    "ClaimStatus",
    "LotRecord",
    "LotStatus",
    "MaterialLedger",
    "MaterialRole",
    "Metal",
    "MetalGrams",
]
