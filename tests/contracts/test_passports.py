"""Passport issuance, versions, lifecycle transitions, successors, recycling and their signatures."""

from __future__ import annotations

import pytest

from passport.chain import Role
from passport.chain.web3_client import role_id
from passport.ids import ZERO32
from passport.model import InspectionKind
from passport.model import LifecycleStatus as S
from passport.signing import PassportDomain, PassportVersion, passport_version_digest
from tests.chain_backends import Actor, ChainBackend, digest, only_event, passport_id, reverts

BATTERY = digest("battery-serial")
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def issue(actor: Actor, label: str = "p1", manifest: str = "m1") -> bytes:
    pid = passport_id(label)
    sig = actor.sign(pid, BATTERY, 1, S.ORIGINAL, digest(manifest))
    actor.client.issue_passport(pid, BATTERY, digest(manifest), sig)
    return pid


def hand_over(sender: Actor, receiver: Actor, pid: bytes, ledger: ChainBackend) -> None:
    sender.client.offer_custody(pid, receiver.address, ledger.now() + 3600)
    receiver.client.accept_custody(pid)


def set_status(actor: Actor, pid: bytes, status: S, manifest: str) -> None:
    actor.client.change_status(pid, status, digest(manifest), actor.sign_next(pid, digest(manifest), status))


# -- issuance -------------------------------------------------------------------------------------


def test_issue_passport(issuer: Actor) -> None:
    pid = passport_id("p1")
    sig = issuer.sign(pid, BATTERY, 1, S.ORIGINAL, digest("m1"))
    receipt = issuer.client.issue_passport(pid, BATTERY, digest("m1"), sig)
    assert only_event(receipt, "PassportIssued") == {
        "passportId": pid,
        "batteryIdHash": BATTERY,
        "issuer": issuer.address,
        "status": int(S.ORIGINAL),
        "manifestDigest": digest("m1"),
        "predecessor": ZERO32,
    }
    record = issuer.client.get_passport(pid)
    assert record is not None
    assert (record.issuer, record.custodian, record.status, record.version) == (
        issuer.address,
        issuer.address,
        S.ORIGINAL,
        1,
    )
    assert (record.battery_id_hash, record.manifest_digest, record.predecessor, record.successor) == (
        BATTERY,
        digest("m1"),
        ZERO32,
        ZERO32,
    )
    assert record.created_at == record.updated_at > 0
    assert not record.is_closed
    assert issuer.client.version_digest(pid, 1) == digest("m1")


def test_unknown_passport(issuer: Actor) -> None:
    assert issuer.client.get_passport(passport_id("nope")) is None
    with reverts("BatteryPassportRegistryUnknownPassport", passport_id("nope")):
        issuer.client.version_digest(passport_id("nope"), 1)
    with reverts("BatteryPassportRegistryUnknownPassport", passport_id("nope")):
        issuer.client.update_passport(passport_id("nope"), digest("m"), b"\x00" * 65)


def test_only_issuers_issue(stranger: Actor) -> None:
    pid = passport_id("p1")
    sig = stranger.sign(pid, BATTERY, 1, S.ORIGINAL, digest("m1"))
    with reverts("AccessControlUnauthorizedAccount", stranger.address, role_id(Role.ISSUER)):
        stranger.client.issue_passport(pid, BATTERY, digest("m1"), sig)


def test_issue_rejects_duplicates_and_zero_values(issuer: Actor) -> None:
    pid = issue(issuer)
    sig = issuer.sign(pid, BATTERY, 1, S.ORIGINAL, digest("m1"))
    with reverts("BatteryPassportRegistryPassportExists", pid):
        issuer.client.issue_passport(pid, BATTERY, digest("m1"), sig)
    with reverts("BatteryPassportRegistryInvalidValue", ZERO32):
        issuer.client.issue_passport(ZERO32, BATTERY, digest("m1"), sig)
    with reverts("BatteryPassportRegistryInvalidValue", passport_id("p2")):
        issuer.client.issue_passport(passport_id("p2"), ZERO32, digest("m1"), sig)


