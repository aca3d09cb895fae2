"""The lease / subscription contract document: what the parties agreed, signed by the lessor.

Stored like the recycled-material documents (``passport.materials.documents``): the canonical JSON of
``{"document": body, "signer": address, "signature": hex}``, the signature the lessor's EIP-191 signature
of SHA-256 over the body's canonical bytes; the SHA-256 of the signed bytes is the lease's on-chain
``documentDigest``. Parties and term are repeated on-chain, so the chain alone says who leases what until
when, and the document says on which terms (fee basis, end-of-term options) — without personal data:
parties are accounts, and the lessee's identity stays with the lessor.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from passport.materials.documents import Address, Hex32

LEASE_TYPE: Final = "battery-passport-ledger/battery-lease/v1"

Text = Annotated[str, StringConstraints(min_length=1, max_length=200)]
EndOfTermOption = Literal["return", "purchase", "renew", "repurpose", "recycle"]


class LeaseContract(BaseModel):
    """A battery subscription or lease: the battery, the parties, the term and what is paid for."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    type: Literal["battery-passport-ledger/battery-lease/v1"] = LEASE_TYPE
    lease_id: Hex32
    passport_id: Hex32
    model: Literal["subscription", "lease"]
    lessor: Address
    lessee: Address
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    fee_basis: Text = Field(description="e.g. 'KRW 149,000 per month, 2,000 km included'")
    end_of_term_options: tuple[EndOfTermOption, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _term(self) -> LeaseContract:
        if self.ends_at <= self.starts_at:
            raise ValueError("a lease ends after it starts")
        if self.lessor == self.lessee:
            raise ValueError("the lessee is not the lessor")
        return self

    @property
    def term(self) -> tuple[int, int]:
        """Start and end as unix seconds (what the chain records)."""
        return int(self.starts_at.timestamp()), int(self.ends_at.timestamp())


def utc_seconds(value: datetime) -> int:
    """Unix seconds of an aware datetime."""
    return int(value.timestamp())


__all__ = ["LEASE_TYPE", "EndOfTermOption", "LeaseContract", "utc_seconds"]
