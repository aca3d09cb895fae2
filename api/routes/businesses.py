"""Registered used-battery businesses: registration, suspension and reinstatement (admin), lookup (anyone).

Registration is public on-chain: the account, its permitted activities and the digest of its off-chain
registration certificate. Only a business that is registered and active may take custody of a battery.
"""

from __future__ import annotations

from typing import Annotated

from eth_utils.address import is_address, to_checksum_address
from fastapi import APIRouter, Depends, Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.access import AuthCaller, require_role
from api.auth import ApiRole
from api.errors import Conflict, NotFound
from api.services import Services, get_services
from passport.chain.records import BusinessRecord
from passport.ids import parse_bytes32
from passport.model import BusinessKind
from passport.signing import checksum_address

router = APIRouter(tags=["businesses"])

ServicesDep = Annotated[Services, Depends(get_services)]
AccountPath = Annotated[str, Path(description="The business's account (20-byte 0x-hex address).")]


def _address(value: str) -> str:
    if not is_address(value):
        raise ValueError("not a 20-byte 0x-hex address")
    return to_checksum_address(value)


def _hash32(value: str) -> str:
    return "0x" + parse_bytes32(value, "registration hash").hex()


KindName = Annotated[str, Field(pattern="^(" + "|".join(k.name for k in BusinessKind) + ")$")]


class BusinessCreate(BaseModel):
    """A business to register: its account, what it may do, and its certificate's digest."""

    model_config = ConfigDict(extra="forbid")

    account: Annotated[str, AfterValidator(_address)]
    kinds: list[KindName] = Field(min_length=1, description="COLLECTOR, REUSER, REPURPOSER, …")
    registration_hash: Annotated[str, AfterValidator(_hash32)] = Field(
        description="sha-256 (or keccak) of the off-chain registration certificate, 0x-hex."
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


def _lookup(services: Services, account: str) -> BusinessRecord:
    address = checksum_address(account, "business account")
    record = services.reader.get_business(address)
    if record is None:
        raise NotFound(f"no registered business {address}")
    return record


@router.post("/businesses", status_code=201, operation_id="register_business")
def register_business(body: BusinessCreate, caller: AuthCaller, services: ServicesDep) -> BusinessPublic:
    """Register a used-battery business (ledger admin only)."""
    require_role(caller, ApiRole.ADMIN)
    client = services.client_for(caller)
    if services.reader.get_business(body.account) is not None:
        raise Conflict(f"{body.account} is already registered")
    kinds = BusinessKind(0)
    for name in body.kinds:
        kinds |= BusinessKind[name]
    client.register_business(body.account, kinds, parse_bytes32(body.registration_hash))
    return BusinessPublic.of(_lookup(services, body.account))


@router.post("/businesses/{account}/suspend", operation_id="suspend_business")
def suspend_business(account: AccountPath, caller: AuthCaller, services: ServicesDep) -> BusinessPublic:
    """Suspend a business: it can no longer receive custody (ledger admin only)."""
    require_role(caller, ApiRole.ADMIN)
    client = services.client_for(caller)
    record = _lookup(services, account)
    if not record.active:
        raise Conflict(f"{record.account} is already suspended")
    client.suspend_business(record.account)
    return BusinessPublic.of(_lookup(services, record.account))


@router.post("/businesses/{account}/reinstate", operation_id="reinstate_business")
def reinstate_business(account: AccountPath, caller: AuthCaller, services: ServicesDep) -> BusinessPublic:
    """Reinstate a suspended business (ledger admin only)."""
    require_role(caller, ApiRole.ADMIN)
    client = services.client_for(caller)
    record = _lookup(services, account)
    if record.active:
        raise Conflict(f"{record.account} is active")
    client.reinstate_business(record.account)
    return BusinessPublic.of(_lookup(services, record.account))


@router.get("/businesses/{account}", operation_id="get_business")
def get_business(account: AccountPath, services: ServicesDep) -> BusinessPublic:
    """A registered business's public record."""
    return BusinessPublic.of(_lookup(services, account))
