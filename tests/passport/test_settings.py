"""The one settings object: typed, read from PASSPORT_*, refusing unsafe combinations."""

from __future__ import annotations

import pytest

from passport.errors import ConfigError
from passport.settings import Settings


def test_defaults_are_local_and_development(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PASSPORT_ENVIRONMENT", "PASSPORT_RPC_URL", "PASSPORT_KEYSTORE_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings.load()
    assert settings.is_development
    assert settings.effective_rpc_url == "http://127.0.0.1:8545"
    assert settings.api_host == "127.0.0.1"


def test_environment_is_read_once_into_typed_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSPORT_CONFIRMATIONS", "3")
    monkeypatch.setenv("PASSPORT_STORE_BACKEND", "ipfs")
    settings = Settings.load()
    assert settings.confirmations == 3
    assert settings.store_backend == "ipfs"


@pytest.mark.parametrize(
    ("env", "field"),
    [
        ({"PASSPORT_ENVIRONMENT": "production"}, "PASSPORT_KEYSTORE_PASSWORD"),
        ({"PASSPORT_ENVIRONMENT": "test"}, "PASSPORT_KEYSTORE_PASSWORD"),
        ({"PASSPORT_CONFIRMATIONS": "-1"}, "confirmations"),
        ({"PASSPORT_API_PORT": "70000"}, "api_port"),
        ({"PASSPORT_STORE_BACKEND": "s3"}, "store_backend"),
        ({"PASSPORT_POLL_LATENCY": "0"}, "poll_latency"),
    ],
)
def test_bad_settings_raise_config_error_naming_the_field(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], field: str
) -> None:
    monkeypatch.delenv("PASSPORT_KEYSTORE_PASSWORD", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=field):
        Settings.load()


def test_production_with_a_password_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSPORT_ENVIRONMENT", "production")
    monkeypatch.setenv("PASSPORT_KEYSTORE_PASSWORD", "correct horse battery staple")
    settings = Settings.load()
    assert not settings.is_development
    assert settings.keystore_password is not None
    assert "correct horse" not in repr(settings)
