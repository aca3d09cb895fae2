"""``passport admin …`` against a ledger deployed from settings: bootstrap on an empty installation,
participants, roles on-chain, keys (issue, rotate, revoke take effect in the key store at once),
businesses registered with a details document that verifies, and one that was tampered with."""

from __future__ import annotations

from typing import Any

import pytest

from api.auth import ApiKeyStore, ApiRole
from api.errors import Unauthenticated
from cli.main import app
from cli.output import EXIT_INVALID, EXIT_UNREADABLE
from passport.chain.records import Role
from passport.directory import details_cid
from passport.ids import parse_bytes32
from passport.ledger import open_ledger
from passport.settings import Settings
from passport.store import EmbeddedStore
from tests.cli.runner import ok, runner

pytestmark = pytest.mark.parametrize(
    "chain_backend", [pytest.param("anvil", marks=pytest.mark.node)], indirect=True
)


def _fails(code: int, message: str, *argv: str) -> None:
    result = runner.invoke(app, list(argv))
    assert result.exit_code == code, result.output
    assert message in result.stderr


def _keys(settings: Settings) -> ApiKeyStore:
    return ApiKeyStore(settings.api_keys_path)


def _create(name: str, kind: str = "business", *extra: str) -> Any:
    return ok(
        "admin", "participant", "create", name, "--kind", kind, "--display-name", f"{name.title()} Ltd",
        "--country", "KR", "--registration-number", f"REG-{name}", "--contact", "ops@example.kr", *extra,
    )  # fmt: skip


def test_bootstrap_makes_the_first_admin_key_and_refuses_a_second_without_force(
    deployed: str, ledger_settings: Settings
) -> None:
    first = ok("admin", "bootstrap")
    assert first["participant"] == "admin"
    keys = _keys(ledger_settings)
    try:
        caller = keys.authenticate(first["api_key"])
        assert caller.roles == {ApiRole.ADMIN}
        assert caller.account == first["account"]
        _fails(EXIT_INVALID, "already has an admin", "admin", "bootstrap")
        forced = ok("admin", "bootstrap", "--force")
        assert forced["api_key"] != first["api_key"]
        assert keys.authenticate(first["api_key"]).name == "admin"  # the older key is kept
        assert len(keys.list_keys("admin")) == 2
    finally:
        keys.close()


def test_participants_roles_and_keys(deployed: str, ledger_settings: Settings) -> None:
    created = _create("kotsa", "inspector", "--custodial")
    assert created["custodial"] is True
    assert created["account"].startswith("0x")
    _fails(EXIT_INVALID, "already exists", "admin", "participant", "create", "kotsa", "--kind", "inspector",
           "--display-name", "X", "--country", "KR")  # fmt: skip
    _fails(EXIT_UNREADABLE, "country", "admin", "participant", "create", "other", "--kind", "owner",
           "--display-name", "X", "--country", "Korea")  # fmt: skip
    assert [p["name"] for p in ok("admin", "participant", "list", "--kind", "inspector")] == ["kotsa"]

    granted = ok("admin", "role", "grant", "kotsa", "inspector")
    assert granted["on_chain_role"] == "INSPECTOR_ROLE"
    assert open_ledger(ledger_settings).reader.has_role(Role.INSPECTOR, created["account"])
    issued = ok("admin", "key", "issue", "kotsa", "--role", "inspector", "--expires-in-days", "30")
    keys = _keys(ledger_settings)
    try:
        assert keys.authenticate(issued["api_key"]).roles == {ApiRole.INSPECTOR}
        rotated = ok("admin", "key", "rotate", issued["key_id"])
        with pytest.raises(Unauthenticated, match="revoked"):
            keys.authenticate(issued["api_key"])
        assert keys.authenticate(rotated["api_key"]).name == "kotsa"
        assert rotated["expires_at"] == issued["expires_at"]
        states = {k["key_id"]: k["state"] for k in ok("admin", "key", "list", "kotsa")}
        assert states == {issued["key_id"]: "revoked", rotated["key_id"]: "active"}
        assert ok("admin", "key", "revoke", rotated["key_id"])["state"] == "revoked"
        with pytest.raises(Unauthenticated, match="revoked"):
            keys.authenticate(rotated["api_key"])
    finally:
        keys.close()
    _fails(EXIT_INVALID, "already revoked", "admin", "key", "revoke", rotated["key_id"])
    _fails(EXIT_INVALID, "no API key", "admin", "key", "revoke", "0" * 32)

    revoked = ok("admin", "role", "revoke", "kotsa", "inspector")
    assert revoked["roles"] == []
    assert not open_ledger(ledger_settings).reader.has_role(Role.INSPECTOR, created["account"])
    shown = ok("admin", "participant", "show", "kotsa")
    assert len(shown["keys"]) == 2
    _fails(EXIT_INVALID, "no participant", "admin", "participant", "show", "nobody")


def test_business_register_verify_list_and_tampering(deployed: str, ledger_settings: Settings) -> None:
    account = _create("busan", "business", "--custodial")["account"]
    registered = ok("admin", "business", "register", "--participant", "busan", "--kind", "collector",
                    "--kind", "recycler")  # fmt: skip
    assert registered["account"] == account
    assert registered["name"] == "Busan Ltd"
    assert registered["details_status"] == "verified"
    keys = _keys(ledger_settings)
    try:
        holder = keys.get_participant("busan")
        assert holder is not None
        assert ApiRole.BUSINESS in holder.roles
    finally:
        keys.close()
    verified = ok("admin", "business", "verify", account)
    assert verified["verified"] is True
    assert verified["details"]["registration_number"] == "REG-busan"
    assert verified["cid"] == details_cid(parse_bytes32(verified["registration_hash"]))

    other = "0x" + "22" * 20
    ok("admin", "business", "register", "--account", other, "--kind", "reuser", "--name", "Jeju Reuse",
       "--country", "KR", "--registration-number", "JJ-1")  # fmt: skip
    ok("business", "suspend", other)
    listed = {b["account"].lower(): b for b in ok("admin", "business", "list")}
    assert listed[account.lower()]["name"] == "Busan Ltd"
    assert [b["name"] for b in ok("admin", "business", "list", "--kind", "reuser")] == ["Jeju Reuse"]
    assert [b["name"] for b in ok("admin", "business", "list", "--status", "active")] == ["Busan Ltd"]

    store = EmbeddedStore(ledger_settings.store_dir)
    path = store._path(verified["cid"])
    path.chmod(0o644)
    path.write_bytes(path.read_bytes().replace(b"Busan Ltd", b"Busan Lte"))
    result = runner.invoke(app, ["admin", "business", "verify", account, "--json"])
    assert result.exit_code == EXIT_INVALID, result.output
    assert '"status": "tampered"' in result.stdout
    _fails(EXIT_INVALID, "already registered", "admin", "business", "register", "--participant", "busan",
           "--kind", "collector")  # fmt: skip
    _fails(EXIT_UNREADABLE, "--country", "admin", "business", "register", "--account", "0x" + "33" * 20,
           "--kind", "reuser", "--name", "X")  # fmt: skip
