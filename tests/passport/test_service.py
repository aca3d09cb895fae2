"""``PassportService`` on every chain backend: issue, read back by tier, update, close, succeed, verify.

Each test writes real sections to a real store, signs with an actor's key and anchors through the real
registry (snapshot-isolated per test); the store, key ring and version log live in the test's tmp_path.
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import pytest

from devtools.samples import DEFAULT_AS_OF, sample_passport
from passport.bundle import load_bundle
from passport.envelope import KeyRing
from passport.errors import (
    ConfigError,
    ContentIntegrityError,
    DocumentValidationError,
    InvalidIdentifier,
    LedgerContentMismatch,
    PassportError,
    PassportNotFound,
    SigningKeyMissing,
    VersionNotRecorded,
)
from passport.ids import ZERO32, battery_id_hash, passport_id_bytes32
from passport.model import AccessTier, BatteryPassport
from passport.model import LifecycleStatus as S
from passport.service import SECTIONS_CHECK, STORE_CHECK, PassportService, VersionLog
from passport.signing import PassportVersion, sign_passport_version
from passport.store import EmbeddedStore
from passport.verify import ANCHOR_CHECKS, CHAIN_CHECKS, CheckStatus, LifecycleState, verify_bundle
from tests.chain_backends import Actor, ChainBackend, only_event, reverts

BATTERY = "HES-E77N-2407-SVC001"
PID = uuid.UUID("3f0b6a2c-8d4e-4c1a-9b7f-2e5d8c6a1b90")
ALL_TIERS = frozenset(AccessTier)


def document(as_of_days: int = 0, passport_id: uuid.UUID = PID) -> BatteryPassport:
    return sample_passport(BATTERY, passport_id=passport_id, as_of=DEFAULT_AS_OF + timedelta(days=as_of_days))


@dataclass
class World:
    """One ledger, one store, key ring and version log, and the actors' services over them."""

    ledger: ChainBackend
    store: EmbeddedStore
    issuer: PassportService

    def as_(self, actor: Actor) -> PassportService:
        return self.issuer.acting_as(actor.key)

    def hand_over(self, pid: uuid.UUID, frm: Actor, to: Actor) -> None:
        pid32 = passport_id_bytes32(pid)
        frm.client.offer_custody(pid32, to.address, self.ledger.now() + 3600)
        only_event(to.client.accept_custody(pid32), "CustodyTransferred")

    def tamper(self, cid: str) -> None:
        [path] = (self.store.root / "content").rglob(cid)
        path.write_bytes(b"not what was stored")

    def flip_a_byte(self, cid: str) -> None:
        [path] = (self.store.root / "content").rglob(cid)
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))


@pytest.fixture
def world(
    ledger: ChainBackend,
    tmp_path: Path,
    issuer: Actor,
    inspector: Actor,
    repurposer: Actor,
    recycler: Actor,
) -> World:
    store = EmbeddedStore(tmp_path / "store", durable=False)
    service = PassportService(
        issuer.client,
        store,
        KeyRing(tmp_path / "keys"),
        versions=VersionLog(tmp_path / "versions.sqlite3"),
        trusted_issuers=[a.address for a in (issuer, inspector, repurposer, recycler)],
        signer_key=issuer.key,
    )
    return World(ledger, store, service)


# -- issue and fetch --------------------------------------------------------------------------------


def test_issue_anchors_version_1_original(world: World, issuer: Actor) -> None:
    issued = world.issuer.issue(document())

    event = only_event(issued.receipt, "PassportIssued")
    assert event["passportId"] == passport_id_bytes32(PID)
    assert event["manifestDigest"] == issued.manifest_digest
    assert (issued.version, issued.status, issued.signer) == (1, S.ORIGINAL, issuer.address)
    record = issuer.client.get_passport(passport_id_bytes32(PID))
    assert record is not None
    assert (record.version, record.manifest_digest) == (1, issued.manifest_digest)
    # The document carries the ledger's facts.
    assert issued.document.general.status is S.ORIGINAL
    assert issued.document.metadata.document_version == "1"
    assert issued.document.metadata.predecessor is None


def test_fetch_public_only_leaves_restricted_sections_out(world: World) -> None:
    world.issuer.issue(document())

    fetched = world.issuer.fetch(PID, {AccessTier.PUBLIC})

    assert set(fetched.sections) == {AccessTier.PUBLIC}
    assert fetched.tiers == {AccessTier.PUBLIC}
    assert fetched.view.get("general.battery_id") == BATTERY
    assert fetched.view.get("general.put_into_service") is None  # legitimate interest
    assert not fetched.view.can_read("general.put_into_service")
    assert (fetched.version, fetched.status, fetched.passport_id) == (1, S.ORIGINAL, PID)
    with pytest.raises(DocumentValidationError):
        fetched.passport()


