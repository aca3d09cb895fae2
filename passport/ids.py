"""Identifiers: passport ids, hashed battery ids, and their 32-byte on-chain forms."""

from __future__ import annotations

import re
import uuid

from eth_utils.crypto import keccak

from passport.errors import InvalidIdentifier

# Battery identifiers are manufacturer serials: letters, digits and a few separators. Anything else is
# refused rather than normalised, so the same battery can never hash two ways.
BATTERY_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{2,127}$"
_BATTERY_ID = re.compile(BATTERY_ID_PATTERN)
# The text forms of a passport id: a hyphenated UUID, optionally as a ``urn:uuid:`` URN, or its bytes32
# hex. Exactly these: the looser spellings ``uuid.UUID`` also takes ({braces}, no hyphens) are refused,
# so the pattern an API schema shows is the whole truth.
PASSPORT_ID_PATTERN = (
    r"^(urn:uuid:)?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|0x0{32}[0-9a-fA-F]{32})$"
)
_PASSPORT_ID = re.compile(PASSPORT_ID_PATTERN)
# A 32-byte value in hex, the 0x prefix optional (digests, hashes, roots).
BYTES32_PATTERN = r"^(0x)?[0-9a-fA-F]{64}$"
_BYTES32 = re.compile(r"[0-9a-fA-F]{64}")
# Domain separation: a battery-id hash can never collide with another keccak use in the ledger.
_BATTERY_ID_DOMAIN = b"battery-passport-ledger/battery-id/v1:"
ZERO32 = b"\x00" * 32


def validate_battery_id(battery_id: str) -> str:
    """Return ``battery_id`` unchanged if it is a well-formed serial, else raise ``InvalidIdentifier``."""
    if not isinstance(battery_id, str) or not _BATTERY_ID.fullmatch(battery_id):
        raise InvalidIdentifier(
            f"invalid battery id {battery_id!r}: 3-128 characters of letters, digits and . _ : / -"
        )
    return battery_id


def battery_id_hash(battery_id: str) -> bytes:
    """The on-chain form of a battery id: keccak256 over a domain prefix and the serial.

    The raw serial never goes on-chain; whoever holds the serial (on the battery label, in the QR's
    public section) can recompute and look up the hash.
    """
    return keccak(_BATTERY_ID_DOMAIN + validate_battery_id(battery_id).encode())


def parse_passport_id(value: str | uuid.UUID | bytes) -> uuid.UUID:
    """Parse a passport id from ``urn:uuid:…``, a plain UUID string, a UUID, or its bytes32 form."""
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, bytes):
        if len(value) != 32 or value[:16] != b"\x00" * 16:
            raise InvalidIdentifier(f"invalid bytes32 passport id 0x{value.hex()}")
        return uuid.UUID(bytes=value[16:])
    if not isinstance(value, str) or not _PASSPORT_ID.fullmatch(value):
        raise InvalidIdentifier(f"invalid passport id {value!r}: expected a UUID")
    text = value.removeprefix("urn:uuid:")
    if text.startswith("0x"):
        return parse_passport_id(bytes.fromhex(text[2:]))
    return uuid.UUID(text)


def passport_id_bytes32(passport_id: str | uuid.UUID | bytes) -> bytes:
    """The on-chain key of a passport: its 16 UUID bytes, left-padded to 32 (reversible)."""
    return b"\x00" * 16 + parse_passport_id(passport_id).bytes


def parse_bytes32(value: str | bytes, what: str = "value") -> bytes:
    """Parse a 32-byte value from ``0x``-hex or bytes, raising ``InvalidIdentifier`` with ``what``."""
    if isinstance(value, bytes):
        raw = value
    else:
        text = value.removeprefix("0x")
        if not _BYTES32.fullmatch(text):
            raise InvalidIdentifier(f"invalid {what} {value!r}: expected 32 bytes of hex")
        raw = bytes.fromhex(text)
    if len(raw) != 32:
        raise InvalidIdentifier(f"invalid {what}: expected 32 bytes, got {len(raw)}")
    return raw
