"""The /recycled and /carbon routes over the app (eth-tester ledger with the material ledger beside it):
the whole loop, named 409s for what the contract refuses, 4xx for bad input, offline verification."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import ApiRole
from api.services import Services
from passport.materials import hex32
from passport.model.circularity import RecycledContentShare
from tests.api.api_stack import build_services
from tests.chain_backends import ChainBackend, digest
from tests.contracts.material_world import MATERIAL_KEYS, material_world, waste_in_custody
from tests.passport.materials.test_carbon import ACTIVITIES, FACTORS, STUDY


@dataclass
class Api:
    client: TestClient
    keys: dict[str, str]
    services: Services
    backend: ChainBackend

    def call(self, method: str, path: str, who: str | None = None, **kwargs: Any) -> Any:
        headers = {} if who is None else {"Authorization": f"Bearer {self.keys[who]}"}
        return self.client.request(method, "/api/v1" + path, headers=headers, **kwargs)


@pytest.fixture(scope="module")
def api(eth_tester_backend: ChainBackend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    world = material_world(eth_tester_backend)
    with eth_tester_backend.isolated():
        services = build_services(eth_tester_backend, Path(tmp_path_factory.mktemp("recycled-api")))
        assert isinstance(services.keys, dict)
        services.keys.update(MATERIAL_KEYS)  # in place: the participant clients read this dict
        services.material_ledger_address = world.address
        services.trusted_certifiers = frozenset({world["certifier"].account})
        for name in MATERIAL_KEYS:
            services.api_keys.upsert_participant(name, [ApiRole.BUSINESS], account=world[name].account)
        api_keys = {n: services.api_keys.issue_key(n) for n in ("recycler", "auditor", *MATERIAL_KEYS)}
        app = create_app(services.settings, services=services)
        try:
            yield Api(TestClient(app), api_keys, services, eth_tester_backend)
        finally:
            services.close()


def lot_body(api: Api, label: str) -> dict[str, Any]:
    feed = waste_in_custody(api.backend, f"api-{label}")
    return {
        "lot_id": hex32(digest(f"api-lot-{label}")),
        "recycler": api.backend.actors["recycler"].address,
        "post_consumer": True,
        "process": "hydrometallurgy",
        "plant": "Gumi",
        "produced_on": "2030-05-01",
        "feedstock": [
            {
                "passport_id": hex32(feed),
                "manifest_digest": hex32(digest(f"api-{label}:2")),
                "metal": {"cobalt": 5_000, "nickel": 15_000},
            }
        ],
        "outputs": [
            {
                "metal": "cobalt",
                "compound": "CoSO4.7H2O",
                "compound_grams": 20_000,
                "metal_content_percent": 20.97,
            },
            {
                "metal": "nickel",
                "compound": "NiSO4.6H2O",
                "compound_grams": 60_000,
                "metal_content_percent": 22.33,
            },
        ],
    }


def test_the_loop_over_http(api: Api) -> None:
    body = lot_body(api, "loop")
    lot_id = body["lot_id"]
    assert api.call("POST", "/recycled/lots", "recycler", json=body).status_code == 201
    again = api.call("POST", "/recycled/lots", "recycler", json=body)
    assert again.status_code == 409
    assert "RecycledMaterialLedgerLotExists" in again.text
    lot = api.call("GET", f"/recycled/lots/{lot_id}").json()
    assert (lot["status"], lot["recovered_grams"]["cobalt"], lot["recovered_grams"]["nickel"]) == (
        "recorded",
        4_194,
        13_398,
    )
    refused = api.call("POST", f"/recycled/lots/{lot_id}/certificate", "recycler")
    assert refused.status_code == 409
    assert "AccessControlUnauthorizedAccount" in refused.text
    production = api.call("POST", f"/recycled/lots/{lot_id}/certificate", "certifier")
    assert production.status_code == 201, production.text
    cellmaker = material_world(api.backend)["cellmaker"].account
    for metal, grams in (("cobalt", 4_194), ("nickel", 13_398)):
        moved = api.call(
            "POST",
            "/recycled/credits/transfers",
            "recycler",
            json={"to": cellmaker, "metal": metal, "grams": grams, "post_consumer": True},
        )
        assert moved.status_code == 201, moved.text
    beyond = api.call(
        "POST",
        "/recycled/credits/transfers",
        "recycler",
        json={"to": cellmaker, "metal": "nickel", "grams": 1, "post_consumer": True},
    )
    assert beyond.status_code == 409
    assert "RecycledMaterialLedgerInsufficientCredits" in beyond.text
    balances = api.call("GET", f"/recycled/credits/{cellmaker}").json()
    assert balances["post_consumer"]["nickel"] == 13_398
    certificate_digest = production.json()["digest"]
    claim = {
        "claim_id": hex32(digest("api-claim")),
        "claimant": cellmaker,
        "battery_model": "KX-60 2031",
        "plant": "Ochang",
        "period_start": "2031-01-01",
        "period_end": "2031-12-31",
        "passports": [hex32(digest("api-new"))],
        "metal_in_scope": {"cobalt": 20_000, "nickel": 100_000},
        "retired_pre_consumer": {},
        "retired_post_consumer": {"cobalt": 4_194, "nickel": 13_398},
        "sources": [
            {
                "production_certificate_digest": certificate_digest,
                "production_certificate_cid": production.json()["cid"],
                "metal": metal,
                "post_consumer": True,
                "grams": grams,
            }
            for metal, grams in (("cobalt", 4_194), ("nickel", 13_398))
        ],
    }
    submitted = api.call("POST", "/recycled/claims", "cellmaker", json=claim)
    assert submitted.status_code == 201, submitted.text
    assert api.call("GET", f"/recycled/claims/{claim['claim_id']}").json()["status"] == "submitted"
    usage = api.call("POST", f"/recycled/claims/{claim['claim_id']}/certificate", "certifier")
    assert usage.status_code == 201, usage.text
    shares = usage.json()["shares"]
    # 4,194 / 20,000 = 20.97 %; 13,398 / 100,000 = 13.398 % -> 13.39
    assert {s["element"]: s["total_percent"] for s in shares} == {"cobalt": 20.97, "nickel": 13.39}
    assert usage.json()["targets"]["nickel"]["meets_2031"] is True
    assert usage.json()["targets"]["nickel"]["meets_2036"] is False
    verified = api.call("POST", "/recycled/verification", json={"shares": shares}).json()
    assert verified["ok"], verified["failed"]
    shares[0]["total_percent"] += 1
    shares[0]["post_consumer_percent"] += 1
    tampered = api.call("POST", "/recycled/verification", json={"shares": shares}).json()
    assert tampered["failed"] == ["passport.shares"]


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/recycled/lots", {"lot_id": "0x12"}, 422),
        (
            "/recycled/credits/transfers",
            {"to": "0x1", "metal": "nickel", "grams": 1, "post_consumer": True},
            422,
        ),
        (
            "/recycled/credits/transfers",
            {"to": "0x" + "11" * 20, "metal": "tin", "grams": 1, "post_consumer": True},
            422,
        ),
        ("/recycled/verification", {"shares": []}, 422),
    ],
)
def test_bad_input_is_a_4xx(api: Api, path: str, body: dict[str, Any], status: int) -> None:
    assert api.call("POST", path, "recycler", json=body).status_code == status


def test_reads_and_refusals(api: Api) -> None:
    assert api.call("GET", "/recycled/lots/0xzz").status_code == 400
    assert api.call("GET", f"/recycled/lots/{hex32(digest('none'))}").status_code == 404
    assert api.call("GET", f"/recycled/claims/{hex32(digest('none'))}").status_code == 404
    assert api.call("GET", "/recycled/credits/not-an-address").status_code == 400
    assert api.call("POST", "/recycled/lots", None, json=lot_body(api, "anon")).status_code == 401
    # The auditor has an API key but no on-chain key here.
    assert api.call("POST", "/recycled/lots", "auditor", json=lot_body(api, "aud")).status_code == 403
    # A lot naming another recycler than the caller is refused before anything is signed.
    body = lot_body(api, "other") | {"recycler": api.backend.actors["issuer"].address}
    assert api.call("POST", "/recycled/lots", "recycler", json=body).status_code == 422


def test_carbon_declaration_round_trip(api: Api) -> None:
    body = {
        "passport_id": "0x" + "00" * 16 + "22" * 16,
        "battery_model": "KX-60 2031",
        "plant": "Ochang",
        "usable_energy_kwh": 60,
        "expected_full_cycles": 1_000,
        "factors": [f.model_dump(mode="json") for f in FACTORS],
        "activities": [a.model_dump(mode="json") for a in ACTIVITIES],
        "study": STUDY.model_dump(mode="json"),
    }
    created = api.call("POST", "/carbon/declarations", "recycler", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["passport_section"]["total_kg_co2e_per_kwh"] == 0.0646
    fetched = api.call("GET", f"/carbon/declarations/{created.json()['cid']}")
    assert fetched.status_code == 200
    assert fetched.json()["signer"] == api.backend.actors["recycler"].address
    body["activities"][0]["unit"] = "t"
    assert api.call("POST", "/carbon/declarations", "recycler", json=body).status_code == 422
    assert api.call("GET", "/carbon/declarations/not-a-cid").status_code == 400


def test_the_materials_page_shows_the_chain_and_the_carbon_chart(api: Api) -> None:
    from devtools.samples import sample_passport
    from passport.materials import declare_carbon_footprint
    from tests.chain_backends import ACTOR_KEYS

    body = lot_body(api, "page")
    assert api.call("POST", "/recycled/lots", "recycler", json=body).status_code == 201
    production = api.call("POST", f"/recycled/lots/{body['lot_id']}/certificate", "certifier").json()
    claim_id = hex32(digest("api-page-claim"))
    claim = {
        "claim_id": claim_id,
        "claimant": api.backend.actors["recycler"].address,
        "battery_model": "KX-60 2031",
        "plant": "Ochang",
        "period_start": "2031-01-01",
        "period_end": "2031-12-31",
        "passports": [hex32(digest("api-page-new"))],
        "metal_in_scope": {"cobalt": 40_000},
        "retired_pre_consumer": {},
        "retired_post_consumer": {"cobalt": 4_194},
        "sources": [
            {
                "production_certificate_digest": production["digest"],
                "production_certificate_cid": production["cid"],
                "metal": "cobalt",
                "post_consumer": True,
                "grams": 4_194,
            }
        ],
    }
    assert api.call("POST", "/recycled/claims", "recycler", json=claim).status_code == 201
    shares = api.call("POST", f"/recycled/claims/{claim_id}/certificate", "certifier").json()["shares"]
    declaration = declare_carbon_footprint(
        passport_id=hex32(digest("x")),
        battery_model="KX-60",
        plant="Ochang",
        usable_energy_kwh=60,
        expected_full_cycles=1_000,
        factors=FACTORS,
        activities=ACTIVITIES,
        study=STUDY,
    )
    passport = sample_passport("HES-E77N-4242-000777")
    passport = passport.model_copy(
        update={
            "circularity": passport.circularity.model_copy(
                update={"recycled_content": [RecycledContentShare.model_validate(s) for s in shares]}
            ),
            "carbon_footprint": declaration.to_passport(),
        }
    )
    api.services.passports_for(None).acting_as(ACTOR_KEYS["issuer"]).issue(passport)
    page = api.client.get(f"/p/{passport.passport_id}/materials?lang=ko")
    assert page.status_code == 200, page.text
    assert page.headers["content-language"] == "ko"
    text = page.text
    assert "재활용 원료 함량" in text
    assert 'data-metal="cobalt"' in text
    assert "10.48" in text  # 4,194 / 40,000 = 10.485 % -> 10.48
    assert 'data-check="feedstock.passports" data-ok="true"' in text
    assert 'data-ok="false"' not in text
    assert text.count("<rect ") == 4
    assert "0.0646" in text
    english = api.client.get(f"/p/{passport.passport_id}/materials")
    assert "Every link from this figure back to the recycled batteries holds." in english.text
    assert api.client.get("/p/not-a-passport/materials").status_code == 400
