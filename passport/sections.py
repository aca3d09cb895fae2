"""Commitments: a passport's access-tier sections, their manifest, and the digest that goes on-chain.

A passport version is stored as one *section document* per access tier plus a small *manifest*::

    section  = {"tier": "public", "salt": "0x<32 random bytes>", "data": {...}}   (canonical JSON)
    manifest = {"format", "passport_id", "battery_id_hash", "version", "status", "predecessor",
                "document_schema", "sections": [{"tier", "cid", "digest", "size", "encrypted",
                                                 "encryption"?}, ...]}             (canonical JSON)

* The public section is stored as its canonical JSON bytes. Restricted sections are sealed with
  envelope encryption (``passport.envelope``) first, so only ciphertext reaches the content store.
* Each section carries its own random salt: the manifest publishes every section's digest, and a
  low-entropy section (say, a handful of enumerable fields) could otherwise be guessed from it.
* ``digest`` is SHA-256 of the exact stored bytes; for sealed sections ``encryption.plaintext_digest``
  is SHA-256 of the canonical plaintext, so whoever is handed the decrypted section can check it too.
* The value committed on-chain (and signed, see ``passport.signing``) is the **manifest digest**,
  SHA-256 of the manifest's canonical bytes. The manifest is always a single block, so this is also
  the SHA-256 multihash digest inside its raw CIDv1.

A public-access buyer holding the public section and the manifest checks
``sha256(public bytes) == manifest.sections[public].digest`` and ``sha256(JCS(manifest)) == on-chain
digest``, without ever seeing the restricted sections.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from passport.canonical import canonical_json, parse_canonical_object
from passport.envelope import ALGORITHM, RESTRICTED_TIERS, KeyRing, SealedSection, open_section, seal_section
from passport.errors import (
    ContentIntegrityError,
    ContentNotFound,
    DocumentError,
    DocumentValidationError,
    InvalidCid,
    KeyNotAvailable,
)
from passport.ids import ZERO32, parse_bytes32, parse_passport_id, passport_id_bytes32
from passport.model import LifecycleStatus
from passport.model.access import AccessTier, SectionsInput
from passport.model.passport import DOCUMENT_SCHEMA
from passport.signing import PassportVersion
from passport.store import ContentStore, cid_digest

MANIFEST_FORMAT: Final = "battery-passport-ledger/manifest/v1"
# The manifest must fit one IPFS block so that its CID's multihash is plain SHA-256 of its bytes.
MAX_MANIFEST_BYTES = 262_144
SALT_BYTES = 32
# Sections are listed in this order, so one passport has one manifest spelling.
TIER_ORDER: tuple[AccessTier, ...] = (AccessTier.PUBLIC, AccessTier.LEGITIMATE_INTEREST, AccessTier.AUTHORITY)
PUBLIC_TIER = AccessTier.PUBLIC

Hex32 = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-f]{64}$")]
Hex12 = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-f]{24}$")]
HexBytes = Annotated[str, StringConstraints(pattern=r"^0x(?:[0-9a-f]{2})+$")]
TierName = Literal["public", "legitimate_interest", "authority"]
StatusName = Literal["ORIGINAL", "REPURPOSED", "REUSED", "REMANUFACTURED", "WASTE", "RECYCLED"]
PassportUrn = Annotated[
    str, StringConstraints(pattern=r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
]


def hex0x(value: bytes) -> str:
    return "0x" + value.hex()


def unhex0x(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


class SectionEncryption(BaseModel):
    """How a restricted section was sealed: everything but the KEK itself (which the service holds)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    algorithm: Literal["A256GCM"]
    key_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]
    nonce: Hex12
    wrapped_key: HexBytes
    wrap_nonce: Hex12
    plaintext_digest: Hex32


