"""Arguments and options several command groups take, and their parsing into checked values.

Malformed values exit 2 with the library's own message (``InvalidIdentifier``), before anything is opened.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import typer

from cli.output import reported
from passport.ids import parse_bytes32, parse_passport_id

PassportArg = Annotated[str, typer.Argument(help="Passport id (UUID, urn:uuid:…, or 0x bytes32).")]
AccountArg = Annotated[str, typer.Argument(help="Account address (0x-hex; EIP-55 checked when mixed case).")]


def as_option(who: str) -> Any:
    """``--as PARTICIPANT``: the keystore participant a write acts as (``who`` says whom by default)."""
    return typer.Option("--as", help=f"Keystore participant to act as ({who}).")


def passport_id(value: str) -> uuid.UUID:
    with reported():
        return parse_passport_id(value)


def address(value: str) -> str:
    """``value`` as an EIP-55 checksummed address."""
    from eth_utils.address import to_checksum_address

    from passport.audit.records import normalize_address

    with reported():
        return str(to_checksum_address(normalize_address(value)))


def bytes32(value: str, what: str) -> bytes:
    with reported():
        return parse_bytes32(value, what)
