"""What the audit index holds and answers with: indexed events, queries, pages and sync reports."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from eth_utils.address import is_checksum_address
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from passport.audit.kinds import LedgerEvent
from passport.errors import InvalidIdentifier, InvalidPageToken
from passport.ids import parse_bytes32, passport_id_bytes32

MAX_PAGE_SIZE = 1000
# SQLite integers are signed 64-bit: a block number, timestamp or page position past this cannot be
# stored, so no query may name one (Python would raise OverflowError binding it).
MAX_INDEX_INT = 2**63 - 1
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def hex32(value: bytes) -> str:
    """The index's text form of a 32-byte value: lowercase ``0x``-hex (what every lookup compares)."""
    return "0x" + value.hex()


def normalize_passport_id(value: str | uuid.UUID | bytes) -> str:
    """A passport id (UUID, ``urn:uuid:``, bytes32 or its hex) in the index's lowercase hex form."""
    return hex32(passport_id_bytes32(value))


def normalize_bytes32(value: str | bytes, what: str) -> str:
    """A 32-byte value (battery-id hash, Merkle root) in the index's lowercase hex form."""
    return hex32(parse_bytes32(value, what))


def normalize_address(value: str) -> str:
    """An account address in the index's form: lowercase ``0x``-hex, so lookups ignore the checksum."""
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
        raise InvalidIdentifier(f"invalid address {value!r}: expected 20 bytes of 0x-hex")
    # Mixed case claims an EIP-55 checksum: a typo in it must not silently select nobody's events.
    if value[2:] not in (value[2:].lower(), value[2:].upper()) and not is_checksum_address(value):
        raise InvalidIdentifier(f"invalid address {value!r}: EIP-55 checksum does not match")
    return value.lower()


@dataclass(frozen=True, slots=True)
class BlockRef:
    """A block by number and hash: the unit the index compares against the chain to spot reorgs."""

    number: int
    hash: bytes


@dataclass(frozen=True, slots=True)
class IndexedBlock:
    """A block the index keeps: one holding events, or a checkpoint at the end of a synced range."""

    number: int
    hash: bytes
    timestamp: int | None = None
    has_events: bool = False


class AuditEvent(BaseModel):
    """One ledger event as the index serves it: every byte value as lowercase ``0x``-hex, JSON-ready."""

    model_config = ConfigDict(frozen=True)

    block_number: int
    log_index: int
    block_hash: str
    block_timestamp: int | None = Field(
        default=None, description="Unix seconds; None when the chain client cannot report timestamps."
    )
    tx_hash: str
    address: str = Field(description="The emitting contract (checksummed).")
    name: str
    passport_id: str | None = None
    battery_id_hash: str | None = None
    root: str | None = None
    args: dict[str, Any] = Field(description="Decoded arguments, bytes as 0x-hex, enums as ints.")

    @property
    def key(self) -> tuple[int, int]:
        """Where the event sits in chain order; unique within one chain."""
        return (self.block_number, self.log_index)


Order = Literal["asc", "desc"]


class EventQuery(BaseModel):
    """Filters (all optional, combined with AND) plus a page size and a keyset page token.

    Identifiers are normalised on construction, so ``EventQuery(passport_id=uuid)`` and the bytes32 hex
    of the same id select the same events.
    """

    model_config = ConfigDict(frozen=True)

    passport_id: str | None = None
    battery_id_hash: str | None = None
    actor: str | None = Field(default=None, description="Any address an event names.")
    root: str | None = None
    names: tuple[str, ...] = Field(default=(), description="Event names; empty means every kind.")
    from_block: int | None = Field(default=None, ge=0, le=MAX_INDEX_INT)
    to_block: int | None = Field(default=None, ge=0, le=MAX_INDEX_INT)
    from_time: int | None = Field(
        default=None, ge=0, le=MAX_INDEX_INT, description="Unix seconds, inclusive."
    )
    to_time: int | None = Field(default=None, ge=0, le=MAX_INDEX_INT, description="Unix seconds, inclusive.")
    order: Order = "asc"
    limit: int = Field(default=100, ge=1, le=MAX_PAGE_SIZE)
    after: str | None = Field(default=None, description="Page token from the previous page's next_token.")

    @field_validator("passport_id", mode="before")
    @classmethod
    def _passport_id(cls, value: object) -> object:
        if isinstance(value, str | bytes | uuid.UUID):
            return normalize_passport_id(value)
        return value

    @field_validator("battery_id_hash", "root", mode="before")
    @classmethod
    def _bytes32(cls, value: object) -> object:
        if isinstance(value, str | bytes):
            return normalize_bytes32(value, "32-byte hex value")
        return value

    @field_validator("names")
    @classmethod
    def _names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - {e.value for e in LedgerEvent})
        if unknown:
            raise ValueError(f"unknown event names {unknown}")
        return value

    @field_validator("after")
    @classmethod
    def _after(cls, value: str | None) -> str | None:
        if value is not None:
            decode_page_token(value)
        return value

    @field_validator("actor", mode="before")
    @classmethod
    def _actor(cls, value: object) -> object:
        return normalize_address(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _ranges(self) -> EventQuery:
        if self.from_block is not None and self.to_block is not None and self.from_block > self.to_block:
            raise ValueError("from_block is after to_block")
        if self.from_time is not None and self.to_time is not None and self.from_time > self.to_time:
            raise ValueError("from_time is after to_time")
        return self


class EventPage(BaseModel):
    """One page of events in the query's order; ``next_token`` is None on the last page."""

    model_config = ConfigDict(frozen=True)

    items: tuple[AuditEvent, ...]
    next_token: str | None = None


# A page token is the (block, log index) the previous page ended at, as "<block>.<log index>". Eighteen
# digits each keep it below 2**63 (what SQLite stores), so the pattern alone says which tokens are valid.
PAGE_TOKEN_PATTERN = r"^[0-9]{1,18}\.[0-9]{1,18}$"  # noqa: S105  (a pattern, not a secret)
_PAGE_TOKEN = re.compile(PAGE_TOKEN_PATTERN)


def encode_page_token(key: tuple[int, int]) -> str:
    """The token for "the page after ``key``": the last (block, log index) seen.

    Keyset tokens stay valid while the index grows (no OFFSET drift). After a reorg rolls events back,
    a token still means "after this position", so paging continues without repeating events. A token
    carries no order: it is a position, and "after" follows the query's order.
    """
    return f"{key[0]}.{key[1]}"


def decode_page_token(token: str) -> tuple[int, int]:
    """The (block, log index) a token points after; raises ``InvalidPageToken`` if it is not one."""
    if not isinstance(token, str) or not _PAGE_TOKEN.fullmatch(token):
        raise InvalidPageToken(f"malformed page token {token!r}: expected <block>.<log index>")
    block, log_index = token.split(".")
    return int(block), int(log_index)


@dataclass(frozen=True, slots=True)
class Reorg:
    """A reorganisation the follower found: the tip it had indexed, and the last block still shared."""

    old_tip: BlockRef
    fork_block: int  # the highest indexed block still on the canonical chain (start_block - 1 if none)
    events_removed: int


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What one ``IndexFollower.sync`` call did."""

    head: int
    target: int  # head - confirmations: the newest block the index may hold
    from_block: int | None  # first block read this call (None when already up to date)
    to_block: int | None  # last block read this call
    events_added: int
    reorgs: tuple[Reorg, ...]
    cursor: BlockRef | None

    @property
    def caught_up(self) -> bool:
        return self.cursor is not None and self.cursor.number >= self.target
