"""Batched issuance: many new passports in ``issuePassports`` transactions (issuer role).

Each passport is committed, signed and announced on-chain exactly as ``POST /passports`` would do it
(its own sections, EIP-712 signature and ``PassportIssued`` event); the saving is one transaction per
``ISSUE_BATCH_SIZE`` passports instead of one each. The whole request is checked first (repeated ids 422,
ids the ledger already has 409), so a well-formed batch is refused only by the chain itself.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Final

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.deps import IssuerCaller, ServicesDep
from api.errors import ApiError, Conflict
from api.openapi import raises
from api.schemas import PassportVersionPublic
from passport.ids import passport_id_bytes32
from passport.model import BatteryPassport

router = APIRouter(tags=["passports"])

#: Passports per request: bounded so one request cannot hold the issuer's account for minutes.
MAX_BATCH: Final = 500


def _say_cross_field_rules(schema: dict[str, Any]) -> None:
    schema["description"] = str(schema.get("description") or "") + (
        " Each document's cross-field rules (an organisation needs a name or an identifier, min <= nominal"
        " <= max voltage, dates in order, ...) are checked after the schema: breaking one is a 422 naming it."
    )


class PassportBatchCreate(BaseModel):
    """New passports, each a whole document (every tier), issued as version 1 ``ORIGINAL``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_say_cross_field_rules)

    passports: list[BatteryPassport] = Field(min_length=1, max_length=MAX_BATCH)


class PassportBatchPublic(BaseModel):
    """The issued versions, in the order given, and the transactions that carried them."""

    issued: list[PassportVersionPublic]
    transactions: list[str]


@router.post("/passport-batches", status_code=201, operation_id="issue_passport_batch")
@raises(409)
def issue_passport_batch(
    body: PassportBatchCreate, caller: IssuerCaller, services: ServicesDep
) -> PassportBatchPublic:
    """Issue up to 500 passports (issuer role) in batched ``issuePassports`` transactions."""
    services.client_for(caller)
    ids = [p.passport_id for p in body.passports]
    repeated = sorted(str(pid) for pid, n in Counter(ids).items() if n > 1)
    if repeated:
        raise ApiError(
            "a batch names a passport more than once",
            status=422,
            title="Invalid document",
            errors=[{"field": "body.passports", "reason": f"{pid} is repeated"} for pid in repeated],
        )
    existing = [str(pid) for pid in ids if services.reader.get_passport(passport_id_bytes32(pid)) is not None]
    if existing:
        raise Conflict(f"passports already on the ledger: {', '.join(existing)}")
    # The read model learns of the new passports from the receipts (``Services``' receipt hook).
    issued = services.passports_for(caller).issue_many(body.passports)
    return PassportBatchPublic(
        issued=[PassportVersionPublic.of(one) for one in issued],
        transactions=list(dict.fromkeys("0x" + one.tx_hash.hex() for one in issued)),
    )
