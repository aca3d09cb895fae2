"""Verification against the ledger: replays, supersession, recycling and forged anchors, on every chain.

Each test commits real sections to a real store, signs with an actor's key, writes through the real
registry, and verifies the bundle with a client of a different account (a reader holds no roles).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from typer.testing import CliRunner

from cli.main import app
from passport.bundle import VerificationBundle, build_bundle, prove_anchor
from passport.chain.records import TxReceipt
from passport.chain.web3_client import Web3ChainClient
from passport.envelope import KeyRing
from passport.ids import ZERO32, battery_id_hash, passport_id_bytes32
from passport.model import LifecycleStatus as S
from passport.sections import CommittedPassport, commit_passport
from passport.signing import PassportDomain, sign_passport_version
from passport.store import ContentStore, EmbeddedStore
from passport.verify import (
    ANCHOR_CHECKS,
    CHAIN_CHECKS,
    CheckStatus,
    LifecycleState,
    VerificationReport,
    verify_bundle,
)
from tests.chain_backends import Actor, ChainBackend

BATTERY = battery_id_hash("BAT-ONCHAIN-1")


@dataclass
class Ledger:
    """A backend plus the store, key ring and a reader client the tests share."""

    chain: ChainBackend
    store: ContentStore
    keyring: KeyRing

    @property
    def reader(self) -> Web3ChainClient:
        # A fresh account with no role: verification must need nothing but reads.
        return self.chain.client(Account.create().key)

    def commit(
        self, pid: uuid.UUID, version: int, status: S, predecessor: bytes = ZERO32
    ) -> CommittedPassport:
        return commit_passport(
            {"public": {"serial": "BAT-ONCHAIN-1", "v": version}, "authority": {"audit": "ok"}},
            passport_id=pid,
            battery_id_hash=BATTERY,
            version=version,
            status=status,
            predecessor=predecessor,
            store=self.store,
            keyring=self.keyring,
        )

    def sign(self, actor: Actor, committed: CommittedPassport) -> bytes:
        domain = PassportDomain(actor.client.chain_id, actor.client.registry_address)
        return sign_passport_version(actor.key, domain, committed.version_struct())

    def bundle(
        self, actor: Actor, committed: CommittedPassport, sig: bytes, receipt: TxReceipt
    ) -> VerificationBundle:
        anchor = prove_anchor(actor.client, receipt.tx_hash, receipt.block_hash)
        return build_bundle(committed, issuer=actor.address, signature=sig, anchor=anchor)

    def issue(self, actor: Actor, pid: uuid.UUID) -> VerificationBundle:
        committed = self.commit(pid, 1, S.ORIGINAL)
        sig = self.sign(actor, committed)
        receipt = actor.client.issue_passport(
            passport_id_bytes32(pid), BATTERY, committed.manifest_digest, sig
        )
        return self.bundle(actor, committed, sig, receipt)

    def next_version(self, actor: Actor, pid: uuid.UUID, status: S | None = None) -> VerificationBundle:
        record = actor.client.get_passport(passport_id_bytes32(pid))
        assert record is not None
        target = record.status if status is None else status
        committed = self.commit(pid, record.version + 1, target, record.predecessor)
        sig = self.sign(actor, committed)
        pid32 = passport_id_bytes32(pid)
        if target is S.RECYCLED:
            receipt = actor.client.recycle(pid32, committed.manifest_digest, sig)
        elif status is None:
            receipt = actor.client.update_passport(pid32, committed.manifest_digest, sig)
        else:
            receipt = actor.client.change_status(pid32, target, committed.manifest_digest, sig)
        return self.bundle(actor, committed, sig, receipt)

    def hand_over(self, sender: Actor, receiver: Actor, pid: uuid.UUID) -> None:
        sender.client.offer_custody(passport_id_bytes32(pid), receiver.address, self.chain.now() + 3600)
        receiver.client.accept_custody(passport_id_bytes32(pid))


@pytest.fixture
def onchain(ledger: ChainBackend, tmp_path: Path) -> Ledger:
    return Ledger(ledger, EmbeddedStore(tmp_path / "store"), KeyRing(tmp_path / "keys"))


def failed(report: VerificationReport) -> set[str]:
    return {check.name for check in report.failed()}


def check(onchain: Ledger, bundle: VerificationBundle | dict[str, Any], *trusted: str) -> VerificationReport:
    return verify_bundle(bundle, trusted, onchain.reader)


def test_a_fresh_bundle_passes_every_check(onchain: Ledger, issuer: Actor) -> None:
    bundle = onchain.issue(issuer, uuid.uuid4())
    report = check(onchain, bundle, issuer.address)
    assert report.ok, report.failed()
    assert report.chain_checked
    assert all(report.check(name).status is CheckStatus.PASS for name in CHAIN_CHECKS)
    assert report.custodian == issuer.address
    assert issuer.address in report.check("chain.custody").reason
    assert report.lifecycle is not None
    assert report.lifecycle.state is LifecycleState.OPEN
    assert all(report.check(name).status is CheckStatus.PASS for name in ANCHOR_CHECKS)
    block = bundle.anchor.block_number
    assert report.summary.startswith(f"VALID: version 1, block {block} on the canonical chain")
    # The proofs alone, without the chain, establish the anchor too.
    offline = verify_bundle(bundle, [issuer.address])
    assert offline.ok, offline.failed()
    assert all(offline.check(name).status is CheckStatus.PASS for name in ANCHOR_CHECKS)


def test_a_replayed_older_version_is_reported(onchain: Ledger, issuer: Actor) -> None:
    pid = uuid.uuid4()
    v1 = onchain.issue(issuer, pid)
    v2 = onchain.next_version(issuer, pid)
    report = check(onchain, v1, issuer.address)
    # v1 really was anchored (its digest still matches); it is just no longer the current version.
    assert failed(report) == {"chain.current_version"}
    assert "older, replayed version" in report.check("chain.current_version").reason
    block = v1.anchor.block_number
    assert report.summary.startswith(f"NOT CURRENT: valid as of version 1, block {block}; the ledger has")
    assert check(onchain, v2, issuer.address).ok
    # Offline the old version is genuinely anchored, and the report says freshness is unknown.
    offline = verify_bundle(v1, [issuer.address])
    assert offline.ok
    assert offline.summary.startswith(
        f"VALID as of version 1, block {v1.anchor.block_number}; freshness not checked"
    )


def test_an_original_bundle_of_a_battery_now_reused(onchain: Ledger, issuer: Actor) -> None:
    pid = uuid.uuid4()
    original = onchain.issue(issuer, pid)
    onchain.next_version(issuer, pid, S.REUSED)
    offline = verify_bundle(original, [issuer.address])
    assert offline.ok
    assert "freshness not checked" in offline.summary
    assert "freshness not checked" in offline.model_dump(mode="json")["summary"]
    report = check(onchain, original, issuer.address)
    assert failed(report) == {"chain.current_version", "chain.status_matches"}
    assert "REUSED" in report.check("chain.status_matches").reason
    assert report.summary.startswith("NOT CURRENT: valid as of version 1")


def test_a_superseded_passport_is_valid_history(onchain: Ledger, issuer: Actor, repurposer: Actor) -> None:
    old = uuid.uuid4()
    bundle = onchain.issue(issuer, old)
    onchain.hand_over(issuer, repurposer, old)
    new = uuid.uuid4()
    committed = onchain.commit(new, 1, S.REPURPOSED, predecessor=passport_id_bytes32(old))
    sig = onchain.sign(repurposer, committed)
    receipt = repurposer.client.issue_successor(
        passport_id_bytes32(old),
        passport_id_bytes32(new),
        BATTERY,
        S.REPURPOSED,
        committed.manifest_digest,
        sig,
    )
    report = check(onchain, bundle, issuer.address)
    # Being superseded is a lifecycle fact, reported as such: the closed passport still verifies.
    assert report.ok, report.failed()
    assert report.lifecycle is not None
    assert (report.lifecycle.state, report.lifecycle.successor_id) == (LifecycleState.SUPERSEDED, str(new))
    assert report.lifecycle.closed_at is not None
    assert f"superseded by passport {new}" in report.check("chain.lifecycle").reason
    # The successor's own bundle verifies, with the repurposer as its trusted issuer.
    successor = onchain.bundle(repurposer, committed, sig, receipt)
    assert check(onchain, successor, repurposer.address).ok


def test_a_recycled_passport_is_valid_history(onchain: Ledger, issuer: Actor, recycler: Actor) -> None:
    pid = uuid.uuid4()
    v1 = onchain.issue(issuer, pid)
    onchain.next_version(issuer, pid, S.WASTE)
    onchain.hand_over(issuer, recycler, pid)
    final = onchain.next_version(recycler, pid, S.RECYCLED)
    report = check(onchain, final, recycler.address)
    assert report.ok, report.failed()
    assert report.lifecycle is not None
    assert (report.lifecycle.state, report.lifecycle.status) == (LifecycleState.RECYCLED, "RECYCLED")
    assert report.check("chain.lifecycle").reason.startswith("recycled on ")
    # An older version of it is still a stale bundle, not history: that fails.
    old = check(onchain, v1, issuer.address)
    assert failed(old) == {"chain.current_version", "chain.status_matches"}
    assert old.custodian == recycler.address


def test_a_signed_but_never_anchored_version_is_reported(onchain: Ledger, issuer: Actor) -> None:
    pid = uuid.uuid4()
    real = onchain.issue(issuer, pid)
    # The issuer's key signs another manifest for the same version; the ledger holds the real one.
    other = onchain.commit(pid, 1, S.ORIGINAL)
    forged = build_bundle(
        other, issuer=issuer.address, signature=onchain.sign(issuer, other), anchor=real.anchor
    )
    # Offline: the anchor's receipt records the real digest, not this one.
    assert failed(verify_bundle(forged, [issuer.address])) == {"anchor.receipt"}
    report = check(onchain, forged, issuer.address)
    assert failed(report) == {"anchor.receipt", "chain.digest_matches", "chain.anchor"}


def test_an_unknown_passport_is_reported(onchain: Ledger, issuer: Actor) -> None:
    real = onchain.issue(issuer, uuid.uuid4())
    ghost = onchain.commit(uuid.uuid4(), 1, S.ORIGINAL)
    bundle = build_bundle(
        ghost, issuer=issuer.address, signature=onchain.sign(issuer, ghost), anchor=real.anchor
    )
    report = check(onchain, bundle, issuer.address)
    assert {"chain.record_exists", "chain.digest_matches", "chain.anchor"} <= failed(report)
    assert report.check("chain.current_version").status is CheckStatus.SKIPPED


@pytest.mark.parametrize(
    ("field", "offline"),
    [("tx_hash", "anchor.transaction"), ("block_hash", "anchor.header"), ("block_number", "anchor.header")],
)
def test_a_forged_anchor_receipt_is_reported(
    onchain: Ledger, issuer: Actor, field: str, offline: str
) -> None:
    document = json.loads(onchain.issue(issuer, uuid.uuid4()).to_json())
    anchor = document["anchor"]
    if field == "block_number":
        anchor[field] = max(anchor[field] - 1, 0)
    else:
        anchor[field] = anchor[field][:-1] + ("1" if anchor[field][-1] != "1" else "2")
    alone = verify_bundle(document, [issuer.address])
    assert failed(alone) == {offline}
    assert alone.summary.startswith("INVALID")
    report = check(onchain, document, issuer.address)
    assert failed(report) == {offline, "chain.anchor"}


def test_an_anchor_taken_from_another_passport_is_reported(onchain: Ledger, issuer: Actor) -> None:
    ours = onchain.issue(issuer, uuid.uuid4())
    theirs = onchain.issue(issuer, uuid.uuid4())
    swapped = ours.model_copy(update={"anchor": theirs.anchor})
    alone = verify_bundle(swapped, [issuer.address])
    assert failed(alone) == {"anchor.receipt"}
    assert theirs.signed.passport_id in alone.check("anchor.receipt").reason
    assert failed(check(onchain, swapped, issuer.address)) == {"anchor.receipt", "chain.anchor"}


def test_a_version_re_signed_by_another_trusted_key_is_reported(
    onchain: Ledger, issuer: Actor, inspector: Actor
) -> None:
    """Both keys are trusted; only the ledger's event says which one wrote each version."""
    pid = uuid.uuid4()
    onchain.issue(issuer, pid)
    v2 = onchain.next_version(inspector, pid)  # a later version, written by an inspector
    trusted = (issuer.address, inspector.address)
    report = check(onchain, v2, *trusted)
    assert report.ok, report.failed()
    assert inspector.address in report.check("chain.writer").reason
    # The issuer's key re-signs the same version fields and the bundle names the issuer.
    signature = sign_passport_version(issuer.key, v2.anchor.domain(), v2.signed.to_struct())
    resigned = v2.model_copy(update={"issuer": issuer.address, "signature": "0x" + signature.hex()})
    alone = verify_bundle(resigned, trusted)
    assert failed(alone) == {"anchor.writer"}
    report = check(onchain, resigned, *trusted)
    assert failed(report) == {"anchor.writer", "chain.writer"}
    assert inspector.address in report.check("chain.writer").reason


