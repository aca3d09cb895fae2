"""The API over real HTTP against a deployed ledger on anvil: the happy paths, route by route."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from api.ingest_process import IngestProcess
from api.web.groups import GROUPS
from devtools.samples import sample_passport
from oracle.anchoring import Anchorer
from passport.bundle import load_bundle
from passport.model import AccessTier
from passport.verify import verify_bundle
from tests.api.api_stack import ApiStack, api_stack, new_battery_id
from tests.builders import diagnostics

pytestmark = pytest.mark.node


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiStack]:
    with api_stack(tmp_path_factory.mktemp("api-stack")) as running:
        yield running


# Plausible for the sample passport's pack (rated 111.2 Ah, 221.8 mΩ when new): grading refuses more.
SAMPLE_PACK: dict[str, object] = {"capacity_ah": 104.0, "internal_resistance_mohm": 240.0}


def test_issue_fetch_transfer_history(stack: ApiStack) -> None:
    """issue → fetch (anonymous: public; owner: + legitimate interest) → offer → accept → history."""
    battery_id = new_battery_id()
    passport = stack.issue(battery_id)
    pid = str(passport.passport_id)

    anonymous = stack.call("GET", f"/passports/{pid}")
    assert anonymous.status_code == 200, anonymous.text
    body = anonymous.json()
    assert body["tiers"] == ["public"]
    assert body["data"]["general"]["battery_id"] == battery_id
    assert "performance_evaluations" not in body["data"].get("korea", {})
    assert body["ledger"]["custodian"] == stack.address("issuer")

    owner = stack.owner(battery_id)
    seen = stack.call("GET", f"/passports/{pid}", owner).json()
    assert seen["tiers"] == ["public", "legitimate_interest"]
    assert "performance_evaluations" in seen["data"]["korea"]
    # Another battery's owner sees the public tier only.
    stranger = stack.owner(new_battery_id())
    assert stack.call("GET", f"/passports/{pid}", stranger).json()["tiers"] == ["public"]
    # Authorities see everything.
    assert stack.call("GET", f"/passports/{pid}", "authority").json()["tiers"] == [
        t.value for t in AccessTier
    ]

    offer = stack.call(
        "POST", f"/passports/{pid}/custody/offer", "issuer", json={"to": stack.address("business")}
    )
    assert offer.status_code == 201, offer.text
    assert offer.json()["offer"]["to_address"] == stack.address("business")
    # The business it is offered to may read the legitimate-interest tier before accepting.
    assert "legitimate_interest" in stack.call("GET", f"/passports/{pid}", "business").json()["tiers"]
    accepted = stack.call("POST", f"/passports/{pid}/custody/accept", "business")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["custodian"] == stack.address("business")

    history = stack.call("GET", f"/passports/{pid}/custody").json()
    assert history["custodian"] == stack.address("business")
    assert history["pending_offer"] is None
    assert [e["name"] for e in history["events"]] == ["CustodyOffered", "CustodyTransferred"]
    assert history["events"][1]["args"]["to"] == stack.address("business")


def test_cancel_offer(stack: ApiStack) -> None:
    pid = str(stack.issue().passport_id)
    stack.call("POST", f"/passports/{pid}/custody/offer", "issuer", json={"to": stack.address("business")})
    cancelled = stack.call("DELETE", f"/passports/{pid}/custody/offer", "issuer")
    assert cancelled.status_code == 200, cancelled.text
    history = stack.call("GET", f"/passports/{pid}/custody").json()
    assert history["pending_offer"] is None
    assert [e["name"] for e in history["events"]] == ["CustodyOffered", "CustodyOfferCancelled"]
    again = stack.call("DELETE", f"/passports/{pid}/custody/offer", "issuer")
    assert again.status_code == 409


def test_versions_verify_and_bundle(stack: ApiStack) -> None:
    pid = str(stack.issue().passport_id)
    versions = stack.call("GET", f"/passports/{pid}/versions").json()
    assert [v["version"] for v in versions] == [1]
    assert versions[0]["signer"] == stack.address("issuer")

    report = stack.call("GET", f"/passports/{pid}/verification").json()
    assert report["ok"] is True, [c for c in report["checks"] if c["status"] == "fail"]
    assert {c["name"] for c in report["checks"]} >= {"manifest.digest", "signature.recover", "chain.custody"}

    download = stack.call("GET", f"/passports/{pid}/bundle")
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    offline = verify_bundle(load_bundle(download.content), [stack.address("issuer")])
    assert offline.ok


def test_reuse_then_waste_then_recycle(stack: ApiStack) -> None:
    pid = str(stack.issue().passport_id)
    stack.transfer(pid, "issuer", "business")
    reused = stack.call("POST", f"/passports/{pid}/status", "business", json={"status": "REUSED"})
    assert reused.status_code == 200, reused.text
    assert reused.json()["status"] == "REUSED"
    assert reused.json()["version"] == 2
    waste = stack.call("POST", f"/passports/{pid}/status", "business", json={"status": "WASTE"})
    assert waste.json()["status"] == "WASTE"
    stack.transfer(pid, "business", "recycler")
    recycled = stack.call("POST", f"/passports/{pid}/recycle", "recycler", json={})
    assert recycled.status_code == 200, recycled.text
    assert recycled.json()["status"] == "RECYCLED"
    closed = stack.call("POST", f"/passports/{pid}/status", "recycler", json={"status": "WASTE"})
    assert closed.status_code == 409


def test_successor_passport(stack: ApiStack) -> None:
    original = stack.issue()
    pid = str(original.passport_id)
    stack.transfer(pid, "issuer", "repurposer")
    successor = sample_passport(new_battery_id())
    response = stack.call(
        "POST",
        f"/passports/{pid}/successor",
        "repurposer",
        json={"status": "REPURPOSED", "passport": successor.model_dump(mode="json")},
    )
    assert response.status_code == 201, response.text
    assert response.json()["predecessor_id"] == pid
    ledger = stack.call("GET", f"/passports/{pid}").json()["ledger"]
    assert ledger["successor_id"] == str(successor.passport_id)


def test_business_registration_lifecycle(stack: ApiStack) -> None:
    account = stack.address("stranger")
    body = {"account": account, "kinds": ["COLLECTOR", "RECYCLER"], "registration_hash": "0x" + "ab" * 32}
    created = stack.call("POST", "/businesses", "admin", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["kinds"] == ["COLLECTOR", "RECYCLER"]
    assert stack.call("POST", "/businesses", "admin", json=body).status_code == 409
    suspended = stack.call("POST", f"/businesses/{account}/suspend", "admin")
    assert suspended.json()["active"] is False
    reinstated = stack.call("POST", f"/businesses/{account}/reinstate", "admin")
    assert reinstated.json()["active"] is True
    assert stack.call("GET", f"/businesses/{account.lower()}").json()["account"] == account
    assert stack.call("GET", f"/businesses/0x{'00' * 19}01").status_code == 404


def test_audit_query_pagination_and_exports(stack: ApiStack) -> None:
    battery_id = new_battery_id()
    pid = str(stack.issue(battery_id).passport_id)
    stack.transfer(pid, "issuer", "business")

    page = stack.call("GET", "/audit/events", "auditor", params={"passport_id": pid, "limit": 1})
    assert page.status_code == 200, page.text
    first = page.json()
    assert [e["name"] for e in first["items"]] == ["PassportIssued"]
    names = [first["items"][0]["name"]]
    token = first["next_token"]
    while token:
        nxt = stack.call(
            "GET", "/audit/events", "auditor", params={"passport_id": pid, "limit": 1, "page_token": token}
        ).json()
        names += [e["name"] for e in nxt["items"]]
        token = nxt["next_token"]
    assert names == ["PassportIssued", "CustodyOffered", "CustodyTransferred"]

    by_battery = stack.call(
        "GET", "/audit/events", "auditor", params={"battery_id": battery_id, "kind": "CustodyTransferred"}
    ).json()
    assert [e["name"] for e in by_battery["items"]] == ["CustodyTransferred"]

    exported = stack.call("GET", "/audit/events/export", "authority", params={"passport_id": pid})
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["name"] for r in rows] == names
    as_json = stack.call(
        "GET", "/audit/events/export", "auditor", params={"passport_id": pid, "format": "json"}
    )
    assert [e["name"] for e in json.loads(as_json.text)] == names


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"passport_id": "not-a-uuid"}, "query.passport_id"),
        ({"actor": "0x1234"}, "query.actor"),
        ({"page_token": "!!!"}, "query.page_token"),
        ({"limit": 0}, "query.limit"),
    ],
)
def test_audit_query_bad_input_is_422_with_field(
    stack: ApiStack, params: dict[str, object], field: str
) -> None:
    response = stack.call("GET", "/audit/events", "auditor", params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert any(e["field"].startswith(field) for e in response.json()["errors"]), response.json()


def test_telemetry_evaluation_and_record_proof(stack: ApiStack) -> None:
    battery_id = new_battery_id()
    passport = stack.issue(battery_id)
    pid = str(passport.passport_id)
    device = stack.device(battery_id)

    ack = stack.call(
        "POST", "/telemetry/uploads", device.device_id, json=device.upload_json([diagnostics(**SAMPLE_PACK)])
    )
    assert ack.status_code == 200, ack.text
    assert ack.json()["status"] == "accepted"
    digest = ack.json()["accepted"][0]["digest"]

    batch = stack.call(
        "POST",
        "/telemetry/batches",
        device.device_id,
        json={
            "uploads": [device.upload_json([diagnostics(**SAMPLE_PACK, soce_pct=91.0), {"kind": "charging"}])]
        },
    )
    assert batch.status_code == 200, batch.text
    result = batch.json()
    assert result["accepted"] == 1
    only = result["acknowledgements"][0]
    assert len(only["accepted"]) == 1
    assert only["rejected"][0]["index"] == 1
    assert only["rejected"][0]["problems"]

    evaluation = stack.call("POST", f"/passports/{pid}/evaluations", "inspector", json={})
    assert evaluation.status_code == 201, evaluation.text
    recorded = evaluation.json()
    assert recorded["version"]["version"] == 2
    assert recorded["evaluation"]["grade"] in {"A", "B", "C", "D"}
    owner = stack.owner(battery_id)
    listed = stack.call("GET", f"/passports/{pid}/evaluations", owner)
    assert listed.status_code == 200
    assert listed.json()[-1]["state_of_health_percent"] == recorded["evaluation"]["state_of_health_percent"]

    pending = stack.call("GET", f"/audit/records/{digest}/proof", "auditor")
    assert pending.status_code == 409
    # The oracle worker anchors with its own key; the API only serves the proof.
    journal, _, _ = stack.services.oracle()
    services = stack.services
    Anchorer(journal, services.store, services.client("oracle"), keyring=services.keyring).drain()
    proof = stack.call("GET", f"/audit/records/{digest}/proof", "auditor")
    assert proof.status_code == 200, proof.text
    assert proof.json()["verified_offline"] is True
    assert proof.json()["verified_on_chain"] is True


def test_rejected_upload_is_422_with_acknowledgement(stack: ApiStack) -> None:
    battery_id = new_battery_id()
    device = stack.device(battery_id)
    upload = device.upload_json([diagnostics(**SAMPLE_PACK)])
    upload["signature"] = "0x" + "11" * 65
    response = stack.call("POST", "/telemetry/uploads", device.device_id, json=upload)
    assert response.status_code == 422
    assert response.json()["acknowledgement"]["status"] == "rejected"
    assert response.json()["code"] == "bad_signature"


def test_passport_page_shows_real_data(stack: ApiStack) -> None:
    battery_id = new_battery_id()
    pid = str(stack.issue(battery_id).passport_id)
    page = stack.http.get(f"/p/{pid}")
    assert page.status_code == 200, page.text
    assert battery_id in page.text
    # The whole public tier, read from the store through the ledger, group by group.
    groups = re.findall(r'<section class="card group" data-group="([a-z_]+)"', page.text)
    assert groups == [key for key, _, _ in GROUPS]
    for text in ("Rated capacity", "111.2 Ah", "Hanbit Energy Solutions Co., Ltd.", "61.3 kg CO₂e/kWh"):
        assert text in page.text
    korean = stack.http.get(f"/p/{pid}", headers={"Accept-Language": "ko"}).text
    assert '<html lang="ko">' in korean
    assert "정격 용량" in korean


def test_unknown_passport_is_404_and_bad_id_400(stack: ApiStack, tmp_path: Path) -> None:
    assert stack.call("GET", "/passports/6f1c2a4e-8b3d-4c1e-9a7f-2d5b8e0c4a11").status_code == 404
    assert stack.call("GET", "/passports/nope").status_code == 400


def test_uploads_through_the_ingestion_process_answer_as_in_process(stack: ApiStack) -> None:
    """The server's own ingestion process (what ``app_from_environment`` runs): same ack, duplicate and
    422 problem as the in-process path the rest of this module uses."""
    journal = stack.services.journal
    assert journal is not None
    app = create_app(stack.services.settings, services=stack.services)
    ingest = IngestProcess(stack.services.settings, journal_path=journal.path)
    ingest.start()
    app.state.ingest = ingest
    try:
        client = TestClient(app)  # no lifespan: the stack's services keep running as they are
        device = stack.device(new_battery_id())
        headers = stack.headers(device.device_id)
        upload = device.upload_json([diagnostics(**SAMPLE_PACK)])
        first = client.post("/api/v1/telemetry/uploads", headers=headers, json=upload)
        assert first.status_code == 200, first.text
        ack = first.json()
        assert (ack["status"], ack["device_id"], len(ack["accepted"])) == ("accepted", device.device_id, 1)
        accepted = ack["accepted"][0]
        assert journal.record(accepted["record_id"]).digest.hex() == accepted["digest"][2:]
        again = client.post("/api/v1/telemetry/uploads", headers=headers, json=upload).json()
        assert again == {**ack, "status": "duplicate"}
        forged = {**device.upload_json([diagnostics(**SAMPLE_PACK)]), "signature": "0x" + "11" * 65}
        refused = client.post("/api/v1/telemetry/uploads", headers=headers, json=forged)
        assert refused.status_code == 422
        assert (refused.json()["code"], refused.json()["acknowledgement"]["status"]) == (
            "bad_signature",
            "rejected",
        )
    finally:
        ingest.close()
