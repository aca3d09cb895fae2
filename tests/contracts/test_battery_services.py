"""BatteryServices on every backend: the legal owner apart from the custodian, its consent enforced by
the registry (custody transfer, repurposing, recycling), leases, vehicle / station bindings and atomic
swaps, second-life storage installations and claims recorded once. Every revert names its custom error;
every write asserts its event."""

from __future__ import annotations

import pytest

from passport.chain.services import (
    ClaimKind,
    ConsentAction,
    HandOver,
    HolderKind,
    ServicesRole,
    StorageRole,
    site_hash,
    station_hash,
    vehicle_hash,
)
from passport.chain.services_web3 import services_role_id
from passport.errors import InvalidIdentifier
from passport.model import LifecycleStatus as S
from tests.chain_backends import ChainBackend, digest, only_event, passport_id, reverts
from tests.contracts.services_world import ServicesWorld, hand_over, issued, repurposed, services_world

VIN = vehicle_hash("KMHxx81xxMU000001")
VIN2 = vehicle_hash("KMHxx81xxMU000002")
STATION = station_hash("swap-station/seoul-gangnam-01")
FULL = HandOver(10_000, 9_700)
LOW = HandOver(1_200, 9_100)


@pytest.fixture(scope="module")
def deployed(chain_backend: ChainBackend) -> ServicesWorld:
    return services_world(chain_backend)


@pytest.fixture
def world(deployed: ServicesWorld, ledger: ChainBackend) -> ServicesWorld:
    deployed.wire(ledger)
    return deployed


def owned(world: ServicesWorld, ledger: ChainBackend, label: str, *, waste: bool = False) -> bytes:
    """A passport held by ``issuer`` whose legal owner is ``lessor``."""
    pid = issued(ledger, label, waste=waste)
    world["issuer"].record_owner(pid, world["lessor"].account)
    return pid


# -- wiring and ownership -------------------------------------------------------------------------------


def test_the_registry_asks_the_services_contract_set_by_its_admin(
    world: ServicesWorld, ledger: ChainBackend
) -> None:
    admin = ledger.actors["admin"].client
    assert admin.services_address() == world.address
    assert world["admin"]._call("registry") == ledger.registry_address
    assert world["admin"].has_role(ServicesRole.OPERATOR, world["operator"].account)
    with reverts("AccessControlUnauthorizedAccount", ledger.actors["stranger"].address, b"\x00" * 32):
        ledger.actors["stranger"].client.set_services(None)
    receipt = admin.set_services(None)
    assert only_event(receipt, "ServicesSet") == {"services": "0x" + "00" * 20}
    assert admin.services_address() is None


def test_the_owner_is_recorded_once_by_the_issuer_and_moved_only_by_the_owner(
    world: ServicesWorld, ledger: ChainBackend
) -> None:
    pid = issued(ledger, "owner")
    lessor, stranger = world["lessor"], world["stranger"]
    with reverts("BatteryServicesUnauthorized", pid, stranger.account):
        stranger.record_owner(pid, stranger.account)
    receipt = world["issuer"].record_owner(pid, lessor.account)
    assert only_event(receipt, "LegalOwnerRecorded") == {
        "passportId": pid, "owner": lessor.account, "recordedBy": world["issuer"].account,
    }  # fmt: skip
    assert world["stranger"].legal_owner(pid) == lessor.account
    with reverts("BatteryServicesOwnerAlreadyRecorded", pid, lessor.account):
        world["issuer"].record_owner(pid, stranger.account)
    with reverts("BatteryServicesNotOwner", pid, world["issuer"].account):
        world["issuer"].transfer_ownership(pid, stranger.account)
    lessor.grant_consent(pid, ConsentAction.TRANSFER, None, ledger.now() + 3600)
    receipt = lessor.transfer_ownership(pid, world["operator"].account)
    assert only_event(receipt, "LegalOwnerTransferred") == {
        "passportId": pid, "from": lessor.account, "to": world["operator"].account,
    }  # fmt: skip
    assert lessor.get_consent(pid, ConsentAction.TRANSFER) is None  # the old owner's consent lapsed
    with reverts("BatteryPassportRegistryUnknownPassport", passport_id("nowhere")):
        world["issuer"].record_owner(passport_id("nowhere"), lessor.account)