def test_the_contract_and_offline_recovery_agree(onchain: Ledger, issuer: Actor, stranger: Actor) -> None:
    pid = uuid.uuid4()
    onchain.issue(issuer, pid)
    bundle = onchain.next_version(issuer, pid)
    report = check(onchain, bundle, issuer.address)
    assert report.check("chain.signature_onchain").status is CheckStatus.PASS
    assert issuer.address in report.check("chain.signature_onchain").reason


def test_a_client_for_another_registry_checks_nothing_else(onchain: Ledger, issuer: Actor) -> None:
    bundle = onchain.issue(issuer, uuid.uuid4())
    document = json.loads(bundle.to_json())
    elsewhere = VerificationBundle.model_validate(
        document | {"anchor": document["anchor"] | {"registry": "0x" + "44" * 20}}
    )
    report = verify_bundle(elsewhere, [issuer.address], onchain.reader)
    assert "chain.network" in failed(report)
    assert all(report.check(name).status is CheckStatus.SKIPPED for name in CHAIN_CHECKS[1:])


# The CLI dials an RPC URL, so this runs on the node backends only (eth-tester lives in this process).
@pytest.mark.node
@pytest.mark.parametrize("chain_backend", ["ganache", "anvil"], indirect=True)
def test_cli_verifies_against_a_node(onchain: Ledger, issuer: Actor, tmp_path: Path) -> None:
    assert onchain.chain.url is not None
    pid = uuid.uuid4()
    v1 = onchain.issue(issuer, pid)
    path = tmp_path / "bundle.json"
    path.write_bytes(v1.to_json())
    args = [
        "verify",
        str(path),
        "--trust",
        issuer.address,
        "--rpc",
        onchain.chain.url,
        "--registry",
        onchain.chain.registry_address,
        "--json",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["custodian"] == issuer.address
    onchain.next_version(issuer, pid)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    failed_names = {c["name"] for c in json.loads(result.stdout)["checks"] if c["status"] == "fail"}
    assert failed_names == {"chain.current_version"}
    result = CliRunner().invoke(app, args[:4])  # offline, as text
    assert result.exit_code == 0, result.output
    assert f"VALID as of version 1, block {v1.anchor.block_number}; freshness not checked" in " ".join(
        result.output.split()
    )
