"""The sales side of the registry (``BatterySales``): records and the narrow port the market uses.

A sale is tied to custody: ``agree_sale`` (by the seller, the custodian) offers custody to the buyer, the
buyer's ``accept_custody`` completes it, and nothing else does. Only the digest of the signed terms
document goes on-chain; the document itself lives in the content store.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol, runtime_checkable

from passport.chain.records import BusinessRecord, PassportRecord, TxReceipt
from passport.errors import ChainError


class SaleState(IntEnum):
    """Where a sale stands on-chain (the contract's ``SaleState``)."""

    NONE = 0
    AGREED = 1
    COMPLETED = 2
    CANCELLED = 3
    DISPUTED = 4
    RESOLVED = 5


@dataclass(frozen=True, slots=True)
class SaleRecord:
    """One sale's on-chain record: the parties, the terms digest, its state and times."""

    sale_id: bytes
    passport_id: bytes
    terms_digest: bytes
    seller: str
    buyer: str
    state: SaleState
    agreed_at: int
    closed_at: int


@runtime_checkable
class SalesChain(Protocol):
    """What the market asks of the ledger, acting as one account."""

    @property
    def account(self) -> str: ...

    def agree_sale(
        self, sale_id: bytes, passport_id: bytes, buyer: str, terms_digest: bytes, expires_at: int
    ) -> TxReceipt: ...

    def cancel_sale(self, sale_id: bytes, reason_digest: bytes) -> TxReceipt: ...

    def dispute_sale(self, sale_id: bytes, claim_digest: bytes) -> TxReceipt: ...

    def resolve_sale_dispute(self, sale_id: bytes, outcome_digest: bytes) -> TxReceipt: ...

    def get_sale(self, sale_id: bytes) -> SaleRecord | None: ...

    def open_sale(self, passport_id: bytes) -> bytes | None: ...

    def accept_custody(self, passport_id: bytes) -> TxReceipt: ...

    def get_passport(self, passport_id: bytes) -> PassportRecord | None: ...

    def get_business(self, account: str) -> BusinessRecord | None: ...


def sales_chain(client: object) -> SalesChain:
    """``client`` as a ``SalesChain``; ``ChainError`` if it cannot record sales (a client of another
    registry build)."""
    if not isinstance(client, SalesChain):
        raise ChainError(f"{type(client).__name__} cannot record sales")
    return client
