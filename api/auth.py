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
it (the SQLite file, or the ``keys`` schema of PostgreSQL when ``PASSPORT_DATABASE_URL`` is set).

**Migration.** The schema is ``passport/db/migrations/keys``. SQLite files written before participants
had directory records and keys had scopes gain the new columns on open (``ALTER TABLE … ADD COLUMN``,
idempotent); their keys keep working unchanged (all roles, read-write, no expiry).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict

from api.errors import Conflict, NotFound, Unauthenticated
from passport.db import Database, StorageIntegrityError, open_database, open_sqlite
from passport.settings import Settings

#: The database component (PostgreSQL schema, migrations folder) of this store.
COMPONENT: Final = "keys"

# Columns added to SQLite files after the first release, before migrations were versioned: (table,
# column, SQL type). Added on open when missing; the versioned schema has them all.
_LEGACY_COLUMNS: Final[tuple[tuple[str, str, str], ...]] = (
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
# The queries below splice in these constant column lists (and, in _add_legacy_columns, names from
# _LEGACY_COLUMNS); every value is a bound parameter, hence the S608 (SQL built from strings) exemptions.
_INSERT_KEY = (
    "INSERT INTO api_keys(key_id, participant, secret_sha256, created_at, roles, read_only, expires_at, "
    "label) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


class ApiKeyStore:
    """Participants and their API keys: a small SQLite file under the data dir, or the ``keys`` schema of
    the shared PostgreSQL database (``from_settings`` picks; every API process then sees one store)."""

    def __init__(self, database: Database | Path) -> None:
        """``database``: an open database (its ``keys`` migrations applied), or a SQLite file path."""
        self._db = open_sqlite(database, COMPONENT) if isinstance(database, Path) else database
        if self._db.dialect == "sqlite":
            self._add_legacy_columns()
        # key id -> when this process last wrote its last_used_at (monotonic seconds)
        self._last_written: dict[str, float] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiKeyStore:
        """The store at ``Settings.api_keys_path``, or in PostgreSQL when ``database_url`` is set."""
        return cls(open_database(settings, component=COMPONENT, sqlite_path=settings.api_keys_path))

    @property
    def database(self) -> Database:
        return self._db

    def _add_legacy_columns(self) -> None:
        with self._db.transaction() as cur:
            for table, column, sql_type in _LEGACY_COLUMNS:
                cur.execute(f"PRAGMA table_info({table})")
                if column not in {row[1] for row in cur.fetchall()}:
                    cur.execute(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}")

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
        with self._db.transaction() as cur:
            cur.execute(
                "INSERT INTO participants(name, roles, account, device_id, created_at) "
                "VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET roles=excluded.roles, account=excluded.account, "
                "device_id=excluded.device_id",
                (name, role_text, account, device_id, int(time.time())),
            )
            for battery_id in battery_ids:
                cur.execute(
                    "INSERT INTO owned_batteries(participant, battery_id) VALUES (?, ?) "
                    "ON CONFLICT DO NOTHING",
                    (name, battery_id),
                )
        caller = self.participant(name)
        assert caller is not None
        return caller

    def create_participant(self, record: Participant) -> Participant:
        """Add a new participant with its directory record; ``Conflict`` if the name is taken."""
        try:
            with self._db.transaction() as cur:
                cur.execute(
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
        except StorageIntegrityError:
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

    def _rows(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        return self._db.query(sql, params)

    def get_participant(self, name: str) -> Participant | None:
        """The directory record of participant ``name``, or None."""
        rows = self._rows(
            f"SELECT {_PARTICIPANT_COLUMNS} FROM participants WHERE name = ?",  # noqa: S608
            (name,),
        )
        return self._participant_row(rows[0]) if rows else None

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
        if kind is None:
            rows = self._rows(f"SELECT {_PARTICIPANT_COLUMNS} FROM participants ORDER BY name")  # noqa: S608
        else:
            rows = self._rows(
                f"SELECT {_PARTICIPANT_COLUMNS} FROM participants WHERE kind = ? ORDER BY name",  # noqa: S608
                (kind.value,),
            )
        found = [self._participant_row(row) for row in rows]
        return found if role is None else [p for p in found if role in p.roles]

    def participant_by_account(self, account: str) -> Participant | None:
        """The participant whose on-chain account is ``account`` (case-insensitive), or None."""
        rows = self._rows(
            f"SELECT {_PARTICIPANT_COLUMNS} FROM participants "  # noqa: S608
            "WHERE lower(account) = lower(CAST(? AS TEXT)) "
            "ORDER BY created_at, name LIMIT 1",
            (account,),
        )
        return self._participant_row(rows[0]) if rows else None

    def _update(self, sql: str, params: tuple[object, ...]) -> int:
        """Run one UPDATE/DELETE in its own transaction; the number of rows it touched."""
        with self._db.transaction() as cur:
            cur.execute(sql, params)
            return int(cur.rowcount)

    def set_roles(self, name: str, roles: Iterable[ApiRole]) -> Participant:
        """Replace participant ``name``'s API roles (its keys' scopes narrow them further)."""
        if not self._update("UPDATE participants SET roles = ? WHERE name = ?", (_role_text(roles), name)):
            raise NotFound(f"no participant {name!r}")
        return self.require_participant(name)

    def set_account(self, name: str, account: str) -> Participant:
        """Record participant ``name``'s on-chain account."""
        if not self._update("UPDATE participants SET account = ? WHERE name = ?", (account, name)):
            raise NotFound(f"no participant {name!r}")
        return self.require_participant(name)

    def participant(self, name: str) -> Caller | None:
        with self._db.read() as cur:
            cur.execute("SELECT roles, account, device_id FROM participants WHERE name = ?", (name,))
            row = cur.fetchone()
            if row is None:
                return None
            cur.execute("SELECT battery_id FROM owned_batteries WHERE participant = ?", (name,))
            owned = cur.fetchall()
        return Caller(
            name=name,
            roles=_roles(row[0]),
            account=row[1],
            device_id=row[2],
            battery_ids=frozenset(str(b[0]) for b in owned),
        )

    def link_battery(self, name: str, battery_id: str) -> None:
        """Add ``battery_id`` to participant ``name``'s batteries (an owner's claim, a device's binding)."""
        self._update(
            "INSERT INTO owned_batteries(participant, battery_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (name, battery_id),
        )

    def unlink_battery(self, name: str, battery_id: str) -> None:
        """Remove ``battery_id`` from participant ``name``'s batteries (a sale, a device unbound)."""
        self._update(
            "DELETE FROM owned_batteries WHERE participant = ? AND battery_id = ?", (name, battery_id)
        )

    def battery_holders(self, battery_id: str) -> list[str]:
        """The participants whose batteries include ``battery_id`` (owners and devices)."""
        rows = self._rows(
            "SELECT participant FROM owned_batteries WHERE battery_id = ? ORDER BY participant", (battery_id,)
        )
        return [str(row[0]) for row in rows]

    def device_participants(self, device_id: str) -> list[str]:
        """The participants that act as collection device ``device_id``."""
        rows = self._rows("SELECT name FROM participants WHERE device_id = ? ORDER BY name", (device_id,))
        return [str(row[0]) for row in rows]

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
        self._update(
            _INSERT_KEY,
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
        rows = self._rows(f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE key_id = ?", (key_id,))  # noqa: S608
        return self._key_row(rows[0]) if rows else None

    def list_keys(self, name: str) -> list[ApiKeyInfo]:
        """Participant ``name``'s keys, oldest first (revoked and expired ones included)."""
        rows = self._rows(
            f"SELECT {_KEY_COLUMNS} FROM api_keys "  # noqa: S608
            "WHERE participant = ? ORDER BY created_at, key_id",
            (name,),
        )
        return [self._key_row(row) for row in rows]

    def revoke_key(self, key_id: str) -> None:
        self._update(
            "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
            (int(time.time()), key_id),
        )

    def rotate_key(self, key_id: str, *, expires_at: int | None = None) -> str:
        """A new key with ``key_id``'s scope (and ``expires_at``, or the old expiry); the old key is
        revoked in the same transaction. ``NotFound`` for an unknown key, ``Conflict`` for a revoked one
        (also when a concurrent rotation or revocation got there first)."""
        old = self.key_info(key_id)
        if old is None:
            raise NotFound(f"no API key {key_id}")
        if old.revoked_at is not None:
            raise Conflict(f"API key {key_id} is revoked; issue a new one instead")
        new_id = secrets.token_hex(16)
        secret = secrets.token_urlsafe(32)
        now = int(time.time())
        with self._db.transaction() as cur:
            # Revoke first, and only if still active: of two concurrent rotations, one wins.
            cur.execute(
                "UPDATE api_keys SET revoked_at = ?, replaced_by = ? WHERE key_id = ? AND revoked_at IS NULL",
                (now, new_id, key_id),
            )
            if not cur.rowcount:
                raise Conflict(f"API key {key_id} is revoked; issue a new one instead")
            cur.execute(
                _INSERT_KEY,
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
        return f"bpl_{new_id}_{secret}"

    def _touch(self, key_id: str, now: float) -> None:
        """Record that ``key_id`` was used, at most once per ``LAST_USED_RESOLUTION_S`` per process."""
        last = self._last_written.get(key_id)
        if last is not None and now - last < LAST_USED_RESOLUTION_S:
            return
        self._last_written[key_id] = now
        self._update("UPDATE api_keys SET last_used_at = ? WHERE key_id = ?", (int(time.time()), key_id))

    def authenticate(self, api_key: str) -> Caller:
        """The caller behind ``api_key``; ``Unauthenticated`` for a malformed, unknown, revoked or
        expired key."""
        parts = api_key.split("_", 2)
        if len(parts) != 3 or parts[0] != "bpl":
            raise Unauthenticated("malformed API key: expected bpl_<id>_<secret>")
        _, key_id, secret = parts
        rows = self._rows(
            "SELECT participant, secret_sha256, revoked_at, expires_at, roles, read_only "
            "FROM api_keys WHERE key_id = ?",
            (key_id,),
        )
        row = rows[0] if rows else None
        # Compare even for unknown ids so timing does not reveal which key ids exist.
        expected = bytes(row[1]) if row is not None else b"\x00" * 32  # type: ignore[call-overload]
        if not hmac.compare_digest(expected, _hash_secret(secret)) or row is None:
            raise Unauthenticated("unknown API key")
        participant, _, revoked_at, expires_at, scope, read_only = row
        if revoked_at is not None:
            raise Unauthenticated("API key revoked")
        if expires_at is not None and int(str(expires_at)) <= time.time():
            raise Unauthenticated("API key expired")
        caller = self.participant(str(participant))
        if caller is None:
            raise Unauthenticated("API key's participant no longer exists")
        self._touch(key_id, time.monotonic())
        roles = caller.roles if scope is None else caller.roles & _roles(str(scope))
        return caller.model_copy(update={"roles": roles, "key_id": key_id, "read_only": bool(read_only)})
