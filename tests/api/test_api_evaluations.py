"""Evaluations over HTTP: graded under the server's versioned policy, never the caller's thresholds."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
import rfc8785

from oracle.health import CURRENT_GRADING_POLICY, grading_policy
from passport.errors import ConfigError
from passport.settings import Settings
from tests.api.api_stack import ApiStack, api_stack, new_battery_id

pytestmark = pytest.mark.node

# The audit's lenient thresholds: with them the same reading graded A/reuse instead of D/recycle.
LENIENT: dict[str, Any] = {
    "remanufacture_min_soh_pct": 0,
    "repurpose_min_soh_pct": 0,
    "remanufacture_max_cell_soh_spread_pct": 100,
    "end_of_life_resistance_increase_pct": None,
    "grade_on_lower_bound": False,
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiStack]:
    with api_stack(tmp_path_factory.mktemp("api-evaluations")) as running:
        yield running


def _diagnostics(**overrides: object) -> dict[str, object]:
    # Worn (SOCE 60 %): D/recycle under kr-2026-1. Plausible for the sample pack (111.2 Ah, 221.8 mΩ new).
    reading: dict[str, object] = {
        "kind": "diagnostics",
        "measured_at": "2025-03-05T00:00:00Z",
        "capacity_ah": 70.0,
        "soce_pct": 60.0,
        "internal_resistance_mohm": 300.0,
        "cell_voltage_spread_mv": 18,
        "cycle_count": 1640,
        "energy_throughput_kwh": 141_000,
        "capacity_throughput_ah": 315_000,
        "cell_soh_spread_pct": 1.8,
    }
    reading.update(overrides)
    return reading


def _battery_with(stack: ApiStack, reading: dict[str, object]) -> str:
    battery_id = new_battery_id()
    pid = str(stack.issue(battery_id).passport_id)
    device = stack.device(battery_id)
    ack = stack.call("POST", "/telemetry/uploads", device.device_id, json=device.upload_json([reading]))
    assert ack.status_code == 200, ack.text
    assert ack.json()["status"] == "accepted", ack.text
    return pid


def _version(stack: ApiStack, pid: str) -> int:
    response = stack.call("GET", f"/passports/{pid}")
    assert response.status_code == 200, response.text
    version: int = response.json()["ledger"]["version"]
    return version


def _fields(response: Any) -> list[str]:
    return [e["field"] for e in response.json().get("errors", [])]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"policy": LENIENT}, "body.policy"),
        ({"policy": {}}, "body.policy"),
        ({"repurpose_min_soh_pct": 0}, "body.repurpose_min_soh_pct"),
        ({"policy_id": "my-lenient-policy"}, "body.policy_id"),
        ({"policy_id": "x" * 1000}, "body.policy_id"),
    ],
)
def test_caller_thresholds_are_refused_and_nothing_is_recorded(
    stack: ApiStack, body: dict[str, Any], field: str
) -> None:
    pid = _battery_with(stack, _diagnostics())
    response = stack.call("POST", f"/passports/{pid}/evaluations", "inspector", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert any(f.startswith(field) for f in _fields(response)), response.json()
    assert _version(stack, pid) == 1


def test_the_same_reading_gets_the_same_grade_whatever_the_caller_sends(stack: ApiStack) -> None:
    grades = []
    for body in ({}, {"policy_id": CURRENT_GRADING_POLICY, "method": "Pre-removal test"}):
        pid = _battery_with(stack, _diagnostics())
        refused = stack.call("POST", f"/passports/{pid}/evaluations", "inspector", json={"policy": LENIENT})
        assert refused.status_code == 422
        response = stack.call("POST", f"/passports/{pid}/evaluations", "inspector", json=body)
        assert response.status_code == 201, response.text
        recorded = response.json()["evaluation"]
        grades.append((recorded["grade"], recorded["recommendation"], recorded["grading_policy"]))
    assert grades[0] == grades[1]
    assert grades[0][:2] == ("D", "recycle")


def test_the_evaluation_names_its_policy_and_the_digest_recomputes(stack: ApiStack) -> None:
    pid = _battery_with(stack, _diagnostics(capacity_ah=107.0, soce_pct=96.0, internal_resistance_mohm=230.0))
    response = stack.call("POST", f"/passports/{pid}/evaluations", "inspector", json={})
    assert response.status_code == 201, response.text
    body = response.json()
    ref = body["evaluation"]["grading_policy"]
    assert ref["id"] == CURRENT_GRADING_POLICY == body["assessment"]["policy"]["id"]
    # Recomputed independently: SHA-256 of the RFC 8785 form of the thresholds the response shows.
    assert ref["digest"] == hashlib.sha256(rfc8785.dumps(body["assessment"]["policy"])).hexdigest()
    assert ref["digest"] == grading_policy(ref["id"]).digest
    # And that is what the passport recorded (legitimate-interest tier: the owner reads it).
    listed = stack.call("GET", f"/passports/{pid}/evaluations", stack.owner(body["assessment"]["battery_id"]))
    assert listed.status_code == 200, listed.text
    assert listed.json()[-1]["grading_policy"] == ref


def test_the_openapi_document_offers_no_thresholds(stack: ApiStack) -> None:
    schema = stack.http.get("/openapi.json").json()["components"]["schemas"]["EvaluationCreate"]
    assert "policy" not in schema["properties"]
    assert schema["additionalProperties"] is False
    assert json.dumps(schema["properties"]["policy_id"]).count(CURRENT_GRADING_POLICY) == 1


def test_implausible_capacity_is_rejected_naming_the_reading(stack: ApiStack) -> None:
    # 180 Ah on a 111.2 Ah pack is 162 % of rated: the audit's reading, once graded A/reuse.
    pid = _battery_with(stack, _diagnostics(capacity_ah=180.0, soce_pct=99.0))
    response = stack.call("POST", f"/passports/{pid}/evaluations", "inspector", json={})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert _fields(response) == ["diagnostics.capacity_ah"]
    assert "162 %" in response.json()["errors"][0]["reason"]
    assert _version(stack, pid) == 1


def test_a_known_policy_the_server_does_not_grade_under_is_a_conflict(
    stack: ApiStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = _battery_with(stack, _diagnostics())
    other = grading_policy().model_copy(update={"id": "kr-2027-1"})
    monkeypatch.setattr(stack.services, "grading", other)
    response = stack.call(
        "POST", f"/passports/{pid}/evaluations", "inspector", json={"policy_id": CURRENT_GRADING_POLICY}
    )
    assert response.status_code == 409, response.text
    assert "kr-2027-1" in response.json()["detail"]
    assert _version(stack, pid) == 1


def test_an_unknown_configured_policy_fails_at_startup(stack: ApiStack) -> None:
    settings = stack.services.settings.model_copy(update={"grading_policy": "kr-1999-1"})
    with pytest.raises(ConfigError, match="kr-1999-1"):
        dataclasses.replace(stack.services, settings=settings)
    assert Settings(grading_policy="kr-2026-1").grading_policy == "kr-2026-1"
