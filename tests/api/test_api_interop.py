"""Catena-X import and export over real HTTP (anvil), and the strict JSON gate on every JSON body."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from passport.interop import import_catenax
from tests.api.api_stack import ApiStack, api_stack, new_battery_id

pytestmark = pytest.mark.node

FIXTURE = Path(__file__).parent.parent / "passport" / "fixtures" / "catenax" / "BatteryPass.corrected.json"


def _post(stack: ApiStack, path: str, who: str | None, body: bytes, media: str = "application/json") -> Any:
    headers = {**stack.headers(who), "Content-Type": media}
    return stack.http.request("POST", "/api/v1" + path, headers=headers, content=body)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiStack]:
    with api_stack(tmp_path_factory.mktemp("api-interop")) as running:
        yield running


@pytest.fixture
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(FIXTURE.read_text())
    return loaded


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def test_export_is_for_callers_who_read_every_tier(stack: ApiStack) -> None:
    passport = stack.issue(new_battery_id())
    path = f"/passports/{passport.passport_id}/catenax"
    for who in ("issuer", "authority"):
        response = stack.call("GET", path, who)
        assert response.status_code == 200, response.text
        # What we export imports back to the same passport id and battery.
        again = import_catenax(response.content).passport
        assert again.passport_id == passport.passport_id
        assert again.battery_id == passport.battery_id
    _problem(stack.call("GET", path), 401)
    assert "legitimate_interest" in _problem(stack.call("GET", path, "inspector"), 403)["detail"]
    _problem(stack.call("GET", "/passports/00000000-0000-4000-8000-000000000000/catenax", "issuer"), 404)


def test_import_issues_once_for_the_issuer(stack: ApiStack, document: dict[str, Any]) -> None:
    body = json.dumps(document).encode()
    _problem(_post(stack, "/interop/catenax", None, body), 401)
    _problem(_post(stack, "/interop/catenax", "inspector", body), 403)
    dry = _post(stack, "/interop/catenax/validation", "inspector", body)
    assert dry.status_code == 200, dry.text
    assert dry.json()["passport"]["general"]["battery_id"] == "SN12345678"
    assert "sources[0].header" in dry.json()["unmapped"]
    issued = _post(stack, "/interop/catenax", "issuer", body)
    assert issued.status_code == 201, issued.text
    assert issued.json()["version"]["passport_id"] == "550e8400-e29b-41d4-a716-446655440000"
    fetched = stack.call("GET", "/passports/550e8400-e29b-41d4-a716-446655440000")
    assert fetched.json()["data"]["general"]["battery_id"] == "SN12345678"
    _problem(_post(stack, "/interop/catenax", "issuer", body), 409)


def test_invalid_fields_are_422_at_their_catenax_paths(stack: ApiStack, document: dict[str, Any]) -> None:
    document["identification"]["idDmc"] = "x" * 201
    document["characteristics"]["physicalDimension"]["weight"]["value"] = -1.0
    response = stack.call("POST", "/interop/catenax/validation", "issuer", json=document)
    fields = {e["field"] for e in _problem(response, 422)["errors"]}
    assert {"identification.idDmc", "characteristics.physicalDimension.weight.value"} <= fields


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b'{"a": {"value": 1.0, "value": 999999.0}}', "duplicate object key 'value'"),
        (b'\xef\xbb\xbf{"a": 1}', "byte-order mark"),
        ('{"a": 1}'.encode("utf-16"), "UTF-16"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
@pytest.mark.parametrize("path", ["/interop/catenax/validation", "/passports"])
def test_bodies_that_are_not_strict_json_are_422(
    stack: ApiStack, path: str, body: bytes, fragment: str
) -> None:
    problem = _problem(_post(stack, path, "issuer", body), 422)
    assert fragment in problem["detail"]
    assert problem["errors"][0]["field"] == "body"
    # The server is still there (a deep body once crashed the process).
    assert stack.call("GET", "/health").status_code == 200


def test_import_reads_strictly_whatever_the_content_type(stack: ApiStack) -> None:
    body = b'{"specVersion": 1, "specVersion": 2}'
    response = _post(stack, "/interop/catenax/validation", "issuer", body, "text/plain")
    assert _problem(response, 422)["errors"][0] == {
        "field": "$",
        "reason": "duplicate object key 'specVersion'",
    }
