"""The key store on its own, on SQLite and on PostgreSQL (``database_url``): last-used is written at most
once a minute per key, scopes narrow roles, rotation and revocation hold across processes sharing the
database, and the first admin is bootstrapped only once; a SQLite file from before scopes migrates in
place."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import api.auth
from api.auth import LAST_USED_RESOLUTION_S, ApiKeyStore, ApiRole, Participant, ParticipantKind
from api.errors import Conflict, NotFound, Unauthenticated
from api.onboarding import bootstrap_admin
from passport.settings import Settings

# The schema main shipped before participants had records and keys had scopes (verbatim).
OLD_SCHEMA = """
CREATE TABLE participants (name TEXT PRIMARY KEY, roles TEXT NOT NULL, account TEXT, device_id TEXT);
CREATE TABLE owned_batteries (
    participant TEXT NOT NULL REFERENCES participants(name), battery_id TEXT NOT NULL,
    PRIMARY KEY (participant, battery_id)
);
CREATE TABLE api_keys (
    key_id TEXT PRIMARY KEY, participant TEXT NOT NULL REFERENCES participants(name),
    secret_sha256 BLOB NOT NULL, created_at INTEGER NOT NULL, revoked_at INTEGER
);
"""


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    return Settings(data_dir=tmp_path, database_url=database_url)


@pytest.fixture
def keys(settings: Settings) -> Iterator[ApiKeyStore]:
    store = ApiKeyStore.from_settings(settings)
    yield store
    store.close()


def test_a_file_from_before_scopes_is_migrated_and_its_keys_keep_working(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA)
    db.execute("INSERT INTO participants VALUES ('issuer', 'issuer,business', '0xabc', NULL)")
    db.execute("INSERT INTO owned_batteries VALUES ('issuer', 'BAT-1')")
    secret = "s" * 43
    db.execute(
        "INSERT INTO api_keys VALUES (?, 'issuer', ?, 1, NULL)",
        ("a" * 32, hashlib.sha256(secret.encode()).digest()),
    )
    db.commit()
    db.close()
    for _ in range(2):  # opening twice: the migration is idempotent
        store = ApiKeyStore(path)
        caller = store.authenticate(f"bpl_{'a' * 32}_{secret}")
        assert caller.roles == {ApiRole.ISSUER, ApiRole.BUSINESS}
        assert caller.battery_ids == {"BAT-1"}
        assert caller.read_only is False
        info = store.key_info("a" * 32)
        assert info is not None
        assert (info.roles, info.expires_at, info.state(int(time.time()))) == (None, None, "active")
        participant = store.get_participant("issuer")
        assert participant is not None
        assert participant.kind is None
        store.close()
    columns = {row[1] for row in sqlite3.connect(path).execute("PRAGMA table_info(api_keys)")}
    assert {"roles", "read_only", "expires_at", "last_used_at", "label", "replaced_by"} <= columns


def test_last_used_is_written_at_most_once_a_minute(
    keys: ApiKeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys.upsert_participant("p", [ApiRole.AUDITOR])
    key = keys.issue_key("p")
    key_id = key.split("_")[1]
    clock = [1000.0]
    monkeypatch.setattr(api.auth.time, "monotonic", lambda: clock[0])
    keys.authenticate(key)
    info = keys.key_info(key_id)
    assert info is not None
    assert info.last_used_at is not None
    with keys.database.transaction() as cur:
        cur.execute("UPDATE api_keys SET last_used_at = 7 WHERE key_id = ?", (key_id,))
    clock[0] += LAST_USED_RESOLUTION_S - 1
    keys.authenticate(key)
    info = keys.key_info(key_id)
    assert info is not None
    assert info.last_used_at == 7
    clock[0] += 2
    keys.authenticate(key)
    info = keys.key_info(key_id)
    assert info is not None
    assert info.last_used_at != 7


def test_scopes_narrow_roles_and_follow_revoked_roles(keys: ApiKeyStore) -> None:
    keys.upsert_participant("p", [ApiRole.AUDITOR, ApiRole.BUSINESS])
    scoped = keys.issue_key("p", roles=[ApiRole.BUSINESS], read_only=True)
    everything = keys.issue_key("p")
    assert keys.authenticate(scoped).roles == {ApiRole.BUSINESS}
    assert keys.authenticate(scoped).read_only is True
    keys.set_roles("p", [ApiRole.AUDITOR])
    assert keys.authenticate(scoped).roles == frozenset()
    assert keys.authenticate(everything).roles == {ApiRole.AUDITOR}
    with pytest.raises(Conflict, match="does not hold"):
        keys.issue_key("p", roles=[ApiRole.ISSUER])


def test_expired_and_rotated_keys(keys: ApiKeyStore) -> None:
    keys.upsert_participant("p", [ApiRole.AUDITOR])
    expired = keys.issue_key("p", expires_at=int(time.time()) - 1)
    with pytest.raises(Unauthenticated, match="expired"):
        keys.authenticate(expired)
    old = keys.issue_key("p", label="ci")
    new = keys.rotate_key(old.split("_")[1])
    with pytest.raises(Unauthenticated, match="revoked"):
        keys.authenticate(old)
    assert keys.authenticate(new).name == "p"
    with pytest.raises(Conflict, match="revoked"):
        keys.rotate_key(old.split("_")[1])
    with pytest.raises(NotFound):
        keys.rotate_key("0" * 32)


def test_participants_are_created_once_and_found_by_account(keys: ApiKeyStore) -> None:
    record = Participant(name="busan", kind=ParticipantKind.RECYCLER, display_name="Busan", account="0xAbC")
    assert keys.create_participant(record).kind is ParticipantKind.RECYCLER
    with pytest.raises(Conflict):
        keys.create_participant(record)
    found = keys.participant_by_account("0xabc")
    assert found is not None
    assert found.name == "busan"
    assert [p.name for p in keys.list_participants(kind=ParticipantKind.RECYCLER)] == ["busan"]
    assert keys.list_participants(kind=ParticipantKind.OWNER) == []


def test_bootstrap_on_an_empty_installation_then_only_with_force(keys: ApiKeyStore) -> None:
    admin, key = bootstrap_admin(keys, "0x" + "11" * 20)
    assert admin.roles == {ApiRole.ADMIN}
    assert keys.authenticate(key).has(ApiRole.ADMIN)
    with pytest.raises(Conflict, match="already has an admin"):
        bootstrap_admin(keys, "0x" + "11" * 20)
    _, second = bootstrap_admin(keys, "0x" + "11" * 20, force=True)
    assert keys.authenticate(second).name == "admin"
    assert len(keys.list_keys("admin")) == 2


def test_settings_pick_the_backend(keys: ApiKeyStore, settings: Settings) -> None:
    assert keys.database.dialect == ("sqlite" if settings.database_url is None else "postgresql")
    assert settings.api_keys_path.exists() is (settings.database_url is None)


def test_a_second_store_on_the_same_database_sees_issue_revoke_and_rotate_at_once(
    keys: ApiKeyStore, settings: Settings
) -> None:
    """Two API processes each open their own store: what one writes, the other's next request sees."""
    other = ApiKeyStore.from_settings(settings)
    try:
        keys.upsert_participant("p", [ApiRole.AUDITOR], battery_ids=["BAT-9"])
        key = keys.issue_key("p")
        assert other.authenticate(key).battery_ids == {"BAT-9"}
        rotated = other.rotate_key(key.split("_")[1])
        with pytest.raises(Unauthenticated, match="revoked"):
            keys.authenticate(key)
        assert keys.authenticate(rotated).name == "p"
        keys.revoke_key(rotated.split("_")[1])
        with pytest.raises(Unauthenticated, match="revoked"):
            other.authenticate(rotated)
        other.set_roles("p", [ApiRole.BUSINESS])
        assert keys.authenticate(keys.issue_key("p")).roles == {ApiRole.BUSINESS}
    finally:
        other.close()


