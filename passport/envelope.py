"""Envelope encryption of restricted passport sections, and the key ring that holds the service's keys.

Scheme
------
Each restricted section (``legitimate_interest``, ``authority``) is encrypted with AES-256-GCM under a
fresh random 256-bit *data key*. The data key is then wrapped (AES-256-GCM again) by the *key-encryption
key* (KEK) of that section's access tier. Only the ciphertext and the wrapped data key ever leave the
process: the ciphertext goes to the content store, the wrapped key and nonces into the manifest.

Both encryptions authenticate *associated data* that binds the ciphertext to its place: the passport id,
the passport version and the tier (and, for the wrapped key, the KEK id). A ciphertext copied to another
passport, version or tier therefore fails to decrypt instead of being read as that other section.

Nonces are 96 random bits per encryption. Each data key encrypts exactly one section, so its nonce can
never repeat; a KEK wraps one data key per restricted section, far below the ~2**32 random-nonce budget
of AES-GCM.

Key ring on disk
----------------
``KeyRing`` keeps one directory per tier under ``Settings.keys_dir`` (mode 0700)::

    keys/
      legitimate_interest/
        current              # the id of the KEK used for new sections
        3f9c0e1d2a4b5c6d.key # {"key_id", "tier", "algorithm", "created_at", "key": base64}; mode 0600
      authority/
        ...
      telemetry/             # seals the oracle's batch documents (device readings)
        ...

Besides the tiers, the ring holds one more key family, ``telemetry``: it seals the oracle's batch
documents (device readings, ``oracle.batch_document``). It is a separate KEK rather than the
``legitimate_interest`` one so that the anchoring worker, which must seal, can be given only
``keys/telemetry/`` and never the keys that open every passport's restricted sections.

A tier's first KEK is created on first use (there are no keys in code or configuration). ``rotate()``
creates a new KEK and points ``current`` at it; older KEKs stay so sections sealed under them still open
(each manifest entry names its KEK id). Re-wrapping old data keys is deliberately not offered: the
wrapped key is part of the manifest, whose digest is committed on-chain, so re-wrapping means committing
a new passport version. Key files that group or others can read are refused, not used.

Back the directory up with the same care as the chain keystore: losing a KEK makes every restricted
section sealed under it unreadable (the on-chain commitments stay verifiable).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
import os
import re
import secrets
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from passport.canonical import canonical_json, parse_json_strict
from passport.errors import ConfigError, DecryptionError, KeyNotAvailable
from passport.settings import Settings

log = logging.getLogger(__name__)

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # the GCM standard nonce; other lengths are hashed into one, for no gain
ALGORITHM = "A256GCM"
# Tiers whose sections are encrypted; the public tier is stored in clear and has no KEK.
RESTRICTED_TIERS = ("legitimate_interest", "authority")
# The KEK family of the oracle's sealed batch documents (not an access tier: see the module docstring).
TELEMETRY_KEYS = "telemetry"
# Every family of KEKs the ring holds, one directory each.
KEY_FAMILIES = (*RESTRICTED_TIERS, TELEMETRY_KEYS)

# Key ids come back to us from manifests (untrusted input) and name files: a closed alphabet keeps
# them from ever meaning a path.
_KEY_ID = re.compile(r"^[0-9a-f]{16}$")
_CURRENT = "current"
_SECTION_PURPOSE = "battery-passport-ledger/section/v1"
_DATA_KEY_PURPOSE = "battery-passport-ledger/data-key/v1"


def _require_restricted(tier: str) -> str:
    if tier not in KEY_FAMILIES:
        raise KeyNotAvailable(f"no key-encryption key for {tier!r}: the key ring holds {KEY_FAMILIES}")
    return tier


def validate_key_id(key_id: str) -> str:
    """Return ``key_id`` if it is a well-formed KEK id (16 lowercase hex digits), else raise."""
    if not isinstance(key_id, str) or not _KEY_ID.fullmatch(key_id):
        raise KeyNotAvailable(f"malformed key id {key_id!r}")
    return key_id


class KeyRing:
    """The service's per-tier key-encryption keys, persisted as 0600 files under one directory."""

    def __init__(self, keys_dir: Path) -> None:
        self._dir = Path(keys_dir)
        self._cache: dict[tuple[str, str], bytes] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyRing:
        return cls(settings.keys_dir)

    @property
    def directory(self) -> Path:
        return self._dir

    # -- reading ------------------------------------------------------------------------------------

    def current_key_id(self, tier: str) -> str:
        """The id of the KEK that seals new sections of ``tier``; the first one is created on demand."""
        pointer = self._tier_dir(tier, create=True) / _CURRENT
        try:
            return validate_key_id(pointer.read_text().strip())
        except FileNotFoundError:
            return self._create_first(tier)

    def current_key(self, tier: str) -> tuple[str, bytes]:
        key_id = self.current_key_id(tier)
        return key_id, self.key(tier, key_id)

    def key(self, tier: str, key_id: str) -> bytes:
        """The KEK ``key_id`` of ``tier``; raises ``KeyNotAvailable`` if this service does not hold it."""
        cached = self._cache.get((tier, key_id))
        if cached is not None:
            return cached
        path = self._tier_dir(tier, create=False) / f"{validate_key_id(key_id)}.key"
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise KeyNotAvailable(f"key {key_id} for tier {tier!r} is not held in {self._dir}") from None
        if mode & 0o077:
            raise ConfigError(
                f"{path} is readable by group or others (mode {stat.filemode(mode)}): chmod 600"
            )
        key = self._parse_key_file(path, tier, key_id)
        self._cache[(tier, key_id)] = key
        return key

    def key_ids(self, tier: str) -> list[str]:
        """Ids of every KEK held for ``tier`` (current and retired), sorted."""
        directory = self._tier_dir(tier, create=False)
        if not directory.is_dir():
            return []
        return sorted(p.stem for p in directory.glob("*.key") if _KEY_ID.fullmatch(p.stem))

    # -- writing ------------------------------------------------------------------------------------

    def rotate(self, tier: str) -> str:
        """Create a new KEK for ``tier`` and make it current; older KEKs are kept for reading."""
        key_id = self._write_new_key(tier)
        pointer = self._tier_dir(tier, create=True) / _CURRENT
        temp = pointer.with_name(f".{_CURRENT}.{key_id}")
        self._write_private(temp, key_id.encode())
        os.replace(temp, pointer)  # atomic: readers see the old id or the new one, never a torn file
        log.info("rotated key-encryption key for tier %s to %s", tier, key_id)
        return key_id

    def _create_first(self, tier: str) -> str:
        key_id = self._write_new_key(tier)
        directory = self._tier_dir(tier, create=True)
        temp = directory / f".{_CURRENT}.{key_id}"
        self._write_private(temp, key_id.encode())
        try:
            # link() refuses to replace: if another process created the tier's first key meanwhile,
            # use theirs and drop ours (nothing has been sealed under it yet).
            os.link(temp, directory / _CURRENT)
        except FileExistsError:
            (directory / f"{key_id}.key").unlink(missing_ok=True)
            key_id = validate_key_id((directory / _CURRENT).read_text().strip())
        else:
            log.info("created the first key-encryption key for tier %s: %s", tier, key_id)
        finally:
            temp.unlink(missing_ok=True)
        return key_id

    def _write_new_key(self, tier: str) -> str:
        directory = self._tier_dir(tier, create=True)
        key_id = secrets.token_hex(8)
        document = {
            "key_id": key_id,
            "tier": tier,
            "algorithm": ALGORITHM,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "key": base64.b64encode(AESGCM.generate_key(bit_length=KEY_BYTES * 8)).decode(),
        }
        self._write_private(directory / f"{key_id}.key", json.dumps(document, indent=2).encode())
        return key_id

    # -- files --------------------------------------------------------------------------------------

    def _tier_dir(self, tier: str, *, create: bool) -> Path:
        directory = self._dir / _require_restricted(tier)
        if create and not directory.is_dir():
            for path in (self._dir, directory):
                path.mkdir(mode=0o700, parents=True, exist_ok=True)
                path.chmod(0o700)  # mkdir's mode is filtered by the umask; be explicit
        return directory

    @staticmethod
    def _write_private(path: Path, data: bytes) -> None:
        # O_EXCL: never overwrite a key; 0600 from the first byte, never widened then narrowed.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    @staticmethod
    def _parse_key_file(path: Path, tier: str, key_id: str) -> bytes:
        try:
            document = parse_json_strict(path.read_bytes())
            key = base64.b64decode(document["key"], validate=True)
            ok = document.get("key_id") == key_id and document.get("tier") == tier
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise ConfigError(f"{path} is not a readable key file: {exc}") from None
        if not ok or len(key) != KEY_BYTES or document.get("algorithm") != ALGORITHM:
            raise ConfigError(f"{path} does not hold a {ALGORITHM} key {key_id} for tier {tier!r}")
        return key


