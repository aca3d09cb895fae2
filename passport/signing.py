"""EIP-712 signatures over passport versions: the issuer's statement, checkable on and off chain.

The struct and domain here are exactly what ``BatteryPassportRegistry`` hashes with OpenZeppelin's
``EIP712`` and recovers with ``ECDSA.recover``::

    EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)
        name = "BatteryPassportRegistry", version = "1", chainId, verifyingContract = the registry
    PassportVersion(bytes32 passportId,bytes32 batteryIdHash,uint32 version,uint8 status,
                    bytes32 manifestDigest,bytes32 predecessor)

Recovery applies OpenZeppelin's rules too (65 bytes, ``v`` in {27, 28}, ``s`` in the lower half of the
curve order), so a signature accepted offline is one the contract accepts, and a malleated twin of a
valid signature is refused rather than recovered to the same signer.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from coincurve import PrivateKey
from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_keys.exceptions import BadSignature
from eth_utils.address import is_checksum_address, to_checksum_address
from eth_utils.crypto import keccak

from passport.errors import InvalidIdentifier, SignatureError
from passport.ids import ZERO32
from passport.model import LifecycleStatus

DOMAIN_NAME = "BatteryPassportRegistry"
DOMAIN_VERSION = "1"
PRIMARY_TYPE = "PassportVersion"
PASSPORT_VERSION_TYPE = (
    "PassportVersion(bytes32 passportId,bytes32 batteryIdHash,uint32 version,uint8 status,"
    "bytes32 manifestDigest,bytes32 predecessor)"
)
DOMAIN_TYPE = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
SIGNATURE_BYTES = 65
MAX_VERSION = 2**32 - 1
# secp256k1 group order; OpenZeppelin's ECDSA rejects s above half of it (EIP-2 malleability).
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

_TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    PRIMARY_TYPE: [
        {"name": "passportId", "type": "bytes32"},
        {"name": "batteryIdHash", "type": "bytes32"},
        {"name": "version", "type": "uint32"},
        {"name": "status", "type": "uint8"},
        {"name": "manifestDigest", "type": "bytes32"},
        {"name": "predecessor", "type": "bytes32"},
    ],
}


_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


def checksum_address(value: str, what: str = "address") -> str:
    """``value`` as an EIP-55 checksummed address; raises ``InvalidIdentifier``.

    Stricter than ``eth_utils.is_address`` (which accepts ``0X`` and a wrong mixed-case checksum): a
    mixed-case address must carry a valid checksum, since a wrong one means a mistyped or altered value.
    """
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
        raise InvalidIdentifier(f"invalid {what} {value!r}: expected 0x and 40 hex digits")
    body = value[2:]
    if body != body.lower() and body != body.upper() and not is_checksum_address(value):
        raise InvalidIdentifier(f"invalid {what} {value!r}: wrong EIP-55 checksum")
    return to_checksum_address(value)


def address_of(private_key: bytes) -> str:
    """The checksummed Ethereum address of ``private_key``."""
    return str(Account.from_key(private_key).address)


def _bytes32(value: bytes, what: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != 32:
        raise InvalidIdentifier(f"{what} must be 32 bytes")
    return value


_DOMAIN_TYPEHASH = keccak(text=DOMAIN_TYPE)
_PASSPORT_VERSION_TYPEHASH = keccak(text=PASSPORT_VERSION_TYPE)


@functools.lru_cache(maxsize=64)
def _domain_separator(name: str, version: str, chain_id: int, verifying_contract: str) -> bytes:
    # A process signs for a handful of registries: hashing the domain once each saves three keccaks
    # per signature.
    return keccak(
        _DOMAIN_TYPEHASH
        + keccak(text=name)
        + keccak(text=version)
        + chain_id.to_bytes(32, "big")
        + bytes.fromhex(verifying_contract[2:]).rjust(32, b"\0")
    )


@dataclass(frozen=True, slots=True)
class PassportDomain:
    """The EIP-712 domain of one deployed registry."""

    chain_id: int
    verifying_contract: str
    name: str = DOMAIN_NAME
    version: str = DOMAIN_VERSION

    def __post_init__(self) -> None:
        if isinstance(self.chain_id, bool) or self.chain_id <= 0:
            raise InvalidIdentifier(f"invalid chain id {self.chain_id}")
        object.__setattr__(
            self, "verifying_contract", checksum_address(self.verifying_contract, "registry address")
        )

    @property
    def separator(self) -> bytes:
        """``hashStruct(EIP712Domain)``, the domain separator OpenZeppelin's ``EIP712`` computes."""
        return _domain_separator(self.name, self.version, self.chain_id, self.verifying_contract)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "chainId": self.chain_id,
            "verifyingContract": self.verifying_contract,
        }