def test_issue_requires_the_senders_signature_of_this_version(issuer: Actor, stranger: Actor) -> None:
    pid = passport_id("p1")
    by_other = stranger.sign(pid, BATTERY, 1, S.ORIGINAL, digest("m1"))
    with reverts("BatteryPassportRegistryInvalidSignature", issuer.address, stranger.address):
        issuer.client.issue_passport(pid, BATTERY, digest("m1"), by_other)
    other_digest = issuer.sign(pid, BATTERY, 1, S.ORIGINAL, digest("m2"))
    with reverts("BatteryPassportRegistryInvalidSignature"):
        issuer.client.issue_passport(pid, BATTERY, digest("m1"), other_digest)
    with reverts("BatteryPassportRegistryInvalidSignature", issuer.address, "0x" + "00" * 20):
        issuer.client.issue_passport(pid, BATTERY, digest("m1"), b"\x01" * 10)


# -- EIP-712 --------------------------------------------------------------------------------------


def test_typed_data_hash_and_recovery_match_offline_signing(issuer: Actor) -> None:
    pid, pred = passport_id("p1"), passport_id("p0")
    domain = PassportDomain(issuer.client.chain_id, issuer.client.registry_address)
    offline = passport_version_digest(
        domain, PassportVersion(pid, BATTERY, 7, S.REPURPOSED, digest("m"), pred)
    )
    assert issuer.client.passport_version_hash(pid, BATTERY, 7, S.REPURPOSED, digest("m"), pred) == offline
    sig = issuer.sign(pid, BATTERY, 7, S.REPURPOSED, digest("m"), pred)
    assert issuer.client.recover_version_signer(pid, BATTERY, 7, S.REPURPOSED, digest("m"), pred, sig) == (
        issuer.address
    )


def test_recovery_refuses_malleated_and_malformed_signatures(issuer: Actor) -> None:
    pid = passport_id("p1")
    sig = issuer.sign(pid, BATTERY, 1, S.ORIGINAL, digest("m"))
    r, s, v = sig[:32], int.from_bytes(sig[32:64], "big"), sig[64]
    twin = r + (_SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])  # same signer, high s
    with reverts("ECDSAInvalidSignatureS"):
        issuer.client.recover_version_signer(pid, BATTERY, 1, S.ORIGINAL, digest("m"), ZERO32, twin)
    with reverts("ECDSAInvalidSignatureLength", 64):
        issuer.client.recover_version_signer(pid, BATTERY, 1, S.ORIGINAL, digest("m"), ZERO32, sig[:64])
    with reverts("BatteryPassportRegistryInvalidSignature"):
        issuer.client.issue_passport(pid, BATTERY, digest("m"), twin)


# -- versions -------------------------------------------------------------------------------------


def test_issuer_custodian_and_inspector_add_versions(
    ledger: ChainBackend, issuer: Actor, business: Actor, inspector: Actor
) -> None:
    pid = issue(issuer)
    hand_over(issuer, business, pid, ledger)
    for version, writer in enumerate((issuer, business, inspector), start=2):
        receipt = writer.client.update_passport(
            pid, digest(f"m{version}"), writer.sign_next(pid, digest(f"m{version}"))
        )
        assert only_event(receipt, "PassportUpdated") == {
            "passportId": pid,
            "writer": writer.address,
            "version": version,
            "manifestDigest": digest(f"m{version}"),
        }
    record = issuer.client.get_passport(pid)
    assert record is not None
    assert record.version == 4
    assert record.status is S.ORIGINAL
    assert [issuer.client.version_digest(pid, v) for v in (1, 2, 3, 4)] == [
        digest(f"m{v}") for v in (1, 2, 3, 4)
    ]
    with reverts("BatteryPassportRegistryUnknownVersion", pid, 5):
        issuer.client.version_digest(pid, 5)
    with reverts("BatteryPassportRegistryUnknownVersion", pid, 0):
        issuer.client.version_digest(pid, 0)


