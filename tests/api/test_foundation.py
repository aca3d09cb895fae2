"""Problem details, body limits and API-key authentication."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI, Query, Request
from fastapi.testclient import TestClient

from api.app import DEFAULT_BODY_LIMIT, create_app
from api.auth import ApiKeyStore, ApiRole
from api.errors import PROBLEM_JSON, Forbidden, Unauthenticated
from passport.errors import ContentNotFound, ContractRevert, InvalidIdentifier


@pytest.fixture
def app() -> FastAPI:
    app = create_app()

    @app.get("/boom/{kind}")
    async def boom(kind: str) -> None:
        errors: dict[str, Exception] = {
            "id": InvalidIdentifier("invalid battery id '!'"),
            "missing": ContentNotFound("no content for bafk..."),
            "revert": ContractRevert("BatteryPassportRegistryPassportClosed", (b"\x01",)),
            "forbidden": Forbidden("not your battery"),
        }
        raise errors[kind]

    @app.post("/echo")
    async def echo(request: Request, n: int = Query(ge=1, le=10)) -> dict[str, int]:
        return {"n": n, "bytes": len(await request.body())}

    return app


@pytest.mark.parametrize(
    ("kind", "status", "title"),
    [
        ("id", 400, "Invalid identifier"),
        ("missing", 404, "Content not found"),
        ("revert", 409, "Rejected by the ledger"),
        ("forbidden", 403, "Forbidden"),
    ],
)
def test_errors_are_problem_documents(app: FastAPI, kind: str, status: int, title: str) -> None:
    response = TestClient(app).get(f"/boom/{kind}")
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == status
    assert body["title"] == title
    assert body["instance"] == f"/boom/{kind}"


def test_ledger_revert_names_the_custom_error(app: FastAPI) -> None:
    body = TestClient(app).get("/boom/revert").json()
    assert body["ledger_error"] == "BatteryPassportRegistryPassportClosed"


def test_validation_errors_name_each_field(app: FastAPI) -> None:
    response = TestClient(app).post("/echo?n=99")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.n"


def test_unknown_route_is_a_problem_document(app: FastAPI) -> None:
    response = TestClient(app).get("/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON


@pytest.mark.parametrize("declared", [True, False])
def test_oversized_body_is_rejected_with_413(app: FastAPI, declared: bool) -> None:
    body = b"x" * (DEFAULT_BODY_LIMIT + 1)
    client = TestClient(app)
    if declared:
        response = client.post("/echo?n=1", content=body)
    else:
        # A chunked body has no Content-Length: the limit must hold while streaming.
        response = client.post("/echo?n=1", content=iter([body[:1000], body[1000:]]))
    assert response.status_code == 413
    assert response.json()["title"] == "Payload too large"


def test_health(app: FastAPI) -> None:
    assert TestClient(app).get("/api/v1/health").json() == {"status": "ok"}


def test_openapi_operation_ids_are_stable(app: FastAPI) -> None:
    ops = TestClient(app).get("/openapi.json").json()["paths"]["/api/v1/health"]
    assert ops["get"]["operationId"] == "get_health"


@pytest.fixture
def keys(tmp_path: Path) -> ApiKeyStore:
    store = ApiKeyStore(tmp_path / "keys.sqlite")
    yield store  # type: ignore[misc]
    store.close()


def test_api_key_round_trip_and_secret_not_stored(keys: ApiKeyStore, tmp_path: Path) -> None:
    keys.upsert_participant("alice", [ApiRole.OWNER], battery_ids=["BAT-001"])
    key = keys.issue_key("alice")
    caller = keys.authenticate(key)
    assert caller.name == "alice"
    assert caller.battery_ids == frozenset({"BAT-001"})
    assert caller.has(ApiRole.OWNER)
    secret = key.split("_", 2)[2]
    assert secret.encode() not in (tmp_path / "keys.sqlite").read_bytes()


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda k: "", "malformed"),
        (lambda k: "Bearer " + k, "malformed"),
        (lambda k: k[:-1] + ("A" if k[-1] != "A" else "B"), "unknown"),
        (lambda k: "bpl_" + "0" * 32 + "_" + k.split("_", 2)[2], "unknown"),
    ],
)
def test_bad_api_keys_are_refused(keys: ApiKeyStore, mangle, reason: str) -> None:  # type: ignore[no-untyped-def]
    keys.upsert_participant("bob", [ApiRole.ISSUER])
    key = keys.issue_key("bob")
    with pytest.raises(Unauthenticated, match=reason):
        keys.authenticate(mangle(key))


def test_revoked_key_is_refused(keys: ApiKeyStore) -> None:
    keys.upsert_participant("carol", [ApiRole.AUDITOR])
    key = keys.issue_key("carol")
    keys.revoke_key(key.split("_")[1])
    with pytest.raises(Unauthenticated, match="revoked"):
        keys.authenticate(key)
