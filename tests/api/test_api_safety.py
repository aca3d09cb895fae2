"""Safety over HTTP: inspections, incidents, alerts, shipments and storage, and the custody gate's 409s."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest

from passport.canonical import canonical_json
from passport.evidence import seal_evidence
from passport.ids import passport_id_bytes32
from passport.store import EmbeddedStore
from tests.api.api_stack import ApiStack, api_stack
from tests.builders import safety

CHECKS = [
    {"name": "insulation resistance", "passed": True, "value": "540 MOhm"},
    {"name": "casing integrity", "passed": True},
]
UN38_3 = {"title": "UN 38.3 test summary", "content": "https://example.com/un38-3.pdf"}


@pytest.fixture(scope="module", params=["eth-tester", pytest.param("anvil", marks=pytest.mark.node)])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiStack]:
    with api_stack(tmp_path_factory.mktemp("api-safety"), request.param) as running:
        yield running


def _issued(stack: ApiStack) -> str:
    return str(stack.issue().passport_id)


def _used(stack: ApiStack) -> str:
    """A passport held by ``business`` and declared ReUsed: a used battery."""
    pid = _issued(stack)
    stack.transfer(pid, "issuer", "business")
    response = stack.call("POST", f"/passports/{pid}/status", "business", json={"status": "REUSED"})
    assert response.status_code == 200, response.text
    return pid


def _inspect(stack: ApiStack, pid: str, stage: str, result: str = "pass", **extra: Any) -> Any:
    body: dict[str, Any] = {"stage": stage, "result": result, "method": "KS C IEC 62619", "checks": CHECKS}
    if result == "pass":
        body["valid_for_days"] = 30
    else:
        body["findings"] = ["swollen cell in module 2"]
    body.update(extra)
    return stack.call("POST", f"/passports/{pid}/inspections", "inspector", json=body)


def _verified(stack: ApiStack, pid: str, *, trusted_signer: bool = True) -> bool:
    """The current version verifies; a business's own version fails only the trusted-issuer check."""
    response = stack.call("GET", f"/passports/{pid}/verification")
    assert response.status_code == 200, response.text
    if trusted_signer:
        return bool(response.json()["ok"])
    failed = [c["name"] for c in response.json()["checks"] if c["status"] == "fail"]
    return failed == ["signature.trusted_issuer"]


def test_uninspected_used_battery_transfer_is_a_409_naming_the_error(stack: ApiStack) -> None:
    pid = _used(stack)
    response = stack.call(
        "POST", f"/passports/{pid}/custody/offer", "business", json={"to": stack.address("issuer2")}
    )
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "SafetyRecordsInspectionRequired" in response.text


def test_failed_inspection_keeps_the_transfer_refused(stack: ApiStack) -> None:
    pid = _used(stack)
    assert _inspect(stack, pid, "pre_distribution", "fail").status_code == 201
    response = stack.call(
        "POST", f"/passports/{pid}/custody/offer", "business", json={"to": stack.address("issuer2")}
    )
    assert response.status_code == 409
    assert "SafetyRecordsInspectionRequired" in response.text


def test_inspection_with_evidence_is_a_verifiable_version_and_opens_custody(stack: ApiStack) -> None:
    pid = _used(stack)
    photo = b"\x89PNG fake photo bytes"
    created = _inspect(
        stack,
        pid,
        "pre_distribution",
        equipment=["Megger MIT1025"],
        evidence_files=[
            {"title": "Photo", "content_type": "image/png", "data_base64": base64.b64encode(photo).decode()}
        ],
    )
    assert created.status_code == 201, created.text
    body = created.json()
    [evidence] = body["inspection"]["evidence"]
    assert evidence["sha256"] == hashlib.sha256(photo).hexdigest()
    stored = stack.services.store.get(evidence["content"].removeprefix("ipfs://"))
    assert photo not in stored  # sealed: the store holds only ciphertext
    opened = stack.call("GET", f"/passports/{pid}/evidence/{evidence['sha256']}", "business")
    assert opened.status_code == 200, opened.text
    assert opened.content == photo
    assert opened.headers["content-type"] == "image/png"
    assert opened.headers["content-disposition"].startswith("attachment")
    assert body["safety"]["distribution_valid_until"] > 0
    assert _verified(stack, pid)
    stack.transfer(pid, "business", "issuer2")
    # The receiving business's post-distribution inspection.
    assert _inspect(stack, pid, "post_distribution").status_code == 201
    listed = stack.call("GET", f"/passports/{pid}/inspections", "issuer2")
    assert [i["stage"] for i in listed.json()][-2:] == ["pre_distribution", "post_distribution"]
    assert stack.call("GET", f"/passports/{pid}/inspections").status_code == 403


