"""The recycled-material documents: lot, production certificate, usage claim, usage certificate.

Each is a strict pydantic model, stored as a *signed document*: the canonical JSON (RFC 8785) of
``{"document": body, "signer": address, "signature": hex}``, where the signature is the signer's EIP-191
signature of SHA-256 over the body's canonical bytes. The SHA-256 of the whole signed document's bytes is
what goes on-chain (and, for documents under 256 KiB, is the digest inside its raw CIDv1), so the chain
commits to the body and to who signed it. Amounts are integer grams of metal: the chain counts grams,
and integers add up exactly.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Final, Literal, TypeVar

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils.address import is_address, to_checksum_address
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from passport.canonical import canonical_json, parse_canonical_object
from passport.chain.material_ledger import MetalGrams
from passport.errors import CanonicalJsonError
from passport.materials.errors import MaterialDocumentError
from passport.model.circularity import RecycledContentShare, RecycledElement
from passport.model.units import Percent


def _address(value: str) -> str:
    if not is_address(value):
        raise ValueError(f"not an address: {value!r}")
    return to_checksum_address(value)


Address = Annotated[str, AfterValidator(_address)]
Hex32 = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-f]{64}$")]
Grams = Annotated[int, Field(ge=0, lt=2**64)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=200)]

LOT_TYPE: Final = "battery-passport-ledger/recycled-lot/v1"
PRODUCTION_CERTIFICATE_TYPE: Final = "battery-passport-ledger/recycled-material-production-certificate/v1"
USAGE_CLAIM_TYPE: Final = "battery-passport-ledger/recycled-content-usage-claim/v1"
USAGE_CERTIFICATE_TYPE: Final = "battery-passport-ledger/recycled-content-usage-certificate/v1"

METALS: tuple[RecycledElement, ...] = (
    RecycledElement.COBALT,
    RecycledElement.LITHIUM,
    RecycledElement.NICKEL,
    RecycledElement.LEAD,
)


def hex32(value: bytes) -> str:
    """``0x``-prefixed lowercase hex of 32 bytes, as documents write ids and digests."""
    if len(value) != 32:
        raise MaterialDocumentError(f"expected 32 bytes, got {len(value)}")
    return "0x" + value.hex()


def unhex32(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


class MaterialModel(BaseModel):
    """Strict and immutable, like every passport document (see ``passport.model._base``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class MetalMass(MaterialModel):
    """Grams of each Art. 8 metal."""

    cobalt: Grams = 0
    lithium: Grams = 0
    nickel: Grams = 0
    lead: Grams = 0

    def of(self, element: RecycledElement) -> int:
        return int(getattr(self, element.value))

    def grams(self) -> MetalGrams:
        """In the contract's order (cobalt, lithium, nickel, lead)."""
        return (self.cobalt, self.lithium, self.nickel, self.lead)

    @classmethod
    def from_grams(cls, grams: Sequence[int] | dict[RecycledElement, int]) -> MetalMass:
        if isinstance(grams, dict):
            return cls(**{e.value: int(grams.get(e, 0)) for e in METALS})
        return cls(**{e.value: int(g) for e, g in zip(METALS, grams, strict=True)})

    def __add__(self, other: MetalMass) -> MetalMass:
        return MetalMass.from_grams(tuple(a + b for a, b in zip(self.grams(), other.grams(), strict=True)))

    @property
    def empty(self) -> bool:
        return not any(self.grams())


def total(masses: list[MetalMass]) -> MetalMass:
    result = MetalMass()
    for mass in masses:
        result = result + mass
    return result


class FeedstockBattery(MaterialModel):
    """One recycled battery: its passport, the passport version read, and the metal it contained."""

    passport_id: Hex32
    manifest_digest: Hex32 = Field(description="The passport version whose material composition was read.")
    metal: MetalMass


class RecoveredOutput(MaterialModel):
    """A recovered compound (e.g. NiSO4·6H2O) with its mass and metal content."""

    metal: RecycledElement
    compound: Text
    compound_grams: Annotated[int, Field(gt=0, lt=2**64)]
    metal_content_percent: Annotated[Percent, Field(gt=0)]

    @property
    def metal_grams(self) -> int:
        """Grams of metal in the compound, rounded down (a lot never claims a fraction it lacks)."""
        return math.floor(Decimal(repr(self.metal_content_percent)) * self.compound_grams / 100)


class RecycledLot(MaterialModel):
    """A lot of recovered material and its feedstock (recorded by the recycler)."""

    type: Literal["battery-passport-ledger/recycled-lot/v1"] = LOT_TYPE
    lot_id: Hex32
    recycler: Address
    post_consumer: bool
    process: Text
    plant: Text
    produced_on: date
    feedstock: list[FeedstockBattery] = Field(default_factory=list)
    #: Pre-consumer (manufacturing waste) lots have no passports: the declared metal content of the scrap.
    scrap_metal: MetalMass | None = None
    outputs: Annotated[list[RecoveredOutput], Field(min_length=1)]

    @model_validator(mode="after")
    def _shape(self) -> RecycledLot:
        if self.post_consumer and (not self.feedstock or self.scrap_metal is not None):
            raise ValueError("a post-consumer lot lists its feedstock passports and no scrap metal")
        if not self.post_consumer and (self.feedstock or self.scrap_metal is None):
            raise ValueError("a pre-consumer lot declares its scrap metal and lists no passports")
        ids = [f.passport_id for f in self.feedstock]
        if len(ids) != len(set(ids)):
            raise ValueError("a feedstock passport is listed twice")
        return self

    def feedstock_metal(self) -> MetalMass:
        """Metal the feedstock contained (sum of the batteries, or the declared scrap)."""
        return self.scrap_metal if self.scrap_metal is not None else total([f.metal for f in self.feedstock])

    def recovered(self) -> MetalMass:
        """Metal recovered, per metal, from the outputs."""
        grams = dict.fromkeys(METALS, 0)
        for output in self.outputs:
            grams[output.metal] += output.metal_grams
        return MetalMass.from_grams(grams)


class ProductionCertificate(MaterialModel):
    """A certifier's production certificate of a lot: the credits it creates for the recycler."""

    type: Literal["battery-passport-ledger/recycled-material-production-certificate/v1"] = (
        PRODUCTION_CERTIFICATE_TYPE
    )
    lot_id: Hex32
    lot_digest: Hex32
    lot_cid: Text
    recycler: Address
    post_consumer: bool
    credits: MetalMass
    issued_at: datetime


class CreditSource(MaterialModel):
    """Which production certificate retired credits are attributed to (mass balance: by quantity)."""

    production_certificate_digest: Hex32
    production_certificate_cid: Text
    metal: RecycledElement
    post_consumer: bool
    grams: Annotated[int, Field(gt=0, lt=2**64)]


class UsageClaim(MaterialModel):
    """A maker's claim of recycled content for a battery model, plant and period, with retired credits.

    ``metal_in_scope`` is grams of cobalt, lithium and nickel in the active materials of the passports
    listed, and grams of lead in those batteries (Art. 8: lead per battery, not per active material).
    """

    type: Literal["battery-passport-ledger/recycled-content-usage-claim/v1"] = USAGE_CLAIM_TYPE
    claim_id: Hex32
    claimant: Address
    battery_model: Text
    plant: Text
    period_start: date
    period_end: date
    passports: Annotated[list[Hex32], Field(min_length=1)]
    metal_in_scope: MetalMass
    retired_pre_consumer: MetalMass
    retired_post_consumer: MetalMass
    sources: Annotated[list[CreditSource], Field(min_length=1)]

    @model_validator(mode="after")
    def _balances(self) -> UsageClaim:
        if self.period_end < self.period_start:
            raise ValueError("the period ends before it starts")
        for post, retired in ((False, self.retired_pre_consumer), (True, self.retired_post_consumer)):
            for metal in METALS:
                attributed = sum(
                    s.grams for s in self.sources if s.metal is metal and s.post_consumer is post
                )
                if attributed != retired.of(metal):
                    origin = "post" if post else "pre"
                    raise ValueError(
                        f"sources attribute {attributed} g of {origin}-consumer {metal.value}, "
                        f"the claim retires {retired.of(metal)} g"
                    )
        retired_total = self.retired_pre_consumer + self.retired_post_consumer
        for metal in METALS:
            if retired_total.of(metal) > self.metal_in_scope.of(metal):
                raise ValueError(
                    f"{retired_total.of(metal)} g of recycled {metal.value} retired for "
                    f"{self.metal_in_scope.of(metal)} g in scope (above 100 %)"
                )
        return self


class UsageCertificate(MaterialModel):
    """A certifier's usage certificate: the recycled shares per metal of a claim (Art. 8)."""

    type: Literal["battery-passport-ledger/recycled-content-usage-certificate/v1"] = USAGE_CERTIFICATE_TYPE
    claim_id: Hex32
    claim_digest: Hex32
    claim_cid: Text
    claimant: Address
    battery_model: Text
    plant: Text
    period_start: date
    period_end: date
    shares: list[RecycledContentShare]
    issued_at: datetime


# -- signed documents -----------------------------------------------------------------------------

M = TypeVar("M", bound=BaseModel)


def body_digest(document: BaseModel) -> bytes:
    """SHA-256 of the document's canonical JSON: what its signer signs."""
    return hashlib.sha256(canonical_json(document.model_dump(mode="json"))).digest()


def sign_document(document: BaseModel, private_key: bytes) -> bytes:
    """The signed document's canonical bytes (store these; their SHA-256 goes on-chain)."""
    signed = Account.sign_message(encode_defunct(primitive=body_digest(document)), private_key=private_key)
    return canonical_json(
        {
            "document": document.model_dump(mode="json"),
            "signer": Account.from_key(private_key).address,
            "signature": "0x" + bytes(signed.signature).hex(),
        }
    )


def document_digest(data: bytes) -> bytes:
    """SHA-256 of a signed document's bytes (the on-chain digest)."""
    return hashlib.sha256(data).digest()


def open_document(data: bytes, model: type[M]) -> tuple[M, str]:
    """Parse signed-document bytes into ``model`` and its signer; ``MaterialDocumentError`` unless the
    bytes are canonical, the body validates and the signature recovers to the named signer."""
    try:
        envelope: dict[str, Any] = parse_canonical_object(data)
    except CanonicalJsonError as exc:
        raise MaterialDocumentError(f"not a canonical signed document: {exc}") from exc
    if set(envelope) != {"document", "signer", "signature"}:
        raise MaterialDocumentError(
            f"a signed document has document, signer and signature, not {sorted(envelope)}"
        )
    try:
        document = model.model_validate(envelope["document"])
    except ValidationError as exc:
        raise MaterialDocumentError(f"invalid {model.__name__}: {exc}") from exc
    signer, signature = envelope["signer"], envelope["signature"]
    if not isinstance(signer, str) or not is_address(signer) or not isinstance(signature, str):
        raise MaterialDocumentError("malformed signer or signature")
    try:
        recovered = Account.recover_message(
            encode_defunct(primitive=hashlib.sha256(canonical_json(envelope["document"])).digest()),
            signature=bytes.fromhex(signature.removeprefix("0x")),
        )
    except (ValueError, TypeError) as exc:
        raise MaterialDocumentError(f"unreadable signature: {exc}") from exc
    if recovered != to_checksum_address(signer):
        raise MaterialDocumentError(f"signature recovers to {recovered}, not the named signer {signer}")
    return document, recovered


__all__ = [
    "LOT_TYPE",
    "METALS",
    "PRODUCTION_CERTIFICATE_TYPE",
    "USAGE_CERTIFICATE_TYPE",
    "USAGE_CLAIM_TYPE",
    "CreditSource",
    "FeedstockBattery",
    "MetalMass",
    "ProductionCertificate",
    "RecoveredOutput",
    "RecycledLot",
    "UsageCertificate",
    "UsageClaim",
    "body_digest",
    "document_digest",
    "hex32",
    "open_document",
    "sign_document",
    "total",
    "unhex32",
]
