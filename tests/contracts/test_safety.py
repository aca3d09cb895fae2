"""Safety records: inspections and incidents as signed versions, and the custody and reuse gates they set."""

from __future__ import annotations

from passport.chain import Role
from passport.chain.web3_client import role_id
from passport.model import InspectionKind as K
from passport.model import LifecycleStatus as S
from tests.chain_backends import Actor, ChainBackend, digest, only_event, passport_id, reverts

BATTERY = digest("battery-serial")
HOUR = 3600


def issue(actor: Actor, label: str = "p1") -> bytes:
    pid = passport_id(label)
    actor.client.issue_passport(
        pid, BATTERY, digest("m1"), actor.sign(pid, BATTERY, 1, S.ORIGINAL, digest("m1"))
    )
    return pid


def hand_over(ledger: ChainBackend, sender: Actor, receiver: Actor, pid: bytes) -> None:
    sender.client.offer_custody(pid, receiver.address, ledger.now() + HOUR)
    only_event(receiver.client.accept_custody(pid), "CustodyTransferred")


def used_battery(ledger: ChainBackend, issuer: Actor, business: Actor) -> bytes:
    """A passport in the business's custody, declared ReUsed: a used battery."""
    pid = issue(issuer)
    hand_over(ledger, issuer, business, pid)
    business.client.change_status(
        pid, S.REUSED, digest("reused"), business.sign_next(pid, digest("reused"), S.REUSED)
    )
    return pid


def inspect(
    inspector: Actor, pid: bytes, kind: K, passed: bool, valid_until: int, label: str = "inspection"
) -> dict[str, object]:
    manifest = digest(f"{label}:{kind.name}:{passed}:{valid_until}")
    receipt = inspector.client.record_inspection(
        pid, kind, passed, valid_until, manifest, inspector.sign_next(pid, manifest)
    )
    updated = only_event(receipt, "PassportUpdated")
    assert updated["manifestDigest"] == manifest
    return only_event(receipt, "InspectionRecorded")


def incident(reporter: Actor, pid: bytes, serious: bool, label: str = "incident") -> dict[str, object]:
    manifest = digest(f"{label}:{serious}")
    receipt = reporter.client.record_incident(pid, serious, manifest, reporter.sign_next(pid, manifest))
    return only_event(receipt, "IncidentRecorded")


# -- inspections ----------------------------------------------------------------------------------


def test_inspection_is_a_signed_version(ledger: ChainBackend, issuer: Actor, inspector: Actor) -> None:
    pid = issue(issuer)
    until = ledger.now() + 30 * 24 * HOUR
    event = inspect(inspector, pid, K.PRE_DISTRIBUTION, True, until)
    manifest = digest(f"inspection:PRE_DISTRIBUTION:True:{until}")
    assert event == {
        "passportId": pid,
        "inspector": inspector.address,
        "kind": int(K.PRE_DISTRIBUTION),
        "passed": True,
        "validUntil": until,
        "version": 2,
        "manifestDigest": manifest,
    }
    record = inspector.client.get_passport(pid)
    assert record is not None
    assert (record.version, record.manifest_digest, record.status) == (2, manifest, S.ORIGINAL)
    assert inspector.client.version_digest(pid, 2) == manifest
    state = inspector.client.get_safety_state(pid)
    assert (state.distribution_valid_until, state.flagged) == (until, False)


def test_only_inspectors_record_inspections(ledger: ChainBackend, issuer: Actor) -> None:
    pid = issue(issuer)
    manifest = digest("self-inspection")
    with reverts("AccessControlUnauthorizedAccount", issuer.address, role_id(Role.INSPECTOR)):
        issuer.client.record_inspection(
            pid, K.PRE_DISTRIBUTION, True, ledger.now() + HOUR, manifest, issuer.sign_next(pid, manifest)
        )


