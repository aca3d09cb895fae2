"""``MaterialsService``: the recycled-material workflow over the material ledger and the content store.

Each write signs its document with the acting participant's key, stores the signed bytes, and records
their SHA-256 on-chain; each certification re-reads what it certifies from the store and the chain and
refuses (``MaterialDocumentError`` / ``MassBalanceError``) when they disagree, before anything is signed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from eth_account import Account
from pydantic import BaseModel

from passport.chain.material_ledger import LotStatus, MaterialLedger, Metal
from passport.chain.protocol import ChainClient
from passport.chain.records import TxReceipt
from passport.materials.documents import (
    CreditSource,
    MetalMass,
    ProductionCertificate,
    RecycledLot,
    UsageCertificate,
    UsageClaim,
    document_digest,
    hex32,
    open_document,
    sign_document,
    unhex32,
)
from passport.materials.errors import MassBalanceError, MaterialDocumentError, MaterialNotFound
from passport.materials.shares import recycled_shares
from passport.model.circularity import RecycledContentShare, RecycledElement
from passport.model.documents import DocumentRef
from passport.model.lifecycle import LifecycleStatus
from passport.store.cid import cid_from_digest
from passport.store.protocol import ContentStore

M = TypeVar("M", bound=BaseModel)
_FEEDSTOCK_STATUSES = (LifecycleStatus.WASTE, LifecycleStatus.RECYCLED)


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """A signed document as stored (CID), committed on-chain (digest), and the transaction that did it."""

    cid: str
    digest: bytes
    receipt: TxReceipt | None = None

    def link(self, title: str) -> DocumentRef:
        """A passport-model link to the document, pinned by its SHA-256."""
        return DocumentRef(
            title=title, content=f"ipfs://{self.cid}", content_type="URL", sha256=self.digest.hex()
        )


def document_cid(digest: bytes) -> str:
    """The raw CIDv1 of a signed document with SHA-256 ``digest`` (documents stay under 256 KiB)."""
    return cid_from_digest(digest, "raw")


class MaterialsService:
    """Lots, certificates, credit transfers and usage claims, acting as one participant.

    ``chain`` (the registry) lets a certifier check feedstock passports; ``signer_key`` signs documents
    and must be the key ``ledger`` acts as (None: read-only).
    """

    def __init__(
        self,
        ledger: MaterialLedger,
        store: ContentStore,
        *,
        chain: ChainClient | None = None,
        signer_key: bytes | None = None,
    ) -> None:
        self.ledger = ledger
        self.store = store
        self.chain = chain
        self._key = signer_key
        if signer_key is not None and Account.from_key(signer_key).address != ledger.account:
            raise MaterialDocumentError("the signing key is not the account the material ledger acts as")

    # -- plumbing ---------------------------------------------------------------------------------------
    def _signed(self, document: BaseModel) -> tuple[str, bytes]:
        if self._key is None:
            raise MaterialDocumentError("this materials service is read-only (no signing key)")
        data = sign_document(document, self._key)
        return self.store.put(data), document_digest(data)

    def read(self, digest: bytes, model: type[M]) -> tuple[M, str]:
        """The signed document with ``digest`` from the store, and its signer."""
        data = self.store.get(document_cid(digest))
        if document_digest(data) != digest:  # the store checks too; a document is never trusted unchecked
            raise MaterialDocumentError(f"stored bytes do not hash to 0x{digest.hex()}")
        return open_document(data, model)

    # -- lots -----------------------------------------------------------------------------------------
    def record_lot(self, lot: RecycledLot) -> StoredDocument:
        """Sign, store and record a lot (the service's account must be its recycler)."""
        if lot.recycler != self.ledger.account:
            raise MaterialDocumentError(f"the lot names recycler {lot.recycler}, not {self.ledger.account}")
        cid, digest = self._signed(lot)
        receipt = self.ledger.record_lot(
            unhex32(lot.lot_id),
            post_consumer=lot.post_consumer,
            feedstock=[unhex32(f.passport_id) for f in lot.feedstock],
            feedstock_grams=lot.feedstock_metal().grams(),
            recovered_grams=lot.recovered().grams(),
            document_digest=digest,
        )
        return StoredDocument(cid, digest, receipt)

    def check_lot(self, lot_id: bytes) -> tuple[RecycledLot, bytes]:
        """What a certifier checks before certifying: the lot document against the chain and passports."""
        record = self.ledger.get_lot(lot_id)
        if record is None:
            raise MaterialNotFound(f"no lot 0x{lot_id.hex()} on the material ledger")
        lot, signer = self.read(record.document_digest, RecycledLot)
        if signer != record.recycler or lot.recycler != record.recycler or lot.lot_id != hex32(lot_id):
            raise MaterialDocumentError("the lot document is not the recycler's document of this lot")
        if (lot.recovered().grams(), lot.feedstock_metal().grams()) != (
            record.recovered_grams,
            record.feedstock_grams,
        ):
            raise MassBalanceError("the lot document's amounts are not those recorded on-chain")
        if [unhex32(f.passport_id) for f in lot.feedstock] != list(record.feedstock):
            raise MaterialDocumentError("the lot document's feedstock is not the feedstock recorded on-chain")
        if self.chain is not None:
            for battery in lot.feedstock:
                passport = self.chain.get_passport(unhex32(battery.passport_id))
                if passport is None or passport.status not in _FEEDSTOCK_STATUSES:
                    raise MaterialDocumentError(f"feedstock {battery.passport_id} is not a waste battery")
                versions = {
                    self.chain.version_digest(passport.passport_id, v) for v in range(1, passport.version + 1)
                }
                if unhex32(battery.manifest_digest) not in versions:
                    raise MaterialDocumentError(f"feedstock {battery.passport_id} never had that version")
        return lot, record.document_digest

    def certify_lot(self, lot_id: bytes, *, issued_at: datetime | None = None) -> StoredDocument:
        """Check the lot, then sign, store and record its production certificate (mints the credits)."""
        # Whether the lot still awaits certification is the contract's to say (a named revert): a
        # certificate signed for a lot certified meanwhile is never recorded and so never counts.
        lot, lot_digest = self.check_lot(lot_id)
        certificate = ProductionCertificate(
            lot_id=lot.lot_id,
            lot_digest=hex32(lot_digest),
            lot_cid=document_cid(lot_digest),
            recycler=lot.recycler,
            post_consumer=lot.post_consumer,
            credits=lot.recovered(),
            issued_at=issued_at or datetime.now(UTC),
        )
        cid, digest = self._signed(certificate)
        return StoredDocument(cid, digest, self.ledger.certify_lot(lot_id, digest))

    # -- credits ----------------------------------------------------------------------------------------
    def transfer(self, to: str, element: RecycledElement, grams: int, *, post_consumer: bool) -> TxReceipt:
        """Move credits (a sale of recycled material under mass balance)."""
        return self.ledger.transfer_credits(to, Metal.of(element), grams, post_consumer=post_consumer)

    def balances(self, holder: str) -> dict[str, MetalMass]:
        """A holder's credits per origin."""
        return {
            origin: MetalMass.from_grams(
                tuple(
                    self.ledger.credit_balance(holder, m, post_consumer=origin == "post_consumer")
                    for m in Metal
                )
            )
            for origin in ("pre_consumer", "post_consumer")
        }

    # -- usage ------------------------------------------------------------------------------------------
    def submit_claim(self, claim: UsageClaim) -> StoredDocument:
        """Sign, store and submit a usage claim: retires its credits from the claimant's balance."""
        if claim.claimant != self.ledger.account:
            raise MaterialDocumentError(
                f"the claim names claimant {claim.claimant}, not {self.ledger.account}"
            )
        recycled_shares(claim.metal_in_scope, claim.retired_pre_consumer, claim.retired_post_consumer)
        cid, digest = self._signed(claim)
        receipt = self.ledger.submit_usage_claim(
            unhex32(claim.claim_id),
            digest,
            claim.retired_pre_consumer.grams(),
            claim.retired_post_consumer.grams(),
        )
        return StoredDocument(cid, digest, receipt)

    def check_claim(self, claim_id: bytes) -> tuple[UsageClaim, bytes]:
        """What a certifier checks: the claim against the chain and each source's production certificate."""
        record = self.ledger.get_claim(claim_id)
        if record is None:
            raise MaterialNotFound(f"no usage claim 0x{claim_id.hex()}")
        claim, signer = self.read(record.claim_digest, UsageClaim)
        if (
            signer != record.claimant
            or claim.claimant != record.claimant
            or claim.claim_id != hex32(claim_id)
        ):
            raise MaterialDocumentError("the claim document is not the claimant's document of this claim")
        if (claim.retired_pre_consumer.grams(), claim.retired_post_consumer.grams()) != (
            record.pre_consumer_grams,
            record.post_consumer_grams,
        ):
            raise MassBalanceError("the claim's retired credits are not those retired on-chain")
        check_sources(claim.sources, self)
        return claim, record.claim_digest

    def certify_usage(self, claim_id: bytes, *, issued_at: datetime | None = None) -> StoredDocument:
        """Check the claim, compute its Art. 8 shares, sign, store and record the usage certificate."""
        claim, claim_digest = self.check_claim(claim_id)
        certificate = UsageCertificate(
            claim_id=claim.claim_id,
            claim_digest=hex32(claim_digest),
            claim_cid=document_cid(claim_digest),
            claimant=claim.claimant,
            battery_model=claim.battery_model,
            plant=claim.plant,
            period_start=claim.period_start,
            period_end=claim.period_end,
            shares=recycled_shares(
                claim.metal_in_scope, claim.retired_pre_consumer, claim.retired_post_consumer
            ),
            issued_at=issued_at or datetime.now(UTC),
        )
        cid, digest = self._signed(certificate)
        return StoredDocument(cid, digest, self.ledger.certify_usage(claim_id, digest))

    def passport_shares(self, certificate: StoredDocument) -> list[RecycledContentShare]:
        """The shares a passport of the certified model and period carries, each linked to the certificate."""
        usage, _ = self.read(certificate.digest, UsageCertificate)
        link = certificate.link("Recycled content usage certificate")
        return [share.model_copy(update={"usage_certificate": link}) for share in usage.shares]


def check_sources(sources: Sequence[CreditSource], service: MaterialsService) -> None:
    """Each source names a certified lot's production certificate that minted at least what it attributes."""
    attributed: dict[tuple[str, RecycledElement], int] = {}
    for source in sources:
        key = (source.production_certificate_digest, source.metal)
        attributed[key] = attributed.get(key, 0) + source.grams
    origins = {s.production_certificate_digest: s.post_consumer for s in sources}
    for (digest_hex, metal), grams in attributed.items():
        certificate, _ = service.read(unhex32(digest_hex), ProductionCertificate)
        if certificate.post_consumer is not origins[digest_hex]:
            raise MassBalanceError(f"credits of certificate {digest_hex} are attributed to the wrong origin")
        lot = service.ledger.get_lot(unhex32(certificate.lot_id))
        if (
            lot is None
            or lot.status is not LotStatus.CERTIFIED
            or lot.certificate_digest != unhex32(digest_hex)
        ):
            raise MaterialDocumentError(f"production certificate {digest_hex} is not a certified lot's")
        if grams > certificate.credits.of(metal):
            raise MassBalanceError(
                f"{grams} g of {metal.value} attributed to a certificate that minted "
                f"{certificate.credits.of(metal)} g"
            )


__all__ = ["MaterialsService", "StoredDocument", "check_sources", "document_cid"]
