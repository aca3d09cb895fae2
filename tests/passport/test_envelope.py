"""The key ring on disk and envelope encryption of restricted sections."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from passport.envelope import (
    TELEMETRY_KEYS,
    KeyRing,
    SealedSection,
    open_bytes,
    open_section,
    seal_bytes,
    seal_section,
    section_aad,
)
from passport.errors import ConfigError, DecryptionError, KeyNotAvailable
from passport.settings import Settings

PID = bytes(16) + bytes(range(16))
OTHER_PID = bytes(16) + bytes(range(1, 17))


@pytest.fixture
def keyring(tmp_path: Path) -> KeyRing:
    return KeyRing(tmp_path / "keys")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_use_creates_a_private_key_per_tier(keyring: KeyRing) -> None:
    assert not keyring.directory.exists()
    key_id, key = keyring.current_key("authority")
    assert len(key) == 32
    assert _mode(keyring.directory) == 0o700
    assert _mode(keyring.directory / "authority") == 0o700
    assert _mode(keyring.directory / "authority" / f"{key_id}.key") == 0o600
    assert _mode(keyring.directory / "authority" / "current") == 0o600
    other_id, other = keyring.current_key("legitimate_interest")
    assert other != key
    assert other_id != key_id
    # Stable across instances: the key lives on disk, not in the process.
    assert KeyRing(keyring.directory).current_key("authority") == (key_id, key)


def test_from_settings_uses_the_keys_dir(tmp_path: Path) -> None:
    ring = KeyRing.from_settings(Settings(data_dir=tmp_path))
    ring.current_key_id("authority")
    assert (tmp_path / "keys" / "authority" / "current").is_file()


def test_two_rings_racing_on_first_use_agree(tmp_path: Path) -> None:
    a, b = KeyRing(tmp_path), KeyRing(tmp_path)
    # Simulate the race: b already wrote its key file when a links "current" first.
    b_id = b._write_new_key("authority")
    a_id = a.current_key_id("authority")
    assert b.current_key_id("authority") == a_id
    assert b_id in b.key_ids("authority")  # b's orphan is harmless and never current


def test_rotation_keeps_old_keys_readable(keyring: KeyRing) -> None:
    sealed = seal_section(b"secret", passport_id=PID, version=1, tier="authority", keyring=keyring)
    old_id = keyring.current_key_id("authority")
    new_id = keyring.rotate("authority")
    assert new_id != old_id
    assert keyring.current_key_id("authority") == new_id
    assert keyring.key_ids("authority") == sorted([old_id, new_id])
    assert (
        open_section(sealed, passport_id=PID, version=1, tier="authority", keyring=KeyRing(keyring.directory))
        == b"secret"
    )
    resealed = seal_section(b"secret", passport_id=PID, version=2, tier="authority", keyring=keyring)
    assert resealed.key_id == new_id


@pytest.mark.parametrize(
    "key_id", ["../current", "../../etc/passwd", "ABCDEF0123456789", "0123", "", "0" * 17]
)
def test_malformed_key_ids_never_touch_the_filesystem(keyring: KeyRing, key_id: str) -> None:
    keyring.current_key("authority")
    with pytest.raises(KeyNotAvailable, match="malformed key id"):
        keyring.key("authority", key_id)


@pytest.mark.parametrize("tier", ["public", "admin", "Authority", ""])
def test_only_restricted_tiers_have_keys(keyring: KeyRing, tier: str) -> None:
    with pytest.raises(KeyNotAvailable, match="no key-encryption key"):
        keyring.current_key(tier)


def test_telemetry_keys_are_a_family_of_their_own(keyring: KeyRing) -> None:
    # The oracle seals batch documents under it; it is none of the tiers' keys and lives apart.
    key_id, key = keyring.current_key(TELEMETRY_KEYS)
    assert (keyring.directory / "telemetry" / f"{key_id}.key").is_file()
    assert key not in {keyring.current_key(tier)[1] for tier in ("legitimate_interest", "authority")}
    sealed = seal_bytes(
        b"readings", aad=b"batch A", key_aad=lambda k: b"A" + k.encode(), tier=TELEMETRY_KEYS, keyring=keyring
    )
    opened = open_bytes(
        sealed, aad=b"batch A", key_aad=lambda k: b"A" + k.encode(), tier=TELEMETRY_KEYS, keyring=keyring,
        what="batch document", bound_to="batch",
    )  # fmt: skip
    assert opened == b"readings"
    with pytest.raises(DecryptionError, match="bound to another batch"):
        open_bytes(
            sealed, aad=b"batch B", key_aad=lambda k: b"A" + k.encode(), tier=TELEMETRY_KEYS,
            keyring=keyring, what="batch document", bound_to="batch",
        )  # fmt: skip


def test_unknown_key_is_not_available(keyring: KeyRing) -> None:
    with pytest.raises(KeyNotAvailable, match="not held"):
        keyring.key("authority", "0123456789abcdef")


def test_group_readable_key_files_are_refused(keyring: KeyRing) -> None:
    key_id = keyring.current_key_id("authority")
    path = keyring.directory / "authority" / f"{key_id}.key"
    path.chmod(0o640)
    with pytest.raises(ConfigError, match="chmod 600"):
        KeyRing(keyring.directory).key("authority", key_id)


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda d: {**d, "key": "not base64!"},
        lambda d: {**d, "key": "AAAA"},
        lambda d: {**d, "tier": "legitimate_interest"},
        lambda d: {**d, "key_id": "ffffffffffffffff"},
        lambda d: {**d, "algorithm": "A128GCM"},
        lambda d: {k: v for k, v in d.items() if k != "key"},
    ],
    ids=["bad-base64", "short-key", "wrong-tier", "wrong-id", "wrong-alg", "no-key"],
)
def test_corrupt_key_files_are_refused(keyring: KeyRing, corrupt: object) -> None:
    key_id = keyring.current_key_id("authority")
    path = keyring.directory / "authority" / f"{key_id}.key"
    document = json.loads(path.read_text())
    path.write_text(json.dumps(corrupt(document)))  # type: ignore[operator]
    with pytest.raises(ConfigError):
        KeyRing(keyring.directory).key("authority", key_id)


def test_key_files_are_never_overwritten(keyring: KeyRing) -> None:
    key_id = keyring.current_key_id("authority")
    with pytest.raises(FileExistsError):
        keyring._write_private(keyring.directory / "authority" / f"{key_id}.key", b"x")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    plaintext=st.binary(max_size=4096),
    version=st.integers(min_value=1, max_value=2**32 - 1),
    tier=st.sampled_from(["legitimate_interest", "authority"]),
)
def test_seal_open_round_trip(keyring: KeyRing, plaintext: bytes, version: int, tier: str) -> None:
    sealed = seal_section(plaintext, passport_id=PID, version=version, tier=tier, keyring=keyring)
    assert len(plaintext) < 16 or plaintext not in sealed.ciphertext  # short strings may occur by chance
    assert len(sealed.ciphertext) == len(plaintext) + 16
    assert open_section(sealed, passport_id=PID, version=version, tier=tier, keyring=keyring) == plaintext


def test_every_seal_uses_a_fresh_data_key_and_nonce(keyring: KeyRing) -> None:
    a = seal_section(b"same", passport_id=PID, version=1, tier="authority", keyring=keyring)
    b = seal_section(b"same", passport_id=PID, version=1, tier="authority", keyring=keyring)
    assert a.ciphertext != b.ciphertext
    assert a.nonce != b.nonce
    assert a.wrapped_key != b.wrapped_key


@pytest.mark.parametrize(
    ("where", "fragment"),
    [
        ({"passport_id": OTHER_PID}, "does not unwrap"),
        ({"version": 2}, "does not unwrap"),
        ({"tier": "legitimate_interest"}, "not held|does not unwrap"),
    ],
    ids=["other-passport", "other-version", "other-tier"],
)
def test_ciphertext_is_bound_to_passport_version_and_tier(
    keyring: KeyRing, where: dict[str, object], fragment: str
) -> None:
    sealed = seal_section(b"secret", passport_id=PID, version=1, tier="authority", keyring=keyring)
    keyring.current_key("legitimate_interest")
    context: dict[str, object] = {"passport_id": PID, "version": 1, "tier": "authority"} | where
    with pytest.raises((DecryptionError, KeyNotAvailable), match=fragment):
        open_section(sealed, keyring=keyring, **context)  # type: ignore[arg-type]


def _flip(data: bytes, index: int = 0) -> bytes:
    return data[:index] + bytes([data[index] ^ 1]) + data[index + 1 :]


@pytest.mark.parametrize(
    ("field", "fragment"),
    [
        ("ciphertext", "does not authenticate"),
        ("nonce", "does not authenticate"),
        ("wrapped_key", "does not unwrap"),
        ("wrap_nonce", "does not unwrap"),
    ],
)
def test_any_flipped_bit_fails_to_open(keyring: KeyRing, field: str, fragment: str) -> None:
    sealed = seal_section(b"secret section", passport_id=PID, version=1, tier="authority", keyring=keyring)
    tampered = dataclasses.replace(sealed, **{field: _flip(getattr(sealed, field))})
    with pytest.raises(DecryptionError, match=fragment):
        open_section(tampered, passport_id=PID, version=1, tier="authority", keyring=keyring)


def test_a_section_sealed_elsewhere_cannot_be_opened(tmp_path: Path, keyring: KeyRing) -> None:
    sealed = seal_section(b"secret", passport_id=PID, version=1, tier="authority", keyring=keyring)
    elsewhere = KeyRing(tmp_path / "other")
    with pytest.raises(KeyNotAvailable):
        open_section(sealed, passport_id=PID, version=1, tier="authority", keyring=elsewhere)
    # Same key id on another ring (a restored backup of the wrong service): the tag check catches it.
    os.makedirs(elsewhere.directory / "authority", exist_ok=True)
    imposter = seal_section(b"x", passport_id=PID, version=1, tier="authority", keyring=elsewhere)
    forged = SealedSection(
        sealed.ciphertext, sealed.nonce, imposter.key_id, sealed.wrapped_key, sealed.wrap_nonce
    )
    with pytest.raises(DecryptionError):
        open_section(forged, passport_id=PID, version=1, tier="authority", keyring=elsewhere)


def test_aad_is_canonical_json_of_the_binding() -> None:
    assert section_aad(PID, 7, "authority") == (
        b'{"passport_id":"0x' + PID.hex().encode() + b'","purpose":"battery-passport-ledger/section/v1",'
        b'"tier":"authority","version":7}'
    )