def _photo_inspection(stack: ApiStack, pid: str, photo: bytes) -> dict[str, Any]:
    created = _inspect(
        stack,
        pid,
        "post_distribution",
        evidence_files=[{"title": "Photo", "data_base64": base64.b64encode(photo).decode()}],
    )
    assert created.status_code == 201, created.text
    evidence: dict[str, Any] = created.json()["inspection"]["evidence"][0]
    return evidence


def test_evidence_is_read_only_by_legitimate_interest_readers(stack: ApiStack) -> None:
    pid = _issued(stack)
    photo = b"evidence only inspectors and the custodian may see"
    sha = _photo_inspection(stack, pid, photo)["sha256"]
    path = f"/passports/{pid}/evidence/{sha}"
    for reader in ("inspector", "issuer", "authority"):
        response = stack.call("GET", path, reader)
        assert response.status_code == 200, (reader, response.text)
        assert response.content == photo
        assert response.headers["content-type"] == "application/octet-stream"
    anonymous = stack.call("GET", path)
    assert anonymous.status_code == 403
    assert anonymous.headers["content-type"].startswith("application/problem+json")
    assert stack.call("GET", path, "issuer2").status_code == 403  # a business that is not its custodian
    unknown = stack.call("GET", f"/passports/{pid}/evidence/{'0' * 64}", "inspector")
    assert unknown.status_code == 404
    assert stack.call("GET", f"/passports/{pid}/evidence/not-a-digest", "inspector").status_code == 400


def test_tampered_evidence_is_a_named_problem_never_served(stack: ApiStack) -> None:
    pid = _issued(stack)
    photo = b"evidence whose stored copy is damaged"
    ref = _photo_inspection(stack, pid, photo)
    cid = ref["content"].removeprefix("ipfs://")
    # Bytes changed in the store no longer hash to their CID.
    store = stack.services.store
    assert isinstance(store, EmbeddedStore)
    stored_path = store._path(cid)
    stored_path.write_bytes(stored_path.read_bytes().replace(b'"ciphertext":"', b'"ciphertext":"AAAA'))
    damaged = stack.call("GET", f"/passports/{pid}/evidence/{ref['sha256']}", "inspector")
    assert damaged.status_code == 502, damaged.text
    assert damaged.headers["content-type"].startswith("application/problem+json")
    assert damaged.json()["title"] == "Stored content failed its integrity check"
    # A sealed object with a flipped ciphertext byte, stored under its own CID and linked by an
    # inspection, does not authenticate: a named problem, not the bytes.
    other = b"evidence forged after sealing"
    sealed = json.loads(
        seal_evidence(
            other,
            passport_id=passport_id_bytes32(pid),
            title="Photo",
            media_type="image/png",
            keyring=stack.services.keyring,
        )
    )
    raw = bytearray(base64.b64decode(sealed["ciphertext"]))
    raw[0] ^= 1
    forged = store.put(canonical_json(sealed | {"ciphertext": base64.b64encode(bytes(raw)).decode()}))
    digest = hashlib.sha256(other).hexdigest()
    linked = {"title": "Photo", "content": f"ipfs://{forged}", "sha256": digest}
    assert _inspect(stack, pid, "post_distribution", evidence=[linked]).status_code == 201
    refused = stack.call("GET", f"/passports/{pid}/evidence/{digest}", "inspector")
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "sealed evidence ciphertext does not authenticate" in refused.json()["detail"]