# -- sealing ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SealedSection:
    """A restricted section after envelope encryption: what the store and the manifest receive."""

    ciphertext: bytes  # AES-256-GCM(data key, nonce, section, aad) with the 16-byte tag appended
    nonce: bytes
    key_id: str  # the tier KEK that wrapped the data key
    wrapped_key: bytes  # AES-256-GCM(KEK, wrap_nonce, data key, wrap aad) with its tag
    wrap_nonce: bytes


def section_aad(passport_id: bytes, version: int, tier: str) -> bytes:
    """Associated data binding a section ciphertext to its passport, version and tier."""
    return canonical_json(
        {
            "purpose": _SECTION_PURPOSE,
            "passport_id": "0x" + passport_id.hex(),
            "version": version,
            "tier": tier,
        }
    )


def _data_key_aad(passport_id: bytes, version: int, tier: str, key_id: str) -> bytes:
    return canonical_json(
        {
            "purpose": _DATA_KEY_PURPOSE,
            "passport_id": "0x" + passport_id.hex(),
            "version": version,
            "tier": tier,
            "key_id": key_id,
        }
    )


def seal_bytes(
    plaintext: bytes, *, aad: bytes, key_aad: Callable[[str], bytes], tier: str, keyring: KeyRing
) -> SealedSection:
    """Encrypt ``plaintext`` under a fresh data key bound to ``aad``, wrapped by ``tier``'s current KEK.

    ``key_aad(key_id)`` is the associated data of the wrapped data key. Callers pick both so that a
    ciphertext (or a wrapped key) moved to another place fails to open instead of being read there.
    """
    key_id, kek = keyring.current_key(tier)
    data_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
    nonce = os.urandom(NONCE_BYTES)
    wrap_nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, aad)
    wrapped = AESGCM(kek).encrypt(wrap_nonce, data_key, key_aad(key_id))
    return SealedSection(ciphertext, nonce, key_id, wrapped, wrap_nonce)


