"""The registry's version events: which account recorded which version of a passport, with what digest.

Every passport write emits one of four events naming the sender (the contract has already checked that
the version's EIP-712 signature recovers to it). Decoded here from raw logs against the registry ABI, so
an offline verifier needs no node, and from the client's decoded events, so both paths agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from passport.chain.artifacts import load_artifact
from passport.model.lifecycle import LifecycleStatus

# The argument that names the sender, per version event; ``PassportIssued`` is always version 1.
WRITER_ARGS = {
    "PassportIssued": "issuer",
    "PassportUpdated": "writer",
    "PassportStatusChanged": "custodian",
    "PassportRecycled": "recycler",
}
VERSION_EVENTS = tuple(WRITER_ARGS)


@dataclass(frozen=True, slots=True)
class RecordedVersion:
    """A passport version as the registry's event recorded it."""

    event: str
    passport_id: bytes
    version: int
    manifest_digest: bytes
    writer: str
    status: LifecycleStatus | None  # None for an update, which keeps the status it does not name
    # Named only by ``PassportIssued`` (later versions keep the issued ones).
    battery_id_hash: bytes | None = None
    predecessor: bytes | None = None


def recorded_version(name: str, args: Mapping[str, Any]) -> RecordedVersion | None:
    """The version a decoded registry event records, or None for any other event."""
    if name not in WRITER_ARGS:
        return None
    status: LifecycleStatus | None = None
    if name == "PassportIssued":
        status = LifecycleStatus(args["status"])
    elif name == "PassportStatusChanged":
        status = LifecycleStatus(args["to"])
    elif name == "PassportRecycled":
        status = LifecycleStatus.RECYCLED
    return RecordedVersion(
        event=name,
        passport_id=bytes(args["passportId"]),
        version=1 if name == "PassportIssued" else int(args["version"]),
        manifest_digest=bytes(args["manifestDigest"]),
        writer=to_checksum_address(args[WRITER_ARGS[name]]),
        status=status,
        battery_id_hash=bytes(args["batteryIdHash"]) if name == "PassportIssued" else None,
        predecessor=bytes(args["predecessor"]) if name == "PassportIssued" else None,
    )


@dataclass(frozen=True, slots=True)
class _EventAbi:
    name: str
    inputs: tuple[tuple[str, str, bool], ...]  # (name, type, indexed)


@cache
def _version_event_abis() -> dict[bytes, _EventAbi]:
    found: dict[bytes, _EventAbi] = {}
    for item in load_artifact().abi:
        if item.get("type") != "event" or item.get("name") not in WRITER_ARGS:
            continue
        inputs = tuple((str(i["name"]), str(i["type"]), bool(i["indexed"])) for i in item["inputs"])
        signature = f"{item['name']}({','.join(t for _, t, _ in inputs)})"
        found[keccak(text=signature)] = _EventAbi(str(item["name"]), inputs)
    return found


def decode_version_log(topics: Sequence[bytes], data: bytes) -> RecordedVersion | None:
    """The version a raw registry log records, or None if it is not a well-formed version event."""
    if not topics:
        return None
    abi = _version_event_abis().get(topics[0])
    if abi is None:
        return None
    indexed = [(name, kind) for name, kind, is_indexed in abi.inputs if is_indexed]
    plain = [(name, kind) for name, kind, is_indexed in abi.inputs if not is_indexed]
    if len(topics) != len(indexed) + 1:
        return None
    try:
        args = {
            name: abi_decode([kind], topic)[0]
            for (name, kind), topic in zip(indexed, topics[1:], strict=True)
        }
        values = abi_decode([kind for _, kind in plain], data)
        args |= dict(zip((name for name, _ in plain), values, strict=True))
        return recorded_version(abi.name, args)
    except (DecodingError, ValueError, TypeError, OverflowError):
        return None


def versions_in(logs: Iterable[tuple[bytes, Sequence[bytes], bytes]], registry: str) -> list[RecordedVersion]:
    """Every version recorded by ``registry``'s logs among ``(address, topics, data)`` triples."""
    wanted = bytes.fromhex(to_checksum_address(registry)[2:])
    return [
        version
        for address, topics, data in logs
        if address == wanted and (version := decode_version_log(topics, data)) is not None
    ]
