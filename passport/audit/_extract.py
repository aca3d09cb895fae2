"""Turning a decoded ``LedgerEvent`` into index rows: JSON arguments and lookup references.

Lookups are derived from argument names and types rather than a per-event table, so a new registry event
is indexed (and findable by passport, battery, actor or root) without touching this module, as long as
it follows the registry's naming: ``passportId`` / ``predecessorId`` / ``successorId`` for passports,
``batteryIdHash`` for batteries, ``root`` for anchored batches, and address-typed arguments for actors.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from eth_utils.address import is_address

from passport.chain.records import LedgerEvent

RefKind = Literal["passport", "battery", "actor", "root"]

_ZERO32 = b"\x00" * 32
_ZERO_ADDRESS = "0x" + "00" * 20


@dataclass(frozen=True, slots=True)
class EventRow:
    """An event flattened for storage; ``refs`` are every (kind, value) an auditor may look it up by."""

    block_number: int
    log_index: int
    block_hash: str
    tx_hash: str
    address: str
    name: str
    passport_id: str | None
    battery_id_hash: str | None
    root: str | None
    args_json: str
    refs: frozenset[tuple[RefKind, str]]


def jsonable(value: Any) -> Any:
    """``value`` with bytes as lowercase ``0x``-hex and enums as plain ints, ready for ``json.dumps``."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, bool):
        return value
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, int | str | float) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, Iterable):
        return [jsonable(v) for v in value]
    raise TypeError(f"cannot index an event argument of type {type(value).__name__}")


def _ref_kind(arg: str, value: Any) -> RefKind | None:
    if isinstance(value, str):
        return "actor" if is_address(value) and value.lower() != _ZERO_ADDRESS else None
    if not isinstance(value, bytes) or len(value) != 32 or value == _ZERO32:
        return None
    lowered = arg.lower()
    # Order matters: "batteryIdHash" must not be read as a passport id because it ends in "Hash"/"Id".
    if "battery" in lowered:
        return "battery"
    if lowered == "root" or lowered.endswith("root"):
        return "root"
    if "passport" in lowered or lowered in {"predecessor", "predecessorid", "successor", "successorid"}:
        return "passport"
    return None


def event_row(event: LedgerEvent) -> EventRow:
    """Flatten ``event``; the primary passport is ``passportId`` when present, else the first found."""
    refs: set[tuple[RefKind, str]] = set()
    primary: dict[RefKind, str] = {}
    for arg, value in event.args.items():
        kind = _ref_kind(arg, value)
        if kind is None:
            continue
        text = value.lower() if isinstance(value, str) else "0x" + value.hex()
        refs.add((kind, text))
        if kind not in primary or arg == "passportId":
            primary[kind] = text
    return EventRow(
        block_number=event.block_number,
        log_index=event.log_index,
        block_hash="0x" + event.block_hash.hex(),
        tx_hash="0x" + event.tx_hash.hex(),
        address=event.address,
        name=event.name,
        passport_id=primary.get("passport"),
        battery_id_hash=primary.get("battery"),
        root=primary.get("root"),
        # Sorted keys: the same event always serialises to the same text, so a rebuilt index compares
        # equal to the live one row for row.
        args_json=json.dumps(jsonable(event.args), sort_keys=True, separators=(",", ":")),
        refs=frozenset(refs),
    )