def test_a_passed_inspection_needs_a_future_validity(
    ledger: ChainBackend, issuer: Actor, inspector: Actor
) -> None:
    pid = issue(issuer)
    past = ledger.now() - 1
    manifest = digest("stale")
    with reverts("SafetyRecordsInvalidValidity", pid, past):
        inspector.client.record_inspection(
            pid, K.PRE_DISTRIBUTION, True, past, manifest, inspector.sign_next(pid, manifest)
        )
    # A failed inspection's validity means nothing and is recorded as 0.
    assert inspect(inspector, pid, K.PRE_DISTRIBUTION, False, past)["validUntil"] == 0


def test_inspection_signature_must_be_the_inspectors(
    ledger: ChainBackend, issuer: Actor, inspector: Actor
) -> None:
    pid = issue(issuer)
    manifest = digest("forged")
    with reverts("BatteryPassportRegistryInvalidSignature"):
        inspector.client.record_inspection(
            pid, K.PRE_DISTRIBUTION, True, ledger.now() + HOUR, manifest, issuer.sign_next(pid, manifest)
        )


# -- distribution gate ------------------------------------------------------------------------------


def test_uninspected_used_battery_cannot_change_hands(
    ledger: ChainBackend, issuer: Actor, business: Actor
) -> None:
    pid = used_battery(ledger, issuer, business)
    collector = ledger.actors["issuer2"]
    with reverts("SafetyRecordsInspectionRequired", pid, collector.address):
        business.client.offer_custody(pid, collector.address, ledger.now() + HOUR)


def test_passed_pre_distribution_inspection_opens_custody(
    ledger: ChainBackend, issuer: Actor, business: Actor, inspector: Actor
) -> None:
    pid = used_battery(ledger, issuer, business)
    collector = ledger.actors["issuer2"]
    inspect(inspector, pid, K.PRE_DISTRIBUTION, True, ledger.now() + 24 * HOUR)
    hand_over(ledger, business, collector, pid)
    assert business.client.get_passport(pid).custodian == collector.address  # type: ignore[union-attr]
    # The receiving business has a post-distribution inspection recorded.
    event = inspect(inspector, pid, K.POST_DISTRIBUTION, True, ledger.now() + 24 * HOUR, "post")
    assert event["kind"] == int(K.POST_DISTRIBUTION)


def test_failed_inspection_withdraws_the_clearance(
    ledger: ChainBackend, issuer: Actor, business: Actor, inspector: Actor
) -> None:
    pid = used_battery(ledger, issuer, business)
    collector = ledger.actors["issuer2"]
    inspect(inspector, pid, K.PRE_DISTRIBUTION, True, ledger.now() + 24 * HOUR)
    inspect(inspector, pid, K.PRE_DISTRIBUTION, False, 0, "retest")
    assert inspector.client.get_safety_state(pid).distribution_valid_until == 0
    with reverts("SafetyRecordsInspectionRequired", pid, collector.address):
        business.client.offer_custody(pid, collector.address, ledger.now() + HOUR)


def test_expired_inspection_refuses_the_acceptance(
    ledger: ChainBackend, issuer: Actor, business: Actor, inspector: Actor
) -> None:
    pid = used_battery(ledger, issuer, business)
    collector = ledger.actors["issuer2"]
    inspect(inspector, pid, K.PRE_DISTRIBUTION, True, ledger.now() + 120)
    business.client.offer_custody(pid, collector.address, ledger.now() + HOUR)
    ledger.advance_time(600)  # the inspection lapses while the offer is pending
    with reverts("SafetyRecordsInspectionRequired", pid, collector.address):
        collector.client.accept_custody(pid)


def test_recyclers_take_used_batteries_without_inspection(
    ledger: ChainBackend, issuer: Actor, business: Actor, recycler: Actor
) -> None:
    pid = used_battery(ledger, issuer, business)
    hand_over(ledger, business, recycler, pid)


def test_original_batteries_move_without_inspection(
    ledger: ChainBackend, issuer: Actor, business: Actor
) -> None:
    hand_over(ledger, issuer, business, issue(issuer))


# -- incidents ------------------------------------------------------------------------------------