class SectionEntry(BaseModel):
    """One section as the manifest commits to it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tier: TierName
    cid: Annotated[str, StringConstraints(min_length=8, max_length=200)]
    digest: Hex32
    size: int = Field(ge=0)
    encrypted: bool
    encryption: SectionEncryption | None = None

    @model_validator(mode="after")
    def _encrypted_iff_restricted(self) -> SectionEntry:
        # Policy, enforced where it is read: a manifest that claims a restricted tier in clear (or the
        # public one sealed) is malformed, not merely unusual.
        restricted = self.tier in RESTRICTED_TIERS
        if self.encrypted != restricted or (self.encryption is not None) != restricted:
            raise ValueError(f"the {self.tier} section must be {'encrypted' if restricted else 'in clear'}")
        return self

    @property
    def sealed_parts(self) -> SectionEncryption:
        if self.encryption is None:
            raise DocumentError(f"the {self.tier} section is not encrypted")
        return self.encryption


class Manifest(BaseModel):
    """The small document whose digest is a passport version's on-chain commitment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["battery-passport-ledger/manifest/v1"] = MANIFEST_FORMAT
    passport_id: PassportUrn
    battery_id_hash: Hex32
    version: int = Field(ge=1, le=2**32 - 1)
    status: StatusName
    predecessor: Hex32
    document_schema: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    sections: list[SectionEntry]

    @model_validator(mode="after")
    def _sections_in_order(self) -> Manifest:
        tiers = [entry.tier for entry in self.sections]
        if "public" not in tiers:
            raise ValueError("a manifest must list the public section")
        if tiers != [t for t in TIER_ORDER if t in tiers]:
            raise ValueError(f"sections must be unique and in tier order {list(TIER_ORDER)}")
        return self

    # -- bytes --------------------------------------------------------------------------------------

    def document(self) -> dict[str, Any]:
        """The manifest as a plain JSON object (the form that is canonicalised and hashed)."""
        return self.model_dump(mode="json", exclude_none=True)

    def canonical_bytes(self) -> bytes:
        return canonical_json(self.document())

    def digest(self) -> bytes:
        """SHA-256 of the canonical manifest: the on-chain commitment."""
        return sha256(self.canonical_bytes())

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Manifest:
        """Parse a manifest object, insisting that it re-serialises to exactly the same canonical bytes."""
        try:
            manifest = cls.model_validate(document)
        except ValidationError as exc:
            problems = [(".".join(str(p) for p in e["loc"]) or "$", e["msg"]) for e in exc.errors()]
            raise DocumentValidationError(
                f"invalid manifest: {problems[0][0]}: {problems[0][1]}", problems
            ) from None
        if canonical_json(manifest.document()) != canonical_json(dict(document)):
            raise DocumentValidationError(
                "manifest does not round-trip: a field has a non-canonical spelling"
            )
        return manifest

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        return cls.from_document(parse_canonical_object(data))

    # -- views --------------------------------------------------------------------------------------

    @property
    def passport_id_bytes32(self) -> bytes:
        return passport_id_bytes32(self.passport_id)

    @property
    def lifecycle_status(self) -> LifecycleStatus:
        return LifecycleStatus[self.status]

    def entry(self, tier: str) -> SectionEntry:
        for entry in self.sections:
            if entry.tier == str(tier):
                return entry
        raise DocumentError(f"the manifest lists no {tier} section")

    def tiers(self) -> list[AccessTier]:
        return [AccessTier(entry.tier) for entry in self.sections]

    def version_struct(self, digest: bytes | None = None) -> PassportVersion:
        """The EIP-712 ``PassportVersion`` this manifest is signed under.

        ``digest``: the manifest's digest when the caller already hashed its canonical bytes (saves a
        canonicalisation of the manifest).
        """
        return PassportVersion(
            passport_id=self.passport_id_bytes32,
            battery_id_hash=unhex0x(self.battery_id_hash),
            version=self.version,
            status=self.lifecycle_status,
            manifest_digest=self.digest() if digest is None else digest,
            predecessor=unhex0x(self.predecessor),
        )


def _known_tier(tier: str) -> AccessTier:
    try:
        return AccessTier(str(tier))
    except ValueError:
        raise DocumentValidationError(f"unknown access tier {tier!r}") from None


# -- section documents --------------------------------------------------------------------------------


def section_document(tier: str, data: Mapping[str, Any], salt: bytes | None = None) -> bytes:
    """Canonical bytes of a salted section document (a fresh 32-byte salt unless one is given)."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    if len(salt) != SALT_BYTES:
        raise DocumentValidationError(f"a section salt must be {SALT_BYTES} bytes")
    return canonical_json({"tier": _known_tier(tier).value, "salt": hex0x(salt), "data": dict(data)})


def parse_section_document(data: bytes, tier: str) -> dict[str, Any]:
    """Check a section document's shape and tier; return its ``data`` object."""
    document = parse_canonical_object(data)
    salt = document.get("salt")
    if set(document) != {"tier", "salt", "data"}:
        raise DocumentValidationError(
            f"a section document has exactly tier, salt, data; got {sorted(document)}"
        )
    if document["tier"] != str(tier):
        raise DocumentValidationError(f"section document is for tier {document['tier']!r}, expected {tier!r}")
    if not isinstance(salt, str) or len(salt) != 2 + 2 * SALT_BYTES or not salt.startswith("0x"):
        raise DocumentValidationError("section salt must be 32 bytes of 0x-hex")
    if not isinstance(document["data"], dict):
        raise DocumentValidationError("section data must be a JSON object")
    return document["data"]