def test_inspection_rules_are_422s(stack: ApiStack) -> None:
    pid = _issued(stack)
    no_validity = _inspect(stack, pid, "pre_distribution", valid_for_days=None)
    assert no_validity.status_code == 422
    assert no_validity.json()["errors"][0]["field"] == "body.valid_for_days"
    bad_base64 = _inspect(
        stack, pid, "pre_distribution", evidence_files=[{"title": "x", "data_base64": "!!!"}]
    )
    assert bad_base64.status_code == 422
    assert stack.call("POST", f"/passports/{pid}/inspections", "business", json={}).status_code == 403
    before = stack.call("GET", f"/passports/{pid}").json()["ledger"]["version"]
    assert before == 1  # nothing refused was recorded


def test_owner_reports_a_serious_incident_that_blocks_reuse_until_cleared(stack: ApiStack) -> None:
    passport = stack.issue()
    pid, owner = str(passport.passport_id), stack.owner(passport.battery_id)
    report = {
        "kind": "thermal_event",
        "occurred_at": "2026-11-30T08:00:00Z",
        "description": "smoke from the battery tray after a kerb strike",
        "serious": True,
    }
    created = stack.call("POST", f"/passports/{pid}/incidents", owner, json=report)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["event"]["reporter_role"] == "owner"
    assert body["event"]["reported_by"] == owner
    assert body["written_by"] == "inspector"
    assert body["safety"]["flagged"] is True
    assert _verified(stack, pid)
    alerts = stack.call("GET", "/alerts").json()
    assert pid in [a["passport_id"] for a in alerts]
    refused = stack.call("POST", f"/passports/{pid}/status", "issuer", json={"status": "REUSED"})
    assert refused.status_code == 409
    assert "SafetyRecordsPassportFlagged" in refused.text
    assert _inspect(stack, pid, "clearance").status_code == 201
    assert stack.call("GET", f"/passports/{pid}/safety").json()["flagged"] is False
    assert pid not in [a["passport_id"] for a in stack.call("GET", "/alerts").json()]
    assert (
        stack.call("POST", f"/passports/{pid}/status", "issuer", json={"status": "REUSED"}).status_code == 200
    )
    incidents = stack.call("GET", f"/passports/{pid}/incidents", owner).json()
    assert incidents[-1]["serious"] is True


def test_who_reports_incidents(stack: ApiStack) -> None:
    pid = _issued(stack)
    report = {
        "kind": "deep_discharge",
        "occurred_at": "2026-11-01T00:00:00Z",
        "description": "0 % for 3 weeks",
    }
    custodian = stack.call("POST", f"/passports/{pid}/incidents", "issuer", json=report)
    assert custodian.status_code == 201, custodian.text
    assert (custodian.json()["event"]["reporter_role"], custodian.json()["written_by"]) == (
        "custodian",
        "issuer",
    )
    workshop = stack.call("POST", f"/passports/{pid}/incidents", "business", json=report)
    assert workshop.json()["event"]["reporter_role"] == "workshop"
    assert stack.call("POST", f"/passports/{pid}/incidents", "auditor", json=report).status_code == 403
    assert stack.call("POST", f"/passports/{pid}/incidents", json=report).status_code == 401
    forged = stack.call(
        "POST", f"/passports/{pid}/incidents", "business", json={**report, "reporter_role": "inspector"}
    )
    assert forged.status_code == 422
    assert stack.call("GET", f"/passports/{pid}/safety").json()["flagged"] is False


def _shipment(stack: ApiStack, soc: float, packaging: str, **extra: Any) -> dict[str, Any]:
    return {
        "shipment_id": "SHP-1",
        "from_party": {"name": "Hanbit Energy"},
        "to_party": {"name": "Green Reuse"},
        "carrier": {"name": "K-Air Cargo"},
        "state_of_charge_percent": soc,
        "packaging_class": packaging,
        "un38_3_test_summary": UN38_3,
        **extra,
    }


def test_shipment_above_the_soc_limit_is_refused(stack: ApiStack) -> None:
    pid = _issued(stack)
    response = stack.call(
        "POST", f"/passports/{pid}/shipments", "issuer", json=_shipment(stack, 45, "air_pi965")
    )
    assert response.status_code == 422, response.text
    assert "30 %" in response.text
    assert stack.call("GET", f"/passports/{pid}").json()["ledger"]["version"] == 1