def open_bytes(
    sealed: SealedSection,
    *,
    aad: bytes,
    key_aad: Callable[[str], bytes],
    tier: str,
    keyring: KeyRing,
    what: str,
    bound_to: str,
) -> bytes:
    """Decrypt what ``seal_bytes`` sealed; ``DecryptionError`` if anything (key, nonce, aad, bytes) is off.

    ``what`` names the sealed thing and ``bound_to`` what its associated data binds it to, for messages.
    """
    kek = keyring.key(tier, sealed.key_id)
    try:
        data_key = AESGCM(kek).decrypt(sealed.wrap_nonce, sealed.wrapped_key, key_aad(sealed.key_id))
    except (InvalidTag, ValueError):
        raise DecryptionError(
            f"the data key of the {what} does not unwrap under KEK {sealed.key_id}"
        ) from None
    try:
        return AESGCM(data_key).decrypt(sealed.nonce, sealed.ciphertext, aad)
    except (InvalidTag, ValueError):
        raise DecryptionError(
            f"the {what} ciphertext does not authenticate (tampered, or bound to another {bound_to})"
        ) from None


def seal_section(
    plaintext: bytes, *, passport_id: bytes, version: int, tier: str, keyring: KeyRing
) -> SealedSection:
    """Encrypt ``plaintext`` under a fresh data key, wrapped by the tier's current KEK."""
    return seal_bytes(
        plaintext,
        aad=section_aad(passport_id, version, tier),
        key_aad=functools.partial(_data_key_aad, passport_id, version, tier),
        tier=tier,
        keyring=keyring,
    )


def open_section(
    sealed: SealedSection, *, passport_id: bytes, version: int, tier: str, keyring: KeyRing
) -> bytes:
    """Decrypt a sealed section; raises ``DecryptionError`` if anything (key, nonce, aad, bytes) is off."""
    return open_bytes(
        sealed,
        aad=section_aad(passport_id, version, tier),
        key_aad=functools.partial(_data_key_aad, passport_id, version, tier),
        tier=tier,
        keyring=keyring,
        what=f"{tier} section",
        bound_to="passport",
    )
