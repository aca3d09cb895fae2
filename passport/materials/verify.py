"""Follow a passport's recycled content back to the recycled batteries, offline, one named check a link.

``collect_evidence`` gathers, once, everything the chain of proof needs: the signed documents (usage
certificate, usage claim, production certificates, lots) from the content store and the facts the chain
holds about them (claim, lots, feedstock passports and their version digests). ``verify_evidence`` then
needs neither network nor node: a reader can export the ``Evidence`` as JSON and check it anywhere, with
the certifiers they trust. The walk is

    passport share → usage certificate → usage claim → retired credits → production certificates
    → lots → recycled passports

and each hop is a named ``Check``; tampering with any document or fact fails the check of its hop.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from pydantic import BaseModel, Field

from passport.chain.material_ledger import ClaimStatus, LotStatus, MaterialLedger, Metal
from passport.chain.protocol import ChainClient
from passport.materials.documents import (
    Address,
    Hex32,
    MaterialModel,
    ProductionCertificate,
    RecycledLot,
    UsageCertificate,
    UsageClaim,
    document_digest,
    hex32,
    open_document,
    unhex32,
)
from passport.materials.errors import MaterialsError
from passport.materials.service import document_cid
from passport.materials.shares import recycled_shares
from passport.model.circularity import RecycledContentShare, RecycledElement
from passport.model.lifecycle import LifecycleStatus
from passport.store.protocol import ContentStore

M = TypeVar("M", bound=BaseModel)

#: Every check, in walking order (the names a failure reports).
CHECKS: tuple[str, ...] = (
    "passport.certificate_link",
    "passport.shares",
    "usage_certificate.signature",
    "usage_certificate.on_chain",
    "usage_claim.link",
    "usage_claim.signature",
    "usage_claim.shares",
    "retired_credits.on_chain",
    "retired_credits.sources",
    "production_certificate.signature",
    "production_certificate.on_chain",
    "lot.link",
    "lot.signature",
    "lot.on_chain",
    "lot.recovery_cap",
    "feedstock.passports",
)


class ClaimFact(MaterialModel):
    claimant: Address
    status: int
    claim_digest: Hex32
    certificate_digest: Hex32
    pre_consumer_grams: tuple[int, int, int, int]
    post_consumer_grams: tuple[int, int, int, int]


class LotFact(MaterialModel):
    recycler: Address
    status: int
    post_consumer: bool
    document_digest: Hex32
    certificate_digest: Hex32
    feedstock_grams: tuple[int, int, int, int]
    recovered_grams: tuple[int, int, int, int]
    feedstock: list[Hex32]


class FeedstockFact(MaterialModel):
    status: int
    fed_lot: Hex32 | None
    version_digests: list[Hex32]


class Evidence(MaterialModel):
    """Everything the walk needs, exportable as JSON: documents by digest (base64) and chain facts."""

    shares: list[RecycledContentShare]
    documents: dict[Hex32, str] = Field(description="Signed documents' bytes (base64) by their SHA-256.")
    claim_id: Hex32 | None = None
    claim: ClaimFact | None = None
    lots: dict[Hex32, LotFact] = Field(default_factory=dict)
    feedstock: dict[Hex32, FeedstockFact] = Field(default_factory=dict)
    max_recovery_bps: tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class Check:
    """One hop's verdict."""

    name: str
    ok: bool
    detail: str


@dataclass
class Verification:
    """All checks run; ``ok`` only when every one passed."""

    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failed(self) -> list[str]:
        """Names of the failed checks, each once, in walking order."""
        names = {c.name for c in self.checks if not c.ok}
        return [n for n in CHECKS if n in names]

    def add(self, name: str, ok: bool, detail: str = "") -> bool:
        self.checks.append(Check(name, ok, detail))
        return ok


# -- collecting ----------------------------------------------------------------------------------------


def _certificate_digest(shares: Sequence[RecycledContentShare]) -> bytes | None:
    links = {s.usage_certificate.sha256 for s in shares if s.usage_certificate is not None}
    if len(links) != 1 or None in links:
        return None
    (digest_hex,) = links
    return bytes.fromhex(str(digest_hex))