def test_fetch_every_tier_gives_back_the_committed_model(world: World) -> None:
    issued = world.issuer.issue(document())

    fetched = world.issuer.fetch(str(PID), ALL_TIERS)

    assert fetched.passport() == issued.document
    assert fetched.manifest_cid == issued.manifest_cid


def test_a_reader_without_keys_or_a_signer_reads_the_public_tier(world: World, stranger: Actor) -> None:
    world.issuer.issue(document())
    reader = PassportService(
        stranger.client,
        world.store,
        KeyRing(world.store.root.parent / "other-keys"),
        versions=VersionLog(world.store.root.parent / "reader.sqlite3"),
    )

    assert reader.fetch(PID, {AccessTier.PUBLIC}).view.get("general.battery_id") == BATTERY
    with pytest.raises(PassportError):  # the authority tier's key is not in this key ring
        reader.fetch(PID, {AccessTier.AUTHORITY})
    with pytest.raises(SigningKeyMissing):
        reader.issue(document(passport_id=uuid.uuid4()))


# -- updates and history ----------------------------------------------------------------------------


def test_update_adds_versions_with_the_same_status(world: World, issuer: Actor, inspector: Actor) -> None:
    first = world.issuer.issue(document())
    second = world.issuer.update(PID, document(as_of_days=30))
    third = world.as_(inspector).update(PID, document(as_of_days=60))

    assert only_event(second.receipt, "PassportUpdated")["version"] == 2
    assert only_event(third.receipt, "PassportUpdated")["writer"] == inspector.address
    assert [v.version for v in (first, second, third)] == [1, 2, 3]
    assert {v.status for v in (first, second, third)} == {S.ORIGINAL}
    assert third.document.metadata.document_version == "3"

    history = world.issuer.versions(PID)
    assert [h.version for h in history] == [1, 2, 3]
    assert [h.manifest_digest for h in history] == [v.manifest_digest for v in (first, second, third)]
    assert [h.signer for h in history] == [issuer.address, issuer.address, inspector.address]
    assert [h.tx_hash for h in history] == [v.tx_hash for v in (first, second, third)]
    assert all(h.recorded and h.status is S.ORIGINAL for h in history)
    assert world.issuer.fetch(PID, ALL_TIERS).passport() == third.document


def test_update_refuses_a_document_of_another_passport(world: World) -> None:
    world.issuer.issue(document())
    with pytest.raises(DocumentValidationError) as info:
        world.issuer.update(PID, document(passport_id=uuid.uuid4()))
    assert [path for path, _ in info.value.problems] == ["general.passport_id"]


def test_unknown_and_malformed_passport_ids(world: World) -> None:
    with pytest.raises(PassportNotFound):
        world.issuer.fetch(uuid.uuid4(), {AccessTier.PUBLIC})
    with pytest.raises(InvalidIdentifier):
        world.issuer.versions("not-a-passport-id")


def test_signer_key_must_be_the_clients_account(world: World, stranger: Actor) -> None:
    with pytest.raises(ConfigError):
        PassportService(
            world.issuer.chain,
            world.store,
            world.issuer.keyring,
            versions=world.issuer.version_log,
            signer_key=stranger.key,
        )


# -- lifecycle ----------------------------------------------------------------------------------------


def test_waste_then_recycled_closes_the_passport(world: World, issuer: Actor, recycler: Actor) -> None:
    world.issuer.issue(document())
    waste = world.issuer.change_status(PID, S.WASTE, document(as_of_days=400))
    world.hand_over(PID, issuer, recycler)
    recycled = world.as_(recycler).recycle(PID, document(as_of_days=420))

    changed = only_event(waste.receipt, "PassportStatusChanged")
    assert (changed["from"], changed["to"]) == (S.ORIGINAL, S.WASTE)
    assert only_event(recycled.receipt, "PassportRecycled")["version"] == 3
    assert (waste.version, waste.document.general.status) == (2, S.WASTE)
    assert (recycled.version, recycled.document.general.status) == (3, S.RECYCLED)
    assert [h.status for h in world.issuer.versions(PID)] == [S.ORIGINAL, S.WASTE, S.RECYCLED]

    recycler_service = world.as_(recycler)
    with reverts("BatteryPassportRegistryPassportClosed"):
        recycler_service.update(PID, document(as_of_days=430))
    with reverts("BatteryPassportRegistryPassportClosed"):
        recycler_service.change_status(PID, S.WASTE, document(as_of_days=430))
    # Recycled is the passport's last, valid state: verification passes and says so.
    report = world.issuer.verify(PID)
    assert report.ok, report.failed()
    assert report.lifecycle is not None
    assert report.lifecycle.state is LifecycleState.RECYCLED
    record = issuer.client.get_passport(passport_id_bytes32(PID))
    assert record is not None
    assert report.lifecycle.closed_at == record.updated_at


