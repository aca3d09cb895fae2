"""Registered used-battery businesses: registration, suspension and reinstatement (admin), lookup (anyone).

Registration is public on-chain: the account, its permitted activities and the digest of its off-chain
registration certificate. Only a business that is registered and active may take custody of a battery.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.deps import AdminCaller, BusinessAccount, ServicesDep
from api.errors import Conflict, NotFound
from api.openapi import raises
from api.schemas import BYTES32_SCHEMA, Address
from passport.chain.protocol import ChainClient
from passport.chain.records import BusinessRecord
from passport.ids import parse_bytes32
from passport.model import BusinessKind

router = APIRouter(tags=["businesses"])


def _hash32(value: str) -> str:
    return "0x" + parse_bytes32(value, "registration hash").hex()


KindName = Annotated[str, Field(pattern="^(" + "|".join(k.name for k in BusinessKind) + ")$")]


class BusinessCreate(BaseModel):
    """A business to register: its account, what it may do, and its certificate's digest."""

    model_config = ConfigDict(extra="forbid")

    account: Address
    kinds: list[KindName] = Field(min_length=1, description="COLLECTOR, REUSER, REPURPOSER, …")
    registration_hash: Annotated[str, AfterValidator(_hash32)] = Field(
        description="sha-256 (or keccak) of the off-chain registration certificate, 0x-hex.",
        json_schema_extra=BYTES32_SCHEMA,
    )


class BusinessPublic(BaseModel):
    account: str
    kinds: list[str]
    registration_hash: str
    active: bool
    registered_at: int

    @classmethod
    def of(cls, record: BusinessRecord) -> BusinessPublic:
        return cls(
            account=record.account,
            kinds=[k.name or "" for k in BusinessKind if k in record.kinds],
            registration_hash="0x" + record.registration_hash.hex(),
            active=record.active,
            registered_at=record.registered_at,
        )


def _lookup(reader: ChainClient, address: str) -> BusinessRecord:
    record = reader.get_business(address)
    if record is None:
        raise NotFound(f"no registered business {address}")
    return record


@router.post("/businesses", status_code=201, operation_id="register_business")
@raises(409)
def register_business(body: BusinessCreate, caller: AdminCaller, services: ServicesDep) -> BusinessPublic:
    """Register a used-battery business (ledger admin only)."""
    client = services.client_for(caller)
    if services.reader.get_business(body.account) is not None:
        raise Conflict(f"{body.account} is already registered")
    kinds = BusinessKind(0)
    for name in body.kinds:
        kinds |= BusinessKind[name]
    client.register_business(body.account, kinds, parse_bytes32(body.registration_hash))
    return BusinessPublic.of(_lookup(services.reader, body.account))


@router.post("/businesses/{account}/suspend", operation_id="suspend_business")
@raises(404, 409)
def suspend_business(caller: AdminCaller, account: BusinessAccount, services: ServicesDep) -> BusinessPublic:
    """Suspend a business: it can no longer receive custody (ledger admin only)."""
    client = services.client_for(caller)
    record = _lookup(services.reader, account)
    if not record.active:
        raise Conflict(f"{record.account} is already suspended")
    client.suspend_business(record.account)
    return BusinessPublic.of(_lookup(services.reader, record.account))


@router.post("/businesses/{account}/reinstate", operation_id="reinstate_business")
@raises(404, 409)
def reinstate_business(
    caller: AdminCaller, account: BusinessAccount, services: ServicesDep
) -> BusinessPublic:
    """Reinstate a suspended business (ledger admin only)."""
    client = services.client_for(caller)
    record = _lookup(services.reader, account)
    if record.active:
        raise Conflict(f"{record.account} is active")
    client.reinstate_business(record.account)
    return BusinessPublic.of(_lookup(services.reader, record.account))


@router.get("/businesses/{account}", operation_id="get_business")
@raises(404)
def get_business(account: BusinessAccount, services: ServicesDep) -> BusinessPublic:
    """A registered business's public record."""
    return BusinessPublic.of(_lookup(services.reader, account))
