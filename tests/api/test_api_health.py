"""Device-driven health over HTTP: a refresh writes a new verifiable version from anchored readings
under the server's policy (never the caller's), its evidence verifies offline, warnings are served."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from api.auth import ApiRole, Caller
from api.web.ledger import LedgerPageSource
from oracle.anchoring import Anchorer
from oracle.device_health import HealthEvidence, health_policy, verify_health_evidence
from passport.errors import ConfigError
from tests.api.api_stack import ApiStack, api_stack, new_battery_id
from tests.builders import charging, diagnostics

pytestmark = pytest.mark.node


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiStack]:
    with api_stack(tmp_path_factory.mktemp("api-health")) as running:
        yield running


def _readings() -> list[dict[str, Any]]:
    # The sample pack: 111.2 Ah, 221.8 mΩ new. A sudden 8 Ah drop within a week raises an alert.
    return [
        charging(),
        diagnostics(
            measured_at="2025-03-01T00:00:00Z",
            capacity_ah=104.0,
            soce_pct=95.0,
            internal_resistance_mohm=240.0,
        ),
        diagnostics(
            measured_at="2025-03-08T00:00:00Z",
            capacity_ah=96.0,
            soce_pct=88.0,
            internal_resistance_mohm=250.0,
        ),
    ]


def _battery(stack: ApiStack, *, anchored: bool = True) -> tuple[str, str]:
    battery_id = new_battery_id()
    pid = str(stack.issue(battery_id).passport_id)
    device = stack.device(battery_id)
    ack = stack.call("POST", "/telemetry/uploads", device.device_id, json=device.upload_json(_readings()))
    assert ack.status_code == 200, ack.text
    if anchored:
        services = stack.services
        journal, _, _ = services.oracle()
        Anchorer(journal, services.store, services.client("oracle"), keyring=services.keyring).drain()
    return pid, battery_id


def _version(stack: ApiStack, pid: str) -> int:
    response = stack.call("GET", f"/passports/{pid}")
    assert response.status_code == 200, response.text
    version: int = response.json()["ledger"]["version"]
    return version


def test_a_refresh_writes_a_new_verifiable_version(stack: ApiStack) -> None:
    pid, battery_id = _battery(stack)
    response = stack.call("POST", f"/passports/{pid}/health", "inspector", json={})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["version"]["version"] == 2 == _version(stack, pid)
    health = body["health"]
    assert health["policy"] == health_policy().ref.model_dump()
    assert health["record_count"] == 3
    assert health["figures"]["state_of_health_pct"] == 88.0
    assert [a["rule"] for a in body["alerts"]] == ["sudden_capacity_drop"]
    # The new version verifies (signature, digest, stored sections).
    verified = stack.call("GET", f"/passports/{pid}/verification")
    assert verified.status_code == 200, verified.text
    report = verified.json()
    assert report["version"] == 2
    assert all(c["status"] in ("pass", "skip") for c in report["checks"]), report["checks"]
    # The owner reads the figures, the evidence (verifiable offline) and the warnings.
    owner = stack.owner(battery_id)
    shown = stack.call("GET", f"/passports/{pid}/health", owner)
    assert shown.status_code == 200, shown.text
    assert shown.json() == health
    evidence = stack.call("GET", f"/passports/{pid}/health/evidence", owner)
    assert evidence.status_code == 200, evidence.text
    bundle = HealthEvidence.parse(evidence.text)
    result = verify_health_evidence(bundle, chain=stack.services.reader)
    assert result.ok, result.failed()
    assert bundle.version == 2
    warnings = stack.call("GET", f"/passports/{pid}/warnings", owner)
    assert warnings.status_code == 200, warnings.text
    assert [w["alert"]["rule"] for w in warnings.json()] == ["sudden_capacity_drop"]
    # A second refresh of the same data raises no new alert (the journal already has it).
    again = stack.call("POST", f"/passports/{pid}/health", "inspector", json={})
    assert again.status_code == 201, again.text
    assert again.json()["alerts"] == []
    assert len(stack.call("GET", f"/passports/{pid}/warnings", owner).json()) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"policy": {"id": "kr-health-2026-1", "grading": {"repurpose_min_soh_pct": 0}}},
        {"policy_id": "kr-health-2026-1"},
        {"high_temperature_c": 90},
        {"repurpose_min_soh_pct": 0},
    ],
)
def test_a_caller_cannot_choose_the_policy_or_thresholds(stack: ApiStack, body: dict[str, Any]) -> None:
    pid, _ = _battery(stack)
    response = stack.call("POST", f"/passports/{pid}/health", "inspector", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert _version(stack, pid) == 1


def test_the_openapi_document_offers_no_policy(stack: ApiStack) -> None:
    schema = stack.http.get("/openapi.json").json()["components"]["schemas"]["HealthRefreshCreate"]
    assert schema.get("properties", {}) == {}
    assert schema["additionalProperties"] is False


def test_unanchored_readings_are_not_enough(stack: ApiStack) -> None:
    pid, _ = _battery(stack, anchored=False)
    response = stack.call("POST", f"/passports/{pid}/health", "inspector", json={})
    assert response.status_code == 422, response.text
    assert "no anchored" in response.json()["detail"]
    assert _version(stack, pid) == 1


@pytest.mark.parametrize(
    ("who", "path", "status"),
    [
        (None, "/health", 403),  # anonymous readers see the public tier only
        ("issuer2", "/health", 403),  # not the custodian, owner or an inspector
        ("business", "/warnings", 403),
    ],
)
def test_only_legitimate_interest_reads(stack: ApiStack, who: str | None, path: str, status: int) -> None:
    pid, _ = _battery(stack)
    assert stack.call("POST", f"/passports/{pid}/health", "inspector", json={}).status_code == 201
    response = stack.call("GET", f"/passports/{pid}{path}", who)
    assert response.status_code == status, response.text


def test_only_an_inspector_triggers_a_refresh(stack: ApiStack) -> None:
    pid, battery_id = _battery(stack)
    response = stack.call("POST", f"/passports/{pid}/health", stack.owner(battery_id), json={})
    assert response.status_code == 403, response.text
    assert _version(stack, pid) == 1


def test_the_page_shows_health_and_warnings_to_legitimate_interest_only(stack: ApiStack) -> None:
    pid, battery_id = _battery(stack)
    assert stack.call("POST", f"/passports/{pid}/health", "inspector", json={}).status_code == 201
    source = LedgerPageSource(stack.services)
    inspector = Caller(name="inspector", roles=frozenset({ApiRole.INSPECTOR}))
    shown = source.page_view(pid, inspector)
    assert shown.device_health is not None
    assert shown.device_health.policy_id == health_policy().id
    assert [a.title for a in shown.alerts] == ["Sudden capacity drop"]
    anonymous = source.page_view(pid, None)
    assert anonymous.device_health is None
    assert anonymous.alerts == ()
    assert battery_id in anonymous.battery_id


def test_the_pre_removal_evaluation_grades_like_the_refresh(stack: ApiStack) -> None:
    pid, _ = _battery(stack)
    refreshed = stack.call("POST", f"/passports/{pid}/health", "inspector", json={})
    assert refreshed.status_code == 201, refreshed.text
    evaluated = stack.call("POST", f"/passports/{pid}/evaluations", "inspector", json={})
    assert evaluated.status_code == 201, evaluated.text
    figures, evaluation = refreshed.json()["health"]["figures"], evaluated.json()["evaluation"]
    assert (figures["grade"], figures["route"]) == (evaluation["grade"], evaluation["recommendation"])
    assert evaluation["grading_policy"]["digest"] == health_policy().grading.digest
    assert _version(stack, pid) == 3


def test_an_unknown_configured_health_policy_fails_at_startup(stack: ApiStack) -> None:
    settings = stack.services.settings.model_copy(update={"health_policy": "kr-health-1999-1"})
    with pytest.raises(ConfigError, match=r"PASSPORT_HEALTH_POLICY: .*kr-health-1999-1"):
        dataclasses.replace(stack.services, settings=settings)
