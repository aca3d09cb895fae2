"""Verification of a passport bundle: every check by name, offline first, then against the ledger.

Offline checks need only the bundle and a list of trusted issuer addresses:

====================================  ==========================================================
``bundle.format``                     the bundle declares the format this verifier reads
``manifest.schema``                   the manifest is a well-formed manifest, canonically spelled
``manifest.digest``                   SHA-256 of the canonical manifest is the signed digest
``manifest.cid``                      the manifest's CID is recomputed from its bytes
``manifest.consistency``              passport id, battery hash, version, status and predecessor in
                                      the manifest are the signed ones
``public_section.digest``             SHA-256 of the public section is the manifest's digest
``public_section.cid``                the public section's CID is recomputed from its bytes
``public_section.document``           the public section is a canonical public-tier section document
``signature.recover``                 the EIP-712 signature recovers to the bundle's issuer
``signature.trusted_issuer``          that issuer is one the caller trusts
``anchor.header``                     the shipped header's RLP hashes to the anchor's block hash and
                                      carries its block number
``anchor.transaction``                the transaction proof shows, at the anchor's index under the
                                      header's transactions root, a transaction hashing to the tx hash
``anchor.receipt``                    the receipt proof shows its receipt under the receipts root:
                                      it succeeded and the registry logged exactly this passport id,
                                      version and manifest digest (and status, where the event says)
``anchor.writer``                     the account that event records as writer is the signer
====================================  ==========================================================

So offline a bundle proves: a trusted issuer signed this version, and a block with this hash records
the registry accepting it from that issuer. It cannot prove that the block is on the canonical chain or
that no later version exists: the report says "valid as of version N, block B; freshness not checked".

With a ``ChainClient`` (read-only is enough) the ledger is asked too: ``chain.network``,
``chain.record_exists``, ``chain.digest_matches``, ``chain.current_version``, ``chain.lifecycle``,
``chain.status_matches``, ``chain.identity``, ``chain.custody``, ``chain.signature_onchain``,
``chain.anchor`` (the block is canonical and its transaction's event records this version) and
``chain.writer`` (the writer that event records is the signer). Without one they are reported as skipped.

A superseded or recycled passport is a closed, *valid* historical record, not a failure: like
``chain.custody``, ``chain.lifecycle`` reports a ledger fact, and ``VerificationReport.lifecycle`` carries
it as data (state, successor, when it was closed) for pages and clients to show.

Failed checks are reported, never raised; only an unreadable bundle raises ``VerificationError``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict, computed_field

from passport.bundle import BUNDLE_FORMAT, VerificationBundle, decode_header, load_bundle
from passport.canonical import canonical_json
from passport.chain.inclusion import decode_receipt, proven_value
from passport.chain.protocol import ChainClient
from passport.chain.records import PassportRecord
from passport.chain.version_events import VERSION_EVENTS, RecordedVersion, recorded_version, versions_in
from passport.errors import PassportError
from passport.ids import ZERO32, parse_passport_id
from passport.model import LifecycleStatus
from passport.sections import PUBLIC_TIER, Manifest, parse_section_document, unhex0x
from passport.signing import PassportVersion, checksum_address, recover_passport_version_signer
from passport.store import cid_digest, cid_of

log = logging.getLogger(__name__)

T = TypeVar("T")


class CheckStatus(StrEnum):
    PASS = "pass"  # noqa: S105  # a check outcome, not a password
    FAIL = "fail"
    SKIPPED = "skipped"


class Check(BaseModel):
    """One named check and its outcome; ``reason`` says why, in words a person can act on."""

    model_config = ConfigDict(frozen=True)

    name: str
    status: CheckStatus
    reason: str


class LifecycleState(StrEnum):
    """Where a passport stands on the ledger; every state is valid, closed ones are historical."""

    OPEN = "open"
    SUPERSEDED = "superseded"
    RECYCLED = "recycled"


class Lifecycle(BaseModel):
    """The ledger's lifecycle facts about a passport: status information, not an integrity finding.

    ``successor_id`` is the superseding passport's UUID (as the API's paths take it); ``closed_at`` is
    the Unix time of the block that superseded or recycled it (a closed passport's record never changes
    again, so it is the record's last update).
    """

    model_config = ConfigDict(frozen=True)

    state: LifecycleState
    status: str
    successor_id: str | None = None
    closed_at: int | None = None

    @classmethod
    def of(cls, record: PassportRecord) -> Lifecycle:
        if record.successor != ZERO32:
            state = LifecycleState.SUPERSEDED
        elif record.status is LifecycleStatus.RECYCLED:
            state = LifecycleState.RECYCLED
        else:
            state = LifecycleState.OPEN
        return cls(
            state=state,
            status=record.status.name,
            successor_id=None if record.successor == ZERO32 else str(parse_passport_id(record.successor)),
            closed_at=None if state is LifecycleState.OPEN else record.updated_at,
        )

    def describe(self) -> str:
        when = (
            ""
            if self.closed_at is None
            else datetime.fromtimestamp(self.closed_at, UTC).strftime(" on %Y-%m-%d %H:%M UTC")
        )
        if self.state is LifecycleState.SUPERSEDED:
            return f"superseded by passport {self.successor_id}{when}: a closed, valid historical record"
        if self.state is LifecycleState.RECYCLED:
            return f"recycled{when}: the battery has ended its life; a closed, valid historical record"
        return f"open, status {self.status}"


class VerificationReport(BaseModel):
    """Every check run on a bundle, in order, and what was learnt along the way.

    ``lifecycle`` (with a chain client) tells a valid historical passport (``ok`` and superseded or
    recycled) from a current one; it never makes ``ok`` false.
    """

    checks: list[Check]
    passport_id: str | None = None
    version: int | None = None
    status: str | None = None
    signer: str | None = None
    custodian: str | None = None
    anchored_block: int | None = None
    chain_checked: bool = False
    lifecycle: Lifecycle | None = None

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented use on a property
    @property
    def ok(self) -> bool:
        """True when no check failed (skipped checks are not failures)."""
        return all(check.status is not CheckStatus.FAIL for check in self.checks)

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented use on a property
    @property
    def summary(self) -> str:
        """One line saying what the checks that ran establish, and what they leave open."""
        failed = self.failed()
        where = f"version {self.version}, block {self.anchored_block}"
        if not failed:
            if not self.chain_checked:
                return (
                    f"VALID as of {where}; freshness not checked (whether a later version exists and "
                    f"whether block {self.anchored_block} is on the canonical chain need --rpc)"
                )
            closed = (
                ""
                if self.lifecycle is None or self.lifecycle.state is LifecycleState.OPEN
                else (f"; {self.lifecycle.describe()}")
            )
            return f"VALID: {where} on the canonical chain, and the current version{closed}"
        if {check.name for check in failed} <= set(FRESHNESS_CHECKS):
            moved_on = "; ".join(check.reason for check in failed)
            return f"NOT CURRENT: valid as of {where}; the ledger has moved on: {moved_on}"
        return f"INVALID: {len(failed)} check(s) failed: " + ", ".join(c.name for c in failed)

    def check(self, name: str) -> Check:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)

    def failed(self) -> list[Check]:
        return [check for check in self.checks if check.status is CheckStatus.FAIL]


class _Recorder:
    def __init__(self) -> None:
        self.checks: list[Check] = []

    def add(self, name: str, status: CheckStatus, reason: str) -> None:
        self.checks.append(Check(name=name, status=status, reason=reason))

    def result(self, name: str, passed: bool, ok_reason: str, fail_reason: str) -> bool:
        self.add(name, CheckStatus.PASS if passed else CheckStatus.FAIL, ok_reason if passed else fail_reason)
        return passed

    def skip(self, names: Iterable[str], reason: str) -> None:
        for name in names:
            self.add(name, CheckStatus.SKIPPED, reason)


ANCHOR_CHECKS = ("anchor.header", "anchor.transaction", "anchor.receipt", "anchor.writer")
# What only the ledger can tell about a genuinely anchored version: has the passport moved on since.
FRESHNESS_CHECKS = ("chain.current_version", "chain.status_matches")
CHAIN_CHECKS = (
    "chain.network",
    "chain.record_exists",
    "chain.digest_matches",
    "chain.current_version",
    "chain.lifecycle",
    "chain.status_matches",
    "chain.identity",
    "chain.custody",
    "chain.signature_onchain",
    "chain.anchor",
    "chain.writer",
)


def parse_trusted_issuers(addresses: Iterable[str]) -> frozenset[str]:
    """Checksummed trusted issuer addresses; raises ``InvalidIdentifier`` on a malformed one."""
    return frozenset(checksum_address(address, "trusted issuer address") for address in addresses)


def _short(value: bytes) -> str:
    return "0x" + value.hex()


def verify_bundle(
    bundle: VerificationBundle | bytes | str | Mapping[str, Any],
    trusted_issuers: Iterable[str],
    chain: ChainClient | None = None,
) -> VerificationReport:
    """Run every check on ``bundle`` (offline, plus on-chain when ``chain`` is given) and report each."""
    if not isinstance(bundle, VerificationBundle):
        bundle = load_bundle(dict(bundle) if isinstance(bundle, Mapping) else bundle)
    trusted = parse_trusted_issuers(trusted_issuers)
    rec = _Recorder()
    signed = bundle.signed

    rec.result(
        "bundle.format",
        bundle.format == BUNDLE_FORMAT,
        f"format {BUNDLE_FORMAT}",
        f"format {bundle.format!r} is not {BUNDLE_FORMAT!r}",
    )
    manifest, manifest_digest = _manifest_checks(rec, bundle)
    _public_section_checks(rec, bundle, manifest)
    struct = signed.to_struct()
    signer = _signature_checks(rec, bundle, struct, trusted)
    _anchor_proof_checks(rec, bundle, signer)

    record: PassportRecord | None = None
    if chain is None:
        rec.skip(CHAIN_CHECKS, "no chain client: pass --rpc and --registry to check the ledger")
    else:
        record = _chain_checks(rec, bundle, struct, manifest_digest, signer, chain)
    return VerificationReport(
        checks=rec.checks,
        passport_id=signed.passport_id,
        version=signed.version,
        status=LifecycleStatus(signed.status).name,
        signer=signer,
        custodian=None if record is None else record.custodian,
        anchored_block=bundle.anchor.block_number,
        chain_checked=chain is not None,
        lifecycle=None if record is None else Lifecycle.of(record),
    )


# -- offline ----------------------------------------------------------------------------------------


def _manifest_checks(rec: _Recorder, bundle: VerificationBundle) -> tuple[Manifest | None, bytes | None]:
    signed = bundle.signed
    manifest: Manifest | None = None
    try:
        manifest = Manifest.from_document(bundle.manifest)
    except PassportError as exc:
        rec.add("manifest.schema", CheckStatus.FAIL, str(exc))
    else:
        rec.add(
            "manifest.schema", CheckStatus.PASS, f"{manifest.format}, {len(manifest.sections)} section(s)"
        )

    try:
        manifest_bytes: bytes | None = canonical_json(bundle.manifest)
    except PassportError as exc:
        manifest_bytes = None
        rec.add("manifest.digest", CheckStatus.FAIL, f"manifest cannot be canonicalised: {exc}")
        rec.skip(["manifest.cid"], "manifest cannot be canonicalised")
    digest: bytes | None = None
    if manifest_bytes is not None:
        digest = hashlib.sha256(manifest_bytes).digest()
        rec.result(
            "manifest.digest",
            _short(digest) == signed.manifest_digest,
            f"sha256(JCS(manifest)) = {_short(digest)} is the signed digest",
            f"sha256(JCS(manifest)) = {_short(digest)}, signed digest is {signed.manifest_digest}",
        )
        computed = _cid_or_none(manifest_bytes)
        rec.result(
            "manifest.cid",
            computed == bundle.manifest_cid and _cid_digest_or_none(bundle.manifest_cid) == digest,
            f"{bundle.manifest_cid} recomputed from the manifest bytes",
            f"manifest bytes give CID {computed}, bundle says {bundle.manifest_cid}",
        )

    if manifest is None:
        rec.skip(["manifest.consistency"], "manifest is malformed")
    else:
        mismatches = [
            field
            for field, ours, theirs in (
                ("passport_id", _short(manifest.passport_id_bytes32), signed.passport_id),
                ("battery_id_hash", manifest.battery_id_hash, signed.battery_id_hash),
                ("version", manifest.version, signed.version),
                ("status", int(manifest.lifecycle_status), signed.status),
                ("predecessor", manifest.predecessor, signed.predecessor),
            )
            if ours != theirs
        ]
        rec.result(
            "manifest.consistency",
            not mismatches,
            f"{manifest.passport_id} v{manifest.version} {manifest.status} matches the signed fields",
            f"manifest and signed fields differ in {', '.join(mismatches)}",
        )
    return manifest, digest


def _public_section_checks(rec: _Recorder, bundle: VerificationBundle, manifest: Manifest | None) -> None:
    names = ["public_section.digest", "public_section.cid", "public_section.document"]
    if manifest is None:
        rec.skip(names, "manifest is malformed: nothing to check the public section against")
        return
    entry = manifest.entry(PUBLIC_TIER)  # a valid manifest always lists it
    public = bundle.public_section_bytes
    digest = hashlib.sha256(public).digest()
    rec.result(
        "public_section.digest",
        _short(digest) == entry.digest,
        f"sha256 = {entry.digest} as in the manifest",
        f"sha256 = {_short(digest)}, the manifest says {entry.digest}",
    )
    computed = _cid_or_none(public)
    rec.result(
        "public_section.cid",
        computed == entry.cid,
        f"{entry.cid} recomputed from the bytes",
        f"the bytes give CID {computed}, the manifest says {entry.cid}",
    )
    try:
        data = parse_section_document(public, PUBLIC_TIER)
    except PassportError as exc:
        rec.add("public_section.document", CheckStatus.FAIL, str(exc))
    else:
        rec.add(
            "public_section.document", CheckStatus.PASS, f"canonical public section, {len(data)} field(s)"
        )


def _signature_checks(
    rec: _Recorder, bundle: VerificationBundle, struct: PassportVersion, trusted: frozenset[str]
) -> str | None:
    signer: str | None = None
    try:
        signer = recover_passport_version_signer(bundle.anchor.domain(), struct, bundle.signature_bytes)
    except PassportError as exc:
        rec.add("signature.recover", CheckStatus.FAIL, f"no signer recovered: {exc}")
    else:
        rec.result(
            "signature.recover",
            signer == bundle.issuer,
            f"EIP-712 signature by {signer} "
            f"(chain {bundle.anchor.chain_id}, registry {bundle.anchor.registry})",
            f"signature recovers to {signer}, not the bundle's issuer {bundle.issuer}",
        )
    if signer is None:
        rec.add("signature.trusted_issuer", CheckStatus.FAIL, "no signer recovered")
    elif not trusted:
        rec.add("signature.trusted_issuer", CheckStatus.FAIL, f"{signer} signed, but no issuer is trusted")
    else:
        rec.result(
            "signature.trusted_issuer",
            signer in trusted,
            f"{signer} is a trusted issuer",
            f"{signer} is not among the {len(trusted)} trusted issuer(s)",
        )
    return signer


def _anchor_proof_checks(rec: _Recorder, bundle: VerificationBundle, signer: str | None) -> None:
    anchor = bundle.anchor
    try:
        header = decode_header(anchor)
    except PassportError as exc:
        rec.add("anchor.header", CheckStatus.FAIL, str(exc))
        rec.skip(ANCHOR_CHECKS[1:], "no usable block header")
        return
    if not rec.result(
        "anchor.header",
        header.hash == unhex0x(anchor.block_hash) and header.number == anchor.block_number,
        f"the header of block {anchor.block_number} hashes to {anchor.block_hash}",
        f"the header is block {header.number} hashing to {_short(header.hash)}; the anchor says block "
        f"{anchor.block_number} {anchor.block_hash}",
    ):
        rec.skip(ANCHOR_CHECKS[1:], "the header is not the anchor's block")
        return
    try:
        tx = proven_value(header.transactions_root, anchor.tx_index, anchor.transaction_nodes())
    except PassportError as exc:
        rec.add("anchor.transaction", CheckStatus.FAIL, f"transaction proof: {exc}")
    else:
        rec.result(
            "anchor.transaction",
            _short(keccak(tx)) == anchor.tx_hash,
            f"transaction {anchor.tx_index} of the block is {anchor.tx_hash}",
            f"transaction {anchor.tx_index} of the block is {_short(keccak(tx))}, not {anchor.tx_hash}",
        )
    try:
        receipt = decode_receipt(proven_value(header.receipts_root, anchor.tx_index, anchor.receipt_nodes()))
    except PassportError as exc:
        rec.add("anchor.receipt", CheckStatus.FAIL, f"receipt proof: {exc}")
        rec.skip(["anchor.writer"], "no proven receipt")
        return
    if not receipt.succeeded:
        rec.add("anchor.receipt", CheckStatus.FAIL, f"transaction {anchor.tx_index} of the block failed")
        rec.skip(["anchor.writer"], "the anchoring transaction failed")
        return
    recorded = versions_in([(log.address, log.topics, log.data) for log in receipt.logs], anchor.registry)
    match = next((version for version in recorded if _records(version, bundle)), None)
    if match is None:
        seen = ", ".join(_describe(version) for version in recorded) or "no passport version"
        rec.add(
            "anchor.receipt",
            CheckStatus.FAIL,
            f"the receipt of transaction {anchor.tx_index} records {seen} from registry {anchor.registry}",
        )
        rec.skip(["anchor.writer"], "no registry event for this version in the receipt")
        return
    rec.add(
        "anchor.receipt",
        CheckStatus.PASS,
        f"the receipt of {anchor.tx_hash} holds the registry's {match.event} of this passport, version "
        f"{match.version}, digest {bundle.signed.manifest_digest}",
    )
    rec.result(
        "anchor.writer",
        match.writer == signer,
        f"the registry recorded {match.writer} as the writer of version {match.version}",
        f"the registry recorded {match.writer} as the writer of version {match.version}, not the "
        f"signer {signer}",
    )


def _records(version: RecordedVersion, bundle: VerificationBundle) -> bool:
    signed = bundle.signed
    return (
        _short(version.passport_id) == signed.passport_id
        and version.version == signed.version
        and _short(version.manifest_digest) == signed.manifest_digest
        and (version.status is None or int(version.status) == signed.status)
        and (version.battery_id_hash is None or _short(version.battery_id_hash) == signed.battery_id_hash)
        and (version.predecessor is None or _short(version.predecessor) == signed.predecessor)
    )


def _describe(version: RecordedVersion) -> str:
    return (
        f"{version.event} of passport {_short(version.passport_id)} version {version.version} digest "
        f"{_short(version.manifest_digest)}"
    )


def _cid_or_none(data: bytes) -> str | None:
    try:
        return cid_of(data)
    except PassportError:
        return None


def _cid_digest_or_none(cid: str) -> bytes | None:
    try:
        return cid_digest(cid)
    except PassportError:
        return None


# -- on-chain ---------------------------------------------------------------------------------------


class _ChainFailed(Exception):
    """Raised when one check's chain read fails; carries the message out so the other checks still run."""


def _ask(call: Callable[[], T]) -> T:
    try:
        return call()
    except PassportError as exc:  # ChainError and its kin, already translated at the client boundary
        raise _ChainFailed(f"{type(exc).__name__}: {exc}") from None


def _chain_checks(
    rec: _Recorder,
    bundle: VerificationBundle,
    struct: PassportVersion,
    manifest_digest: bytes | None,
    signer: str | None,
    chain: ChainClient,
) -> PassportRecord | None:
    anchor = bundle.anchor
    try:
        chain_id, registry = _ask(lambda: chain.chain_id), _ask(lambda: chain.registry_address)
    except _ChainFailed as exc:
        rec.add("chain.network", CheckStatus.FAIL, str(exc))
        rec.skip(CHAIN_CHECKS[1:], "the chain could not be asked")
        return None
    if not rec.result(
        "chain.network",
        chain_id == anchor.chain_id and to_checksum_address(registry) == anchor.registry,
        f"chain {chain_id}, registry {anchor.registry}",
        f"the client is on chain {chain_id} registry {registry}; the bundle was anchored on chain "
        f"{anchor.chain_id} registry {anchor.registry}",
    ):
        rec.skip(CHAIN_CHECKS[1:], "the chain client is for another ledger")
        return None

    pid = struct.passport_id
    try:
        record = _ask(lambda: chain.get_passport(pid))
    except _ChainFailed as exc:
        rec.add("chain.record_exists", CheckStatus.FAIL, str(exc))
        record = None
    else:
        rec.result(
            "chain.record_exists",
            record is not None,
            f"passport {_short(pid)} is on the ledger",
            f"no passport {_short(pid)} on the ledger",
        )

    _digest_check(rec, chain, struct, manifest_digest)
    if record is None:
        rec.skip(
            [
                "chain.current_version",
                "chain.lifecycle",
                "chain.status_matches",
                "chain.identity",
                "chain.custody",
            ],
            "no on-chain record",
        )
    else:
        _record_checks(rec, struct, record)
    _onchain_signature_check(rec, chain, bundle, struct, signer)
    _anchor_check(rec, chain, bundle, signer)
    return record


def _digest_check(
    rec: _Recorder, chain: ChainClient, struct: PassportVersion, manifest_digest: bytes | None
) -> None:
    expected = manifest_digest if manifest_digest is not None else struct.manifest_digest
    try:
        onchain = _ask(lambda: chain.version_digest(struct.passport_id, struct.version))
    except _ChainFailed as exc:
        rec.add("chain.digest_matches", CheckStatus.FAIL, f"version {struct.version} not readable: {exc}")
        return
    rec.result(
        "chain.digest_matches",
        onchain == expected,
        f"version {struct.version} on-chain digest {_short(onchain)} is the manifest digest",
        f"version {struct.version} on-chain digest {_short(onchain)}, the manifest's is {_short(expected)}",
    )


def _record_checks(rec: _Recorder, struct: PassportVersion, record: PassportRecord) -> None:
    rec.result(
        "chain.current_version",
        record.version == struct.version,
        f"version {struct.version} is the current version",
        f"the bundle is version {struct.version} but the passport is at version {record.version}"
        + (" (an older, replayed version)" if struct.version < record.version else ""),
    )
    # A fact, like custody: being superseded or recycled is a valid state, not tampering.
    rec.add("chain.lifecycle", CheckStatus.PASS, Lifecycle.of(record).describe())
    rec.result(
        "chain.status_matches",
        int(record.status) == int(struct.status),
        f"on-chain status {record.status.name} as signed",
        f"on-chain status {record.status.name}, the bundle signs {struct.status.name}",
    )
    mismatched = [
        name
        for name, ours, theirs in (
            ("battery_id_hash", struct.battery_id_hash, record.battery_id_hash),
            ("predecessor", struct.predecessor, record.predecessor),
        )
        if ours != theirs
    ]
    rec.result(
        "chain.identity",
        not mismatched,
        "battery id hash and predecessor match the ledger",
        f"the ledger's {', '.join(mismatched)} differ from the signed ones",
    )
    rec.add("chain.custody", CheckStatus.PASS, f"current custodian {record.custodian}")


def _onchain_signature_check(
    rec: _Recorder,
    chain: ChainClient,
    bundle: VerificationBundle,
    struct: PassportVersion,
    signer: str | None,
) -> None:
    expected = signer or bundle.issuer
    try:
        onchain = _ask(
            lambda: chain.recover_version_signer(
                struct.passport_id,
                struct.battery_id_hash,
                struct.version,
                struct.status,
                struct.manifest_digest,
                struct.predecessor,
                bundle.signature_bytes,
            )
        )
    except _ChainFailed as exc:
        rec.add("chain.signature_onchain", CheckStatus.FAIL, f"the registry recovers no signer: {exc}")
        return
    rec.result(
        "chain.signature_onchain",
        to_checksum_address(onchain) == expected,
        f"the registry recovers {expected} too",
        f"the registry recovers {onchain}, offline recovery gave {expected}",
    )


def _anchor_check(rec: _Recorder, chain: ChainClient, bundle: VerificationBundle, signer: str | None) -> None:
    anchor = bundle.anchor
    block_hash = unhex0x(anchor.block_hash)
    tx_hash = unhex0x(anchor.tx_hash)
    try:
        canonical = _ask(lambda: chain.block_hash(anchor.block_number))
        if canonical != block_hash:
            rec.add(
                "chain.anchor",
                CheckStatus.FAIL,
                f"block {anchor.block_number} is {_short(canonical) if canonical else 'missing'} on the "
                f"canonical chain, the receipt says {anchor.block_hash} (reorganised away or forged)",
            )
            rec.skip(["chain.writer"], "the anchor is not on the canonical chain")
            return
        events = _ask(lambda: chain.events(anchor.block_number, anchor.block_number, VERSION_EVENTS))
    except _ChainFailed as exc:
        rec.add("chain.anchor", CheckStatus.FAIL, str(exc))
        rec.skip(["chain.writer"], "the chain could not be asked")
        return
    match = next(
        (
            version
            for event in events
            if event.tx_hash == tx_hash
            and (version := recorded_version(event.name, event.args)) is not None
            and _records(version, bundle)
        ),
        None,
    )
    if match is None:
        rec.add(
            "chain.anchor",
            CheckStatus.FAIL,
            f"no registry event for this passport version in tx {anchor.tx_hash} of block "
            f"{anchor.block_number}",
        )
        rec.skip(["chain.writer"], "no event recording this version")
        return
    rec.add(
        "chain.anchor",
        CheckStatus.PASS,
        f"tx {anchor.tx_hash} in block {anchor.block_number} recorded this version",
    )
    rec.result(
        "chain.writer",
        match.writer == signer,
        f"the ledger's {match.event} names {match.writer}, the signer, as writer",
        f"the ledger's {match.event} names {match.writer} as writer of version {match.version}, but "
        f"the bundle is signed by {signer}",
    )
