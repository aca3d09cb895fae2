"""The HTTP contract: what the OpenAPI document promises is what the server does, for every caller.

A bounded schemathesis run (``--checks all``) per role's API key against the app under uvicorn on a
ledger on the in-process chain, plus the specific gaps issue #10 items 7-9 named, each pinned by a test:
numeric bounds, body limits, echo truncation, event-kind names, ``Allow`` on 405, security schemes and
problem responses in the document.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.errors import MAX_ECHO_CHARS, PROBLEM_JSON
from tests.api.api_stack import serve
from tests.api.contract_world import ROLE_PARTICIPANT, ContractWorld, contract_world

# Hypothesis budget per operation and role, sized for CI on a small machine. Raise it locally with
# PASSPORT_SCHEMATHESIS_EXAMPLES; PASSPORT_SCHEMATHESIS_PHASES adds the coverage phase (boundary and
# negative values per parameter: minutes per role here, so the tests above pin its findings instead).
EXAMPLES = int(os.environ.get("PASSPORT_SCHEMATHESIS_EXAMPLES", "3"))
CONFIG = Path(__file__).with_name("schemathesis.toml")
HOOKS = "tests.api.schemathesis_hooks"  # serializers for media types schemathesis lacks (vc+jwt)
ROOT = Path(__file__).resolve().parents[2]
PHASES = os.environ.get("PASSPORT_SCHEMATHESIS_PHASES", "examples,fuzzing,stateful")


@dataclass
class Served:
    world: ContractWorld
    base_url: str
    http: httpx.Client

    def get(self, path: str, role: str = "anonymous", **kwargs: Any) -> httpx.Response:
        return self.http.get(path, headers=self.world.headers(role), **kwargs)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with (
        contract_world(tmp_path_factory.mktemp("contract")) as world,
        serve(world.services) as base_url,
        httpx.Client(base_url=base_url, timeout=60) as http,
    ):
        yield Served(world, base_url, http)


def _assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


# -- item 7: numeric bounds, and errors before the stream starts -------------------------------------


@pytest.mark.parametrize("param", ["from_block", "to_block", "from_time", "to_time"])
@pytest.mark.parametrize("path", ["/api/v1/audit/events", "/api/v1/audit/events/export"])
def test_audit_filters_past_64_bits_are_a_422(served: Served, path: str, param: str) -> None:
    response = served.get(path, "auditor", params={param: 2**63})
    body = _assert_problem(response, 422)
    assert body["errors"][0]["field"] == f"query.{param}"
    # The largest bound is accepted (and finds nothing).
    assert served.get(path, "auditor", params={param: 2**63 - 1}).status_code == 200


def test_page_token_past_64_bits_is_rejected_before_the_export_streams(served: Served) -> None:
    token = f"{2**64}.0"
    for path in ("/api/v1/audit/events", "/api/v1/audit/events/export"):
        body = _assert_problem(served.get(path, "auditor", params={"page_token": token}), 422)
        assert body["errors"][0]["field"] == "query.page_token"


@pytest.mark.parametrize(
    "params",
    [
        {"from_block": 9, "to_block": 3},
        {"from_time": 9, "to_time": 3},
        {"battery_id": "HES-E77N-0001", "battery_id_hash": "0x" + "ab" * 32},
    ],
)
def test_filters_that_exclude_each_other_match_nothing(served: Served, params: dict[str, Any]) -> None:
    # Each is schema-valid, so it must not be rejected: filters combine with AND, and match nothing.
    response = served.get("/api/v1/audit/events", "auditor", params=params)
    assert response.status_code == 200, response.text
    assert response.json()["items"] == []
    export = served.get("/api/v1/audit/events/export", "auditor", params={**params, "format": "json"})
    assert export.status_code == 200
    assert export.json() == []


def test_numeric_parameters_are_bounded_in_the_schema(served: Served) -> None:
    document = served.http.get("/openapi.json").json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for param in operation.get("parameters", []):
                schemas = param["schema"].get("anyOf", [param["schema"]])
                for schema in schemas:
                    if schema.get("type") == "integer":
                        assert "maximum" in schema, (method, path, param["name"])
                        assert "minimum" in schema, (method, path, param["name"])


# -- item 8: bounded bodies and echoes, known event kinds ---------------------------------------------


def test_a_chunked_body_over_the_limit_is_a_413(served: Served) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"passport": "'
        for _ in range(40):
            yield b"x" * 8192
        yield b'"}'

    response = served.http.post(
        "/api/v1/passports",
        content=chunks(),
        headers={**served.world.headers("issuer"), "content-type": "application/json"},
    )
    assert "content-length" not in response.request.headers
    _assert_problem(response, 413)


def test_a_long_id_is_not_echoed_whole(served: Served) -> None:
    long_id = "a" * 60_000  # httpx caps a URL at 64 KiB
    for path in (f"/api/v1/passports/{long_id}", f"/api/v1/businesses/0x{long_id}"):
        response = served.get(path)
        body = _assert_problem(response, 400)
        assert len(response.content) < 4 * MAX_ECHO_CHARS + 2000
        assert len(body["instance"]) < MAX_ECHO_CHARS + 50


def test_a_long_query_value_is_not_echoed(served: Served) -> None:
    response = served.get("/api/v1/audit/events", "auditor", params={"actor": "0x" + "f" * 60_000})
    _assert_problem(response, 422)
    assert len(response.content) < 4 * MAX_ECHO_CHARS + 2000


def test_unknown_event_kinds_are_rejected(served: Served) -> None:
    response = served.get("/api/v1/audit/events", "auditor", params={"kind": ["PassportIssued", "Nope"]})
    body = _assert_problem(response, 422)
    assert body["errors"][0]["field"].startswith("query.kind")
    assert served.get("/api/v1/audit/events", "auditor", params={"kind": "PassportIssued"}).json()["items"]


# -- item 9: the document says what the server does ---------------------------------------------------


def test_trace_is_a_405_naming_the_allowed_methods(served: Served) -> None:
    response = served.http.request("TRACE", f"/api/v1/passports/{served.world.passport_id}")
    _assert_problem(response, 405)
    assert set(response.headers["allow"].split(", ")) >= {"GET"}


def test_a_405_allows_every_method_of_the_path(served: Served) -> None:
    path = f"/api/v1/passports/{served.world.passport_id}/custody/offer"
    response = served.http.request("OPTIONS", path)
    _assert_problem(response, 405)
    assert response.headers["allow"] == "DELETE, POST"


def test_document_declares_security_and_problem_responses(served: Served) -> None:
    document = served.http.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    audit = document["paths"]["/api/v1/audit/events"]["get"]
    assert audit["security"] == [{"ApiKey": []}]
    public = document["paths"]["/api/v1/passports/{passport_id}"]["get"]
    assert {} in public["security"]
    for operations in document["paths"].values():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")) and "text/html" not in response.get("content", {}):
                    assert set(response["content"]) == {PROBLEM_JSON}
    params = {p["name"]: p["schema"] for p in audit["parameters"]}
    assert params["battery_id"]["pattern"].startswith("^[A-Za-z0-9]")
    assert "pattern" in params["actor"]
    assert "pattern" in document["paths"]["/api/v1/businesses/{account}"]["get"]["parameters"][0]["schema"]


def test_merged_routes_document_their_identifiers_and_statuses(served: Served) -> None:
    paths = served.http.get("/openapi.json").json()["paths"]

    def params(path: str, method: str = "get") -> dict[str, Any]:
        return {p["name"]: p["schema"] for p in paths[path][method]["parameters"]}

    def statuses(path: str, method: str = "get") -> set[str]:
        return set(paths[path][method]["responses"])

    gs1 = params("/01/{gtin}/21/{serial}")
    assert gs1["gtin"]["pattern"] == "^([0-9]{8}|[0-9]{12,14})$"
    assert gs1["serial"]["pattern"].startswith("^[A-Za-z0-9]")
    assert {"400", "404", "410"} <= statuses("/01/{gtin}/21/{serial}")
    assert {"404", "410"} <= statuses("/id/{passport_id}")
    product = params("/api/v1/products/{battery_id}/passport")
    assert product["battery_id"]["pattern"].startswith("^[A-Za-z0-9]")
    assert {s.get("format") for s in product["date"]["anyOf"]} == {"date", "date-time", None}
    verify = paths["/api/v1/credentials/verify"]["post"]
    assert "pattern" in verify["requestBody"]["content"]["application/vc+jwt"]["schema"]
    assert {"400", "413", "422"} <= statuses("/api/v1/credentials/verify", "post")
    assert {"401", "403", "409", "413", "422"} <= statuses("/api/v1/interop/catenax", "post")
    assert {"401", "413", "422"} <= statuses("/api/v1/interop/catenax/validation", "post")
    assert {"401", "403", "404"} <= statuses("/api/v1/passports/{passport_id}/catenax")
    assert "409" in statuses("/participants/{account}/did.json")
    assert "503" in statuses("/api/v1/ready")


def test_a_date_that_is_not_a_date_is_rejected(served: Served) -> None:
    path = f"/api/v1/passports/{served.world.passport_id}/as-of"
    assert served.get(path, params={"date": "2025-13-45"}).status_code == 400
    assert served.get(path, params={"date": "2999-01-01T00:00:00Z"}).status_code == 200


# -- the whole contract, per role -----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("role", list(ROLE_PARTICIPANT))
def test_schemathesis_finds_nothing(served: Served, role: str, tmp_path: Path) -> None:
    headers = [arg for k, v in served.world.headers(role).items() for arg in ("-H", f"{k}: {v}")]
    argv = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG)]
    argv += ["run", f"{served.base_url}/openapi.json"]
    argv += ["--checks", "all", "--phases", PHASES, "--max-examples", str(EXAMPLES), "--seed", "10"]
    argv += ["--workers", "1", "--no-color", "--generation-database", "none", "--request-timeout", "60"]
    argv += headers
    result = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "SCHEMATHESIS_HOOKS": HOOKS, "PYTHONPATH": str(ROOT)},
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-20_000:] + result.stderr[-5_000:]


def test_problem_documents_cut_every_echoed_string() -> None:
    from api.errors import problem_body

    megabyte = "v" * 1_000_000
    body = problem_body(
        422,
        "Invalid",
        megabyte,
        "/x/" + megabyte,
        [{"field": megabyte, "reason": megabyte}],
        {"k": [megabyte]},
    )
    assert len(str(body)) < 10 * MAX_ECHO_CHARS + 1000
    assert body["detail"].startswith("v" * MAX_ECHO_CHARS)
    assert body["detail"].endswith(f"({1_000_000 - MAX_ECHO_CHARS} more characters)")
