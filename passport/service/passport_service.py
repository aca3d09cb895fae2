"""``PassportService``: a passport model in, a signed, stored and anchored version out, and back again.

Every write goes the same way:

1. stamp the document with what the ledger will record (status, version, predecessor), so the stored
   document can never disagree with the chain about them;
2. ``commit_passport``: split into access-tier sections, seal the restricted ones, store sections and
   manifest (content-addressed, so a write that later fails leaves only unreferenced blocks behind);
3. sign the EIP-712 ``PassportVersion`` with the key of the account the chain client acts as (the
   registry accepts a version only when its signer is the transaction's sender);
4. log the version as pending in the ``VersionLog`` (the ledger does not keep signatures), send the
   transaction, then log its receipt.

Reads trust nothing the store says on its own: a fetched passport is checked against the manifest digest
the ledger holds for its current version.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Final

from eth_account import Account

from passport.bundle import VerificationBundle, build_bundle, prove_anchor
from passport.chain.protocol import ChainClient
from passport.chain.records import PassportIssue, PassportRecord, TxReceipt
from passport.envelope import KeyRing
from passport.errors import (
    ConfigError,
    ContentIntegrityError,
    ContentNotFound,
    ContractRevert,
    DocumentValidationError,
    InvalidIdentifier,
    LedgerContentMismatch,
    PassportError,
    PassportNotFound,
    SigningKeyMissing,
    VersionNotRecorded,
)
from passport.ids import ZERO32, battery_id_hash, parse_passport_id, passport_id_bytes32
from passport.model import LifecycleStatus
from passport.model.access import AccessTier
from passport.model.passport import BatteryPassport, PassportView
from passport.sections import (
    PUBLIC_TIER,
    TIER_ORDER,
    CommittedPassport,
    Manifest,
    commit_passport,
    hex0x,
    load_manifest,
    open_passport,
    sha256,
    stored_section_problems,
)
from passport.service.results import FetchedPassport, IssuedVersion, VersionInfo
from passport.service.version_log import Anchor, VersionLog, VersionRecord
from passport.signing import PassportDomain, sign_passport_version
from passport.store import ContentStore, cid_from_digest
from passport.store.protocol import DeferredSync
from passport.verify import (
    Check,
    CheckStatus,
    Lifecycle,
    VerificationReport,
    parse_trusted_issuers,
    verify_bundle,
)

log = logging.getLogger(__name__)

PassportIdLike = str | uuid.UUID | bytes

#: Events that record a new version; a pending log row is completed from one of these.
_VERSION_EVENTS: Final = ("PassportIssued", "PassportUpdated", "PassportStatusChanged", "PassportRecycled")

#: Passports per ``issuePassports`` transaction: 40 x ~125k gas stays under ganache's 6.7M block gas
#: limit with the client's 20 % margin (anvil's 30M would take more; the saving per passport is the same).
ISSUE_BATCH_SIZE: Final = 40
#: Versions ``update_many`` keeps in flight (sent, receipt not yet awaited): enough to keep a local node
#: busy while the next chunk is prepared, few enough that a refusal leaves little to unwind.
UPDATE_WINDOW: Final = 50

#: The check reported when the store cannot produce a version's content intact (see ``verify``).
STORE_CHECK: Final = "store.content"
#: The check that every section's stored bytes (ciphertext included) are the ones the manifest commits to.
SECTIONS_CHECK: Final = "store.sections"


#: A version ready to send: the stamped document, where it is stored, and its unwritten log row.
_Prepared = tuple[BatteryPassport, CommittedPassport, VersionRecord]


@dataclass(frozen=True, slots=True)
class _SentChunk:
    """An ``issuePassports`` transaction sent and not yet collected, with what it carries."""

    prepared: list[_Prepared]
    tx_hash: bytes


def _passport_uuid(value: PassportIdLike) -> uuid.UUID:
    if not isinstance(value, str | uuid.UUID | bytes):
        raise InvalidIdentifier(f"invalid passport id {value!r}")
    return parse_passport_id(value)


def _optional_uuid(value: bytes) -> uuid.UUID | None:
    return None if value == ZERO32 else parse_passport_id(value)


def stamp(
    passport: BatteryPassport, *, version: int, status: LifecycleStatus, predecessor: uuid.UUID | None
) -> BatteryPassport:
    """``passport`` with the ledger's facts written into it: status, version and predecessor.

    ``metadata.document_version`` becomes the on-chain version number, so a reader holding only the
    document knows which version it is. Nested models are copied, never mutated (they are frozen and
    may be shared with the caller).
    """
    general = passport.general.model_copy(update={"status": LifecycleStatus(status)})
    metadata = passport.metadata.model_copy(
        update={"document_version": str(version), "predecessor": predecessor}
    )
    return passport.model_copy(update={"general": general, "metadata": metadata})


class PassportService:
    """Issue, update, close and read battery passports on one ledger, with one store and key ring.

    Writes act as ``chain.account`` and are signed with ``signer_key``, which must be that account's
    key (``acting_as`` gives the same service for another account). Without a signer key the service is
    read-only: ``fetch``, ``versions``, ``bundle`` and ``verify`` work, writes raise ``SigningKeyMissing``.
    """

    def __init__(
        self,
        chain: ChainClient,
        store: ContentStore,
        keyring: KeyRing,
        *,
        versions: VersionLog,
        trusted_issuers: Sequence[str] = (),
        signer_key: bytes | None = None,
    ) -> None:
        self._chain = chain
        self._store = store
        self._keyring = keyring
        self._log = versions
        self._trusted = parse_trusted_issuers(trusted_issuers)
        self._signer_key = signer_key
        self._domain: PassportDomain | None = None
        if signer_key is not None:
            try:
                address = Account.from_key(signer_key).address
            except (ValueError, TypeError) as exc:
                raise InvalidIdentifier(f"invalid signer key: {exc}") from None
            if address != chain.account:
                # The registry would refuse every write with InvalidSignature; say so now, plainly.
                raise ConfigError(
                    f"the signer key is {address}'s but the chain client acts as {chain.account}"
                )

    def acting_as(self, signer_key: bytes) -> PassportService:
        """The same service (store, key ring, log, trust) writing as the account of ``signer_key``."""
        return PassportService(
            self._chain.as_account(signer_key),
            self._store,
            self._keyring,
            versions=self._log,
            trusted_issuers=sorted(self._trusted),
            signer_key=signer_key,
        )

    # -- properties ---------------------------------------------------------------------------------

    @property
    def chain(self) -> ChainClient:
        return self._chain

    @property
    def store(self) -> ContentStore:
        return self._store

    @property
    def keyring(self) -> KeyRing:
        return self._keyring

    @property
    def version_log(self) -> VersionLog:
        return self._log

    @property
    def trusted_issuers(self) -> frozenset[str]:
        return self._trusted

    @property
    def account(self) -> str:
        """The address writes are sent and signed from."""
        return self._chain.account

    @property
    def domain(self) -> PassportDomain:
        """The EIP-712 domain of this ledger's registry (asked of the chain once)."""
        if self._domain is None:
            self._domain = PassportDomain(self._chain.chain_id, self._chain.registry_address)
        return self._domain

    # -- writes -------------------------------------------------------------------------------------

    def issue(self, passport: BatteryPassport) -> IssuedVersion:
        """Issue ``passport`` as version 1, status ``ORIGINAL`` (needs ISSUER_ROLE)."""
        document = stamp(passport, version=1, status=LifecycleStatus.ORIGINAL, predecessor=None)
        return self._write(
            document,
            version=1,
            status=LifecycleStatus.ORIGINAL,
            predecessor=ZERO32,
            send=lambda pid, bid, digest, sig: self._chain.issue_passport(pid, bid, digest, sig),
        )

    def issue_many(
        self, passports: Sequence[BatteryPassport], *, per_transaction: int = ISSUE_BATCH_SIZE
    ) -> list[IssuedVersion]:
        """Issue ``passports`` as version 1, ``ORIGINAL``, ``per_transaction`` to an ``issuePassports``
        transaction (needs ISSUER_ROLE); the results are in the order given.

        Each passport gets its own stored sections, its own EIP-712 signature and its own
        ``PassportIssued`` event, exactly as ``issue`` would; the version log takes each chunk's rows in
        one SQLite transaction before it is sent and its receipt in one after. A chunk is all or nothing
        on-chain: a revert (an id the ledger already has, say) refuses that chunk and raises, leaving the
        chunks before it issued. Ids repeated in ``passports`` are refused before anything is written.
        Each chunk is sent without a pre-flight call or estimate, and the next one is prepared while it
        is in the node; one transaction is in flight at a time.
        """
        if per_transaction < 1:
            raise ValueError(f"per_transaction must be at least 1, not {per_transaction}")
        counts = Counter(p.passport_id for p in passports)
        repeated = [pid for pid, n in counts.items() if n > 1]
        if repeated:
            raise DocumentValidationError(
                "a batch names a passport more than once",
                [("general.passport_id", f"{pid} is repeated") for pid in repeated],
            )
        issued: list[IssuedVersion] = []
        in_flight: _SentChunk | None = None
        for start in range(0, len(passports), per_transaction):
            # Prepared while the previous chunk's transaction is in the node, so the node's work and
            # ours overlap; it is sent only once that one is mined, so a refused chunk still stops every
            # chunk after it (a prepared, unsent chunk leaves only unreferenced blocks in the store).
            prepared = self._prepare_chunk(passports[start : start + per_transaction])
            if in_flight is not None:
                issued.extend(self._collect_chunk(in_flight))
            in_flight = self._send_chunk(prepared)
        if in_flight is not None:
            issued.extend(self._collect_chunk(in_flight))
        return issued

    def _prepare_chunk(self, passports: Sequence[BatteryPassport]) -> list[_Prepared]:
        head = self._chain.block_number()
        # Every section and manifest of the chunk made durable by one flush, before anything is sent.
        durable: AbstractContextManager[None] = (
            self._store.deferred_sync() if isinstance(self._store, DeferredSync) else nullcontext()
        )
        with durable:
            return [self._prepare_issue(passport, head) for passport in passports]

    def _send_chunk(self, prepared: list[_Prepared]) -> _SentChunk:
        rows = [pending for _, _, pending in prepared]
        self._log.record_pending_many(rows)
        try:
            tx_hash = self._chain.send_issue_passports(
                [
                    PassportIssue(
                        pending.passport_id,
                        battery_id_hash(document.battery_id),
                        pending.manifest_digest,
                        pending.signature,
                    )
                    for document, _, pending in prepared
                ]
            )
        except ContractRevert:
            self._log.discard_many(rows)  # refused as a whole: nothing was anchored
            raise
        # Any other failure (timeout, node gone) keeps the pending rows: the transaction may still land.
        return _SentChunk(prepared, tx_hash)

    def _collect_chunk(self, sent: _SentChunk) -> list[IssuedVersion]:
        rows = [pending for _, _, pending in sent.prepared]
        try:
            receipt = self._chain.sent_receipt(sent.tx_hash)
        except ContractRevert:
            self._log.discard_many(rows)  # refused as a whole: nothing was anchored
            raise
        self._log.record_anchor_many(rows, Anchor.of(receipt))
        log.info("%d passports issued in tx %s", len(rows), hex0x(receipt.tx_hash))
        return [
            self._issued(document, committed, pending, receipt)
            for document, committed, pending in sent.prepared
        ]

    def _prepare_issue(self, passport: BatteryPassport, head: int) -> _Prepared:
        document = stamp(passport, version=1, status=LifecycleStatus.ORIGINAL, predecessor=None)
        committed, pending = self._prepare(
            document, version=1, status=LifecycleStatus.ORIGINAL, predecessor=ZERO32, sent_from_block=head
        )
        return document, committed, pending

    def update(self, passport_id: PassportIdLike, passport: BatteryPassport) -> IssuedVersion:
        """Record ``passport`` as the next version with the current status (custodian, issuer, inspector)."""
        record = self._record_for_write(passport_id, passport)
        document = stamp(
            passport,
            version=record.version + 1,
            status=record.status,
            predecessor=_optional_uuid(record.predecessor),
        )
        return self._write(
            document,
            version=record.version + 1,
            status=record.status,
            predecessor=record.predecessor,
            send=lambda pid, _bid, digest, sig: self._chain.update_passport(pid, digest, sig),
        )

    def update_many(
        self,
        updates: Sequence[tuple[PassportIdLike, BatteryPassport]],
        *,
        in_flight: int = UPDATE_WINDOW,
    ) -> list[IssuedVersion]:
        """``update`` for several passports, up to ``in_flight`` transactions sent before the first
        receipt is awaited; the results are in the order given.

        Each version is stored, signed, and logged as pending exactly as ``update`` does (a chunk's
        sections made durable by one flush, its log rows in one SQLite transaction) before its
        transaction is sent. A version the registry refuses is discarded from the log and its revert
        raised once the rest of its chunk is recorded; a failure to send discards the versions not
        sent. Ids repeated in ``updates`` are refused before anything is written.
        """
        if in_flight < 1:
            raise ValueError(f"in_flight must be at least 1, not {in_flight}")
        counts = Counter(_passport_uuid(pid) for pid, _ in updates)
        repeated = [pid for pid, n in counts.items() if n > 1]
        if repeated:
            raise DocumentValidationError(
                "a batch names a passport more than once",
                [("general.passport_id", f"{pid} is repeated") for pid in repeated],
            )
        issued: list[IssuedVersion] = []
        sent: tuple[list[_Prepared], list[bytes]] | None = None
        for start in range(0, len(updates), in_flight):
            # As in ``issue_many``: the next chunk is stored and signed while this one's transactions
            # are in the node, and sent only once every receipt of this one is recorded.
            prepared = self._prepare_updates(updates[start : start + in_flight])
            if sent is not None:
                issued.extend(self._collect_updates(*sent))
            sent = prepared, self._send_updates(prepared)
        if sent is not None:
            issued.extend(self._collect_updates(*sent))
        return issued

    def _prepare_updates(self, updates: Sequence[tuple[PassportIdLike, BatteryPassport]]) -> list[_Prepared]:
        head = self._chain.block_number()
        durable: AbstractContextManager[None] = (
            self._store.deferred_sync() if isinstance(self._store, DeferredSync) else nullcontext()
        )
        prepared: list[tuple[BatteryPassport, CommittedPassport, VersionRecord]] = []
        with durable:
            for passport_id, passport in updates:
                record = self._record_for_write(passport_id, passport)
                document = stamp(
                    passport,
                    version=record.version + 1,
                    status=record.status,
                    predecessor=_optional_uuid(record.predecessor),
                )
                committed, pending = self._prepare(
                    document,
                    version=record.version + 1,
                    status=record.status,
                    predecessor=record.predecessor,
                    sent_from_block=head,
                )
                prepared.append((document, committed, pending))
        return prepared

    def _send_updates(self, prepared: list[_Prepared]) -> list[bytes]:
        self._log.record_pending_many([pending for _, _, pending in prepared])
        sent: list[bytes] = []
        try:
            for _, committed, pending in prepared:
                sent.append(
                    self._chain.send_update_passport(
                        pending.passport_id, committed.manifest_digest, pending.signature
                    )
                )
        except ContractRevert:
            self._log.discard_many([pending for _, _, pending in prepared[len(sent) :]])
            raise
        except Exception:
            # The one being sent may or may not have reached the node: keep its row (``bundle`` finds
            # it among the ledger's events if it lands); the ones never sent are discarded.
            self._log.discard_many([pending for _, _, pending in prepared[len(sent) + 1 :]])
            raise
        return sent

    def _collect_updates(self, prepared: list[_Prepared], sent: list[bytes]) -> list[IssuedVersion]:
        results: list[IssuedVersion] = []
        anchored: list[tuple[VersionRecord, Anchor]] = []
        refused: list[VersionRecord] = []
        revert: ContractRevert | None = None
        try:
            for (document, committed, pending), tx_hash in zip(prepared, sent, strict=True):
                try:
                    receipt = self._chain.sent_receipt(tx_hash)
                except ContractRevert as exc:
                    refused.append(pending)  # refused: nothing was anchored
                    revert = revert or exc
                    continue
                anchored.append((pending, Anchor.of(receipt)))
                results.append(self._issued(document, committed, pending, receipt))
        finally:
            # Whatever was mined is recorded, even if waiting for a later one failed (that one's row
            # stays pending, as ``update`` leaves it).
            self._log.record_anchors(anchored)
            self._log.discard_many(refused)
        if revert is not None:
            raise revert
        log.info("%d passport versions anchored, %d in flight at most", len(results), len(prepared))
        return results

    def append(
        self,
        passport_id: PassportIdLike,
        passport: BatteryPassport,
        send: Callable[[bytes, bytes, bytes], TxReceipt],
    ) -> IssuedVersion:
        """Record ``passport`` as the next version (same status) through ``send(pid, digest, signature)``,
        a registry write other than ``updatePassport`` that appends a version (``recordInspection``,
        ``recordIncident``): stamped, committed, signed and logged exactly like ``update``."""
        record = self._record_for_write(passport_id, passport)
        document = stamp(
            passport,
            version=record.version + 1,
            status=record.status,
            predecessor=_optional_uuid(record.predecessor),
        )
        return self._write(
            document,
            version=record.version + 1,
            status=record.status,
            predecessor=record.predecessor,
            send=lambda pid, _bid, digest, sig: send(pid, digest, sig),
        )

    def change_status(
        self, passport_id: PassportIdLike, status: LifecycleStatus, passport: BatteryPassport
    ) -> IssuedVersion:
        """Move the passport to ``REUSED`` or ``WASTE`` with ``passport`` as the new version (custodian)."""
        status = LifecycleStatus(status)
        record = self._record_for_write(passport_id, passport)
        document = stamp(
            passport,
            version=record.version + 1,
            status=status,
            predecessor=_optional_uuid(record.predecessor),
        )
        return self._write(
            document,
            version=record.version + 1,
            status=status,
            predecessor=record.predecessor,
            send=lambda pid, _bid, digest, sig: self._chain.change_status(pid, status, digest, sig),
        )

    def issue_successor(
        self, predecessor_id: PassportIdLike, passport: BatteryPassport, status: LifecycleStatus
    ) -> IssuedVersion:
        """Issue ``passport`` (its own new id) as ``REPURPOSED``/``REMANUFACTURED`` after a predecessor.

        The predecessor is closed by the same transaction. Needs REPURPOSER_ROLE and its custody.
        """
        status = LifecycleStatus(status)
        predecessor = _passport_uuid(predecessor_id)
        if passport.passport_id == predecessor:
            raise DocumentValidationError(
                "a successor passport needs its own passport id",
                [("general.passport_id", f"equals the predecessor's {predecessor}")],
            )
        pred32 = self._existing(predecessor).passport_id
        document = stamp(passport, version=1, status=status, predecessor=predecessor)
        return self._write(
            document,
            version=1,
            status=status,
            predecessor=pred32,
            send=lambda pid, bid, digest, sig: self._chain.issue_successor(
                pred32, pid, bid, status, digest, sig
            ),
        )

    def recycle(self, passport_id: PassportIdLike, passport: BatteryPassport) -> IssuedVersion:
        """Close a ``WASTE`` passport as ``RECYCLED`` with ``passport`` as its last version (recycler)."""
        record = self._record_for_write(passport_id, passport)
        document = stamp(
            passport,
            version=record.version + 1,
            status=LifecycleStatus.RECYCLED,
            predecessor=_optional_uuid(record.predecessor),
        )
        return self._write(
            document,
            version=record.version + 1,
            status=LifecycleStatus.RECYCLED,
            predecessor=record.predecessor,
            send=lambda pid, _bid, digest, sig: self._chain.recycle(pid, digest, sig),
        )

    # -- reads --------------------------------------------------------------------------------------

    def fetch(
        self,
        passport_id: PassportIdLike,
        tiers: Collection[AccessTier],
        *,
        record: PassportRecord | None = None,
    ) -> FetchedPassport:
        """The on-chain record and the sections of ``tiers``, checked against the on-chain digest.

        Restricted sections are decrypted with the service's key ring; deciding which tiers a caller
        may see is the caller's job (the API's access control). Raises ``PassportNotFound``,
        ``ContentNotFound`` / ``ContentIntegrityError`` (store), ``DecryptionError``, ``DocumentError``.
        """
        try:
            asked = {AccessTier(t) for t in tiers}
        except ValueError as exc:
            raise DocumentValidationError(f"unknown access tier: {exc}") from None
        wanted = [tier for tier in TIER_ORDER if tier in asked]
        record = self._given_or_existing(passport_id, record)
        manifest, cid = self._manifest(record)
        sections = open_passport(manifest, store=self._store, keyring=self._keyring, tiers=wanted)
        return FetchedPassport(
            record=record,
            manifest=manifest,
            manifest_cid=cid,
            sections=sections,
            view=PassportView.from_sections(sections),
        )

    def versions(self, passport_id: PassportIdLike) -> list[VersionInfo]:
        """Every version of the passport, oldest first: the ledger's digests, joined with the version log."""
        record = self._existing(passport_id)
        pid = record.passport_id
        logged = {
            (entry.version, entry.manifest_digest): entry
            for entry in self._log.for_passport(self._chain.chain_id, self._chain.registry_address, pid)
        }
        result: list[VersionInfo] = []
        for version in range(1, record.version + 1):
            digest = (
                record.manifest_digest
                if version == record.version
                else self._chain.version_digest(pid, version)
            )
            cid = cid_from_digest(digest, "raw")
            entry = logged.get((version, digest))
            if entry is None:
                result.append(VersionInfo(version, digest, cid, status=self._status_from_store(cid, digest)))
                continue
            result.append(
                VersionInfo(
                    version,
                    digest,
                    cid,
                    status=entry.status,
                    signer=entry.signer,
                    tx_hash=entry.tx_hash,
                    block_number=entry.block_number,
                    block_hash=entry.block_hash,
                    recorded=True,
                )
            )
        return result

    def bundle(self, passport_id: PassportIdLike) -> VerificationBundle:
        """The offline verification bundle of the passport's current version.

        Raises ``VersionNotRecorded`` when this service did not write that version (or its transaction
        cannot be found), since the signature lives only in the version log; ``InclusionProofError``
        when the node cannot give the anchoring block's header, transactions and receipts.
        """
        return self._bundle(self._existing(passport_id))

    def verify(
        self, passport_id: PassportIdLike, *, record: PassportRecord | None = None
    ) -> VerificationReport:
        """``verify_bundle`` of the current version's bundle, with the ledger and the trusted issuers.

        The bundle carries the public section only, so ``store.sections`` then checks every section
        the manifest lists, sealed ones included, against its committed digest: no key is needed, and
        a rewritten restricted section fails verification for every reader. Content the store no
        longer holds intact is reported as failed checks (``store.content`` when the bundle cannot be
        built) rather than raised: it is a finding about this passport, like any other failed check.

        ``record``: the passport's ledger record as the caller already read it (a read model), instead
        of asking the chain again; the chain checks still ask the chain.
        """
        record = self._given_or_existing(passport_id, record)
        try:
            manifest, _ = self._manifest(record)
        except (ContentIntegrityError, ContentNotFound) as exc:
            return self._store_failure(record, exc)
        sections = self._sections_check(manifest)
        try:
            bundle = self._bundle(record)
        except (ContentIntegrityError, ContentNotFound) as exc:
            return self._store_failure(record, exc, sections)
        report = verify_bundle(bundle, self._trusted, self._chain)
        return report.model_copy(update={"checks": [*report.checks, sections]})

    def store_checks(self, record: PassportRecord, *, manifest: Manifest | None = None) -> list[Check]:
        """The stored content's checks alone, as ``verify`` reports them: the manifest against the
        record's digest (``store.content``), every stored section against the manifest
        (``store.sections``). Local reads and hashing only, no chain call.

        ``manifest``: the record's manifest as parsed before (``manifest_of``). The stored manifest's
        bytes are still read and hashed against the record's digest, and only then is the parsed copy
        used: bytes with that SHA-256 are the bytes it was parsed from.
        """
        try:
            if manifest is None:
                manifest, _ = self._manifest(record)
            else:
                stored = self._store.get(cid_from_digest(record.manifest_digest, "raw"))
                if sha256(stored) != record.manifest_digest:
                    raise ContentIntegrityError(
                        f"the stored manifest hashes to {hex0x(sha256(stored))}, not the committed "
                        f"{hex0x(record.manifest_digest)}"
                    )
        except (ContentIntegrityError, ContentNotFound) as exc:
            return [Check(name=STORE_CHECK, status=CheckStatus.FAIL, reason=str(exc))]
        return [self._sections_check(manifest)]

    def manifest_of(self, record: PassportRecord) -> Manifest:
        """The current version's manifest, checked against the ledger's digest and record."""
        return self._manifest(record)[0]

    # -- internals ----------------------------------------------------------------------------------

    def _given_or_existing(
        self, passport_id: PassportIdLike, record: PassportRecord | None
    ) -> PassportRecord:
        if record is None:
            return self._existing(passport_id)
        if record.passport_id != passport_id_bytes32(_passport_uuid(passport_id)):
            raise InvalidIdentifier(f"the record given is not passport {_passport_uuid(passport_id)}'s")
        return record

    def _store_failure(self, record: PassportRecord, exc: Exception, *found: Check) -> VerificationReport:
        return VerificationReport(
            checks=[Check(name=STORE_CHECK, status=CheckStatus.FAIL, reason=str(exc)), *found],
            passport_id=hex0x(record.passport_id),
            version=record.version,
            status=record.status.name,
            custodian=record.custodian,
            lifecycle=Lifecycle.of(record),
        )

    def _sections_check(self, manifest: Manifest) -> Check:
        problems = stored_section_problems(manifest, self._store)
        if not problems:
            tiers = ", ".join(entry.tier for entry in manifest.sections)
            return Check(
                name=SECTIONS_CHECK,
                status=CheckStatus.PASS,
                reason=f"the stored bytes of every section ({tiers}) match the manifest's digests",
            )
        return Check(
            name=SECTIONS_CHECK,
            status=CheckStatus.FAIL,
            reason="; ".join(f"{tier.value} section: {why}" for tier, why in problems.items()),
        )

    def _existing(self, passport_id: PassportIdLike) -> PassportRecord:
        pid = passport_id_bytes32(_passport_uuid(passport_id))
        record = self._chain.get_passport(pid)
        if record is None:
            raise PassportNotFound(f"no passport {parse_passport_id(pid).urn} on the ledger")
        return record

    def _record_for_write(self, passport_id: PassportIdLike, passport: BatteryPassport) -> PassportRecord:
        """The passport's on-chain record, after checking ``passport`` is a version of that passport."""
        expected = _passport_uuid(passport_id)
        problems: list[tuple[str, str]] = []
        if passport.passport_id != expected:
            problems.append(("general.passport_id", f"is {passport.passport_id}, not {expected}"))
        record = self._existing(expected)
        if battery_id_hash(passport.battery_id) != record.battery_id_hash:
            problems.append(("general.battery_id", "differs from the battery the ledger records"))
        if problems:
            raise DocumentValidationError(
                f"the document is not a version of passport {expected.urn}", problems
            )
        return record

    def _signing_key(self) -> bytes:
        if self._signer_key is None:
            raise SigningKeyMissing("this passport service is read-only: it was built without a signer key")
        return self._signer_key

    def _write(
        self,
        document: BatteryPassport,
        *,
        version: int,
        status: LifecycleStatus,
        predecessor: bytes,
        send: Callable[[bytes, bytes, bytes, bytes], TxReceipt],
    ) -> IssuedVersion:
        committed, pending = self._prepare(document, version=version, status=status, predecessor=predecessor)
        self._log.record_pending(pending)
        try:
            receipt = send(
                pending.passport_id,
                battery_id_hash(document.battery_id),
                committed.manifest_digest,
                pending.signature,
            )
        except ContractRevert:
            self._log.discard(pending)  # refused: nothing was anchored
            raise
        # Any other failure (timeout, node gone) keeps the pending row: the transaction may still land,
        # and ``bundle`` will find it among the ledger's events.
        self._log.record_anchor(pending, Anchor.of(receipt))
        log.info(
            "passport %s version %d (%s) anchored in tx %s",
            document.passport_id,
            version,
            status.name,
            hex0x(receipt.tx_hash),
        )
        return self._issued(document, committed, pending, receipt)

    def _prepare(
        self,
        document: BatteryPassport,
        *,
        version: int,
        status: LifecycleStatus,
        predecessor: bytes,
        sent_from_block: int | None = None,
    ) -> tuple[CommittedPassport, VersionRecord]:
        """Store the version's sections and manifest and sign it: the pending log row, not yet written."""
        key = self._signing_key()
        pid = passport_id_bytes32(document.passport_id)
        battery = battery_id_hash(document.battery_id)
        committed = commit_passport(
            document.sections(),
            passport_id=document.passport_id,
            battery_id_hash=battery,
            version=version,
            status=status,
            store=self._store,
            keyring=self._keyring,
            predecessor=predecessor,
        )
        signature = sign_passport_version(key, self.domain, committed.version_struct())
        pending = VersionRecord(
            chain_id=self.domain.chain_id,
            registry=self.domain.verifying_contract,
            passport_id=pid,
            version=version,
            manifest_digest=committed.manifest_digest,
            manifest_cid=committed.manifest_cid,
            status=status,
            predecessor=predecessor,
            signature=signature,
            signer=self.account,
            sent_from_block=self._chain.block_number() if sent_from_block is None else sent_from_block,
        )
        return committed, pending

    def _issued(
        self,
        document: BatteryPassport,
        committed: CommittedPassport,
        pending: VersionRecord,
        receipt: TxReceipt,
    ) -> IssuedVersion:
        return IssuedVersion(
            passport_id=document.passport_id,
            version=pending.version,
            status=pending.status,
            predecessor=_optional_uuid(pending.predecessor),
            manifest_cid=committed.manifest_cid,
            manifest_digest=committed.manifest_digest,
            section_cids=dict(committed.section_cids),
            signer=self.account,
            signature=pending.signature,
            receipt=receipt,
            document=document,
        )

    def _manifest(self, record: PassportRecord) -> tuple[Manifest, str]:
        """The current version's manifest, checked against the ledger's digest and record."""
        # The manifest is one raw block, so its CID follows from the digest the ledger holds.
        cid = cid_from_digest(record.manifest_digest, "raw")
        manifest = load_manifest(cid, self._store, expected_digest=record.manifest_digest)
        mismatched = [
            name
            for name, ours, theirs in (
                ("passport id", manifest.passport_id_bytes32, record.passport_id),
                ("version", manifest.version, record.version),
                ("status", manifest.lifecycle_status, record.status),
                ("battery id hash", manifest.battery_id_hash, hex0x(record.battery_id_hash)),
                ("predecessor", manifest.predecessor, hex0x(record.predecessor)),
            )
            if ours != theirs
        ]
        if mismatched:
            # The digest matched, so this is what the writer committed: a writer's bug, not tampering.
            raise LedgerContentMismatch(
                f"the committed manifest's {', '.join(mismatched)} disagree with the ledger"
            )
        return manifest, cid

    def _status_from_store(self, cid: str, digest: bytes) -> LifecycleStatus | None:
        try:
            return load_manifest(cid, self._store, expected_digest=digest).lifecycle_status
        except PassportError as exc:  # history stays listable when one old manifest is unreadable
            log.warning("manifest %s unreadable: %s", cid, exc)
            return None

    def _bundle(self, record: PassportRecord) -> VerificationBundle:
        entry, anchored = self._recorded(record)
        manifest, cid = self._manifest(record)
        public = self._store.get(manifest.entry(PUBLIC_TIER).cid)
        committed = CommittedPassport(
            manifest=manifest,
            manifest_bytes=manifest.canonical_bytes(),
            manifest_digest=record.manifest_digest,
            manifest_cid=cid,
            section_cids={AccessTier(e.tier): e.cid for e in manifest.sections},
            public_section=public,
        )
        # The log's chain and registry are this client's (``_recorded`` looked the entry up by them).
        anchor = prove_anchor(self._chain, anchored.tx_hash, anchored.block_hash)
        return build_bundle(committed, issuer=entry.signer, signature=entry.signature, anchor=anchor)

    def _recorded(self, record: PassportRecord) -> tuple[VersionRecord, Anchor]:
        """The log's anchored record of the current version; completes a pending one from the ledger."""
        urn = parse_passport_id(record.passport_id).urn
        entry = self._log.get(
            self._chain.chain_id,
            self._chain.registry_address,
            record.passport_id,
            record.version,
            record.manifest_digest,
        )
        if entry is None:
            raise VersionNotRecorded(
                f"passport {urn} version {record.version} (digest {hex0x(record.manifest_digest)}) was not "
                f"written through this service, so its signature is not known here"
            )
        if entry.anchor is not None:
            return entry, entry.anchor
        anchor = self._find_anchor(entry)
        if anchor is None:
            raise VersionNotRecorded(
                f"passport {urn} version {record.version} was sent but its transaction is not recorded, "
                f"and no ledger event since block {entry.sent_from_block} names it"
            )
        self._log.record_anchor(entry, anchor)
        return entry.with_anchor(anchor), anchor

    def _find_anchor(self, entry: VersionRecord) -> Anchor | None:
        # The transaction was sent after ``sent_from_block``; the range is bounded by how long the
        # service was down, so one query is enough in practice.
        events = self._chain.events(entry.sent_from_block, self._chain.block_number(), _VERSION_EVENTS)
        for event in events:
            if _mentions(event.args, entry.passport_id) and _mentions(event.args, entry.manifest_digest):
                return Anchor(event.tx_hash, event.block_number, event.block_hash)
        return None


def _mentions(args: Mapping[str, Any], value: bytes) -> bool:
    return any(isinstance(arg, bytes | bytearray) and bytes(arg) == value for arg in args.values())
