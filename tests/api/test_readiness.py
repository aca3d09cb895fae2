"""``/api/v1/ready``: 200 while the chain, store and journal answer; 503 naming each one that does not.

Against a real anvil node: the node is stopped under a serving API, and readiness must say so while
``/health`` (liveness) still answers 200.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.errors import PROBLEM_JSON
from devtools.localnodes import ManagedProcess
from passport.chain.web3_client import connect
from passport.settings import Settings
from tests.api.api_stack import build_services, serve
from tests.chain_backends import SETTINGS, deploy_fixture_ledger, start_node


def test_without_a_ledger_every_component_is_unavailable() -> None:
    with TestClient(create_app(Settings(environment="development"))) as client:
        assert client.get("/api/v1/health").status_code == 200
        ready = client.get("/api/v1/ready")
    assert ready.status_code == 503
    assert ready.headers["content-type"] == PROBLEM_JSON
    body = ready.json()
    assert body["unavailable"] == ["chain", "store", "journal"]
    assert body["status"] == 503
    assert body["instance"] == "/api/v1/ready"


def test_the_openapi_document_describes_both_answers() -> None:
    spec = create_app(Settings(environment="development")).openapi()
    responses = spec["paths"]["/api/v1/ready"]["get"]["responses"]
    assert responses["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/ReadinessPublic")
    problem = responses["503"]["content"][PROBLEM_JSON]["schema"]
    assert {"unavailable", "components", "type", "title", "status", "detail"} <= set(problem["required"])
    assert "ComponentStatus" in spec["components"]["schemas"]
    assert "get_health" in {op["operationId"] for op in spec["paths"]["/api/v1/health"].values()}


@pytest.fixture
def node(tmp_path: Path) -> Iterator[tuple[ManagedProcess, str]]:
    process, url = start_node("anvil", tmp_path / "anvil")
    try:
        yield process, url
    finally:
        process.stop()


@pytest.mark.node
def test_ready_then_503_naming_the_chain_once_it_stops(
    node: tuple[ManagedProcess, str], tmp_path: Path
) -> None:
    process, url = node
    backend = deploy_fixture_ledger("anvil", connect(url, SETTINGS), url)
    services = build_services(backend, tmp_path / "data")
    try:
        with serve(services) as base_url, httpx.Client(base_url=base_url, timeout=30) as http:
            ready = http.get("/api/v1/ready")
            assert ready.status_code == 200, ready.text
            components = ready.json()["components"]
            assert {name: c["status"] for name, c in components.items()} == {
                "chain": "ok",
                "store": "ok",
                "journal": "ok",
            }
            assert components["chain"]["detail"].startswith("head block ")

            process.stop()
            down = http.get("/api/v1/ready")
            assert down.status_code == 503, down.text
            assert down.headers["content-type"] == PROBLEM_JSON
            assert down.json()["unavailable"] == ["chain"]
            assert down.json()["components"]["store"]["status"] == "ok"
            assert down.json()["components"]["chain"]["detail"] == "ChainUnavailable"
            assert url not in down.text  # internal addresses stay in the log
            assert http.get("/api/v1/health").status_code == 200  # alive, not ready

            assert services.journal is not None
            services.journal.close()
            closed = http.get("/api/v1/ready")
            assert closed.json()["unavailable"] == ["chain", "journal"]
    finally:
        services.close()
