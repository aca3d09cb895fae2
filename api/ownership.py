"""Owners and what they consent to: claim codes, owner links, phone sessions, share grants, access log.

One SQLite file (``Settings.ownership_path``), next to the API key store whose participants it refers to
by name, or the ``ownership`` schema of PostgreSQL when ``PASSPORT_DATABASE_URL`` is set (migrations in
``passport/db/migrations/ownership``). Every secret handed out here (claim code, sign-in link, session
cookie, bearer share link) is shown once and stored only as its SHA-256: they carry 80-256 random bits,
so a slow hash buys nothing.

* **Claim codes** — issued per passport by its issuer (or the admin), e.g. printed on the vehicle's
  registration. Redeeming one links the redeeming owner participant to the battery and burns the code;
  issuing a new code for a passport voids the unused earlier one.
* **Owner links** — who owns which battery, since when, and under which custodian. A link ends on an
  explicit unlink or when the battery's custody moves (a sale): the link remembers the custodian it was
  made under, and ``api.owners`` ends it at the first read that sees another custodian.
* **Sessions and sign-in links** — a phone signs in from the passport page with a claim code or a
  one-time link and gets a short-lived session cookie.
* **Shares** — a grant of one tier and some data kinds of one passport, to a named participant or to
  whoever holds a bearer link, until it expires or is revoked.
* **Access log** — every read of restricted data: who, under which role or grant, what.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from api.errors import ApiError, Conflict, NotFound
from passport.db import Database, open_database, open_sqlite
from passport.settings import Settings

#: The database component (PostgreSQL schema, migrations folder) of this store.
COMPONENT: Final = "ownership"

# Crockford base32 without the look-alikes: a claim code is typed from paper.
_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_LOOKALIKES = str.maketrans("OIL", "011")
CLAIM_CODE_GROUPS = 4  # 4 x 4 characters = 80 random bits


class InvalidClaim(ApiError):
    """Raised when a claim code is unknown, already used, voided or expired (one answer for all four)."""

    status = 403
    title = "Invalid claim code"


def _sha(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def normalise_code(code: str) -> str:
    """A claim code as stored: upper case, no separators or spaces, O→0 and I/L→1 (typed from paper)."""
    text = code.upper().replace("-", "").replace(" ", "")
    return text.translate(_LOOKALIKES)


def new_claim_code() -> str:
    chars = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(4 * CLAIM_CODE_GROUPS))
    return "-".join(chars[i : i + 4] for i in range(0, len(chars), 4))


@dataclass(frozen=True, slots=True)
class OwnerLink:
    """A participant's ownership of one battery (``unlinked_at`` set once it ended)."""

    id: int
    participant: str
    passport_id: str
    battery_id: str
    custodian: str
    linked_at: float
    unlinked_at: float | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class Share:
    """A consented grant of one passport's data (``grantee`` None: whoever holds the bearer link)."""

    id: int
    passport_id: str
    battery_id: str
    grantor: str
    grantee: str | None
    tier: str
    kinds: tuple[str, ...]
    purpose: str | None
    created_at: float
    expires_at: float
    revoked_at: float | None
    revoked_by: str | None

    def active(self, now: float) -> bool:
        return self.revoked_at is None and now < self.expires_at


@dataclass(frozen=True, slots=True)
class AccessEntry:
    """One read of restricted data."""

    id: int
    at: float
    passport_id: str
    reader: str
    basis: str
    what: str
    detail: dict[str, Any] | None


_LINK_COLUMNS = "id, participant, passport_id, battery_id, custodian, linked_at, unlinked_at, reason"
_SHARE_COLUMNS = (
    "id, passport_id, battery_id, grantor, grantee, tier, kinds, purpose, created_at, expires_at, "
    "revoked_at, revoked_by"
)


def _share(row: tuple[Any, ...]) -> Share:
    kinds = tuple(str(kind) for kind in json.loads(row[6]))
    return Share(
        row[0], row[1], row[2], row[3], row[4], row[5], kinds, row[7], row[8], row[9], row[10], row[11]
    )