def test_only_issuer_custodian_or_inspector_update(issuer: Actor, stranger: Actor) -> None:
    pid = issue(issuer)
    with reverts("BatteryPassportRegistryUnauthorizedWriter", pid, stranger.address):
        stranger.client.update_passport(pid, digest("m2"), stranger.sign_next(pid, digest("m2")))


def test_a_version_signature_cannot_be_replayed(issuer: Actor) -> None:
    pid = issue(issuer)
    sig = issuer.sign_next(pid, digest("m2"))
    issuer.client.update_passport(pid, digest("m2"), sig)
    with reverts("BatteryPassportRegistryInvalidSignature"):
        issuer.client.update_passport(pid, digest("m2"), sig)  # signed version 2; the next is 3
    with reverts("BatteryPassportRegistryInvalidValue", pid):
        issuer.client.update_passport(pid, ZERO32, issuer.sign_next(pid, ZERO32))


# -- status ---------------------------------------------------------------------------------------


def test_reuse_then_waste(issuer: Actor) -> None:
    pid = issue(issuer)
    receipt = issuer.client.change_status(
        pid, S.REUSED, digest("m2"), issuer.sign_next(pid, digest("m2"), S.REUSED)
    )
    assert only_event(receipt, "PassportStatusChanged") == {
        "passportId": pid,
        "custodian": issuer.address,
        "from": int(S.ORIGINAL),
        "to": int(S.REUSED),
        "version": 2,
        "manifestDigest": digest("m2"),
    }
    set_status(issuer, pid, S.WASTE, "m3")
    record = issuer.client.get_passport(pid)
    assert record is not None
    assert (record.status, record.version) == (S.WASTE, 3)


ILLEGAL = [
    ([], S.ORIGINAL),
    ([], S.REPURPOSED),
    ([], S.REMANUFACTURED),
    ([], S.RECYCLED),
    ([S.REUSED], S.REUSED),
    ([S.REUSED], S.ORIGINAL),
    ([S.WASTE], S.WASTE),
    ([S.WASTE], S.REUSED),
    ([S.WASTE], S.ORIGINAL),
]


@pytest.mark.parametrize(("path", "target"), ILLEGAL, ids=lambda v: str(v))
def test_illegal_status_changes_revert(issuer: Actor, path: list[S], target: S) -> None:
    pid = issue(issuer)
    for step, status in enumerate(path):
        set_status(issuer, pid, status, f"step{step}")
    current = path[-1] if path else S.ORIGINAL
    with reverts("BatteryPassportRegistryInvalidTransition", pid, int(current), int(target)):
        issuer.client.change_status(pid, target, digest("x"), issuer.sign_next(pid, digest("x"), target))


def test_only_the_custodian_changes_status(ledger: ChainBackend, issuer: Actor, business: Actor) -> None:
    pid = issue(issuer)
    hand_over(issuer, business, pid, ledger)
    with reverts("BatteryPassportRegistryNotCustodian", pid, issuer.address):
        set_status(issuer, pid, S.WASTE, "m2")


# -- successors -----------------------------------------------------------------------------------