# -- consent enforced by the registry ------------------------------------------------------------------


def test_custody_transfer_is_refused_without_the_owners_consent_and_allowed_with_it(
    world: ServicesWorld, ledger: ChainBackend
) -> None:
    pid = owned(world, ledger, "transfer")
    issuer, business = ledger.actors["issuer"].client, ledger.actors["business"]
    lessor = world["lessor"]
    with reverts("BatteryServicesOwnerConsentMissing", pid, ConsentAction.TRANSFER, lessor.account):
        issuer.offer_custody(pid, business.address, ledger.now() + 3600)
    # Consent for another counterparty does not count.
    lessor.grant_consent(pid, ConsentAction.TRANSFER, ledger.actors["recycler"].address, ledger.now() + 3600)
    with reverts("BatteryServicesOwnerConsentMissing", pid, ConsentAction.TRANSFER, lessor.account):
        issuer.offer_custody(pid, business.address, ledger.now() + 3600)
    receipt = lessor.grant_consent(pid, ConsentAction.TRANSFER, business.address, ledger.now() + 3600)
    assert only_event(receipt, "ConsentGranted")["counterparty"] == business.address
    issuer.offer_custody(pid, business.address, ledger.now() + 3600)
    # Revoked between offer and acceptance: the acceptance is refused too.
    assert only_event(lessor.revoke_consent(pid, ConsentAction.TRANSFER), "ConsentRevoked")["owner"] == (
        lessor.account
    )
    with reverts("BatteryServicesOwnerConsentMissing", pid, ConsentAction.TRANSFER, lessor.account):
        business.client.accept_custody(pid)
    lessor.grant_consent(pid, ConsentAction.TRANSFER, None, ledger.now() + 3600)
    business.client.accept_custody(pid)
    passport = issuer.get_passport(pid)
    assert passport is not None
    assert passport.custodian == business.address
    assert lessor.legal_owner(pid) == lessor.account  # custody moved, ownership did not


def test_an_expired_consent_does_not_count(world: ServicesWorld, ledger: ChainBackend) -> None:
    pid = owned(world, ledger, "expired")
    lessor = world["lessor"]
    with reverts("BatteryServicesInvalidTerm", pid, 0, ledger.now()):
        lessor.grant_consent(pid, ConsentAction.TRANSFER, None, ledger.now())
    lessor.grant_consent(pid, ConsentAction.TRANSFER, None, ledger.now() + 60)
    ledger.advance_time(120)
    with reverts("BatteryServicesOwnerConsentMissing", pid, ConsentAction.TRANSFER, lessor.account):
        ledger.actors["issuer"].client.offer_custody(
            pid, ledger.actors["business"].address, ledger.now() + 3600
        )


def test_an_owner_who_is_the_custodian_needs_no_consent(world: ServicesWorld, ledger: ChainBackend) -> None:
    pid = issued(ledger, "self-owned")
    world["issuer"].record_owner(pid, world["issuer"].account)
    hand_over(ledger, pid, "business")


def test_recycling_is_refused_without_the_owners_consent_and_allowed_with_it(
    world: ServicesWorld, ledger: ChainBackend
) -> None:
    pid = owned(world, ledger, "recycle", waste=True)
    lessor, recycler = world["lessor"], ledger.actors["recycler"]
    lessor.grant_consent(pid, ConsentAction.TRANSFER, recycler.address, ledger.now() + 3600)
    hand_over(ledger, pid, "recycler")
    final = digest("recycle:final")
    with reverts("BatteryServicesOwnerConsentMissing", pid, ConsentAction.RECYCLE, lessor.account):
        recycler.client.recycle(pid, final, recycler.sign_next(pid, final, S.RECYCLED))
    lessor.grant_consent(pid, ConsentAction.RECYCLE, recycler.address, ledger.now() + 3600)
    receipt = recycler.client.recycle(pid, final, recycler.sign_next(pid, final, S.RECYCLED))
    assert only_event(receipt, "PassportRecycled")["recycler"] == recycler.address