@dataclass(frozen=True, slots=True)
class PassportVersion:
    """The signed statement: this passport, at this version and status, commits to this manifest."""

    passport_id: bytes
    battery_id_hash: bytes
    version: int
    status: LifecycleStatus
    manifest_digest: bytes
    predecessor: bytes = ZERO32

    def __post_init__(self) -> None:
        _bytes32(self.passport_id, "passport id")
        _bytes32(self.battery_id_hash, "battery id hash")
        _bytes32(self.manifest_digest, "manifest digest")
        _bytes32(self.predecessor, "predecessor")
        if isinstance(self.version, bool) or not 1 <= self.version <= MAX_VERSION:
            raise InvalidIdentifier(f"version {self.version} is outside 1..2**32-1")
        object.__setattr__(self, "status", LifecycleStatus(self.status))

    def struct_hash(self) -> bytes:
        """``hashStruct(PassportVersion)``: every field is one static 32-byte word, so the encoding is
        the type hash followed by the fields, each left-padded to 32 bytes."""
        return keccak(
            _PASSPORT_VERSION_TYPEHASH
            + self.passport_id
            + self.battery_id_hash
            + self.version.to_bytes(32, "big")
            + int(self.status).to_bytes(32, "big")
            + self.manifest_digest
            + self.predecessor
        )

    def as_message(self) -> dict[str, Any]:
        return {
            "passportId": self.passport_id,
            "batteryIdHash": self.battery_id_hash,
            "version": self.version,
            "status": int(self.status),
            "manifestDigest": self.manifest_digest,
            "predecessor": self.predecessor,
        }


def passport_version_typed_data(domain: PassportDomain, version: PassportVersion) -> dict[str, Any]:
    """The full EIP-712 typed-data document (what ``eth_signTypedData_v4`` takes)."""
    return {
        "types": _TYPES,
        "primaryType": PRIMARY_TYPE,
        "domain": domain.as_dict(),
        "message": version.as_message(),
    }


def _signable(domain: PassportDomain, version: PassportVersion) -> SignableMessage:
    return encode_typed_data(full_message=passport_version_typed_data(domain, version))


def reference_passport_version_digest(domain: PassportDomain, version: PassportVersion) -> bytes:
    """The digest as eth_account's generic typed-data encoder computes it from the full typed-data
    document: what ``passport_version_digest`` is proven equal to (a Hypothesis test)."""
    signable = _signable(domain, version)
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def passport_version_digest(domain: PassportDomain, version: PassportVersion) -> bytes:
    """``keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(PassportVersion))``: what is signed.

    Encoded directly (three keccaks of fixed layouts) rather than through eth_account's generic
    encoder, which parses the type definitions and ABI-encodes every field anew for each passport (a
    quarter of a batch's signing time); the bytes are the same.
    """
    return keccak(b"\x19\x01" + domain.separator + version.struct_hash())


def sign_passport_version(private_key: bytes, domain: PassportDomain, version: PassportVersion) -> bytes:
    """A 65-byte ``r ‖ s ‖ v`` signature (``v`` in {27, 28}, low ``s``) by ``private_key``.

    Signed with libsecp256k1 (coincurve), which emits RFC 6979 deterministic, low-``s`` signatures: the
    same bytes eth_account would produce, without its key parsing and message wrapping per call.
    """
    try:
        signed = PrivateKey(private_key).sign_recoverable(
            passport_version_digest(domain, version), hasher=None
        )
    except (ValueError, TypeError) as exc:
        raise SignatureError(f"cannot sign passport version: {exc}") from None
    signature = signed[:64] + bytes([27 + signed[64]])
    check_signature_form(signature)  # libsecp256k1 emits canonical signatures; make sure of it
    return signature


def check_signature_form(signature: bytes) -> None:
    """Raise ``SignatureError`` unless ``signature`` is one OpenZeppelin's ``ECDSA.recover`` accepts."""
    if not isinstance(signature, bytes) or len(signature) != SIGNATURE_BYTES:
        raise SignatureError(f"signature must be {SIGNATURE_BYTES} bytes")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    v = signature[64]
    if v not in (27, 28):
        raise SignatureError(f"signature v must be 27 or 28, got {v}")
    if not 0 < r < _SECP256K1_N or not 0 < s <= _SECP256K1_N // 2:
        raise SignatureError("signature r/s out of range (malleable or invalid)")


def recover_passport_version_signer(
    domain: PassportDomain, version: PassportVersion, signature: bytes
) -> str:
    """The checksummed address that signed ``version`` under ``domain``; raises ``SignatureError``."""
    check_signature_form(signature)
    try:
        return str(Account.recover_message(_signable(domain, version), signature=signature))
    except (ValueError, TypeError, BadSignature) as exc:
        raise SignatureError(f"cannot recover signer: {exc}") from None