# -- commit -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommittedPassport:
    """A passport version as stored: its manifest, the digest to anchor, and where everything lives."""

    manifest: Manifest
    manifest_bytes: bytes
    manifest_digest: bytes
    manifest_cid: str
    section_cids: dict[AccessTier, str]
    public_section: bytes  # exact stored bytes (what a verification bundle carries)

    def version_struct(self) -> PassportVersion:
        # ``manifest_digest`` is SHA-256 of ``manifest_bytes``, the manifest's canonical bytes.
        return self.manifest.version_struct(self.manifest_digest)


def commit_passport(
    sections: SectionsInput,
    *,
    passport_id: str | uuid.UUID | bytes,
    battery_id_hash: bytes,
    version: int,
    status: LifecycleStatus,
    store: ContentStore,
    keyring: KeyRing,
    document_schema: str = DOCUMENT_SCHEMA,
    predecessor: bytes = ZERO32,
) -> CommittedPassport:
    """Salt, seal and store each section, then store the manifest; return what to sign and anchor.

    ``sections`` maps each access tier (``AccessTier`` or its value) to its JSON-able data, as
    ``BatteryPassport.sections()`` returns it; the public tier is required. Nothing restricted
    leaves the process unencrypted.
    """
    pid32 = passport_id_bytes32(passport_id)
    unknown = {str(t) for t in sections} - set(TIER_ORDER)
    if unknown:
        raise DocumentValidationError(f"unknown access tiers {sorted(unknown)}")
    by_tier = {_known_tier(t): data for t, data in sections.items()}
    if PUBLIC_TIER not in by_tier:
        raise DocumentValidationError("a passport needs a public section")

    entries: list[SectionEntry] = []
    cids: dict[AccessTier, str] = {}
    public_bytes = b""
    for tier in TIER_ORDER:
        if tier not in by_tier:
            continue
        plaintext = section_document(tier, by_tier[tier])
        if tier in RESTRICTED_TIERS:
            sealed = seal_section(
                plaintext, passport_id=pid32, version=version, tier=tier.value, keyring=keyring
            )
            stored = sealed.ciphertext
            encryption: SectionEncryption | None = SectionEncryption(
                algorithm=ALGORITHM,
                key_id=sealed.key_id,
                nonce=hex0x(sealed.nonce),
                wrapped_key=hex0x(sealed.wrapped_key),
                wrap_nonce=hex0x(sealed.wrap_nonce),
                plaintext_digest=hex0x(sha256(plaintext)),
            )
        else:
            stored, encryption, public_bytes = plaintext, None, plaintext
        cid = store.put(stored)
        cids[tier] = cid
        entries.append(
            SectionEntry(
                tier=tier.value,
                cid=cid,
                digest=hex0x(sha256(stored)),
                size=len(stored),
                encrypted=encryption is not None,
                encryption=encryption,
            )
        )

    manifest = Manifest(
        passport_id=parse_passport_id(passport_id).urn,
        battery_id_hash=hex0x(parse_bytes32(battery_id_hash, "battery id hash")),
        version=version,
        status=LifecycleStatus(status).name,
        predecessor=hex0x(parse_bytes32(predecessor, "predecessor")),
        document_schema=document_schema,
        sections=entries,
    )
    manifest_bytes = manifest.canonical_bytes()
    if len(manifest_bytes) > MAX_MANIFEST_BYTES:
        raise DocumentError(
            f"manifest is {len(manifest_bytes)} bytes; it must fit one {MAX_MANIFEST_BYTES}-byte block"
        )
    manifest_digest = sha256(manifest_bytes)
    manifest_cid = store.put(manifest_bytes)
    if cid_digest(manifest_cid) != manifest_digest:
        # Would mean the store chunked or hashed differently: the on-chain digest must be the CID's.
        raise ContentIntegrityError(
            f"store returned {manifest_cid} whose digest is not the manifest's SHA-256"
        )
    return CommittedPassport(manifest, manifest_bytes, manifest_digest, manifest_cid, cids, public_bytes)


