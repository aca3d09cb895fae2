"""``issuePassports``: many passports in one transaction, each signed and announced on its own."""

from __future__ import annotations

from passport.chain import PassportIssue, Role
from passport.chain.web3_client import role_id
from passport.ids import ZERO32
from passport.model import LifecycleStatus as S
from tests.chain_backends import Actor, digest, passport_id, reverts

BATTERY = digest("battery-serial")


def entry(actor: Actor, label: str, battery: bytes | None = None) -> PassportIssue:
    pid = passport_id(label)
    battery = digest(f"battery-{label}") if battery is None else battery
    manifest = digest(f"manifest-{label}")
    return PassportIssue(pid, battery, manifest, actor.sign(pid, battery, 1, S.ORIGINAL, manifest))


def test_issue_passports_records_each_with_its_own_event(issuer: Actor) -> None:
    batch = [entry(issuer, f"b{i}") for i in range(3)]
    receipt = issuer.client.issue_passports(batch)
    issued = [e.args for e in receipt.events if e.name == "PassportIssued"]
    assert issued == [
        {
            "passportId": p.passport_id,
            "batteryIdHash": p.battery_id_hash,
            "issuer": issuer.address,
            "status": int(S.ORIGINAL),
            "manifestDigest": p.manifest_digest,
            "predecessor": ZERO32,
        }
        for p in batch
    ]
    for p in batch:
        record = issuer.client.get_passport(p.passport_id)
        assert record is not None
        assert (record.issuer, record.custodian, record.status, record.version) == (
            issuer.address,
            issuer.address,
            S.ORIGINAL,
            1,
        )
        assert (record.battery_id_hash, record.manifest_digest) == (p.battery_id_hash, p.manifest_digest)
        assert issuer.client.version_digest(p.passport_id, 1) == p.manifest_digest


def test_batched_passports_take_later_versions(issuer: Actor) -> None:
    only = entry(issuer, "later")
    issuer.client.issue_passports([only])
    issuer.client.update_passport(
        only.passport_id, digest("m2"), issuer.sign_next(only.passport_id, digest("m2"))
    )
    record = issuer.client.get_passport(only.passport_id)
    assert record is not None
    assert record.version == 2


def test_empty_batch_is_refused(issuer: Actor) -> None:
    with reverts("BatteryPassportRegistryEmptyBatch"):
        issuer.client.issue_passports([])


def test_only_issuers_issue_batches(stranger: Actor) -> None:
    with reverts("AccessControlUnauthorizedAccount", stranger.address, role_id(Role.ISSUER)):
        stranger.client.issue_passports([entry(stranger, "s1")])


def test_one_bad_entry_refuses_the_whole_batch(issuer: Actor, stranger: Actor) -> None:
    good = entry(issuer, "good")
    forged = entry(stranger, "forged")  # signed by someone other than the sender
    with reverts("BatteryPassportRegistryInvalidSignature", issuer.address, stranger.address):
        issuer.client.issue_passports([good, forged])
    assert issuer.client.get_passport(good.passport_id) is None  # nothing of the batch was kept


def test_duplicates_in_a_batch_and_against_the_ledger_are_refused(issuer: Actor) -> None:
    first = entry(issuer, "dup")
    with reverts("BatteryPassportRegistryPassportExists", first.passport_id):
        issuer.client.issue_passports([first, first])
    issuer.client.issue_passports([first])
    with reverts("BatteryPassportRegistryPassportExists", first.passport_id):
        issuer.client.issue_passports([entry(issuer, "other"), first])


def test_zero_values_in_a_batch_are_refused(issuer: Actor) -> None:
    zero_battery = entry(issuer, "z", battery=ZERO32)
    with reverts("BatteryPassportRegistryInvalidValue", zero_battery.passport_id):
        issuer.client.issue_passports([zero_battery])