def collect_evidence(
    shares: Sequence[RecycledContentShare],
    *,
    store: ContentStore,
    ledger: MaterialLedger,
    chain: ChainClient,
) -> Evidence:
    """Read the documents and chain facts the walk from ``shares`` (a passport's) needs."""
    documents: dict[str, str] = {}

    def fetch(digest: bytes) -> bytes | None:
        try:
            data = store.get(document_cid(digest))
        except (MaterialsError, LookupError, ValueError):
            return None
        documents[hex32(digest)] = base64.b64encode(data).decode()
        return data

    caps = tuple(ledger.max_recovery(m) for m in Metal)
    evidence = Evidence(
        shares=list(shares), documents={}, max_recovery_bps=(caps[0], caps[1], caps[2], caps[3])
    )
    certificate_digest = _certificate_digest(shares)
    if certificate_digest is None or (data := fetch(certificate_digest)) is None:
        return evidence.model_copy(update={"documents": documents})
    usage, _ = open_document(data, UsageCertificate)
    claim_id = unhex32(usage.claim_id)
    record = ledger.get_claim(claim_id)
    claim_fact = None
    if record is not None:
        claim_fact = ClaimFact(
            claimant=record.claimant,
            status=int(record.status),
            claim_digest=hex32(record.claim_digest),
            certificate_digest=hex32(record.certificate_digest),
            pre_consumer_grams=record.pre_consumer_grams,
            post_consumer_grams=record.post_consumer_grams,
        )
    lots: dict[str, LotFact] = {}
    feedstock: dict[str, FeedstockFact] = {}
    claim_data = fetch(unhex32(usage.claim_digest))
    if claim_data is not None:
        claim, _ = open_document(claim_data, UsageClaim)
        for digest_hex in dict.fromkeys(s.production_certificate_digest for s in claim.sources):
            cert_data = fetch(unhex32(digest_hex))
            if cert_data is None:
                continue
            production, _ = open_document(cert_data, ProductionCertificate)
            lot = ledger.get_lot(unhex32(production.lot_id))
            if lot is None:
                continue
            lots[production.lot_id] = LotFact(
                recycler=lot.recycler,
                status=int(lot.status),
                post_consumer=lot.post_consumer,
                document_digest=hex32(lot.document_digest),
                certificate_digest=hex32(lot.certificate_digest),
                feedstock_grams=lot.feedstock_grams,
                recovered_grams=lot.recovered_grams,
                feedstock=[hex32(p) for p in lot.feedstock],
            )
            fetch(lot.document_digest)
            for passport_id in lot.feedstock:
                passport = chain.get_passport(passport_id)
                fed = ledger.feedstock_lot(passport_id)
                feedstock[hex32(passport_id)] = FeedstockFact(
                    status=-1 if passport is None else int(passport.status),
                    fed_lot=None if fed is None else hex32(fed),
                    version_digests=[]
                    if passport is None
                    else [
                        hex32(chain.version_digest(passport_id, v)) for v in range(1, passport.version + 1)
                    ],
                )
    return evidence.model_copy(
        update={
            "documents": documents,
            "claim_id": usage.claim_id,
            "claim": claim_fact,
            "lots": lots,
            "feedstock": feedstock,
        }
    )


# -- verifying ------------------------------------------------------------------------------------------


def _document(evidence: Evidence, digest_hex: str) -> bytes | None:
    encoded = evidence.documents.get(digest_hex)
    if encoded is None:
        return None
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None
    return data


def _open(
    result: Verification, evidence: Evidence, digest_hex: str, model: type[M], link: str, signature: str
) -> tuple[M, str] | None:
    """The document a link points at: present and hashing to its digest (``link``), well signed."""
    data = _document(evidence, digest_hex)
    if not result.add(link, data is not None and hex32(document_digest(data)) == digest_hex, digest_hex):
        return None
    assert data is not None
    try:
        opened = open_document(data, model)
    except MaterialsError as exc:
        result.add(signature, False, str(exc))
        return None
    return opened


def _shares_equal(a: Iterable[RecycledContentShare], b: Iterable[RecycledContentShare]) -> bool:
    def key(shares: Iterable[RecycledContentShare]) -> list[tuple[str, float | None, float | None, float]]:
        return sorted(
            (s.element.value, s.pre_consumer_percent, s.post_consumer_percent, s.total_percent)
            for s in shares
        )

    return key(a) == key(b)