def test_successor_links_and_closes_its_predecessor(world: World, issuer: Actor, repurposer: Actor) -> None:
    world.issuer.issue(document())
    world.hand_over(PID, issuer, repurposer)
    new_id = uuid.uuid4()

    successor = world.as_(repurposer).issue_successor(PID, document(500, passport_id=new_id), S.REPURPOSED)

    superseded = only_event(successor.receipt, "PassportSuperseded")
    assert superseded["successorId"] == passport_id_bytes32(new_id)
    old = issuer.client.get_passport(passport_id_bytes32(PID))
    new = issuer.client.get_passport(passport_id_bytes32(new_id))
    assert old is not None
    assert new is not None
    assert old.successor == passport_id_bytes32(new_id)
    assert old.is_closed
    assert (new.predecessor, new.status, new.version) == (passport_id_bytes32(PID), S.REPURPOSED, 1)
    assert successor.predecessor == PID
    assert successor.document.metadata.predecessor == PID
    assert world.issuer.fetch(new_id, ALL_TIERS).passport() == successor.document
    assert world.issuer.verify(new_id).ok

    with reverts("BatteryPassportRegistryPassportClosed"):
        world.as_(repurposer).update(PID, document(as_of_days=510))
    report = world.issuer.verify(PID)
    assert report.ok, report.failed()
    assert report.lifecycle is not None
    assert (report.lifecycle.state, report.lifecycle.successor_id) == (LifecycleState.SUPERSEDED, str(new_id))


def test_successor_needs_its_own_passport_id(world: World, repurposer: Actor) -> None:
    world.issuer.issue(document())
    with pytest.raises(DocumentValidationError):
        world.as_(repurposer).issue_successor(PID, document(), S.REPURPOSED)


def test_a_refused_write_leaves_no_pending_record(world: World) -> None:
    world.issuer.issue(document())
    with reverts("BatteryPassportRegistryPassportExists"):
        world.issuer.issue(document(as_of_days=1))
    chain = world.issuer.chain
    records = world.issuer.version_log.for_passport(
        chain.chain_id, chain.registry_address, passport_id_bytes32(PID)
    )
    assert [(r.version, r.anchor is not None) for r in records] == [(1, True)]


# -- bundles and verification -----------------------------------------------------------------------


def test_bundle_verifies_offline_and_against_the_ledger(world: World, issuer: Actor) -> None:
    world.issuer.issue(document())
    issued = world.issuer.update(PID, document(as_of_days=30))

    bundle = load_bundle(world.issuer.bundle(PID).to_json())

    assert (bundle.signed.version, bundle.issuer) == (2, issuer.address)
    assert bundle.anchor.tx_hash == "0x" + issued.tx_hash.hex()
    assert bundle.manifest_cid == issued.manifest_cid
    # The service ships the anchoring block's header and proofs: the anchor holds without a chain.
    assert bundle.anchor.block_hash == "0x" + issued.block_hash.hex()
    offline = verify_bundle(bundle, [issuer.address])
    assert offline.ok, offline.failed()
    assert all(offline.check(name).status is CheckStatus.PASS for name in ANCHOR_CHECKS)
    assert offline.summary.startswith(f"VALID as of version 2, block {issued.block_number}; freshness not")
    report = verify_bundle(bundle, [issuer.address], issuer.client)
    assert report.ok, report.failed()
    assert report.chain_checked
    service_report = world.issuer.verify(PID)
    assert service_report.ok
    assert {c.name for c in service_report.checks} >= set(CHAIN_CHECKS)


def test_tampered_sections_are_caught(world: World) -> None:
    issued = world.issuer.issue(document())

    world.tamper(issued.section_cids[AccessTier.LEGITIMATE_INTEREST])
    with pytest.raises(ContentIntegrityError):
        world.issuer.fetch(PID, ALL_TIERS)
    assert world.issuer.fetch(PID, {AccessTier.PUBLIC}).version == 1  # the other tiers still read
    assert [c.name for c in world.issuer.verify(PID).failed()] == [SECTIONS_CHECK]

    world.tamper(issued.section_cids[AccessTier.PUBLIC])
    report = world.issuer.verify(PID)
    # The bundle cannot be built (store.content); store.sections names both rewritten tiers.
    assert [c.name for c in report.failed()] == [STORE_CHECK, SECTIONS_CHECK]
    assert report.version == 1
    reason = report.check(SECTIONS_CHECK).reason
    assert "public section" in reason
    assert "legitimate_interest section" in reason
    assert "authority" not in reason


