"""The battery-service routes over the app (eth-tester ledger with BatteryServices beside it): legal
owner and consent (a custody offer without it is a 409 naming the contract's error), a signed lease read
back, bindings and an atomic swap, a storage installation, claims recorded once, and 4xx for bad input."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import ApiRole
from api.services import Services
from passport.servicemodels import vehicle_hash
from tests.api.api_stack import build_services
from tests.chain_backends import ChainBackend, digest
from tests.contracts.services_world import SERVICE_KEYS, issued, repurposed, services_world

VIN = "KMHXX81XXMU123456"


@dataclass
class Api:
    client: TestClient
    keys: dict[str, str]
    services: Services
    backend: ChainBackend

    def call(self, method: str, path: str, who: str | None = None, **kwargs: Any) -> Any:
        headers = {} if who is None else {"Authorization": f"Bearer {self.keys[who]}"}
        return self.client.request(method, "/api/v1" + path, headers=headers, **kwargs)

    def account(self, who: str) -> str:
        return services_world(self.backend)[who].account


def uid(pid: bytes) -> str:
    return str(uuid.UUID(bytes=pid[16:]))


@pytest.fixture(scope="module")
def api(eth_tester_backend: ChainBackend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    world = services_world(eth_tester_backend)
    with eth_tester_backend.isolated():
        world.wire(eth_tester_backend)
        services = build_services(eth_tester_backend, Path(tmp_path_factory.mktemp("services-api")))
        assert isinstance(services.keys, dict)
        services.keys.update(SERVICE_KEYS)
        services.services_address = world.address
        for name in SERVICE_KEYS:
            services.api_keys.upsert_participant(name, [ApiRole.BUSINESS], account=world[name].account)
        names = ("issuer", "repurposer", "business", *SERVICE_KEYS)
        api_keys = {n: services.api_keys.issue_key(n) for n in names}
        app = create_app(services.settings, services=services)
        try:
            yield Api(TestClient(app), api_keys, services, eth_tester_backend)
        finally:
            services.close()


def test_owner_consent_and_lease_over_http(api: Api) -> None:
    pid = issued(api.backend, "api-owner")
    lessor = api.account("lessor")
    response = api.call("POST", f"/passports/{uid(pid)}/legal-owner", "issuer", json={"owner": lessor})
    assert response.status_code == 201, response.text
    assert response.json()["events"] == ["LegalOwnerRecorded"]
    again = api.call("POST", f"/passports/{uid(pid)}/legal-owner", "issuer", json={"owner": lessor})
    assert again.status_code == 409
    assert again.json()["ledger_error"] == "BatteryServicesOwnerAlreadyRecorded"

    business = api.backend.actors["business"].address
    offer = api.call("POST", f"/passports/{uid(pid)}/custody/offer", "issuer", json={"to": business})
    assert offer.status_code == 409, offer.text
    assert offer.json()["ledger_error"] == "BatteryServicesOwnerConsentMissing"
    consent = {"action": "transfer", "counterparty": business, "expires_at": api.backend.now() + 3600}
    assert api.call("POST", f"/passports/{uid(pid)}/consents", "lessor", json=consent).status_code == 201
    offer = api.call("POST", f"/passports/{uid(pid)}/custody/offer", "issuer", json={"to": business})
    assert offer.status_code == 201, offer.text
    assert (
        api.call(
            "POST", f"/passports/{uid(pid)}/consents", "lessor", json={**consent, "action": "x"}
        ).status_code
        == 422
    )

    start = datetime.fromtimestamp(api.backend.now(), UTC)
    lease = {
        "lease_id": "0x" + digest("api-lease").hex(),
        "passport_id": "0x" + pid.hex(),
        "model": "subscription",
        "lessor": lessor,
        "lessee": api.account("stranger"),
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(days=365)).isoformat(),
        "fee_basis": "KRW 149,000 per month",
        "end_of_term_options": ["return", "purchase"],
    }
    stored = api.call("POST", "/leases", "lessor", json=lease)
    assert stored.status_code == 201, stored.text
    read = api.call("GET", f"/leases/{lease['lease_id']}")
    assert read.status_code == 200, read.text
    assert read.json()["contract"]["fee_basis"] == "KRW 149,000 per month"
    assert api.call("POST", "/leases", "issuer", json=lease).status_code == 422  # not the lessor
    assert api.call("GET", "/leases/0x" + "00" * 31 + "01").status_code == 404
    assert api.call("GET", "/leases/nothex").status_code == 400

    overview = api.call("GET", f"/passports/{uid(pid)}/services").json()
    assert overview["legal_owner"] == lessor
    assert [c["action"] for c in overview["consents"]] == ["transfer"]
    assert [item["lease_id"] for item in overview["leases"]] == [lease["lease_id"]]


def test_bindings_and_an_atomic_swap_over_http(api: Api) -> None:
    in_vehicle, in_station = issued(api.backend, "api-swap-a"), issued(api.backend, "api-swap-b")
    reading = {"soc_percent": 95.5, "soh_percent": 97}
    body = {"kind": "vehicle", "vin": VIN, "reading": reading}
    assert api.call("POST", f"/passports/{uid(in_vehicle)}/binding", "operator", json=body).status_code == 201
    station = {"kind": "station", "station_id": "gangnam-01", "reading": reading}
    assert (
        api.call("POST", f"/passports/{uid(in_station)}/binding", "operator", json=station).status_code == 201
    )
    bad = api.call(
        "POST", f"/passports/{uid(in_station)}/binding", "operator", json={**body, "station_id": "x"}
    )
    assert bad.status_code == 400
    low = {"soc_percent": 12, "soh_percent": 96.1}
    swap = {
        "vin": VIN, "station_id": "gangnam-01",
        "outgoing_passport_id": uid(in_vehicle), "incoming_passport_id": uid(in_station),
        "outgoing_reading": low, "incoming_reading": reading,
    }  # fmt: skip
    failing = api.call("POST", "/swaps", "operator", json={**swap, "station_id": "elsewhere"})
    assert failing.status_code == 409
    assert failing.json()["ledger_error"] == "BatteryServicesPackNotAt"
    done = api.call("POST", "/swaps", "operator", json=swap)
    assert done.status_code == 201, done.text
    assert done.json()["events"][-1] == "PacksSwapped"
    history = api.call("GET", f"/passports/{uid(in_station)}/bindings").json()
    assert history["current"]["holder_hash"] == "0x" + vehicle_hash(VIN).hex()
    assert history["current"]["reading"] == {"soc_percent": 95.5, "soh_percent": 97.0}
    assert [step["installed"] for step in history["history"]] == [True, False, True]
    assert VIN not in str(history)


def test_storage_and_claims_over_http(api: Api) -> None:
    pid = repurposed(api.backend, "api-storage")
    storage = {"site_id": "ess/jeju-07", "rated_energy_wh": 50_000, "role": "peak_shaving"}
    assert api.call("GET", f"/passports/{uid(pid)}/storage-installation").status_code == 404
    response = api.call("POST", f"/passports/{uid(pid)}/storage-installation", "repurposer", json=storage)
    assert response.status_code == 201, response.text
    assert api.call("GET", f"/passports/{uid(pid)}/storage-installation").json()["role"] == "peak_shaving"
    claim = {
        "kind": "energy_delivered",
        "period": 202611,
        "quantity": 800_000,
        "evidence_digest": "0x" + "ab" * 32,
    }
    assert api.call("POST", f"/passports/{uid(pid)}/claims", "repurposer", json=claim).status_code == 201
    twice = api.call("POST", f"/passports/{uid(pid)}/claims", "repurposer", json=claim)
    assert twice.status_code == 409
    assert twice.json()["ledger_error"] == "BatteryServicesClaimExists"
    assert (
        api.call(
            "POST", f"/passports/{uid(pid)}/claims", "repurposer", json={**claim, "period": 202613}
        ).status_code
        == 422
    )
    assert (
        api.call(
            "POST", f"/passports/{uid(pid)}/claims", "repurposer", json={**claim, "period": 12}
        ).status_code
        == 422
    )
    claims = api.call("GET", f"/passports/{uid(pid)}/claims").json()
    assert [(c["period"], c["unit"]) for c in claims] == [(202611, "Wh")]
    assert api.call("GET", "/passports/not-an-id/claims").status_code == 400


def test_the_passport_page_shows_owner_binding_and_storage(api: Api) -> None:
    pid = repurposed(api.backend, "api-page")
    lessor = api.account("lessor")
    assert (
        api.call(
            "POST", f"/passports/{uid(pid)}/legal-owner", "repurposer", json={"owner": lessor}
        ).status_code
        == 201
    )
    body = {"kind": "station", "station_id": "rack-7", "reading": {"soc_percent": 40, "soh_percent": 81.5}}
    assert api.call("POST", f"/passports/{uid(pid)}/binding", "repurposer", json=body).status_code == 201
    storage = {"site_id": "ess/ulsan-02", "rated_energy_wh": 32_500, "role": "frequency_regulation"}
    assert (
        api.call(
            "POST", f"/passports/{uid(pid)}/storage-installation", "repurposer", json=storage
        ).status_code
        == 201
    )
    page = api.client.get(f"/p/{uid(pid)}")
    assert page.status_code == 200, page.text
    html = page.text
    assert 'data-testid="services"' in html
    assert lessor in html.split('data-testid="legal-owner"')[1].split("</dd>")[0]
    assert "81.5" in html.split('data-testid="binding"')[1].split("</dd>")[0]
    assert "32.5 kWh, frequency regulation" in html
    plain = api.client.get(f"/p/{uid(issued(api.backend, 'api-page-plain'))}")
    assert 'data-testid="services"' not in plain.text