def verify_evidence(evidence: Evidence, *, trusted_certifiers: Iterable[str]) -> Verification:
    """Walk the chain of proof; every hop is a named check (see ``CHECKS``)."""
    trusted = set(trusted_certifiers)
    result = Verification()
    # passport → usage certificate
    certificate_digest = _certificate_digest(evidence.shares)
    if not result.add(
        "passport.certificate_link", certificate_digest is not None, "one usage certificate link"
    ):
        return result
    assert certificate_digest is not None
    opened_usage = _open(
        result, evidence, hex32(certificate_digest), UsageCertificate, "passport.certificate_link",
        "usage_certificate.signature",
    )  # fmt: skip
    if opened_usage is None:
        return result
    usage, certifier = opened_usage
    result.add("passport.shares", _shares_equal(evidence.shares, usage.shares), "declared shares = certified")
    result.add("usage_certificate.signature", certifier in trusted, f"signed by {certifier}")
    claim = evidence.claim
    result.add(
        "usage_certificate.on_chain",
        claim is not None
        and evidence.claim_id == usage.claim_id
        and claim.status == ClaimStatus.CERTIFIED
        and claim.certificate_digest == hex32(certificate_digest),
        "the claim is certified on-chain with this certificate",
    )
    # usage certificate → usage claim
    opened_claim = _open(
        result, evidence, usage.claim_digest, UsageClaim, "usage_claim.link", "usage_claim.signature"
    )
    if opened_claim is None or claim is None:
        return result
    usage_claim, claimant = opened_claim
    result.add(
        "usage_claim.signature",
        claimant == claim.claimant == usage_claim.claimant == usage.claimant,
        f"signed by the claimant {claimant}",
    )
    result.add(
        "usage_claim.link",
        claim.claim_digest == usage.claim_digest and usage_claim.claim_id == usage.claim_id,
        "the certificate's claim is the claim on-chain",
    )
    try:
        recomputed = recycled_shares(
            usage_claim.metal_in_scope, usage_claim.retired_pre_consumer, usage_claim.retired_post_consumer
        )
        shares_ok = _shares_equal(recomputed, usage.shares)
    except MaterialsError:
        shares_ok = False
    result.add("usage_claim.shares", shares_ok, "Art. 8 shares recomputed from the claim")
    # usage claim → retired credits
    result.add(
        "retired_credits.on_chain",
        (usage_claim.retired_pre_consumer.grams(), usage_claim.retired_post_consumer.grams())
        == (claim.pre_consumer_grams, claim.post_consumer_grams),
        "the claim retires what the chain retired",
    )
    # retired credits → production certificates → lots → feedstock
    attributed: dict[str, dict[tuple[str, bool], int]] = {}
    for source in usage_claim.sources:
        per = attributed.setdefault(source.production_certificate_digest, {})
        per[(source.metal.value, source.post_consumer)] = (
            per.get((source.metal.value, source.post_consumer), 0) + source.grams
        )
    for digest_hex, amounts in attributed.items():
        opened = _open(
            result, evidence, digest_hex, ProductionCertificate, "retired_credits.sources",
            "production_certificate.signature",
        )  # fmt: skip
        if opened is None:
            continue
        production, production_signer = opened
        result.add(
            "production_certificate.signature", production_signer in trusted, f"signed by {production_signer}"
        )
        covered = all(
            post is production.post_consumer and grams <= production.credits.of(RecycledElement(metal))
            for (metal, post), grams in amounts.items()
        )
        result.add("retired_credits.sources", covered, f"{digest_hex} minted what is attributed to it")
        lot_fact = evidence.lots.get(production.lot_id)
        result.add(
            "production_certificate.on_chain",
            lot_fact is not None
            and lot_fact.status == LotStatus.CERTIFIED
            and lot_fact.certificate_digest == digest_hex
            and lot_fact.recovered_grams == production.credits.grams()
            and lot_fact.post_consumer is production.post_consumer,
            f"lot {production.lot_id} certified on-chain by this certificate",
        )
        if lot_fact is None:
            continue
        opened_lot = _open(result, evidence, production.lot_digest, RecycledLot, "lot.link", "lot.signature")
        if opened_lot is None:
            continue
        lot, lot_signer = opened_lot
        result.add(
            "lot.link", lot_fact.document_digest == production.lot_digest, "the certified lot's document"
        )
        result.add(
            "lot.signature", lot_signer == lot.recycler == lot_fact.recycler, f"signed by {lot_signer}"
        )
        result.add(
            "lot.on_chain",
            lot.lot_id == production.lot_id
            and lot.recovered().grams() == lot_fact.recovered_grams
            and lot.feedstock_metal().grams() == lot_fact.feedstock_grams
            and [f.passport_id for f in lot.feedstock] == lot_fact.feedstock,
            "the lot's amounts and feedstock are those recorded",
        )
        result.add(
            "lot.recovery_cap",
            all(
                r * 10_000 <= f * cap
                for r, f, cap in zip(
                    lot.recovered().grams(),
                    lot.feedstock_metal().grams(),
                    evidence.max_recovery_bps,
                    strict=True,
                )
            ),
            "recovered ≤ feedstock content x maximum recovery",
        )
        for battery in lot.feedstock:
            fact = evidence.feedstock.get(battery.passport_id)
            result.add(
                "feedstock.passports",
                fact is not None
                and fact.status in (LifecycleStatus.WASTE, LifecycleStatus.RECYCLED)
                and fact.fed_lot == lot.lot_id
                and battery.manifest_digest in fact.version_digests,
                f"{battery.passport_id} is a waste battery that fed this lot, read at a recorded version",
            )
    return result


__all__ = ["CHECKS", "Check", "Evidence", "Verification", "collect_evidence", "verify_evidence"]
