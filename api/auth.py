"""Callers, their roles, and API keys (hashed at rest).

An API key is ``bpl_<key id>_<secret>``: 128 random bits of id and 256 of secret. Only the SHA-256 of the
secret is stored. A slow password hash (argon2, scrypt) buys nothing for secrets of this entropy and would
cost every request milliseconds; comparison is constant-time. A key maps to one participant, and a
participant to its roles, its chain account (for on-chain actors), the batteries it owns (EV owners) and
the device it is (collection devices).

**Participants** carry a directory record (kind, legal name, country, registration or licence number,
contact) beside their roles. **Keys** are scoped: a key carries a subset of its participant's roles
(``None``: all of them, whatever they become), may be read-only (safe methods only), may expire, and
records when it was last used. ``last_used_at`` is written at most once per ``LAST_USED_RESOLUTION_S``
per key, so authenticating costs a read, not a write, on almost every request. Revocation and expiry are
checked on every request against the database, so they take effect at once, in every process sharing
the file.

**Migration.** Files written before participants had directory records and keys had scopes gain the new
columns on open (``ALTER TABLE … ADD COLUMN``, idempotent); their keys keep working unchanged (all roles,
read-write, no expiry).
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
from typing import Final

from pydantic import BaseModel, ConfigDict

from api.errors import Conflict, NotFound, Unauthenticated

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

# Columns added after the first release: (table, column, SQL type). Added on open when missing.
_MIGRATIONS: Final[tuple[tuple[str, str, str], ...]] = (
    ("participants", "kind", "TEXT"),
    ("participants", "display_name", "TEXT"),
    ("participants", "country", "TEXT"),
    ("participants", "registration_number", "TEXT"),
    ("participants", "contact", "TEXT"),
    ("participants", "created_at", "INTEGER"),
    ("api_keys", "roles", "TEXT"),  # NULL: every role of the participant
    ("api_keys", "read_only", "INTEGER NOT NULL DEFAULT 0"),
    ("api_keys", "expires_at", "INTEGER"),
    ("api_keys", "last_used_at", "INTEGER"),
    ("api_keys", "label", "TEXT"),
    ("api_keys", "replaced_by", "TEXT"),
)

#: ``last_used_at`` is written at most this often per key (seconds).
LAST_USED_RESOLUTION_S: Final = 60


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


class ParticipantKind(StrEnum):
    """What kind of party a participant is (the directory's classification, not a permission)."""

    BUSINESS = "business"
    MANUFACTURER = "manufacturer"
    INSPECTOR = "inspector"
    RECYCLER = "recycler"
    OWNER = "owner"
    AUDITOR = "auditor"
    CERTIFIER = "certifier"
    ADMIN = "admin"
    DEVICE = "device"


class Caller(BaseModel):
    """The authenticated participant behind a request.

    ``roles`` are the roles the request's key carries: the key's scope intersected with the
    participant's current roles. ``read_only`` keys may only make safe (GET/HEAD) requests.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    roles: frozenset[ApiRole]
    account: str | None = None
    device_id: str | None = None
    battery_ids: frozenset[str] = frozenset()
    key_id: str | None = None
    read_only: bool = False

    def has(self, *roles: ApiRole) -> bool:
        return bool(self.roles.intersection(roles))


class Participant(BaseModel):
    """A participant's directory record and roles, as stored."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: ParticipantKind | None = None
    display_name: str | None = None
    country: str | None = None
    registration_number: str | None = None
    contact: str | None = None
    roles: frozenset[ApiRole] = frozenset()
    account: str | None = None
    device_id: str | None = None
    created_at: int | None = None


class ApiKeyInfo(BaseModel):
    """What is known about an API key, never its secret."""

    model_config = ConfigDict(frozen=True)

    key_id: str
    participant: str
    roles: frozenset[ApiRole] | None  # None: every role of the participant
    read_only: bool
    created_at: int
    expires_at: int | None
    last_used_at: int | None
    revoked_at: int | None
    label: str | None
    replaced_by: str | None

    def state(self, now: int) -> str:
        """``active``, ``revoked`` or ``expired``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


def _hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def _role_text(roles: Iterable[ApiRole]) -> str:
    return ",".join(sorted(ApiRole(r).value for r in roles))


def _roles(text: str | None) -> frozenset[ApiRole]:
    return frozenset(ApiRole(r) for r in (text or "").split(",") if r)


def key_id_of(api_key: str) -> str:
    """The key id inside ``bpl_<id>_<secret>`` (the part that may be shown and logged)."""
    parts = api_key.split("_", 2)
    if len(parts) != 3 or parts[0] != "bpl":
        raise Unauthenticated("malformed API key: expected bpl_<id>_<secret>")
    return parts[1]


_KEY_COLUMNS = (
    "key_id, participant, roles, read_only, created_at, expires_at, last_used_at, revoked_at, label, "
    "replaced_by"
)
_PARTICIPANT_COLUMNS = (
    "name, kind, display_name, country, registration_number, contact, roles, account, device_id, created_at"
)
# The queries below splice in these constant column lists (and, in _migrate, names from _MIGRATIONS);
# every value is a bound parameter, hence the S608 (SQL built from strings) exemptions.


class ApiKeyStore:
    """Participants and their API keys in SQLite (one small file under the data dir)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)
        self._migrate()
        # key id -> when this process last wrote its last_used_at (monotonic seconds)
        self._last_written: dict[str, float] = {}

    def _migrate(self) -> None:
        with self._lock:
            for table, column, sql_type in _MIGRATIONS:
                present = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
                if column not in present:
                    try:
                        self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}")
                    except sqlite3.OperationalError as exc:  # another process added it first
                        if "duplicate column" not in str(exc):
                            raise

    def close(self) -> None:
        self._db.close()

    # -- participants ---------------------------------------------------------------------------

    def upsert_participant(
        self,
        name: str,
        roles: Iterable[ApiRole],
        *,
        account: str | None = None,
        device_id: str | None = None,
        battery_ids: Iterable[str] = (),
    ) -> Caller:
        role_text = _role_text(roles)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(
                "INSERT INTO participants(name, roles, account, device_id, created_at) "
                "VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET roles=excluded.roles, account=excluded.account, "
                "device_id=excluded.device_id",
                (name, role_text, account, device_id, int(time.time())),
            )
            self._db.executemany(
                "INSERT OR IGNORE INTO owned_batteries(participant, battery_id) VALUES (?, ?)",
                [(name, b) for b in battery_ids],
            )
            self._db.execute("COMMIT")
        caller = self.participant(name)
        assert caller is not None
        return caller

    def create_participant(self, record: Participant) -> Participant:
        """Add a new participant with its directory record; ``Conflict`` if the name is taken."""
        with self._lock:
            try:
                self._db.execute(
                    f"INSERT INTO participants({_PARTICIPANT_COLUMNS}) "  # noqa: S608
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        record.name,
                        None if record.kind is None else record.kind.value,
                        record.display_name,
                        record.country,
                        record.registration_number,
                        record.contact,
                        _role_text(record.roles),
                        record.account,
                        record.device_id,
                        record.created_at if record.created_at is not None else int(time.time()),
                    ),
                )
            except sqlite3.IntegrityError:
                raise Conflict(f"participant {record.name!r} already exists") from None
        found = self.get_participant(record.name)
        assert found is not None
        return found

    @staticmethod
    def _participant_row(row: tuple[object, ...]) -> Participant:
        name, kind, display_name, country, number, contact, roles, account, device_id, created_at = row
        return Participant(
            name=str(name),
            kind=None if kind is None else ParticipantKind(str(kind)),
            display_name=None if display_name is None else str(display_name),
            country=None if country is None else str(country),
            registration_number=None if number is None else str(number),
            contact=None if contact is None else str(contact),
            roles=_roles(None if roles is None else str(roles)),
            account=None if account is None else str(account),
            device_id=None if device_id is None else str(device_id),
            created_at=None if created_at is None else int(str(created_at)),
        )

    def get_participant(self, name: str) -> Participant | None:
        """The directory record of participant ``name``, or None."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {_PARTICIPANT_COLUMNS} FROM participants WHERE name = ?",  # noqa: S608
                (name,),
            ).fetchone()
        return None if row is None else self._participant_row(row)

    def require_participant(self, name: str) -> Participant:
        """``get_participant``, or ``NotFound``."""
        found = self.get_participant(name)
        if found is None:
            raise NotFound(f"no participant {name!r}")
        return found

    def list_participants(
        self, *, kind: ParticipantKind | None = None, role: ApiRole | None = None
    ) -> list[Participant]:
        """Every participant (filtered by kind and by a role it holds), by name."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_PARTICIPANT_COLUMNS} FROM participants "  # noqa: S608
                "WHERE (?1 IS NULL OR kind = ?1) ORDER BY name",
                (None if kind is None else kind.value,),
            ).fetchall()
        found = [self._participant_row(row) for row in rows]
        return found if role is None else [p for p in found if role in p.roles]

    def participant_by_account(self, account: str) -> Participant | None:
        """The participant whose on-chain account is ``account`` (case-insensitive), or None."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {_PARTICIPANT_COLUMNS} FROM participants "  # noqa: S608
                "WHERE lower(account) = lower(?) "
                "ORDER BY created_at LIMIT 1",
                (account,),
            ).fetchone()
        return None if row is None else self._participant_row(row)

    def set_roles(self, name: str, roles: Iterable[ApiRole]) -> Participant:
        """Replace participant ``name``'s API roles (its keys' scopes narrow them further)."""
        with self._lock:
            updated = self._db.execute(
                "UPDATE participants SET roles = ? WHERE name = ?", (_role_text(roles), name)
            ).rowcount
        if not updated:
            raise NotFound(f"no participant {name!r}")
        return self.require_participant(name)

    def set_account(self, name: str, account: str) -> Participant:
        """Record participant ``name``'s on-chain account."""
        with self._lock:
            updated = self._db.execute(
                "UPDATE participants SET account = ? WHERE name = ?", (account, name)
            ).rowcount
        if not updated:
            raise NotFound(f"no participant {name!r}")
        return self.require_participant(name)

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
        return Caller(
            name=name,
            roles=_roles(row[0]),
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

    # -- keys ---------------------------------------------------------------------------------

    def issue_key(
        self,
        name: str,
        *,
        roles: Iterable[ApiRole] | None = None,
        read_only: bool = False,
        expires_at: int | None = None,
        label: str | None = None,
    ) -> str:
        """Create a new API key for participant ``name``; the plaintext is returned once, never stored.

        ``roles``: the roles the key carries (None: all the participant's, now and later); each must
        be one the participant holds now (``Conflict`` otherwise).
        """
        participant = self.participant(name)
        if participant is None:
            raise KeyError(f"unknown participant {name!r}")
        scope = None if roles is None else frozenset(ApiRole(r) for r in roles)
        if scope is not None and not scope <= participant.roles:
            missing = ", ".join(sorted(r.value for r in scope - participant.roles))
            raise Conflict(f"participant {name!r} does not hold the role(s) {missing}")
        key_id = secrets.token_hex(16)
        secret = secrets.token_urlsafe(32)
        with self._lock:
            self._db.execute(
                "INSERT INTO api_keys(key_id, participant, secret_sha256, created_at, roles, read_only, "
                "expires_at, label) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key_id,
                    name,
                    _hash_secret(secret),
                    int(time.time()),
                    None if scope is None else _role_text(scope),
                    int(read_only),
                    expires_at,
                    label,
                ),
            )
        return f"bpl_{key_id}_{secret}"

    @staticmethod
    def _key_row(row: tuple[object, ...]) -> ApiKeyInfo:
        key_id, participant, roles, read_only, created, expires, used, revoked, label, replaced = row
        return ApiKeyInfo(
            key_id=str(key_id),
            participant=str(participant),
            roles=None if roles is None else _roles(str(roles)),
            read_only=bool(read_only),
            created_at=int(str(created)),
            expires_at=None if expires is None else int(str(expires)),
            last_used_at=None if used is None else int(str(used)),
            revoked_at=None if revoked is None else int(str(revoked)),
            label=None if label is None else str(label),
            replaced_by=None if replaced is None else str(replaced),
        )

    def key_info(self, key_id: str) -> ApiKeyInfo | None:
        """What is known about key ``key_id`` (never its secret), or None."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE key_id = ?",  # noqa: S608
                (key_id,),
            ).fetchone()
        return None if row is None else self._key_row(row)

    def list_keys(self, name: str) -> list[ApiKeyInfo]:
        """Participant ``name``'s keys, oldest first (revoked and expired ones included)."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_KEY_COLUMNS} FROM api_keys "  # noqa: S608
                "WHERE participant = ? ORDER BY created_at, key_id",
                (name,),
            ).fetchall()
        return [self._key_row(row) for row in rows]

    def revoke_key(self, key_id: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
                (int(time.time()), key_id),
            )

    def rotate_key(self, key_id: str, *, expires_at: int | None = None) -> str:
        """A new key with ``key_id``'s scope (and ``expires_at``, or the old expiry); the old key is
        revoked in the same transaction. ``NotFound`` for an unknown key, ``Conflict`` for a revoked one."""
        old = self.key_info(key_id)
        if old is None:
            raise NotFound(f"no API key {key_id}")
        if old.revoked_at is not None:
            raise Conflict(f"API key {key_id} is revoked; issue a new one instead")
        new_id = secrets.token_hex(16)
        secret = secrets.token_urlsafe(32)
        now = int(time.time())
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT INTO api_keys(key_id, participant, secret_sha256, created_at, roles, read_only, "
                    "expires_at, label) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        new_id,
                        old.participant,
                        _hash_secret(secret),
                        now,
                        None if old.roles is None else _role_text(old.roles),
                        int(old.read_only),
                        expires_at if expires_at is not None else old.expires_at,
                        old.label,
                    ),
                )
                self._db.execute(
                    "UPDATE api_keys SET revoked_at = ?, replaced_by = ? WHERE key_id = ?",
                    (now, new_id, key_id),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return f"bpl_{new_id}_{secret}"

    def _touch(self, key_id: str, now: float) -> None:
        """Record that ``key_id`` was used, at most once per ``LAST_USED_RESOLUTION_S`` per process."""
        last = self._last_written.get(key_id)
        if last is not None and now - last < LAST_USED_RESOLUTION_S:
            return
        self._last_written[key_id] = now
        with self._lock:
            self._db.execute(
                "UPDATE api_keys SET last_used_at = ? WHERE key_id = ?", (int(time.time()), key_id)
            )

    def authenticate(self, api_key: str) -> Caller:
        """The caller behind ``api_key``; ``Unauthenticated`` for a malformed, unknown, revoked or
        expired key."""
        parts = api_key.split("_", 2)
        if len(parts) != 3 or parts[0] != "bpl":
            raise Unauthenticated("malformed API key: expected bpl_<id>_<secret>")
        _, key_id, secret = parts
        with self._lock:
            row = self._db.execute(
                "SELECT participant, secret_sha256, revoked_at, expires_at, roles, read_only "
                "FROM api_keys WHERE key_id = ?",
                (key_id,),
            ).fetchone()
        # Compare even for unknown ids so timing does not reveal which key ids exist.
        expected = row[1] if row is not None else b"\x00" * 32
        if not hmac.compare_digest(expected, _hash_secret(secret)) or row is None:
            raise Unauthenticated("unknown API key")
        if row[2] is not None:
            raise Unauthenticated("API key revoked")
        if row[3] is not None and row[3] <= time.time():
            raise Unauthenticated("API key expired")
        caller = self.participant(row[0])
        if caller is None:
            raise Unauthenticated("API key's participant no longer exists")
        self._touch(key_id, time.monotonic())
        roles = caller.roles if row[4] is None else caller.roles & _roles(row[4])
        return caller.model_copy(update={"roles": roles, "key_id": key_id, "read_only": bool(row[5])})