def test_incident_is_a_signed_version_by_custodian_or_inspector(
    ledger: ChainBackend, issuer: Actor, inspector: Actor, stranger: Actor
) -> None:
    pid = issue(issuer)
    event = incident(issuer, pid, False)
    assert event == {
        "passportId": pid,
        "reporter": issuer.address,
        "serious": False,
        "version": 2,
        "manifestDigest": digest("incident:False"),
    }
    assert not issuer.client.get_safety_state(pid).flagged
    assert incident(inspector, pid, False, "inspector-report")["version"] == 3
    manifest = digest("stranger")
    with reverts("BatteryPassportRegistryUnauthorizedWriter", pid, stranger.address):
        stranger.client.record_incident(pid, True, manifest, stranger.sign_next(pid, manifest))


def test_serious_incident_blocks_reuse_until_cleared(
    ledger: ChainBackend, issuer: Actor, business: Actor, inspector: Actor, repurposer: Actor
) -> None:
    pid = issue(issuer)
    hand_over(ledger, issuer, business, pid)
    inspect(inspector, pid, K.PRE_DISTRIBUTION, True, ledger.now() + 24 * HOUR)
    assert incident(business, pid, True)["serious"] is True
    state = business.client.get_safety_state(pid)
    assert (state.flagged, state.distribution_valid_until) == (True, 0)
    with reverts("SafetyRecordsPassportFlagged", pid):
        business.client.change_status(
            pid, S.REUSED, digest("r"), business.sign_next(pid, digest("r"), S.REUSED)
        )
    with reverts("SafetyRecordsPassportFlagged", pid):
        business.client.offer_custody(pid, repurposer.address, ledger.now() + HOUR)
    # A failed clearance keeps the flag; a passed one lifts it.
    inspect(inspector, pid, K.CLEARANCE, False, 0, "clearance-1")
    assert business.client.get_safety_state(pid).flagged
    inspect(inspector, pid, K.CLEARANCE, True, ledger.now() + 24 * HOUR, "clearance-2")
    assert not business.client.get_safety_state(pid).flagged
    business.client.change_status(pid, S.REUSED, digest("r"), business.sign_next(pid, digest("r"), S.REUSED))


def test_serious_incident_blocks_a_successor(
    ledger: ChainBackend, issuer: Actor, repurposer: Actor, inspector: Actor
) -> None:
    pid = issue(issuer)
    hand_over(ledger, issuer, repurposer, pid)
    incident(inspector, pid, True)
    new = passport_id("second-life")
    sig = repurposer.sign(new, BATTERY, 1, S.REPURPOSED, digest("n1"), pid)
    with reverts("SafetyRecordsPassportFlagged", pid):
        repurposer.client.issue_successor(pid, new, BATTERY, S.REPURPOSED, digest("n1"), sig)
    inspect(inspector, pid, K.CLEARANCE, True, ledger.now() + HOUR)
    receipt = repurposer.client.issue_successor(pid, new, BATTERY, S.REPURPOSED, digest("n1"), sig)
    assert only_event(receipt, "PassportSuperseded")["successorId"] == new


def test_flagged_battery_still_goes_to_a_recycler(
    ledger: ChainBackend, issuer: Actor, inspector: Actor, recycler: Actor
) -> None:
    pid = issue(issuer)
    incident(inspector, pid, True)
    hand_over(ledger, issuer, recycler, pid)


def test_closed_passports_take_no_safety_records(
    ledger: ChainBackend, issuer: Actor, repurposer: Actor, inspector: Actor
) -> None:
    pid = issue(issuer)
    hand_over(ledger, issuer, repurposer, pid)
    new = passport_id("second-life")
    sig = repurposer.sign(new, BATTERY, 1, S.REPURPOSED, digest("n1"), pid)
    repurposer.client.issue_successor(pid, new, BATTERY, S.REPURPOSED, digest("n1"), sig)
    manifest = digest("late")
    with reverts("BatteryPassportRegistryPassportClosed", pid):
        inspector.client.record_incident(
            pid, True, manifest, inspector.sign(pid, BATTERY, 2, S.ORIGINAL, manifest)
        )