def test_repurposer_issues_a_successor_that_closes_the_predecessor(
    ledger: ChainBackend, issuer: Actor, repurposer: Actor
) -> None:
    old = issue(issuer)
    hand_over(issuer, repurposer, old, ledger)
    new, battery = passport_id("second-life"), digest("new-battery")
    sig = repurposer.sign(new, battery, 1, S.REPURPOSED, digest("n1"), old)
    receipt = repurposer.client.issue_successor(old, new, battery, S.REPURPOSED, digest("n1"), sig)
    assert only_event(receipt, "PassportIssued") == {
        "passportId": new,
        "batteryIdHash": battery,
        "issuer": repurposer.address,
        "status": int(S.REPURPOSED),
        "manifestDigest": digest("n1"),
        "predecessor": old,
    }
    assert only_event(receipt, "PassportSuperseded") == {
        "passportId": old,
        "successorId": new,
        "custodian": repurposer.address,
    }
    predecessor, successor = repurposer.client.get_passport(old), repurposer.client.get_passport(new)
    assert predecessor is not None
    assert successor is not None
    assert predecessor.successor == new
    assert predecessor.is_closed
    assert predecessor.version == 1
    assert (successor.predecessor, successor.version, successor.custodian) == (old, 1, repurposer.address)
    # The successor's later versions keep signing the predecessor link.
    repurposer.client.update_passport(new, digest("n2"), repurposer.sign_next(new, digest("n2")))
    set_status(repurposer, new, S.WASTE, "n3")
    with reverts("BatteryPassportRegistryPassportClosed", old):
        repurposer.client.update_passport(old, digest("m2"), repurposer.sign_next(old, digest("m2")))
    sig2 = repurposer.sign(passport_id("third"), battery, 1, S.REMANUFACTURED, digest("t"), old)
    with reverts("BatteryPassportRegistryPassportClosed", old):
        repurposer.client.issue_successor(
            old, passport_id("third"), battery, S.REMANUFACTURED, digest("t"), sig2
        )


def test_remanufacture_a_waste_battery(
    ledger: ChainBackend, issuer: Actor, repurposer: Actor, inspector: Actor
) -> None:
    old = issue(issuer)
    set_status(issuer, old, S.WASTE, "m2")
    # A used battery goes to anyone but a recycler only after a passed pre-distribution inspection.
    until = ledger.now() + 3600
    inspector.client.record_inspection(
        old,
        InspectionKind.PRE_DISTRIBUTION,
        True,
        until,
        digest("m3"),
        inspector.sign_next(old, digest("m3")),
    )
    hand_over(issuer, repurposer, old, ledger)
    new = passport_id("reman")
    sig = repurposer.sign(new, BATTERY, 1, S.REMANUFACTURED, digest("r1"), old)
    repurposer.client.issue_successor(old, new, BATTERY, S.REMANUFACTURED, digest("r1"), sig)
    record = repurposer.client.get_passport(new)
    assert record is not None
    assert record.status is S.REMANUFACTURED


@pytest.mark.parametrize("status", [S.ORIGINAL, S.REUSED, S.WASTE, S.RECYCLED])
def test_successor_status_must_be_repurposed_or_remanufactured(
    ledger: ChainBackend, issuer: Actor, repurposer: Actor, status: S
) -> None:
    old = issue(issuer)
    hand_over(issuer, repurposer, old, ledger)
    new = passport_id("n")
    sig = repurposer.sign(new, BATTERY, 1, status, digest("n1"), old)
    with reverts("BatteryPassportRegistryInvalidTransition", old, int(S.ORIGINAL), int(status)):
        repurposer.client.issue_successor(old, new, BATTERY, status, digest("n1"), sig)


def test_successor_needs_the_role_and_custody(issuer: Actor, repurposer: Actor) -> None:
    old, new = issue(issuer), passport_id("n")
    sig = issuer.sign(new, BATTERY, 1, S.REPURPOSED, digest("n1"), old)
    with reverts("AccessControlUnauthorizedAccount", issuer.address, role_id(Role.REPURPOSER)):
        issuer.client.issue_successor(old, new, BATTERY, S.REPURPOSED, digest("n1"), sig)
    sig = repurposer.sign(new, BATTERY, 1, S.REPURPOSED, digest("n1"), old)
    with reverts("BatteryPassportRegistryNotCustodian", old, repurposer.address):
        repurposer.client.issue_successor(old, new, BATTERY, S.REPURPOSED, digest("n1"), sig)


