"""The on-chain ledger: the ``ChainClient`` boundary, its records, and its web3 implementation.

The domain enums the records carry (``LifecycleStatus``, ``AnchorKind``, ``BusinessKind``) belong to
``passport.model``; import them from there.
"""

from passport.chain.artifacts import ContractArtifact, load_artifact
from passport.chain.clock import ChainClock, chain_now
from passport.chain.deploy import deploy_registry
from passport.chain.protocol import ChainClient
from passport.chain.records import (
    AnchorRecord,
    BusinessRecord,
    CustodyOffer,
    LedgerEvent,
    PassportIssue,
    PassportRecord,
    Role,
    SafetyState,
    TxReceipt,
)
from passport.chain.web3_client import Web3ChainClient, connect, role_id

__all__ = [
    "AnchorRecord",
    "BusinessRecord",
    "ChainClient",
    "ChainClock",
    "ContractArtifact",
    "CustodyOffer",
    "LedgerEvent",
    "PassportIssue",
    "PassportRecord",
    "Role",
    "SafetyState",
    "TxReceipt",
    "Web3ChainClient",
    "chain_now",
    "connect",
    "deploy_registry",
    "load_artifact",
    "role_id",
]
