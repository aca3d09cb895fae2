"""``app_from_environment``: the factory a deployment hands to uvicorn (``--factory``).

Serving it against a real ledger (settings from ``PASSPORT_*``, ``Services.from_settings`` at startup)
is covered end to end by ``tests/scripts/test_run_stack.py``, which runs the whole stack as
``make run`` does. Here: what it reads, and what it refuses, without a ledger.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import app_from_environment
from passport.errors import ConfigError, DeploymentError


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No ``PASSPORT_*`` from the environment the suite runs in."""
    for name in list(os.environ):
        if name.startswith("PASSPORT_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_reads_the_environment_and_connects_at_startup(
    clean_environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_environment.setenv("PASSPORT_DATA_DIR", str(tmp_path))
    clean_environment.setenv("PASSPORT_API_PORT", "8123")
    clean_environment.setenv("PASSPORT_PUBLIC_BASE_URL", "https://passports.example")
    app = app_from_environment()
    assert app.state.connect is True
    assert app.state.services is None  # built by the lifespan, not at import or construction
    assert app.state.settings.data_dir == tmp_path
    assert app.state.settings.api_port == 8123
    assert app.state.settings.public_base_url == "https://passports.example"


def test_startup_without_a_deployed_ledger_fails_instead_of_serving_503s(
    clean_environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No deployment manifest under the data dir: the lifespan raises, so the server never starts."""
    clean_environment.setenv("PASSPORT_DATA_DIR", str(tmp_path))
    app = app_from_environment()
    with pytest.raises(DeploymentError, match="deployment"), TestClient(app):
        pass


def test_a_bad_variable_is_a_config_error_naming_it(clean_environment: pytest.MonkeyPatch) -> None:
    clean_environment.setenv("PASSPORT_API_PORT", "not-a-port")
    with pytest.raises(ConfigError, match="api_port"):
        app_from_environment()
