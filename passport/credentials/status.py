"""W3C Bitstring Status List v1.0: one revocation list per issuer, its bits derived from the ledger.

A passport gets one index in its issuer's list when its first credential is exported (``StatusIndex``, a
small table, SQLite or the ``credentials`` schema of PostgreSQL: which index each issuer gave each
passport, and whether the issuer revoked its credentials of it). The ledger's part of the bits is not
stored: the list is built each time it is served, a bit set for every passport that is closed (superseded
by a successor or recycled) or that the issuer revoked (a credential issued in error; the ledger itself
is append-only). So the list cannot drift from the chain, and a passport's credentials are reported
revoked as soon as the ledger closes it. Every version's credential of one passport shares the passport's
index: a newer version of an open passport does not revoke the older credential (the anchor check tells a
verifier which is current).

Encoding (spec section 3): a bitstring of at least 131,072 bits (16 KiB, for herd privacy), index 0
the most significant bit of the first byte, GZIP-compressed, base64url without padding, with the
multibase prefix ``u``.
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from passport.db import Database, StorageError, StorageIntegrityError, open_database, open_sqlite
from passport.errors import CredentialError, CredentialInvalid
from passport.settings import Settings

#: The spec's minimum list length.
LIST_BITS: Final = 131_072
STATUS_PURPOSE: Final = "revocation"
#: The database component (PostgreSQL schema, migrations folder) of the status index.
COMPONENT: Final = "credentials"


def encode_list(set_bits: Iterable[int], size: int = LIST_BITS) -> str:
    """The multibase (``u`` + base64url) GZIP of a bitstring of ``size`` bits with ``set_bits`` on."""
    bits = bytearray(size // 8)
    for index in set_bits:
        if not 0 <= index < size:
            raise CredentialInvalid(f"status index {index} outside a list of {size} bits")
        bits[index // 8] |= 0x80 >> (index % 8)
    # mtime=0: the same bits always give the same bytes.
    packed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(packed).rstrip(b"=").decode()


def bit_at(encoded_list: str, index: int) -> bool:
    """Whether bit ``index`` of a multibase-encoded list is set; ``CredentialInvalid`` if unreadable."""
    if not encoded_list.startswith("u"):
        raise CredentialInvalid("encodedList is not multibase base64url ('u' prefix)")
    body = encoded_list[1:]
    try:
        bits = gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, OSError, EOFError) as exc:
        raise CredentialInvalid(f"encodedList cannot be decoded: {exc}") from None
    if not 0 <= index < len(bits) * 8:
        raise CredentialInvalid(f"status index {index} outside a list of {len(bits) * 8} bits")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


class StatusIndex:
    """Which index of its status list each issuer gave each passport (allocated once, never reused)."""

    def __init__(self, database: Database | Path | str) -> None:
        """``database``: an open database (its ``credentials`` migrations applied), or a SQLite file path."""
        self._where = str(database) if isinstance(database, Path | str) else repr(database)
        try:
            self._db = open_sqlite(database, COMPONENT) if isinstance(database, Path | str) else database
        except StorageError as exc:
            raise CredentialError(f"status index {self._where} cannot be opened: {exc}") from None

    @classmethod
    def from_settings(cls, settings: Settings) -> StatusIndex:
        """The index at ``Settings.credential_status_path``, or in PostgreSQL when ``database_url`` is set."""
        if settings.database_url is None:
            return cls(settings.credential_status_path)
        try:
            return cls(open_database(settings, COMPONENT, settings.credential_status_path))
        except StorageError as exc:
            raise CredentialError(f"status index cannot be opened: {exc}") from None

    def close(self) -> None:
        self._db.close()

    def index_for(self, issuer: str, passport_id: str) -> int:
        """The passport's index in ``issuer``'s list, allocating the next free one on first use."""
        issuer = issuer.lower()
        # Two processes may allocate for one issuer at once: the loser's INSERT breaks UNIQUE (issuer,
        # idx) or the primary key, and it retries, reading the winner's row or the next free index.
        for _ in range(8):
            try:
                return self._allocate(issuer, passport_id)
            except StorageIntegrityError:
                continue
            except StorageError as exc:
                raise CredentialError(f"status index {self._where}: {exc}") from None
        raise CredentialError(f"status index {self._where}: could not allocate an index for {passport_id}")

    def _allocate(self, issuer: str, passport_id: str) -> int:
        with self._db.transaction() as cur:
            row = cur.execute(
                "SELECT idx FROM status_index WHERE issuer = ? AND passport_id = ?", (issuer, passport_id)
            ).fetchone()
            if row is not None:
                return int(row[0])
            counted = cur.execute("SELECT COUNT(*) FROM status_index WHERE issuer = ?", (issuer,)).fetchone()
            count = 0 if counted is None else int(counted[0])
            if count >= LIST_BITS:
                raise CredentialError(f"the status list of {issuer} is full ({LIST_BITS} passports)")
            cur.execute(
                "INSERT INTO status_index (issuer, passport_id, idx) VALUES (?, ?, ?)",
                (issuer, passport_id, count),
            )
            return count

    def revoke(self, issuer: str, passport_id: str) -> int:
        """Mark ``issuer``'s credentials of the passport revoked (whatever the ledger says); its index."""
        index = self.index_for(issuer, passport_id)
        try:
            with self._db.transaction() as cur:
                cur.execute(
                    "UPDATE status_index SET revoked = 1 WHERE issuer = ? AND passport_id = ?",
                    (issuer.lower(), passport_id),
                )
        except StorageError as exc:
            raise CredentialError(f"status index {self._where}: {exc}") from None
        return index

    def entries(self, issuer: str) -> list[tuple[str, int, bool]]:
        """Every (passport id, index, revoked by the issuer) ``issuer`` allocated, by index."""
        try:
            rows = self._db.query(
                "SELECT passport_id, idx, revoked FROM status_index WHERE issuer = ? ORDER BY idx",
                (issuer.lower(),),
            )
        except StorageError as exc:
            raise CredentialError(f"status index {self._where}: {exc}") from None
        return [(str(pid), int(idx), bool(revoked)) for pid, idx, revoked in rows]