def test_shipment_with_custody_offer_and_storage(stack: ApiStack) -> None:
    pid = _used(stack)
    assert _inspect(stack, pid, "pre_distribution").status_code == 201
    body = _shipment(stack, 30, "air_pi965", to_account=stack.address("issuer2"), offer_custody=True)
    shipped = stack.call("POST", f"/passports/{pid}/shipments", "business", json=body)
    assert shipped.status_code == 201, shipped.text
    assert shipped.json()["custody_offered_to"] == stack.address("issuer2")
    assert stack.call("POST", f"/passports/{pid}/custody/accept", "issuer2").status_code == 200
    storage = {
        "site": {"name": "Incheon warehouse"},
        "operator": {"name": "Green Reuse"},
        "stored_from": "2026-12-01T00:00:00Z",
        "conditions": {"min_temperature_c": 10, "max_temperature_c": 25, "state_of_charge_percent": 30},
    }
    stored = stack.call("POST", f"/passports/{pid}/storage", "issuer2", json=storage)
    assert stored.status_code == 201, stored.text
    assert _verified(stack, pid, trusted_signer=False)
    bad = {**storage, "conditions": {"min_temperature_c": 30, "max_temperature_c": 10}}
    assert stack.call("POST", f"/passports/{pid}/storage", "issuer2", json=bad).status_code == 422
    assert stack.call("POST", f"/passports/{pid}/storage", "business", json=storage).status_code == 403


def test_page_shows_the_alert_and_restricts_the_reports(stack: ApiStack) -> None:
    pid = _issued(stack)
    assert _inspect(stack, pid, "pre_distribution").status_code == 201
    page = stack.http.get(f"/p/{pid}")
    assert page.status_code == 200, page.text
    assert 'data-testid="safety-clear"' in page.text
    assert 'data-testid="safety-restricted"' in page.text  # an anonymous scan sees no reports
    assert "until " in page.text  # the clearance is a public ledger fact
    report = {
        "kind": "water_ingress",
        "occurred_at": "2026-11-30T08:00:00Z",
        "description": "flooded car park",
        "serious": True,
    }
    assert stack.call("POST", f"/passports/{pid}/incidents", "inspector", json=report).status_code == 201
    flagged = stack.http.get(f"/p/{pid}")
    assert 'data-testid="safety-flagged"' in flagged.text
    assert "no valid pre-distribution inspection" in flagged.text  # the incident withdrew the clearance
    korean = stack.http.get(f"/p/{pid}?lang=ko")
    assert "경보: 중대한 사고가 기록되었습니다" in korean.text


def test_device_safety_events_above_the_threshold_become_negative_events(stack: ApiStack) -> None:
    passport = stack.issue()
    pid = str(passport.passport_id)
    device = stack.device(passport.battery_id)
    readings = [
        safety(event="over_temperature", severity="warning"),  # below the threshold
        safety(event="insulation_fault", severity="serious", occurred_at="2025-03-02T11:00:00Z"),
        safety(event="collision", severity="critical", occurred_at="2025-03-02T12:00:00Z"),
    ]
    ack = stack.call("POST", "/telemetry/uploads", device.device_id, json=device.upload_json(readings))
    assert ack.status_code == 200, ack.text
    assert stack.call("POST", f"/passports/{pid}/incidents/device-events", "business").status_code == 403
    created = stack.call("POST", f"/passports/{pid}/incidents/device-events", "inspector")
    assert created.status_code == 201, created.text
    body = created.json()
    assert [(e["kind"], e["serious"], e["reporter_role"]) for e in body["events"]] == [
        ("electrical_abuse", False, "device"),
        ("accident", True, "device"),
    ]
    assert all(
        e["documents"][0]["content"].startswith("urn:battery-passport:record:0x") for e in body["events"]
    )
    assert body["safety"]["flagged"] is True
    assert _verified(stack, pid)
    again = stack.call("POST", f"/passports/{pid}/incidents/device-events", "inspector")
    assert again.status_code == 201
    assert (again.json()["events"], again.json()["version"]) == ([], None)  # nothing is added twice
