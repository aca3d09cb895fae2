"""The second-life energy routes over the app: who may read a month's proof, and 4xx for bad input.

The proof and the claim themselves are proven in ``tests/oracle/test_energy.py`` (the same
``EnergyProver`` and ``claim_energy`` these routes call) and ``tests/cli/test_energy.py``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.api.api_stack import build_services
from tests.chain_backends import ChainBackend
from tests.contracts.services_world import issued, services_world


@pytest.fixture(scope="module")
def client(
    eth_tester_backend: ChainBackend, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    world = services_world(eth_tester_backend)
    with eth_tester_backend.isolated():
        world.wire(eth_tester_backend)
        services = build_services(eth_tester_backend, Path(tmp_path_factory.mktemp("energy-api")))
        services.services_address = world.address
        keys = {"issuer": services.api_keys.issue_key("issuer")}
        app = create_app(services.settings, services=services)
        try:
            test_client = TestClient(app)
            test_client.headers["Authorization"] = f"Bearer {keys['issuer']}"
            yield test_client
        finally:
            services.close()


def _get(client: TestClient, path: str, **kwargs: Any) -> Any:
    return client.request("GET", "/api/v1" + path, **kwargs)


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "202603", "x"])
def test_a_bad_month_is_400(client: TestClient, eth_tester_backend: ChainBackend, month: str) -> None:
    pid = uuid.UUID(bytes=issued(eth_tester_backend, f"energy-api-{month}")[16:])
    response = _get(client, f"/passports/{pid}/energy/{month}/proof")
    assert response.status_code == 400, response.text  # a malformed path parameter, as for ids
    assert [e["field"] for e in response.json()["errors"]] == ["path.month"]


def test_an_unknown_passport_is_404(client: TestClient) -> None:
    response = _get(client, f"/passports/{uuid.uuid4()}/energy/2026-03/proof")
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_a_claim_without_a_caller_is_401(client: TestClient) -> None:
    response = client.request(
        "POST",
        f"/api/v1/passports/{uuid.uuid4()}/energy/2026-03/claim",
        json={},
        headers={"Authorization": ""},
    )
    assert response.status_code == 401, response.text


def test_a_passport_without_a_stored_document_or_installation_is_a_problem_not_a_500(
    client: TestClient, eth_tester_backend: ChainBackend
) -> None:
    pid = uuid.UUID(bytes=issued(eth_tester_backend, "energy-api-bare")[16:])
    response = _get(client, f"/passports/{pid}/energy/2026-03/proof")
    assert 400 <= response.status_code < 500 or response.status_code in (502, 503), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
