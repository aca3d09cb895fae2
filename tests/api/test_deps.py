"""The API's wiring: shared dependencies defined once in ``api.deps``, settings built at the edge."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from passport.errors import ConfigError

ROUTES = Path(__file__).resolve().parents[2] / "api" / "routes"
SHARED = {"ServicesDep", "SettingsDep", "PassportIdPath", "AccountPath", "MaybeCaller", "AuthCaller"}


@pytest.mark.parametrize("module", sorted(p.name for p in ROUTES.glob("*.py")), ids=str)
def test_routers_share_dependencies_through_api_deps(module: str) -> None:
    tree = ast.parse((ROUTES / module).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert not (node.module or "").startswith("api.routes"), f"{module} imports {node.module}"
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {t.id for t in targets if isinstance(t, ast.Name)}
            assert not names & SHARED, f"{module} defines its own {names & SHARED}"


def test_app_reads_settings_once_at_the_edge(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSPORT_API_PORT", "70000")
    with pytest.raises(ConfigError, match="api_port"):
        create_app()


def test_app_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSPORT_PUBLIC_BASE_URL", "https://passports.example.eu")
    with TestClient(create_app()) as client:
        response = client.get("/api/v1/passports/6f1c2a4e-8b3d-4c1e-9a7f-2d5b8e0c4a11/qr.svg")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/passports/6f1c2a4e-8b3d-4c1e-9a7f-2d5b8e0c4a11"),
        ("GET", "/api/v1/businesses/0x" + "11" * 20),
        ("GET", "/api/v1/audit/records/0x" + "22" * 32 + "/proof"),
    ],
)
def test_ledger_routes_answer_503_without_services(method: str, path: str) -> None:
    with TestClient(create_app()) as client:
        response = client.request(method, path)
    assert response.status_code == 503
