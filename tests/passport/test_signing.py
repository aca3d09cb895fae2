"""EIP-712 PassportVersion signatures, checked against an encoding written out by hand."""

from __future__ import annotations

import pytest
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_keys import keys
from eth_utils.crypto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from passport.errors import InvalidIdentifier, SignatureError
from passport.model import LifecycleStatus
from passport.signing import (
    PASSPORT_VERSION_TYPE,
    PassportDomain,
    PassportVersion,
    passport_version_digest,
    passport_version_typed_data,
    recover_passport_version_signer,
    reference_passport_version_digest,
    sign_passport_version,
)
from passport.signing import _signable as eth_account_signable

KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
DOMAIN = PassportDomain(chain_id=31337, verifying_contract=REGISTRY)
VERSION = PassportVersion(
    passport_id=bytes(16) + bytes.fromhex("7a1f0c2e9b8d4f6aa3c5e7d9b1f30486"),
    battery_id_hash=keccak(b"battery"),
    version=3,
    status=LifecycleStatus.REPURPOSED,
    manifest_digest=keccak(b"manifest"),
    predecessor=bytes(16) + bytes.fromhex("0123456789abcdef0123456789abcdef"),
)
# Recorded once from the hand-written encoding below; a change here means the contract would disagree.
EXPECTED_DIGEST = "09e6227b159c30f0cfc618b4a48c2977794a99533fad42b5cbd215b5b9435886"


def manual_digest(domain: PassportDomain, v: PassportVersion) -> bytes:
    """EIP-712 from first principles: typehashes, abi.encode of the fields, the 0x1901 prefix."""
    domain_typehash = keccak(
        b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    )
    separator = keccak(
        abi_encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [
                domain_typehash,
                keccak(b"BatteryPassportRegistry"),
                keccak(b"1"),
                domain.chain_id,
                domain.verifying_contract,
            ],
        )
    )
    struct_hash = keccak(
        abi_encode(
            ["bytes32", "bytes32", "bytes32", "uint32", "uint8", "bytes32", "bytes32"],
            [
                keccak(PASSPORT_VERSION_TYPE.encode()),
                v.passport_id,
                v.battery_id_hash,
                v.version,
                int(v.status),
                v.manifest_digest,
                v.predecessor,
            ],
        )
    )
    return keccak(b"\x19\x01" + separator + struct_hash)


def test_type_string_is_the_contracts() -> None:
    assert PASSPORT_VERSION_TYPE == (
        "PassportVersion(bytes32 passportId,bytes32 batteryIdHash,uint32 version,uint8 status,"
        "bytes32 manifestDigest,bytes32 predecessor)"
    )


def test_digest_matches_the_hand_written_encoding_and_the_recorded_vector() -> None:
    assert passport_version_digest(DOMAIN, VERSION) == manual_digest(DOMAIN, VERSION)
    assert passport_version_digest(DOMAIN, VERSION).hex() == EXPECTED_DIGEST


def test_signature_is_a_plain_ecdsa_signature_over_the_digest() -> None:
    signature = sign_passport_version(KEY, DOMAIN, VERSION)
    raw = keys.PrivateKey(KEY).sign_msg_hash(manual_digest(DOMAIN, VERSION))
    assert signature == raw.to_bytes()[:64] + bytes([raw.v + 27])
    assert len(signature) == 65
    assert signature[64] in (27, 28)


def test_recover_gives_the_signer_and_eth_sign_typed_data_agrees() -> None:
    signature = sign_passport_version(KEY, DOMAIN, VERSION)
    address = Account.from_key(KEY).address
    assert recover_passport_version_signer(DOMAIN, VERSION, signature) == address
    via_wallet = Account.sign_typed_data(KEY, full_message=passport_version_typed_data(DOMAIN, VERSION))
    assert bytes(via_wallet.signature) == signature


@pytest.mark.parametrize(
    "change",
    [
        {"version": 4},
        {"status": LifecycleStatus.ORIGINAL},
        {"manifest_digest": keccak(b"other")},
        {"predecessor": bytes(32)},
        {"battery_id_hash": keccak(b"other battery")},
        {"passport_id": bytes(31) + b"\x01"},
    ],
    ids=lambda c: next(iter(c)),
)
def test_any_changed_field_recovers_another_address(change: dict[str, object]) -> None:
    signature = sign_passport_version(KEY, DOMAIN, VERSION)
    fields = {
        "passport_id": VERSION.passport_id,
        "battery_id_hash": VERSION.battery_id_hash,
        "version": VERSION.version,
        "status": VERSION.status,
        "manifest_digest": VERSION.manifest_digest,
        "predecessor": VERSION.predecessor,
    } | change
    other = PassportVersion(**fields)  # type: ignore[arg-type]
    assert recover_passport_version_signer(DOMAIN, other, signature) != Account.from_key(KEY).address


@pytest.mark.parametrize(
    "domain",
    [
        PassportDomain(chain_id=1, verifying_contract=REGISTRY),
        PassportDomain(chain_id=31337, verifying_contract="0x" + "22" * 20),
        PassportDomain(chain_id=31337, verifying_contract=REGISTRY, version="2"),
    ],
    ids=["chain", "registry", "domain-version"],
)
def test_signature_is_bound_to_its_domain(domain: PassportDomain) -> None:
    signature = sign_passport_version(KEY, DOMAIN, VERSION)
    assert recover_passport_version_signer(domain, VERSION, signature) != Account.from_key(KEY).address