def test_concurrent_rotations_of_one_key_yield_one_successor(keys: ApiKeyStore, settings: Settings) -> None:
    keys.upsert_participant("p", [ApiRole.AUDITOR])
    key_id = keys.issue_key("p").split("_")[1]
    stores = [ApiKeyStore.from_settings(settings) for _ in range(4)]
    outcomes: list[str] = []
    barrier = threading.Barrier(len(stores))

    def rotate(store: ApiKeyStore) -> None:
        barrier.wait()
        try:
            store.rotate_key(key_id)
            outcomes.append("rotated")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=rotate, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    assert sorted(outcomes) == ["conflict"] * 3 + ["rotated"]
    active = [k for k in keys.list_keys("p") if k.state(int(time.time())) == "active"]
    assert len(active) == 1
    info = keys.key_info(key_id)
    assert info is not None
    assert info.replaced_by == active[0].key_id


def test_keys_of_unknown_participants_and_links_are_refused(keys: ApiKeyStore) -> None:
    with pytest.raises(KeyError):
        keys.issue_key("nobody")
    with pytest.raises(NotFound):
        keys.set_roles("nobody", [ApiRole.AUDITOR])
    with pytest.raises(NotFound):
        keys.set_account("nobody", "0x" + "22" * 20)
    keys.upsert_participant("owner", [ApiRole.OWNER])
    keys.link_battery("owner", "BAT-1")
    keys.link_battery("owner", "BAT-1")  # idempotent
    assert keys.battery_holders("BAT-1") == ["owner"]
    keys.unlink_battery("owner", "BAT-1")
    assert keys.battery_holders("BAT-1") == []