def test_successor_id_must_be_new(ledger: ChainBackend, issuer: Actor, repurposer: Actor) -> None:
    old, taken = issue(issuer), issue(issuer, "taken")
    hand_over(issuer, repurposer, old, ledger)
    sig = repurposer.sign(taken, BATTERY, 1, S.REPURPOSED, digest("n1"), old)
    with reverts("BatteryPassportRegistryPassportExists", taken):
        repurposer.client.issue_successor(old, taken, BATTERY, S.REPURPOSED, digest("n1"), sig)


# -- recycling ------------------------------------------------------------------------------------


def test_recycle_ends_the_passport_and_keeps_history(
    ledger: ChainBackend, issuer: Actor, recycler: Actor
) -> None:
    pid = issue(issuer)
    set_status(issuer, pid, S.WASTE, "m2")
    hand_over(issuer, recycler, pid, ledger)
    receipt = recycler.client.recycle(pid, digest("m3"), recycler.sign_next(pid, digest("m3"), S.RECYCLED))
    assert only_event(receipt, "PassportRecycled") == {
        "passportId": pid,
        "recycler": recycler.address,
        "version": 3,
        "manifestDigest": digest("m3"),
    }
    record = recycler.client.get_passport(pid)
    assert record is not None
    assert record.status is S.RECYCLED
    assert record.is_closed
    assert [recycler.client.version_digest(pid, v) for v in (1, 2, 3)] == [
        digest("m1"),
        digest("m2"),
        digest("m3"),
    ]
    closed = ("BatteryPassportRegistryPassportClosed", pid)
    with reverts(*closed):
        recycler.client.recycle(pid, digest("m4"), recycler.sign_next(pid, digest("m4"), S.RECYCLED))
    with reverts(*closed):
        recycler.client.update_passport(pid, digest("m4"), recycler.sign_next(pid, digest("m4")))
    with reverts(*closed):
        set_status(recycler, pid, S.WASTE, "m4")
    with reverts(*closed):
        recycler.client.offer_custody(pid, issuer.address, ledger.now() + 60)


def test_recycle_needs_waste_the_role_and_custody(
    ledger: ChainBackend, issuer: Actor, recycler: Actor
) -> None:
    pid = issue(issuer)
    with reverts("AccessControlUnauthorizedAccount", issuer.address, role_id(Role.RECYCLER)):
        issuer.client.recycle(pid, digest("m2"), issuer.sign_next(pid, digest("m2"), S.RECYCLED))
    with reverts("BatteryPassportRegistryNotCustodian", pid, recycler.address):
        recycler.client.recycle(pid, digest("m2"), recycler.sign_next(pid, digest("m2"), S.RECYCLED))
    hand_over(issuer, recycler, pid, ledger)
    with reverts("BatteryPassportRegistryInvalidTransition", pid, int(S.ORIGINAL), int(S.RECYCLED)):
        recycler.client.recycle(pid, digest("m2"), recycler.sign_next(pid, digest("m2"), S.RECYCLED))


def test_version_events_reconstruct_the_history(ledger: ChainBackend, issuer: Actor, recycler: Actor) -> None:
    start = issuer.client.block_number() + 1
    pid = issue(issuer)
    issuer.client.update_passport(pid, digest("m2"), issuer.sign_next(pid, digest("m2")))
    set_status(issuer, pid, S.WASTE, "m3")
    hand_over(issuer, recycler, pid, ledger)
    recycler.client.recycle(pid, digest("m4"), recycler.sign_next(pid, digest("m4"), S.RECYCLED))
    names = ["PassportIssued", "PassportUpdated", "PassportStatusChanged", "PassportRecycled"]
    events = issuer.client.events(start, issuer.client.block_number(), names)
    assert [e.name for e in events] == names
    assert [e.args["manifestDigest"] for e in events] == [digest(f"m{v}") for v in (1, 2, 3, 4)]
    assert all(e.address == issuer.client.registry_address for e in events)
    assert [(e.block_number, e.log_index) for e in events] == sorted(
        (e.block_number, e.log_index) for e in events
    )
