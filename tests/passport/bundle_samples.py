"""Sample verification bundles for the verify and CLI suites: a real commit, a real signature."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from eth_account import Account

from passport.bundle import AnchorReceipt, VerificationBundle, build_bundle
from passport.envelope import KeyRing
from passport.ids import battery_id_hash
from passport.model import LifecycleStatus
from passport.sections import commit_passport
from passport.signing import sign_passport_version
from passport.store import EmbeddedStore

ISSUER_KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
OTHER_KEY = bytes.fromhex("8da4ef21b864d2cc526dbdb2a120bd2874c36c9d0a1fb7f8c63d7f7a8b41de8f")
ISSUER = Account.from_key(ISSUER_KEY).address
OTHER = Account.from_key(OTHER_KEY).address
ANCHOR = AnchorReceipt(
    chain_id=31337,
    registry="0x5FbDB2315678afecb367f032d93F642f64180aa3",
    tx_hash="0x" + "11" * 32,
    block_number=7,
    block_hash="0x" + "22" * 32,
)
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
]


def make_bundle(tmp_path: Path, key: bytes = ISSUER_KEY, **kw: Any) -> VerificationBundle:
    committed = commit_passport(
        {"public": {"battery_id": "BAT-0001", "chemistry": "LFP"}, "authority": {"secret": True}},
        passport_id=uuid.UUID("7a1f0c2e-9b8d-4f6a-a3c5-e7d9b1f30486"),
        battery_id_hash=battery_id_hash("BAT-0001"),
        version=kw.get("version", 1),
        status=kw.get("status", LifecycleStatus.ORIGINAL),
        store=EmbeddedStore(tmp_path / "store"),
        keyring=KeyRing(tmp_path / "keys"),
        document_schema="test-schema/1",
    )
    signature = sign_passport_version(key, ANCHOR.domain(), committed.version_struct())
    return build_bundle(committed, issuer=Account.from_key(key).address, signature=signature, anchor=ANCHOR)
