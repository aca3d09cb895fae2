"""The on-chain ledger: the ``ChainClient`` boundary, its records, and its web3 implementation."""

from passport.chain.protocol import ChainClient
from passport.chain.records import (
    AnchorKind,
    AnchorRecord,
    BusinessKind,
    BusinessRecord,
    CustodyOffer,
    LedgerEvent,
    LifecycleStatus,
    PassportRecord,
    Role,
    TxReceipt,
)

__all__ = [
    "AnchorKind",
    "AnchorRecord",
    "BusinessKind",
    "BusinessRecord",
    "ChainClient",
    "CustodyOffer",
    "LedgerEvent",
    "LifecycleStatus",
    "PassportRecord",
    "Role",
    "TxReceipt",
]