def test_repurposing_is_refused_without_the_owners_consent_and_allowed_with_it(
    world: ServicesWorld, ledger: ChainBackend
) -> None:
    pid = owned(world, ledger, "repurpose")
    lessor, repurposer = world["lessor"], ledger.actors["repurposer"]
    lessor.grant_consent(pid, ConsentAction.TRANSFER, repurposer.address, ledger.now() + 3600)
    hand_over(ledger, pid, "repurposer")
    successor, manifest = passport_id("repurpose:next"), digest("repurpose:next:1")
    signature = repurposer.sign(successor, digest("service-battery"), 1, S.REPURPOSED, manifest, pid)
    with reverts("BatteryServicesOwnerConsentMissing", pid, ConsentAction.REPURPOSE, lessor.account):
        repurposer.client.issue_successor(
            pid, successor, digest("service-battery"), S.REPURPOSED, manifest, signature
        )
    lessor.grant_consent(pid, ConsentAction.REPURPOSE, None, ledger.now() + 3600)
    receipt = repurposer.client.issue_successor(
        pid, successor, digest("service-battery"), S.REPURPOSED, manifest, signature
    )
    assert only_event(receipt, "PassportSuperseded")["successorId"] == successor


# -- leases ----------------------------------------------------------------------------------------------


def test_the_owner_records_and_ends_a_lease(world: ServicesWorld, ledger: ChainBackend) -> None:
    pid = owned(world, ledger, "lease")
    lessor, lessee = world["lessor"], world["stranger"]
    lease_id, document = digest("lease:1"), digest("lease:1:document")
    start, end = ledger.now(), ledger.now() + 365 * 86_400
    with reverts("BatteryServicesNotOwner", pid, world["issuer"].account):
        world["issuer"].record_lease(lease_id, pid, lessee.account, document, start, end)
    with reverts("BatteryServicesInvalidTerm", pid, end, start):
        lessor.record_lease(lease_id, pid, lessee.account, document, end, start)
    receipt = lessor.record_lease(lease_id, pid, lessee.account, document, start, end)
    assert only_event(receipt, "LeaseRecorded")["documentDigest"] == document
    with reverts("BatteryServicesLeaseExists", lease_id):
        lessor.record_lease(lease_id, pid, lessee.account, document, start, end)
    lease = lessee.get_lease(lease_id)
    assert lease is not None
    assert (lease.lessor, lease.lessee, lease.ends_at, lease.ended_at) == (
        lessor.account,
        lessee.account,
        end,
        0,
    )
    with reverts("BatteryServicesNotOwner", pid, lessee.account):
        lessee.end_lease(lease_id)
    assert only_event(lessor.end_lease(lease_id), "LeaseEnded")["leaseId"] == lease_id
    with reverts("BatteryServicesNoOpenLease", lease_id):
        lessor.end_lease(lease_id)
    assert [lease.lease_id for lease in lessee.leases_of(pid, ledger.deploy_block)] == [lease_id]


# -- bindings and swaps ----------------------------------------------------------------------------------


