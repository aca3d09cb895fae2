"""The business directory's core: public details documents, their on-chain digest, and name lookup.

A registered business's public details (legal name, country, registration number, contact, activities)
are one canonical JSON document (RFC 8785) in the content store. Its SHA-256 is the business's on-chain
``registrationHash``, and since a document this small is stored as one raw block, its CID follows from
that digest alone (``cid_from_digest(hash, "raw")``): anyone holding the chain and the store can find
the document and check it, with nothing else to trust.

``BusinessNames`` turns addresses into names for custody timelines and pages: first a name source the
caller supplies (the API's participant records), then the details document the chain points at. Answers
are cached for ``ttl`` seconds (misses too), and ``forget`` drops an address after a write.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from passport.canonical import canonical_json, parse_json_strict
from passport.chain.protocol import ChainClient
from passport.chain.records import BusinessRecord
from passport.errors import (
    ChainError,
    ContentIntegrityError,
    ContentNotFound,
    DocumentValidationError,
    StoreError,
)
from passport.model import BusinessKind
from passport.store.cid import cid_from_digest
from passport.store.protocol import ContentStore

#: The details document's type tag (inside the document, so a digest of something else never passes).
DETAILS_TYPE: Final = "BusinessDetails/v1"

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class BusinessDetails(BaseModel):
    """A registered business's public details document (everything in it is public forever)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = Field(default=DETAILS_TYPE, pattern=f"^{DETAILS_TYPE}$")
    name: Text = Field(description="The legal name.")
    country: CountryCode = Field(description="ISO 3166-1 alpha-2 country of registration.")
    registration_number: Text = Field(description="Business registration or licence number.")
    contact: Text | None = Field(default=None, description="A public contact (email, phone or URL).")
    kinds: list[str] = Field(default_factory=list, description="Registered activities (COLLECTOR, …).")
    participant: str | None = Field(default=None, description="The ledger's participant name, if any.")

    def document(self) -> bytes:
        """The canonical bytes whose SHA-256 is the on-chain registration hash."""
        return canonical_json(self.model_dump(mode="json", exclude_none=True))

    def digest(self) -> bytes:
        return hashlib.sha256(self.document()).digest()


def kind_names(kinds: BusinessKind) -> list[str]:
    """``kinds``'s flag names, in flag order."""
    return [k.name or "" for k in BusinessKind if k in kinds]


def publish_details(store: ContentStore, details: BusinessDetails) -> tuple[str, bytes]:
    """Store ``details``'s document; its CID and the digest to register on-chain."""
    document = details.document()
    cid = store.put(document)
    digest = hashlib.sha256(document).digest()
    if cid != details_cid(digest):  # a store that chunks or wraps small documents would break lookups
        raise StoreError(f"the store named the details document {cid}, not {details_cid(digest)}")
    return cid, digest


def details_cid(registration_hash: bytes) -> str:
    """Where the details document with this digest lives in the content store."""
    return cid_from_digest(registration_hash, "raw")


class DetailsStatus(StrEnum):
    """What checking a business's details document against its on-chain digest found."""

    VERIFIED = "verified"  # the stored document hashes to the on-chain registrationHash
    MISSING = "missing"  # no document for that digest (registered with a bare certificate hash)
    TAMPERED = "tampered"  # the stored bytes do not hash to the on-chain digest
    INVALID = "invalid"  # the bytes hash correctly but are not a details document


@dataclass(frozen=True)
class DetailsCheck:
    """A business's details document and whether it matches the chain."""

    account: str
    registration_hash: bytes
    cid: str
    status: DetailsStatus
    details: BusinessDetails | None = None
    stored_digest: bytes | None = None
    reason: str = ""

    @property
    def verified(self) -> bool:
        return self.status is DetailsStatus.VERIFIED


def check_details(store: ContentStore, record: BusinessRecord) -> DetailsCheck:
    """Find ``record``'s details document and check its digest against the on-chain registration hash.

    Store outages (``StoreUnavailable``) propagate; everything else about the document is a status.
    """
    cid = details_cid(record.registration_hash)

    def result(status: DetailsStatus, reason: str, **extra: object) -> DetailsCheck:
        return DetailsCheck(record.account, record.registration_hash, cid, status, reason=reason, **extra)  # type: ignore[arg-type]

    try:
        data = store.get(cid)
    except ContentNotFound:
        return result(DetailsStatus.MISSING, "no details document in the store for this registration hash")
    except ContentIntegrityError as exc:
        return result(DetailsStatus.TAMPERED, str(exc))
    stored = hashlib.sha256(data).digest()
    if stored != record.registration_hash:  # a store that does not check on read
        return result(
            DetailsStatus.TAMPERED,
            f"the stored document hashes to 0x{stored.hex()}, "
            f"the chain says 0x{record.registration_hash.hex()}",
            stored_digest=stored,
        )
    try:
        details = BusinessDetails.model_validate(parse_json_strict(data))
    except (DocumentValidationError, ValidationError) as exc:
        return result(DetailsStatus.INVALID, f"not a business details document: {exc}", stored_digest=stored)
    if details.document() != data:
        return result(DetailsStatus.INVALID, "the document is not in canonical form", stored_digest=stored)
    return result(DetailsStatus.VERIFIED, "", details=details, stored_digest=stored)


class BusinessNames:
    """Display names for ledger addresses, cached: a participant name source first, then details documents.

    Thread-safe; ``ttl`` bounds how stale a name can be after a change this process did not make (a
    write through this process calls ``forget``).
    """

    def __init__(
        self,
        chain: ChainClient,
        store: ContentStore,
        *,
        participant_name: Callable[[str], str | None] = lambda _address: None,
        ttl: float = 60.0,
    ) -> None:
        self._chain = chain
        self._store = store
        self._participant_name = participant_name
        self._ttl = ttl
        self._cache: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def name_of(self, address: str) -> str | None:
        """The display name of ``address``, or None when the ledger knows none."""
        key = address.lower()
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        name = self._resolve(address)
        with self._lock:
            self._cache[key] = (now, name)
        return name

    def names_of(self, addresses: list[str]) -> dict[str, str]:
        """``{address: name}`` for those of ``addresses`` that have a name."""
        found = {}
        for address in dict.fromkeys(a for a in addresses if a):
            name = self.name_of(address)
            if name is not None:
                found[address] = name
        return found

    def forget(self, address: str) -> None:
        """Drop ``address`` from the cache (after registering it or changing its record)."""
        with self._lock:
            self._cache.pop(address.lower(), None)

    def _resolve(self, address: str) -> str | None:
        name = self._participant_name(address)
        if name:
            return name
        try:
            record = self._chain.get_business(address)
            if record is None:
                return None
            check = check_details(self._store, record)
        except (StoreError, ChainError, ValueError):
            return None  # a name is a courtesy: an unreachable store or odd address shows the address
        return check.details.name if check.details is not None else None