# -- open ---------------------------------------------------------------------------------------------


def load_manifest(
    source: str | Manifest, store: ContentStore, expected_digest: bytes | None = None
) -> Manifest:
    """The manifest behind a CID (or the given one), checked against ``expected_digest`` if known."""
    manifest = source if isinstance(source, Manifest) else Manifest.from_bytes(store.get(source))
    if expected_digest is not None and manifest.digest() != expected_digest:
        raise ContentIntegrityError(
            f"manifest digest {manifest.digest().hex()} is not the committed {expected_digest.hex()}"
        )
    return manifest


def open_section_bytes(
    manifest: Manifest, tier: str, stored: bytes, keyring: KeyRing | None
) -> dict[str, Any]:
    """Check ``stored`` against the manifest's entry for ``tier``, decrypt if sealed, return its data."""
    entry = manifest.entry(tier)
    if sha256(stored) != unhex0x(entry.digest):
        raise ContentIntegrityError(f"the stored {entry.tier} section does not match the manifest's digest")
    if entry.encrypted:
        if keyring is None:
            raise KeyNotAvailable(f"the {entry.tier} section is encrypted and no key ring was given")
        parts = entry.sealed_parts
        plaintext = open_section(
            SealedSection(
                ciphertext=stored,
                nonce=unhex0x(parts.nonce),
                key_id=parts.key_id,
                wrapped_key=unhex0x(parts.wrapped_key),
                wrap_nonce=unhex0x(parts.wrap_nonce),
            ),
            passport_id=manifest.passport_id_bytes32,
            version=manifest.version,
            tier=entry.tier,
            keyring=keyring,
        )
        if sha256(plaintext) != unhex0x(parts.plaintext_digest):
            raise ContentIntegrityError(
                f"the decrypted {entry.tier} section does not match its plaintext digest"
            )
    else:
        plaintext = stored
    return parse_section_document(plaintext, entry.tier)


def stored_section_problems(manifest: Manifest, store: ContentStore) -> dict[AccessTier, str]:
    """Each section whose stored bytes are missing or are not what the manifest commits to, and why.

    Only the exact stored bytes are compared (their SHA-256 and size, ciphertext for sealed tiers), so
    no key is needed: any reader can tell that a restricted section it may not decrypt was rewritten.
    ``StoreUnavailable`` propagates: an unreachable store says nothing about this passport.
    """
    problems: dict[AccessTier, str] = {}
    for entry in manifest.sections:
        try:
            stored = store.get(entry.cid)
        except (ContentNotFound, ContentIntegrityError, InvalidCid) as exc:
            problems[AccessTier(entry.tier)] = str(exc)
            continue
        if len(stored) != entry.size or sha256(stored) != unhex0x(entry.digest):
            problems[AccessTier(entry.tier)] = (
                f"the stored bytes ({len(stored)} bytes, sha256 {hex0x(sha256(stored))}) are not the "
                f"manifest's ({entry.size} bytes, sha256 {entry.digest})"
            )
    return problems


def open_passport(
    source: str | Manifest,
    *,
    store: ContentStore,
    keyring: KeyRing | None = None,
    tiers: Iterable[str] | None = None,
    expected_digest: bytes | None = None,
) -> dict[AccessTier, dict[str, Any]]:
    """Fetch, check and (where sealed) decrypt the requested sections of a committed passport.

    ``source`` is the manifest's CID or the manifest itself; ``tiers`` defaults to every tier the
    manifest lists (a public-only reader passes ``[PUBLIC_TIER]`` and needs no key ring);
    ``expected_digest`` is the on-chain manifest digest when the caller has it. The result feeds
    ``BatteryPassport.from_sections``.
    """
    manifest = load_manifest(source, store, expected_digest)
    wanted = manifest.tiers() if tiers is None else [_known_tier(t) for t in tiers]
    result: dict[AccessTier, dict[str, Any]] = {}
    for tier in wanted:
        entry = manifest.entry(tier)
        result[tier] = open_section_bytes(manifest, tier, store.get(entry.cid), keyring)
    return result