def _high_s(signature: bytes) -> bytes:
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    s = int.from_bytes(signature[32:64], "big")
    return signature[:32] + (n - s).to_bytes(32, "big") + bytes([55 - signature[64]])


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda s: s[:64], "65 bytes"),
        (lambda s: s + b"\x00", "65 bytes"),
        (lambda s: s[:64] + bytes([s[64] - 27]), "v must be 27 or 28"),
        (lambda s: s[:64] + b"\x1d", "v must be 27 or 28"),
        (_high_s, "malleable"),
        (lambda s: bytes(32) + s[32:], "out of range"),
        (lambda s: s[:32] + bytes(32) + s[64:], "out of range"),
    ],
    ids=["short", "long", "v-0-1", "v-29", "high-s", "zero-r", "zero-s"],
)
def test_signatures_the_contract_would_refuse_are_refused(mutate: object, fragment: str) -> None:
    signature = sign_passport_version(KEY, DOMAIN, VERSION)
    with pytest.raises(SignatureError, match=fragment):
        recover_passport_version_signer(DOMAIN, VERSION, mutate(signature))  # type: ignore[operator]


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda: PassportDomain(chain_id=1, verifying_contract="0x1234"), "invalid registry address"),
        (lambda: PassportDomain(chain_id=0, verifying_contract=REGISTRY), "invalid chain id"),
        (lambda: PassportDomain(chain_id=1, verifying_contract=REGISTRY.replace("F", "f", 1)), "checksum"),
        (
            lambda: PassportVersion(bytes(31), bytes(32), 1, LifecycleStatus.ORIGINAL, bytes(32)),
            "passport id",
        ),
        (lambda: PassportVersion(bytes(32), bytes(32), 0, LifecycleStatus.ORIGINAL, bytes(32)), "version 0"),
        (
            lambda: PassportVersion(bytes(32), bytes(32), 2**32, LifecycleStatus.ORIGINAL, bytes(32)),
            "version",
        ),
        (
            lambda: PassportVersion(bytes(32), bytes(32), 1, LifecycleStatus.ORIGINAL, bytes(33)),
            "manifest digest",
        ),
    ],
)
def test_malformed_domains_and_structs_are_refused(build: object, fragment: str) -> None:
    with pytest.raises(InvalidIdentifier, match=fragment):
        build()  # type: ignore[operator]


def test_a_bad_status_is_refused() -> None:
    with pytest.raises(ValueError, match="6"):
        PassportVersion(bytes(32), bytes(32), 1, 6, bytes(32))  # type: ignore[arg-type]


@settings(max_examples=25, deadline=None)
@given(
    key=st.binary(min_size=32, max_size=32).filter(lambda k: 0 < int.from_bytes(k, "big") < 2**256 - 2**130),
    version=st.integers(min_value=1, max_value=2**32 - 1),
    status=st.sampled_from(LifecycleStatus),
    digest=st.binary(min_size=32, max_size=32),
    chain_id=st.integers(min_value=1, max_value=2**64),
)
def test_sign_then_recover_round_trips(
    key: bytes, version: int, status: LifecycleStatus, digest: bytes, chain_id: int
) -> None:
    domain = PassportDomain(chain_id=chain_id, verifying_contract=REGISTRY)
    struct = PassportVersion(bytes(32), keccak(b"b"), version, status, digest)
    signature = sign_passport_version(key, domain, struct)
    assert passport_version_digest(domain, struct) == manual_digest(domain, struct)
    assert recover_passport_version_signer(domain, struct, signature) == Account.from_key(key).address


@settings(max_examples=40, deadline=None)
@given(
    key=st.binary(min_size=32, max_size=32).filter(lambda k: 0 < int.from_bytes(k, "big") < 2**256 - 2**130),
    words=st.lists(st.binary(min_size=32, max_size=32), min_size=4, max_size=4),
    version=st.integers(min_value=1, max_value=2**32 - 1),
    status=st.sampled_from(LifecycleStatus),
    chain_id=st.integers(min_value=1, max_value=2**256 - 1),
    registry=st.binary(min_size=20, max_size=20),
)
def test_the_direct_digest_and_signature_are_eth_accounts(
    key: bytes, words: list[bytes], version: int, status: LifecycleStatus, chain_id: int, registry: bytes
) -> None:
    # The digest is encoded by hand and signed with coincurve: both must be exactly what eth_account's
    # generic typed-data encoder and signer give, for any field values.
    domain = PassportDomain(chain_id=chain_id, verifying_contract="0x" + registry.hex())
    struct = PassportVersion(words[0], words[1], version, status, words[2], words[3])
    assert passport_version_digest(domain, struct) == reference_passport_version_digest(domain, struct)
    expected = Account.sign_message(eth_account_signable(domain, struct), private_key=key).signature
    assert sign_passport_version(key, domain, struct) == bytes(expected)
