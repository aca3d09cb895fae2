"""Collection devices: their keys, the signed uploads they send, and how an upload's signature is checked.

Each device holds a secp256k1 key and is registered (in the journal) for exactly one battery. It sends
UPLOADS — a group of readings, or a single one — each carrying its device id, battery id and a
per-device sequence number, signed as an EIP-191 ``personal_sign`` message whose body is the RFC 8785
canonical JSON of::

    {"battery_id": ..., "device_id": ..., "readings": [...], "seq": n, "type": UPLOAD_TYPE}

``type`` separates upload signatures from anything else the same key might ever sign. Any Ethereum
wallet or ``eth_account.Account.sign_message(encode_defunct(primitive=body))`` produces the signature;
``DeviceKey.sign`` is the one signer here (devices, simulators, tests).

One signature per upload (not per reading) is what makes the ingestion target affordable: recovery
costs ~50 µs with libsecp256k1 (coincurve), so a 50-reading upload spends ~1 µs per reading on it.
Recovery calls coincurve directly; ``eth_keys`` would pick the same coincurve backend (checked in the
tests) but adds ~50 µs of object plumbing per call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from json.encoder import encode_basestring  # the C string encoder
from typing import Annotated, Any

import coincurve
from eth_utils.address import to_checksum_address
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from oracle.errors import BadSignature, MalformedUpload
from oracle.merkle import keccak256
from oracle.readings import problems_of
from passport.canonical import canonical_json, flat_canonical_json
from passport.errors import CanonicalJsonError, InvalidIdentifier
from passport.ids import BATTERY_ID_PATTERN, validate_battery_id

UPLOAD_TYPE = "battery-passport-ledger/device-upload/v1"
# Devices buffer while offline; a day of 1-minute readings is ~1,500, so 10,000 is generous but bounded.
MAX_READINGS_PER_UPLOAD = 10_000
MAX_SEQ = 2**53 - 1  # JSON-safe integer
_DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{2,63}$")
_SIGNATURE = re.compile(r"^0x[0-9a-fA-F]{130}$")
# secp256k1 group order; EIP-2 signatures have s <= n/2, which closes the (harmless but confusing)
# second valid signature (r, n - s) for the same message.
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def validate_device_id(device_id: str) -> str:
    """Return ``device_id`` if it is 3-64 letters, digits or ``. _ : -``; else raise ``InvalidIdentifier``."""
    if not isinstance(device_id, str) or not _DEVICE_ID.fullmatch(device_id):
        raise InvalidIdentifier(f"invalid device id {device_id!r}: 3-64 characters of letters, digits, ._:-")
    return device_id


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    """A registered collection device: the key it signs with and the one battery it reports on."""

    device_id: str
    address: str  # checksummed
    battery_id: str
    registered_at: float
    active: bool
    last_seq: int  # 0 until the first upload is accepted


def _integral(value: object) -> object:
    """JSON has one number type: ``7.0`` is the integer 7 (as a JSON Schema "integer" allows); ``7.5``
    and ``"7"`` stay what they are, for strict validation to refuse."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


class SignedUpload(BaseModel):
    """An upload as it arrives: envelope fields, the raw reading objects, and the device's signature.

    Readings stay raw JSON here so that one bad reading rejects only itself (``oracle.readings``
    validates each), while the envelope must be well formed for the upload to be considered at all.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    device_id: str = Field(pattern=_DEVICE_ID.pattern)
    battery_id: str = Field(pattern=BATTERY_ID_PATTERN)
    seq: Annotated[int, BeforeValidator(_integral)] = Field(ge=1, le=MAX_SEQ)
    readings: list[Any] = Field(min_length=1, max_length=MAX_READINGS_PER_UPLOAD)
    signature: str = Field(pattern=_SIGNATURE.pattern)


def parse_upload(value: Mapping[str, Any] | SignedUpload) -> SignedUpload:
    """The envelope of ``value`` validated, or ``MalformedUpload`` listing each problem by path."""
    if isinstance(value, SignedUpload):
        return value
    try:
        upload = SignedUpload.model_validate(value)
        validate_battery_id(upload.battery_id)
    except ValidationError as exc:
        problems = problems_of(exc)
        raise MalformedUpload(
            "malformed upload: " + "; ".join(f"{p}: {why}" for p, why in problems)
        ) from None
    except InvalidIdentifier as exc:
        raise MalformedUpload(f"malformed upload: battery_id: {exc}") from None
    return upload


def canonical_readings(readings: Sequence[Any]) -> list[bytes]:
    """Each reading's canonical bytes; ``MalformedUpload`` if one is not JSON at all (unsignable)."""
    try:
        return [flat_canonical_json(reading) for reading in readings]
    except CanonicalJsonError as exc:
        raise MalformedUpload(f"malformed upload: readings: {exc}") from None


def json_string(text: str) -> bytes:
    """The canonical JSON bytes of the string ``text`` (``canonical_json(text)``, in one C call)."""
    # Ids are checked ASCII before a body is built; only a lone surrogate (never an id) needs the
    # reference's refusal.
    try:
        return encode_basestring(text).encode("utf-8")
    except UnicodeEncodeError:
        return canonical_json(text)