def test_a_pack_is_installed_and_removed_and_its_history_is_queryable(
    world: ServicesWorld, ledger: ChainBackend
) -> None:
    pid = issued(ledger, "bind")
    issuer = world["issuer"]
    with reverts("BatteryServicesUnauthorized", pid, world["stranger"].account):
        world["stranger"].install_pack(pid, HolderKind.VEHICLE, VIN, FULL)
    receipt = issuer.install_pack(pid, HolderKind.VEHICLE, VIN, FULL)
    assert only_event(receipt, "PackInstalled") == {
        "passportId": pid, "kind": 1, "holder": VIN, "by": issuer.account, "socBps": 10_000, "sohBps": 9_700,
    }  # fmt: skip
    with reverts("BatteryServicesPackBound", pid, HolderKind.VEHICLE, VIN):
        issuer.install_pack(pid, HolderKind.VEHICLE, VIN2, FULL)
    with pytest.raises(InvalidIdentifier):  # the client refuses a reading above 100 % ...
        issuer.remove_pack(pid, HandOver(10_001, 0))
    with reverts("BatteryServicesInvalidValue", pid):  # ... and so does the contract
        issuer._transact("removePack", pid, (10_001, 0))
    binding = issuer.get_binding(pid)
    assert binding is not None
    assert (binding.kind, binding.holder, binding.reading) == (
        HolderKind.VEHICLE,
        VIN,
        FULL,
    )
    assert only_event(issuer.remove_pack(pid, LOW), "PackRemoved")["socBps"] == 1_200
    assert issuer.get_binding(pid) is None
    with reverts("BatteryServicesPackNotAt", pid, HolderKind.NONE, b"\x00" * 32):
        issuer.remove_pack(pid, LOW)
    world["operator"].install_pack(pid, HolderKind.VEHICLE, VIN2, LOW)  # operators bind any open pack
    history = world["stranger"].binding_history(pid, ledger.deploy_block)
    assert [(h.installed, h.holder, h.reading.soc_bps) for h in history] == [
        (True, VIN, 10_000), (False, VIN, 1_200), (True, VIN2, 1_200),
    ]  # fmt: skip


def test_a_swap_moves_both_packs_in_one_transaction(world: ServicesWorld, ledger: ChainBackend) -> None:
    in_vehicle, in_station = issued(ledger, "swap:vehicle"), issued(ledger, "swap:station")
    operator = world["operator"]
    operator.install_pack(in_vehicle, HolderKind.VEHICLE, VIN, FULL)
    operator.install_pack(in_station, HolderKind.STATION, STATION, FULL)
    receipt = operator.swap(VIN, STATION, in_vehicle, in_station, LOW, FULL)
    assert only_event(receipt, "PacksSwapped") == {
        "vehicle": VIN, "station": STATION, "outgoing": in_vehicle, "incoming": in_station,
        "operator": operator.account,
    }  # fmt: skip
    assert [e.name for e in receipt.events] == [
        "PackRemoved", "PackRemoved", "PackInstalled", "PackInstalled", "PacksSwapped",
    ]  # fmt: skip
    assert {tx.tx_hash for tx in operator.binding_history(in_vehicle, ledger.deploy_block)[-2:]} == {
        receipt.tx_hash
    }
    after_vehicle, after_station = operator.get_binding(in_vehicle), operator.get_binding(in_station)
    assert after_vehicle is not None
    assert (after_vehicle.kind, after_vehicle.holder) == (
        HolderKind.STATION,
        STATION,
    )
    assert after_station is not None
    assert (after_station.kind, after_station.holder, after_station.reading) == (
        HolderKind.VEHICLE,
        VIN,
        FULL,
    )


def test_a_swap_with_a_failing_leg_records_nothing(world: ServicesWorld, ledger: ChainBackend) -> None:
    in_vehicle, elsewhere = issued(ledger, "swapfail:vehicle"), issued(ledger, "swapfail:elsewhere")
    operator = world["operator"]
    operator.install_pack(in_vehicle, HolderKind.VEHICLE, VIN, FULL)
    operator.install_pack(elsewhere, HolderKind.VEHICLE, VIN2, FULL)  # not in the station
    before = ledger.w3.eth.block_number
    with reverts("BatteryServicesPackNotAt", elsewhere, HolderKind.STATION, STATION):
        operator.swap(VIN, STATION, in_vehicle, elsewhere, LOW, FULL)
    # The first leg (the vehicle's pack leaving) was undone with the second.
    binding = operator.get_binding(in_vehicle)
    assert binding is not None
    assert (binding.kind, binding.holder) == (HolderKind.VEHICLE, VIN)
    assert len(operator.binding_history(in_vehicle, before)) == 0