def test_a_flipped_ciphertext_byte_fails_verification_for_a_keyless_reader(
    world: World, tmp_path: Path
) -> None:
    issued = world.issuer.issue(document())
    # A public reader: the same ledger and store, but no key to any restricted tier.
    reader = PassportService(
        world.issuer.chain,
        world.store,
        KeyRing(tmp_path / "no-keys"),
        versions=world.issuer.version_log,
        trusted_issuers=sorted(world.issuer.trusted_issuers),
    )
    before = reader.verify(PID)
    assert before.ok, before.failed()
    assert before.check(SECTIONS_CHECK).status is CheckStatus.PASS

    world.flip_a_byte(issued.section_cids[AccessTier.LEGITIMATE_INTEREST])

    report = reader.verify(PID)
    assert not report.ok
    assert [c.name for c in report.failed()] == [SECTIONS_CHECK]
    assert report.check(SECTIONS_CHECK).reason.startswith("legitimate_interest section: ")
    assert reader.fetch(PID, {AccessTier.PUBLIC}).version == 1  # the public tier still reads
    assert not list((tmp_path / "no-keys").rglob("*.key"))  # and no key was needed or made


def test_a_forged_signature_in_the_log_fails_verification(world: World, stranger: Actor) -> None:
    issued = world.issuer.issue(document())
    # A valid signature over the same version, by someone else: recovers, but not to the logged signer.
    forged = sign_passport_version(
        stranger.key,
        world.issuer.domain,
        PassportVersion(
            issued.passport_id_bytes32, battery_id_hash(BATTERY), 1, S.ORIGINAL, issued.manifest_digest
        ),
    )
    with sqlite3.connect(world.issuer.version_log.path) as db:
        db.execute("UPDATE versions SET signature = ?", ("0x" + forged.hex(),))

    failed = {c.name for c in world.issuer.verify(PID).failed()}

    # Offline recovery gives the stranger, not the logged signer; the registry agrees with that recovery,
    # and the anchor's event (offline from the proof, and on the ledger) names the issuer as writer.
    assert failed == {"signature.recover", "signature.trusted_issuer", "anchor.writer", "chain.writer"}


def test_bundle_needs_the_version_in_the_log(world: World, tmp_path: Path) -> None:
    world.issuer.issue(document())
    amnesiac = PassportService(
        world.issuer.chain,
        world.store,
        world.issuer.keyring,
        versions=VersionLog(tmp_path / "empty.sqlite3"),
    )

    with pytest.raises(VersionNotRecorded) as info:
        amnesiac.bundle(PID)
    assert isinstance(info.value, LookupError)
    [version] = amnesiac.versions(PID)  # history still lists it, from the ledger and the store
    assert (version.version, version.status, version.recorded, version.signer) == (1, S.ORIGINAL, False, None)


def test_a_pending_record_is_completed_from_the_ledger(world: World) -> None:
    issued = world.issuer.issue(document())
    # As if the process died after sending the transaction, before logging its receipt.
    with sqlite3.connect(world.issuer.version_log.path) as db:
        db.execute("UPDATE versions SET tx_hash = NULL, block_number = NULL, block_hash = NULL")

    bundle = world.issuer.bundle(PID)

    assert bundle.anchor.tx_hash == "0x" + issued.tx_hash.hex()
    assert bundle.anchor.block_number == issued.block_number
    chain = world.issuer.chain
    [record] = world.issuer.version_log.for_passport(
        chain.chain_id, chain.registry_address, issued.passport_id_bytes32
    )
    assert record.anchor is not None
    assert record.anchor.tx_hash == issued.tx_hash
    assert world.issuer.verify(PID).ok


def test_zero_predecessor_is_recorded_for_originals(world: World) -> None:
    issued = world.issuer.issue(document())
    assert issued.predecessor is None
    assert world.issuer.fetch(PID, {AccessTier.PUBLIC}).manifest.predecessor == "0x" + ZERO32.hex()


def test_a_manifest_stating_other_facts_than_the_ledger_is_a_named_error(world: World, issuer: Actor) -> None:
    # The ledger's digest matches the stored manifest, but the record says version 2: a writer's bug,
    # which the API answers with a 502 problem document rather than a 500.
    world.issuer.issue(document())
    record = issuer.client.get_passport(passport_id_bytes32(PID))
    assert record is not None
    assert world.issuer.manifest_of(record).version == 1
    with pytest.raises(LedgerContentMismatch, match="version disagree with the ledger"):
        world.issuer.manifest_of(replace(record, version=2))