_UPLOAD_TYPE_JSON = canonical_json(UPLOAD_TYPE)


def upload_body(device_id: str, battery_id: str, seq: int, readings: Sequence[bytes]) -> bytes:
    """The canonical bytes a device signs, assembled from each reading's canonical bytes.

    JCS serialises nested values independently of where they sit, so splicing the readings' canonical
    bytes into the (fixed, already sorted) envelope gives exactly ``canonical_json`` of the whole
    upload without canonicalising every reading twice (a test checks the equality).
    """
    return b"".join(
        (
            b'{"battery_id":',
            json_string(battery_id),
            b',"device_id":',
            json_string(device_id),
            b',"readings":[',
            b",".join(readings),
            b'],"seq":',
            str(seq).encode(),
            b',"type":',
            _UPLOAD_TYPE_JSON,
            b"}",
        )
    )


def signing_hash(body: bytes) -> bytes:
    """The EIP-191 (version 0x45, ``personal_sign``) hash of ``body``."""
    return keccak256(b"\x19Ethereum Signed Message:\n" + str(len(body)).encode() + body)


def recover_signer(body: bytes, signature: bytes) -> str:
    """Checksummed address whose key made ``signature`` over ``body``; ``BadSignature`` if none can."""
    return to_checksum_address(recover_address(body, signature))


def recover_address(body: bytes, signature: bytes) -> bytes:
    """The 20-byte address whose key made ``signature`` over ``body``; ``BadSignature`` if none can.

    Raw bytes: checksumming an address costs more than recovering it (~30 µs of Python per upload),
    and comparing needs none.
    """
    if len(signature) != 65:
        raise BadSignature(f"signature must be 65 bytes (r, s, v), got {len(signature)}")
    v = signature[64]
    recovery_id = v - 27 if v >= 27 else v
    if recovery_id not in (0, 1):
        raise BadSignature(f"signature v={v} is not 27/28 (or 0/1)")
    s = int.from_bytes(signature[32:64], "big")
    if not 0 < s <= _SECP256K1_N // 2:
        raise BadSignature("signature s is not in the lower half of the curve order (EIP-2)")
    try:
        public_key = coincurve.PublicKey.from_signature_and_message(
            signature[:64] + bytes([recovery_id]), signing_hash(body), hasher=None
        )
    except (ValueError, TypeError) as exc:
        raise BadSignature(f"signature does not recover a public key: {exc}") from None
    return keccak256(public_key.format(compressed=False)[1:])[12:]


def verify_signature(upload: SignedUpload, body: bytes, device: DeviceRecord | str) -> None:
    """Raise ``BadSignature`` unless ``device``'s key (or this checksummed address) signed ``body``."""
    address = device if isinstance(device, str) else device.address
    signer = recover_address(body, bytes.fromhex(upload.signature[2:]))
    if signer != bytes.fromhex(address[2:]):
        raise BadSignature(
            f"upload {upload.device_id}#{upload.seq} is signed by {to_checksum_address(signer)}, "
            "not by the device"
        )


# -- the device side (firmware, simulators, tests) ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceKey:
    """A device's signing key and the address it registers under.

    Signing calls libsecp256k1 (coincurve) directly: the signature is byte for byte what
    ``eth_account``'s ``personal_sign`` gives (RFC 6979 nonces, low s; a test checks it), at a tenth of
    the cost, which matters to the simulators that sign a year of a fleet's uploads.
    """

    private_key: bytes
    address: str
    _signer: coincurve.PrivateKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        signer = coincurve.PrivateKey(self.private_key)
        object.__setattr__(self, "_signer", signer)  # frozen: set once here
        if _address_of(signer) != self.address:
            raise ValueError(f"address {self.address} is not the address of this private key")

    @classmethod
    def generate(cls) -> DeviceKey:
        """A fresh key (from ``os.urandom``)."""
        return cls.from_private_key(coincurve.PrivateKey().secret)

    @classmethod
    def from_private_key(cls, private_key: bytes) -> DeviceKey:
        return cls(private_key=private_key, address=_address_of(coincurve.PrivateKey(private_key)))

    def sign(self, body: bytes) -> str:
        """The 0x-hex EIP-191 ``personal_sign`` signature (r ‖ s ‖ v, v = 27/28) of ``body``."""
        raw = self._signer.sign_recoverable(signing_hash(body), hasher=None)
        return "0x" + raw[:64].hex() + bytes([raw[64] + 27]).hex()


def _address_of(key: coincurve.PrivateKey) -> str:
    return to_checksum_address(keccak256(key.public_key.format(compressed=False)[1:])[12:])


def sign_upload(
    key: DeviceKey, device_id: str, battery_id: str, seq: int, readings: Sequence[Mapping[str, Any]]
) -> SignedUpload:
    """Build and sign an upload the way a device does (EIP-191 ``personal_sign`` over its body)."""
    values = [dict(reading) for reading in readings]
    body = upload_body(device_id, battery_id, seq, canonical_readings(values))
    return SignedUpload(
        device_id=device_id, battery_id=battery_id, seq=seq, readings=values, signature=key.sign(body)
    )
