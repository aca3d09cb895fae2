"""Callers, their roles, and API keys (hashed at rest).

An API key is ``bpl_<key id>_<secret>``: 128 random bits of id and 256 of secret. Only the SHA-256 of the
secret is stored. A slow password hash (argon2, scrypt) buys nothing for secrets of this entropy and would
cost every request milliseconds; comparison is constant-time. A key maps to one participant, and a
participant to its roles, its chain account (for on-chain actors), the batteries it owns (EV owners) and
the device it is (collection devices).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from api.errors import Unauthenticated

_SCHEMA = """
CREATE TABLE IF NOT EXISTS participants (
    name TEXT PRIMARY KEY,
    roles TEXT NOT NULL,
    account TEXT,
    device_id TEXT
);
CREATE TABLE IF NOT EXISTS owned_batteries (
    participant TEXT NOT NULL REFERENCES participants(name),
    battery_id TEXT NOT NULL,
    PRIMARY KEY (participant, battery_id)
);
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    participant TEXT NOT NULL REFERENCES participants(name),
    secret_sha256 BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
"""


class ApiRole(StrEnum):
    """What a caller may do. On-chain actors' roles mirror the registry's roles."""

    ADMIN = "admin"
    ISSUER = "issuer"
    ORACLE = "oracle"
    INSPECTOR = "inspector"
    REPURPOSER = "repurposer"
    RECYCLER = "recycler"
    AUDITOR = "auditor"
    BUSINESS = "business"  # a registered used-battery business (may take custody)
    AUTHORITY = "authority"  # market surveillance / the Commission: sees the authority tier
    OWNER = "owner"  # an EV owner: restricted data of their own batteries only
    DEVICE = "device"  # a collection device: writes telemetry for its battery only


class Caller(BaseModel):
    """The authenticated participant behind a request."""

    model_config = ConfigDict(frozen=True)

    name: str
    roles: frozenset[ApiRole]
    account: str | None = None
    device_id: str | None = None
    battery_ids: frozenset[str] = frozenset()

    def has(self, *roles: ApiRole) -> bool:
        return bool(self.roles.intersection(roles))


def _hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


class ApiKeyStore:
    """Participants and their API keys in SQLite (one small file under the data dir)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def upsert_participant(
        self,
        name: str,
        roles: Iterable[ApiRole],
        *,
        account: str | None = None,
        device_id: str | None = None,
        battery_ids: Iterable[str] = (),
    ) -> Caller:
        role_text = ",".join(sorted(ApiRole(r).value for r in roles))
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(
                "INSERT INTO participants(name, roles, account, device_id) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET roles=excluded.roles, account=excluded.account, "
                "device_id=excluded.device_id",
                (name, role_text, account, device_id),
            )
            self._db.executemany(
                "INSERT OR IGNORE INTO owned_batteries(participant, battery_id) VALUES (?, ?)",
                [(name, b) for b in battery_ids],
            )
            self._db.execute("COMMIT")
        caller = self.participant(name)
        assert caller is not None
        return caller

    def participant(self, name: str) -> Caller | None:
        with self._lock:
            row = self._db.execute(
                "SELECT roles, account, device_id FROM participants WHERE name = ?", (name,)
            ).fetchone()
            if row is None:
                return None
            owned = self._db.execute(
                "SELECT battery_id FROM owned_batteries WHERE participant = ?", (name,)
            ).fetchall()
        roles = frozenset(ApiRole(r) for r in row[0].split(",") if r)
        return Caller(
            name=name,
            roles=roles,
            account=row[1],
            device_id=row[2],
            battery_ids=frozenset(b for (b,) in owned),
        )

    def link_battery(self, name: str, battery_id: str) -> None:
        """Add ``battery_id`` to participant ``name``'s batteries (an owner's claim, a device's binding)."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO owned_batteries(participant, battery_id) VALUES (?, ?)",
                (name, battery_id),
            )

    def unlink_battery(self, name: str, battery_id: str) -> None:
        """Remove ``battery_id`` from participant ``name``'s batteries (a sale, a device unbound)."""
        with self._lock:
            self._db.execute(
                "DELETE FROM owned_batteries WHERE participant = ? AND battery_id = ?", (name, battery_id)
            )

    def battery_holders(self, battery_id: str) -> list[str]:
        """The participants whose batteries include ``battery_id`` (owners and devices)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT participant FROM owned_batteries WHERE battery_id = ?", (battery_id,)
            ).fetchall()
        return [str(name) for (name,) in rows]

    def device_participants(self, device_id: str) -> list[str]:
        """The participants that act as collection device ``device_id``."""
        with self._lock:
            rows = self._db.execute(
                "SELECT name FROM participants WHERE device_id = ?", (device_id,)
            ).fetchall()
        return [str(name) for (name,) in rows]

    def issue_key(self, name: str) -> str:
        """Create a new API key for participant ``name``; the plaintext is returned once, never stored."""
        if self.participant(name) is None:
            raise KeyError(f"unknown participant {name!r}")
        key_id = secrets.token_hex(16)
        secret = secrets.token_urlsafe(32)
        with self._lock:
            self._db.execute(
                "INSERT INTO api_keys(key_id, participant, secret_sha256, created_at) VALUES (?, ?, ?, ?)",
                (key_id, name, _hash_secret(secret), int(time.time())),
            )
        return f"bpl_{key_id}_{secret}"

    def revoke_key(self, key_id: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE key_id = ?", (int(time.time()), key_id)
            )

    def authenticate(self, api_key: str) -> Caller:
        """The caller behind ``api_key``; ``Unauthenticated`` for a malformed, unknown or revoked key."""
        parts = api_key.split("_", 2)
        if len(parts) != 3 or parts[0] != "bpl":
            raise Unauthenticated("malformed API key: expected bpl_<id>_<secret>")
        _, key_id, secret = parts
        with self._lock:
            row = self._db.execute(
                "SELECT participant, secret_sha256, revoked_at FROM api_keys WHERE key_id = ?", (key_id,)
            ).fetchone()
        # Compare even for unknown ids so timing does not reveal which key ids exist.
        expected = row[1] if row is not None else b"\x00" * 32
        if not hmac.compare_digest(expected, _hash_secret(secret)) or row is None:
            raise Unauthenticated("unknown API key")
        if row[2] is not None:
            raise Unauthenticated("API key revoked")
        caller = self.participant(row[0])
        if caller is None:
            raise Unauthenticated("API key's participant no longer exists")
        return caller
