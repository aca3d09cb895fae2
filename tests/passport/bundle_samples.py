"""Sample verification bundles for the verify and CLI suites: a real commit, a real signature.

The anchor is a synthetic block, built here from the consensus rules (not from a node): one transaction
whose receipt carries the registry's version event for the sample passport, a header committing to both
through Merkle-Patricia tries, and the proofs. So the offline suite checks real proofs without a chain.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import rlp
from eth_abi.abi import encode as abi_encode
from eth_account import Account
from eth_utils.crypto import keccak

from passport.bundle import AnchorReceipt, VerificationBundle, build_bundle
from passport.chain.inclusion import logs_bloom, prove, trie_root
from passport.envelope import KeyRing
from passport.ids import battery_id_hash
from passport.model import LifecycleStatus
from passport.sections import CommittedPassport, commit_passport
from passport.signing import PassportDomain, sign_passport_version
from passport.store import EmbeddedStore

ISSUER_KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
OTHER_KEY = bytes.fromhex("8da4ef21b864d2cc526dbdb2a120bd2874c36c9d0a1fb7f8c63d7f7a8b41de8f")
ISSUER = Account.from_key(ISSUER_KEY).address
OTHER = Account.from_key(OTHER_KEY).address
CHAIN_ID = 31337
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
DOMAIN = PassportDomain(chain_id=CHAIN_ID, verifying_contract=REGISTRY)
BLOCK_NUMBER = 7
OFFLINE_CHECKS = [
    "bundle.format",
    "manifest.schema",
    "manifest.digest",
    "manifest.cid",
    "manifest.consistency",
    "public_section.digest",
    "public_section.cid",
    "public_section.document",
    "signature.recover",
    "signature.trusted_issuer",
    "anchor.header",
    "anchor.transaction",
    "anchor.receipt",
    "anchor.writer",
]


def _word(value: bytes) -> bytes:
    return value.rjust(32, b"\x00")


def version_log(committed: CommittedPassport, writer: str) -> tuple[bytes, list[bytes], bytes]:
    """The registry log (address, topics, data) recording ``committed`` as written by ``writer``."""
    v = committed.version_struct()
    who = _word(bytes.fromhex(writer[2:]))
    if v.version == 1:
        topic = keccak(text="PassportIssued(bytes32,bytes32,address,uint8,bytes32,bytes32)")
        topics = [topic, v.passport_id, v.battery_id_hash, who]
        data = abi_encode(["uint8", "bytes32", "bytes32"], [int(v.status), v.manifest_digest, v.predecessor])
    else:
        topic = keccak(text="PassportStatusChanged(bytes32,address,uint8,uint8,uint32,bytes32)")
        topics = [topic, v.passport_id, who]
        data = abi_encode(
            ["uint8", "uint8", "uint32", "bytes32"],
            [int(LifecycleStatus.ORIGINAL), int(v.status), v.version, v.manifest_digest],
        )
    return bytes.fromhex(REGISTRY[2:]), topics, data


def synthetic_anchor(logs: list[tuple[bytes, list[bytes], bytes]], tx_index: int = 1) -> AnchorReceipt:
    """A block whose transaction ``tx_index`` left ``logs``, with its header and both proofs."""
    transactions = [rlp.encode([i, 10**9, 90_000, b"\x11" * 20, 0, b"tx-%d" % i, 27, 1, 2]) for i in range(3)]
    receipts = [
        rlp.encode(
            [
                1,
                50_000 * (i + 1),
                logs_bloom([(a, t) for a, t, _ in logs]) if i == tx_index else b"\x00" * 256,
                logs if i == tx_index else [],
            ]
        )
        for i in range(3)
    ]
    header = [
        b"\x01" * 32,  # parent hash
        keccak(rlp.encode([])),  # no ommers
        b"\x00" * 20,
        b"\x02" * 32,  # state root
        trie_root(transactions),
        trie_root(receipts),
        b"\x00" * 256,
        b"",  # difficulty 0
        BLOCK_NUMBER.to_bytes(1, "big"),
        (30_000_000).to_bytes(4, "big"),
        (150_000).to_bytes(3, "big"),
        (1_800_000_000).to_bytes(4, "big"),
        b"",
        b"\x03" * 32,
        b"\x00" * 8,
        (7).to_bytes(1, "big"),  # base fee
        keccak(rlp.encode(b"")),  # withdrawals root (empty trie)
    ]
    return AnchorReceipt(
        chain_id=CHAIN_ID,
        registry=REGISTRY,
        tx_hash="0x" + keccak(transactions[tx_index]).hex(),
        block_number=BLOCK_NUMBER,
        block_hash="0x" + keccak(rlp.encode(header)).hex(),
        tx_index=tx_index,
        header=["0x" + field.hex() for field in header],
        transaction_proof=["0x" + node.hex() for node in prove(transactions, tx_index)],
        receipt_proof=["0x" + node.hex() for node in prove(receipts, tx_index)],
    )


def commit_sample(tmp_path: Path, **kw: Any) -> CommittedPassport:
    return commit_passport(
        {"public": {"battery_id": "BAT-0001", "chemistry": "LFP"}, "authority": {"secret": True}},
        passport_id=uuid.UUID("7a1f0c2e-9b8d-4f6a-a3c5-e7d9b1f30486"),
        battery_id_hash=battery_id_hash("BAT-0001"),
        version=kw.get("version", 1),
        status=kw.get("status", LifecycleStatus.ORIGINAL),
        store=EmbeddedStore(tmp_path / "store"),
        keyring=KeyRing(tmp_path / "keys"),
        document_schema="test-schema/1",
    )


def make_bundle(tmp_path: Path, key: bytes = ISSUER_KEY, **kw: Any) -> VerificationBundle:
    """A bundle signed by ``key`` and anchored in a synthetic block that records that key as writer."""
    committed = commit_sample(tmp_path, **kw)
    signer = Account.from_key(key).address
    signature = sign_passport_version(key, DOMAIN, committed.version_struct())
    anchor = synthetic_anchor([version_log(committed, signer)])
    return build_bundle(committed, issuer=signer, signature=signature, anchor=anchor)
