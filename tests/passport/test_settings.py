"""The one settings object: typed, read from PASSPORT_*, refusing unsafe combinations."""

from __future__ import annotations

import ast
import re
from functools import cached_property
from pathlib import Path

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


def _path_properties() -> list[str]:
    """Every property of ``Settings`` that names a file or directory."""
    probe = Settings(data_dir=Path("/probe/data"))
    return sorted(
        name
        for name, attr in vars(Settings).items()
        if isinstance(attr, (cached_property, property)) and isinstance(getattr(probe, name), Path)
    )


# The ones every installation has; the discovery above also picks up any added later.
KNOWN_PATHS = {
    "chain_dir": "chain",
    "keystore_dir": "keystore",
    "keystore_password_file": "keystore-password",
    "store_dir": "store",
    "keys_dir": "keys",
    "deployment_manifest": "deployment.json",
    "version_log_path": "versions.sqlite3",
    "audit_index_path": "audit/index.sqlite",
    "api_keys_path": "api/keys.sqlite3",
    "demo_path": "demo.json",
    "demo_secrets_dir": "demo",
}


@pytest.mark.parametrize("name", _path_properties())
def test_every_path_is_under_data_dir(tmp_path: Path, name: str) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    path = getattr(settings, name)
    assert path.is_relative_to(settings.data_dir)
    assert path != settings.data_dir


@pytest.mark.parametrize(("name", "relative"), sorted(KNOWN_PATHS.items()))
def test_settings_owns_each_path(tmp_path: Path, name: str, relative: str) -> None:
    assert name in _path_properties()
    assert getattr(Settings(data_dir=tmp_path), name) == tmp_path / relative


def test_no_two_paths_collide(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    paths = [getattr(settings, name) for name in _path_properties()]
    assert len(set(paths)) == len(paths)


PACKAGE_ROOT = Path(__file__).resolve().parents[2]
# The CLI module is an edge (moving to ``cli/``); everything else under these packages is library.
EDGES = {Path("passport/cli.py")}


def _builds_settings(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr == "load":
        func = func.value
    return isinstance(func, ast.Name) and func.id == "Settings"


@pytest.mark.parametrize("package", ["passport", "oracle"])
def test_the_library_never_builds_settings(package: str) -> None:
    offenders = [
        f"{path.relative_to(PACKAGE_ROOT)}:{node.lineno}"
        for path in sorted((PACKAGE_ROOT / package).rglob("*.py"))
        if path.relative_to(PACKAGE_ROOT) not in EDGES
        for node in ast.walk(ast.parse(path.read_text()))
        if _builds_settings(node)
    ]
    assert offenders == []


def test_public_base_url_follows_the_api_address_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PASSPORT_PUBLIC_BASE_URL", raising=False)
    monkeypatch.setenv("PASSPORT_API_PORT", "9137")
    assert Settings.load().public_base_url == "http://127.0.0.1:9137"
    assert Settings(api_host="::1", api_port=9137).public_base_url == "http://[::1]:9137"
    monkeypatch.setenv("PASSPORT_PUBLIC_BASE_URL", "https://passports.example/")
    assert Settings.load().public_base_url == "https://passports.example"


def test_anchor_retry_wait_is_a_few_seconds_by_default() -> None:
    assert 0 < Settings().anchor_retry_max_s <= 5
    assert Settings(anchor_retry_max_s=2).anchor_retry_max_s == 2


README = Path(__file__).resolve().parents[2] / "README.md"
#: Variables the README documents that are not settings (read by the dev tools directly).
NOT_SETTINGS = {"PASSPORT_NODE_MODULES"}


def test_the_readme_configuration_table_lists_every_setting() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Configuration") :]
    section = section[: section.index("\n## ", 1)]
    documented = set(re.findall(r"^\| `(PASSPORT_[A-Z0-9_]+)` \|", section, flags=re.MULTILINE))
    fields = {f"PASSPORT_{name.upper()}" for name in Settings.model_fields}
    assert documented - NOT_SETTINGS == fields