# -- second life and claims ------------------------------------------------------------------------------


def test_a_repurposed_pack_records_its_storage_installation(
    world: ServicesWorld, ledger: ChainBackend
) -> None:
    pid = repurposed(ledger, "storage")
    repurposer = world["repurposer"]
    site = site_hash("ess/jeju-solar-07")
    receipt = repurposer.record_storage_installation(pid, site, 48_000, StorageRole.RENEWABLE_FIRMING)
    assert only_event(receipt, "StorageInstalled") == {
        "passportId": pid, "siteHash": site, "ratedEnergyWh": 48_000, "role": 3,
        "recordedBy": repurposer.account,
    }  # fmt: skip
    installed = world["stranger"].get_storage_installation(pid)
    assert installed is not None
    assert (installed.rated_energy_wh, installed.role) == (
        48_000,
        StorageRole.RENEWABLE_FIRMING,
    )
    first_life = issued(ledger, "storage:first-life")
    with reverts("BatteryServicesNotRepurposed", first_life, S.ORIGINAL):
        world["issuer"].record_storage_installation(first_life, site, 48_000, StorageRole.BACKUP)
    with reverts("BatteryServicesUnauthorized", pid, world["stranger"].account):
        world["stranger"].record_storage_installation(pid, site, 48_000, StorageRole.BACKUP)


def test_a_claim_is_recorded_once_per_battery_kind_and_month(
    world: ServicesWorld, ledger: ChainBackend
) -> None:
    pid = repurposed(ledger, "claims")
    repurposer = world["repurposer"]
    evidence = digest("energy-proof:2026-11")
    receipt = repurposer.record_claim(pid, ClaimKind.ENERGY_DELIVERED, 202611, 812_500, evidence)
    assert only_event(receipt, "ClaimRecorded") == {
        "passportId": pid, "kind": 0, "period": 202611, "quantity": 812_500, "evidenceDigest": evidence,
        "claimant": repurposer.account,
    }  # fmt: skip
    with reverts("BatteryServicesClaimExists", pid, ClaimKind.ENERGY_DELIVERED, 202611, repurposer.account):
        repurposer.record_claim(pid, ClaimKind.ENERGY_DELIVERED, 202611, 1, digest("again"))
    # Another kind or another month is a different claim.
    repurposer.record_claim(pid, ClaimKind.AVOIDED_EMISSION, 202611, 350_000, evidence)
    repurposer.record_claim(pid, ClaimKind.ENERGY_DELIVERED, 202612, 790_000, digest("energy-proof:2026-12"))
    for period in (202613, 202600, 199912):
        with reverts("BatteryServicesInvalidPeriod", period):
            repurposer.record_claim(pid, ClaimKind.ENERGY_DELIVERED, period, 1, evidence)
    with reverts("BatteryServicesUnauthorized", pid, world["stranger"].account):
        world["stranger"].record_claim(pid, ClaimKind.ENERGY_DELIVERED, 202701, 1, evidence)
    claims = world["stranger"].claims_of(pid, ledger.deploy_block)
    assert [(c.kind, c.period, c.quantity) for c in claims] == [
        (ClaimKind.ENERGY_DELIVERED, 202611, 812_500),
        (ClaimKind.AVOIDED_EMISSION, 202611, 350_000),
        (ClaimKind.ENERGY_DELIVERED, 202612, 790_000),
    ]
    assert world["stranger"].get_claim(pid, ClaimKind.AVOIDED_EMISSION, 202612) is None


def test_closed_passports_take_no_bindings(world: ServicesWorld, ledger: ChainBackend) -> None:
    pid = repurposed(ledger, "closed")
    predecessor = passport_id("services:closed")
    with reverts("BatteryServicesPassportClosed", predecessor):
        world["operator"].install_pack(predecessor, HolderKind.VEHICLE, VIN, FULL)
    assert services_role_id(ServicesRole.ADMIN) == b"\x00" * 32
    assert pid != predecessor