class OwnershipStore:
    """Claim codes, owner links, sessions, shares and the access log (see the module docstring)."""

    def __init__(self, database: Database | Path, *, clock: Callable[[], float] = time.time) -> None:
        """``database``: an open database (its ``ownership`` migrations applied), or a SQLite file path."""
        self.clock = clock
        self._db = open_sqlite(database, COMPONENT) if isinstance(database, Path) else database

    @classmethod
    def from_settings(cls, settings: Settings) -> OwnershipStore:
        """The store at ``Settings.ownership_path``, or in PostgreSQL when ``database_url`` is set."""
        return cls(open_database(settings, component=COMPONENT, sqlite_path=settings.ownership_path))

    def close(self) -> None:
        self._db.close()

    def now(self) -> float:
        return self.clock()

    def _rows(self, sql: str, params: Iterable[object] = ()) -> list[tuple[Any, ...]]:
        return self._db.query(sql, tuple(params))

    def _write(self, statements: Iterable[tuple[str, tuple[object, ...]]]) -> None:
        with self._db.transaction() as cur:
            for sql, params in statements:
                cur.execute(sql, params)

    # -- claim codes -------------------------------------------------------------------------------

    def issue_claim(
        self, passport_id: str, battery_id: str, issued_by: str, ttl_s: float
    ) -> tuple[str, float]:
        """A new claim code for the passport (returned once) and its expiry; voids unused earlier ones."""
        code = new_claim_code()
        now = self.now()
        self._write(
            [
                (
                    "UPDATE claim_codes SET voided_at = ? WHERE passport_id = ? AND used_at IS NULL "
                    "AND voided_at IS NULL",
                    (now, passport_id),
                ),
                (
                    "INSERT INTO claim_codes (code_sha256, passport_id, battery_id, issued_by, issued_at, "
                    "expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (_sha(normalise_code(code)), passport_id, battery_id, issued_by, now, now + ttl_s),
                ),
            ]
        )
        return code, now + ttl_s

    def claim_target(self, code: str) -> tuple[str, str]:
        """(passport id, battery id) an unused, unexpired claim code is for; ``InvalidClaim`` otherwise."""
        rows = self._rows(
            "SELECT passport_id, battery_id FROM claim_codes WHERE code_sha256 = ? AND used_at IS NULL "
            "AND voided_at IS NULL AND expires_at > ?",
            (_sha(normalise_code(code)), self.now()),
        )
        if not rows:
            raise InvalidClaim("the claim code is unknown, already used or expired")
        return str(rows[0][0]), str(rows[0][1])

    def redeem_claim(self, code: str, participant: str, custodian: str) -> OwnerLink:
        """Burn ``code`` and link ``participant`` to its battery (ending any earlier owner's link)."""
        digest = _sha(normalise_code(code))
        now = self.now()
        with self._db.transaction() as cur:
            cur.execute(
                "UPDATE claim_codes SET used_at = ?, used_by = ? WHERE code_sha256 = ? "
                "AND used_at IS NULL AND voided_at IS NULL AND expires_at > ? "
                "RETURNING passport_id, battery_id",
                (now, participant, digest, now),
            )
            row = cur.fetchone()
            if row is None:
                raise InvalidClaim("the claim code is unknown, already used or expired")
            passport_id, battery_id = str(row[0]), str(row[1])
            # Possession of the code proves the vehicle changed hands: earlier owners are unlinked.
            cur.execute(
                "UPDATE owner_links SET unlinked_at = ?, reason = 'claimed by a new owner' "
                "WHERE passport_id = ? AND unlinked_at IS NULL",
                (now, passport_id),
            )
            link_id = cur.insert(
                "INSERT INTO owner_links (participant, passport_id, battery_id, custodian, linked_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (participant, passport_id, battery_id, custodian, now),
            )
        return OwnerLink(link_id, participant, passport_id, battery_id, custodian, now, None, None)

    # -- owner links -------------------------------------------------------------------------------

    def links(
        self,
        *,
        participant: str | None = None,
        passport_id: str | None = None,
        battery_id: str | None = None,
        current: bool = True,
    ) -> list[OwnerLink]:
        sql = f"SELECT {_LINK_COLUMNS} FROM owner_links WHERE 1 = 1"  # noqa: S608 — fixed columns
        params: list[object] = []
        if participant is not None:
            sql += " AND participant = ?"
            params.append(participant)
        if passport_id is not None:
            sql += " AND passport_id = ?"
            params.append(passport_id)
        if battery_id is not None:
            sql += " AND battery_id = ?"
            params.append(battery_id)
        if current:
            sql += " AND unlinked_at IS NULL"
        return [OwnerLink(*row) for row in self._rows(sql + " ORDER BY id", params)]

    def unlink(self, passport_id: str, reason: str, *, participant: str | None = None) -> list[OwnerLink]:
        """End the current owner links of the passport (optionally only ``participant``'s); returns them."""
        ended = self.links(passport_id=passport_id, participant=participant)
        now = self.now()
        self._write(
            [
                (
                    "UPDATE owner_links SET unlinked_at = ?, reason = ? WHERE id = ?",
                    (now, reason[:200], link.id),
                )
                for link in ended
            ]
        )
        return ended

    # -- sessions and sign-in links ------------------------------------------------------------------

    def start_session(self, participant: str, ttl_s: float) -> tuple[str, float]:
        token = secrets.token_urlsafe(32)
        now = self.now()
        self._write(
            [
                (
                    "INSERT INTO sessions (token_sha256, participant, created_at, expires_at) "
                    "VALUES (?, ?, ?, ?)",
                    (_sha(token), participant, now, now + ttl_s),
                )
            ]
        )
        return token, now + ttl_s

    def session_participant(self, token: str) -> str | None:
        rows = self._rows(
            "SELECT participant FROM sessions WHERE token_sha256 = ? AND ended_at IS NULL AND expires_at > ?",
            (_sha(token), self.now()),
        )
        return str(rows[0][0]) if rows else None

    def end_session(self, token: str) -> None:
        self._write([("UPDATE sessions SET ended_at = ? WHERE token_sha256 = ?", (self.now(), _sha(token)))])

    def issue_sign_in_link(self, participant: str, passport_id: str, ttl_s: float) -> tuple[str, float]:
        token = secrets.token_urlsafe(32)
        expires = self.now() + ttl_s
        self._write(
            [
                (
                    "INSERT INTO sign_in_links (token_sha256, participant, passport_id, expires_at) "
                    "VALUES (?, ?, ?, ?)",
                    (_sha(token), participant, passport_id, expires),
                )
            ]
        )
        return token, expires

    def redeem_sign_in_link(self, token: str, passport_id: str) -> str:
        """Burn a one-time sign-in link for ``passport_id``; its participant, or ``InvalidClaim``."""
        now = self.now()
        with self._db.transaction() as cur:
            cur.execute(
                "UPDATE sign_in_links SET used_at = ? WHERE token_sha256 = ? AND passport_id = ? "
                "AND used_at IS NULL AND expires_at > ? RETURNING participant",
                (now, _sha(token), passport_id, now),
            )
            row = cur.fetchone()
        if row is None:
            raise InvalidClaim("the sign-in link is unknown, already used or expired")
        return str(row[0])

    # -- shares ------------------------------------------------------------------------------------

    def grant(
        self,
        *,
        passport_id: str,
        battery_id: str,
        grantor: str,
        grantee: str | None,
        tier: str,
        kinds: Iterable[str],
        purpose: str | None,
        expires_at: float,
    ) -> tuple[Share, str | None]:
        """Record a grant; for a bearer grant (``grantee`` None) also the link token, returned once."""
        token = secrets.token_urlsafe(32) if grantee is None else None
        now = self.now()
        with self._db.transaction() as cur:
            share_id = cur.insert(
                "INSERT INTO shares (passport_id, battery_id, grantor, grantee, token_sha256, tier, "
                "kinds, purpose, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    passport_id,
                    battery_id,
                    grantor,
                    grantee,
                    None if token is None else _sha(token),
                    tier,
                    json.dumps(sorted(set(kinds))),
                    purpose,
                    now,
                    expires_at,
                ),
            )
        return self.share(share_id), token

    def share(self, share_id: int) -> Share:
        rows = self._rows(f"SELECT {_SHARE_COLUMNS} FROM shares WHERE id = ?", (share_id,))  # noqa: S608
        if not rows:
            raise NotFound(f"no share {share_id}")
        return _share(rows[0])

    def shares(self, passport_id: str) -> list[Share]:
        rows = self._rows(
            f"SELECT {_SHARE_COLUMNS} FROM shares WHERE passport_id = ? ORDER BY id",  # noqa: S608
            (passport_id,),
        )
        return [_share(row) for row in rows]

    def share_by_token(self, token: str) -> Share | None:
        rows = self._rows(
            f"SELECT {_SHARE_COLUMNS} FROM shares WHERE token_sha256 = ?",  # noqa: S608
            (_sha(token),),
        )
        return _share(rows[0]) if rows else None

    def grants_for(self, grantee: str, passport_id: str) -> list[Share]:
        """The active grants naming ``grantee`` on ``passport_id``."""
        rows = self._rows(
            f"SELECT {_SHARE_COLUMNS} FROM shares WHERE grantee = ? AND passport_id = ? "  # noqa: S608
            "AND revoked_at IS NULL AND expires_at > ? ORDER BY id",
            (grantee, passport_id, self.now()),
        )
        return [_share(row) for row in rows]

    def revoke(self, share_id: int, by: str) -> Share:
        share = self.share(share_id)
        if share.revoked_at is not None:
            raise Conflict(f"share {share_id} is already revoked")
        self._write(
            [("UPDATE shares SET revoked_at = ?, revoked_by = ? WHERE id = ?", (self.now(), by, share_id))]
        )
        return self.share(share_id)

    # -- access log --------------------------------------------------------------------------------

    def log_access(
        self, passport_id: str, reader: str, basis: str, what: str, detail: dict[str, Any] | None = None
    ) -> None:
        self._write(
            [
                (
                    "INSERT INTO access_log (at, passport_id, reader, basis, what, detail) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        self.now(),
                        passport_id,
                        reader,
                        basis,
                        what,
                        None if detail is None else json.dumps(detail, sort_keys=True),
                    ),
                )
            ]
        )

    def access_log(
        self, passport_id: str, *, limit: int = 100, before: int | None = None
    ) -> list[AccessEntry]:
        """The passport's access log, newest first (``before``: entries with a smaller id)."""
        sql = "SELECT id, at, passport_id, reader, basis, what, detail FROM access_log WHERE passport_id = ?"
        params: list[object] = [passport_id]
        if before is not None:
            sql += " AND id < ?"
            params.append(before)
        rows = self._rows(sql + " ORDER BY id DESC LIMIT ?", [*params, limit])
        return [
            AccessEntry(
                row[0], row[1], row[2], row[3], row[4], row[5], None if row[6] is None else json.loads(row[6])
            )
            for row in rows
        ]
