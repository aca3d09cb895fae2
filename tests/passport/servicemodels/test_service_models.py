"""``ServiceModels`` on the in-process chain and the embedded store: a lease is signed by the lessor,
stored, recorded, and read back checked against the chain (a tampered or foreign document is refused);
the overview gathers owner, consents, binding, storage, leases and claims."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from passport.chain.services import ClaimKind, ConsentAction, HandOver, HolderKind, StorageRole, vehicle_hash
from passport.materials import sign_document
from passport.servicemodels import (
    LeaseContract,
    ServiceDocumentError,
    ServiceModels,
    ServiceRecordNotFound,
)
from passport.store import EmbeddedStore
from tests.chain_backends import ChainBackend, digest
from tests.contracts.services_world import SERVICE_KEYS, ServicesWorld, issued, repurposed, services_world


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedStore:
    return EmbeddedStore(Path(tmp_path_factory.mktemp("services-store")), durable=False)


@pytest.fixture
def world(eth_tester_backend: ChainBackend) -> Iterator[tuple[ServicesWorld, ChainBackend]]:
    deployed = services_world(eth_tester_backend)
    with eth_tester_backend.isolated():
        deployed.wire(eth_tester_backend)
        yield deployed, eth_tester_backend


def models(world: ServicesWorld, store: EmbeddedStore, who: str, key: bytes) -> ServiceModels:
    return ServiceModels(world[who], store, signer_key=key)


def contract(world: ServicesWorld, pid: bytes, now: int, **changes: object) -> LeaseContract:
    start = datetime.fromtimestamp(now, UTC)
    fields: dict[str, object] = {
        "lease_id": "0x" + digest(f"lease:{pid.hex()}").hex(),
        "passport_id": "0x" + pid.hex(),
        "model": "subscription",
        "lessor": world["lessor"].account,
        "lessee": world["stranger"].account,
        "starts_at": start,
        "ends_at": start + timedelta(days=730),
        "fee_basis": "KRW 149,000 per month",
        "end_of_term_options": ("return", "purchase"),
    }
    return LeaseContract.model_validate(fields | changes)


def test_a_lease_round_trips_through_store_and_chain(
    world: tuple[ServicesWorld, ChainBackend], store: EmbeddedStore
) -> None:
    services, ledger = world
    pid = issued(ledger, "svc-lease")
    services["issuer"].record_owner(pid, services["lessor"].account)
    lessor = models(services, store, "lessor", SERVICE_KEYS["lessor"])
    lease = contract(services, pid, ledger.now())
    stored = lessor.record_lease(lease)
    assert stored.receipt is not None
    assert stored.receipt.events[0].name == "LeaseRecorded"
    view = ServiceModels(services["stranger"], store).read_lease(bytes.fromhex(lease.lease_id[2:]))
    assert view.contract == lease
    assert view.lease.lessee == services["stranger"].account
    assert view.cid == stored.cid
    overview = ServiceModels(services["stranger"], store).overview(pid)
    assert overview.legal_owner == services["lessor"].account
    assert [item.lease_id.hex() for item in overview.leases] == [lease.lease_id[2:]]
    with pytest.raises(ServiceRecordNotFound):
        lessor.read_lease(digest("no such lease"))


def test_a_lease_the_chain_does_not_match_is_refused(
    world: tuple[ServicesWorld, ChainBackend], store: EmbeddedStore
) -> None:
    services, ledger = world
    pid = issued(ledger, "svc-forged")
    services["issuer"].record_owner(pid, services["lessor"].account)
    lease = contract(services, pid, ledger.now())
    # Signed by someone else than the lessor, but recorded by the lessor under its digest.
    data = sign_document(lease, SERVICE_KEYS["operator"])
    cid = store.put(data)
    start, end = lease.term
    services["lessor"].record_lease(
        bytes.fromhex(lease.lease_id[2:]), pid, lease.lessee, hashlib.sha256(data).digest(), start, end
    )
    assert cid
    with pytest.raises(ServiceDocumentError, match="not the one recorded"):
        ServiceModels(services["stranger"], store).read_lease(bytes.fromhex(lease.lease_id[2:]))
    with pytest.raises(ServiceDocumentError, match="lessor"):
        models(services, store, "operator", SERVICE_KEYS["operator"]).record_lease(lease)


def test_lease_contracts_validate_their_term() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    base = {
        "lease_id": "0x" + "11" * 32,
        "passport_id": "0x" + "22" * 32,
        "model": "lease",
        "lessor": "0x" + "33" * 20,
        "lessee": "0x" + "44" * 20,
        "starts_at": now,
        "ends_at": now - timedelta(days=1),
        "fee_basis": "KRW 1",
        "end_of_term_options": ("return",),
    }
    with pytest.raises(ValidationError, match="ends after it starts"):
        LeaseContract.model_validate(base)
    with pytest.raises(ValidationError):
        LeaseContract.model_validate(base | {"ends_at": now + timedelta(days=1), "end_of_term_options": ()})


def test_the_overview_gathers_binding_storage_consents_and_claims(
    world: tuple[ServicesWorld, ChainBackend], store: EmbeddedStore
) -> None:
    services, ledger = world
    pid = repurposed(ledger, "svc-overview")
    repurposer = ServiceModels(services["repurposer"], store)
    repurposer.record_owner(pid, services["lessor"].account)
    ServiceModels(services["lessor"], store).grant_consent(
        pid, ConsentAction.RECYCLE, None, ledger.now() + 600
    )
    repurposer.record_storage(pid, digest("site"), 20_000, StorageRole.PEAK_SHAVING)
    repurposer.install(pid, HolderKind.STATION, digest("rack"), HandOver(5_000, 8_000))
    repurposer.record_claim(pid, ClaimKind.ENERGY_DELIVERED, 202611, 410_000, digest("proof"))
    overview = ServiceModels(services["stranger"], store, from_block=ledger.deploy_block).overview(pid)
    assert overview.legal_owner == services["lessor"].account
    assert [c.action for c in overview.consents] == [ConsentAction.RECYCLE]
    assert overview.binding is not None
    assert overview.binding.kind is HolderKind.STATION
    assert overview.storage is not None
    assert overview.storage.rated_energy_wh == 20_000
    assert [(c.period, c.quantity) for c in overview.claims] == [(202611, 410_000)]
    assert repurposer.claim(pid, ClaimKind.ENERGY_DELIVERED, 202611).evidence_digest == digest("proof")
    with pytest.raises(ServiceRecordNotFound):
        repurposer.claim(pid, ClaimKind.AVOIDED_EMISSION, 202611)
    assert len(repurposer.binding_history(pid)) == 1
    assert vehicle_hash(" kmh1 ") == vehicle_hash("KMH1")
