"""Onboarding, done once for both edges: the API's routes and ``passport admin`` call these.

Creating a participant (optionally with a custodial key the service holds), granting and revoking roles
(on-chain through the deployed ``AccessControl`` for the registry's roles, then in the key store),
registering a business with its details document, and the first admin of a fresh installation. Errors
are the API's (``Conflict``, ``NotFound``); the CLI turns them into exit codes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from api.auth import ApiKeyStore, ApiRole, Participant, ParticipantKind
from api.errors import Conflict, NotFound
from api.schemas import Address
from passport.chain.keystore import Keystore
from passport.chain.protocol import ChainClient
from passport.chain.records import BusinessRecord, Role
from passport.directory import BusinessDetails, kind_names, publish_details
from passport.errors import KeystoreError
from passport.model import BusinessKind
from passport.store.protocol import ContentStore

#: API roles that mirror a registry role: granting one grants the role on-chain.
ONCHAIN_ROLES: Final[dict[ApiRole, Role]] = {
    ApiRole.ADMIN: Role.ADMIN,
    ApiRole.ISSUER: Role.ISSUER,
    ApiRole.ORACLE: Role.ORACLE,
    ApiRole.INSPECTOR: Role.INSPECTOR,
    ApiRole.REPURPOSER: Role.REPURPOSER,
    ApiRole.RECYCLER: Role.RECYCLER,
    ApiRole.AUDITOR: Role.AUDITOR,
}

#: The participant ``bootstrap`` creates: the keystore's deployer, which holds the registry's admin role.
ADMIN_PARTICIPANT: Final = "admin"


# -- what onboarding takes (the API's request bodies, the CLI's validated options) --------------------

NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,39}$"
ParticipantName = Annotated[
    str,
    Field(pattern=NAME_PATTERN, description="A handle: lowercase letters, digits, - and _ (≤ 40)."),
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class ParticipantCreate(BaseModel):
    """A participant to onboard."""

    model_config = ConfigDict(extra="forbid")

    name: ParticipantName
    kind: ParticipantKind
    display_name: Text = Field(description="The legal name shown in the directory and on pages.")
    country: Country = Field(description="ISO 3166-1 alpha-2.")
    registration_number: Text | None = Field(default=None, description="Registration or licence number.")
    contact: Text | None = None
    account: Address | None = Field(default=None, description="An account the participant holds itself.")
    custodial: bool = Field(
        default=False, description="Have the service create and hold the participant's on-chain key."
    )


class DetailsCreate(BaseModel):
    """A business's public details (they go into the document whose digest is registered on-chain)."""

    model_config = ConfigDict(extra="forbid")

    name: Text
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    registration_number: Text
    contact: Text | None = None


@dataclass(frozen=True)
class RoleChange:
    """A role granted or revoked: the participant after it and the transaction, if one was sent."""

    participant: Participant
    role: ApiRole
    on_chain_role: Role | None
    tx_hash: bytes | None


def create_participant(
    keys: ApiKeyStore,
    record: Participant,
    *,
    custodial: bool = False,
    keystore: Keystore | None = None,
    fund: Callable[[str], bool] = lambda _account: False,
) -> Participant:
    """Add ``record``; with ``custodial``, first create its on-chain key in ``keystore`` (and ``fund`` it)."""
    if custodial and record.account is not None:
        raise Conflict("give either an account the participant holds or custodial: true, not both")
    if keys.get_participant(record.name) is not None:
        raise Conflict(f"participant {record.name!r} already exists")
    if custodial:
        if keystore is None:
            raise Conflict("this installation has no keystore for custodial participants")
        if record.name in keystore:
            raise Conflict(f"the keystore already holds a key named {record.name!r}")
        try:
            account = keystore.create(record.name)
        except KeystoreError as exc:
            raise Conflict(str(exc)) from None
        fund(account)
        record = record.model_copy(update={"account": account})
    return keys.create_participant(record)


def change_role(
    keys: ApiKeyStore, reader: ChainClient, admin: ChainClient, name: str, role: ApiRole, *, grant: bool
) -> RoleChange:
    """Grant or revoke ``role`` for participant ``name``.

    A registry role is granted on-chain before the API role (the role works once the chain has it) and
    revoked from the API before the chain (it stops working at once, even if the transaction fails).
    """
    record = keys.get_participant(name)
    if record is None:
        raise NotFound(f"no participant {name!r}")
    chain_role = ONCHAIN_ROLES.get(role)
    if grant and chain_role is not None and record.account is None:
        raise Conflict(f"{role.value} is an on-chain role and participant {name!r} has no account")
    if not grant and role not in record.roles and (chain_role is None or record.account is None):
        raise Conflict(f"participant {name!r} does not hold {role.value}")
    if not grant:
        record = keys.set_roles(name, record.roles - {role})
    tx_hash = None
    if (
        chain_role is not None
        and record.account is not None
        and reader.has_role(chain_role, record.account) != grant
    ):
        send = admin.grant_role if grant else admin.revoke_role
        tx_hash = send(chain_role, record.account).tx_hash
    if grant:
        record = keys.set_roles(name, record.roles | {role})
    return RoleChange(record, role, chain_role, tx_hash)


def business_details(
    participant: Participant, kinds: BusinessKind, overrides: dict[str, str | None] | None = None
) -> BusinessDetails:
    """The details document for ``participant`` (its directory record, ``overrides`` winning)."""
    fields: dict[str, str | None] = {
        "name": participant.display_name,
        "country": participant.country,
        "registration_number": participant.registration_number,
        "contact": participant.contact,
    }
    fields.update({k: v for k, v in (overrides or {}).items() if v is not None})
    missing = [k for k in ("name", "country", "registration_number") if not fields.get(k)]
    if missing:
        raise Conflict(f"participant {participant.name!r} lacks {', '.join(missing)} for its details")
    try:
        return BusinessDetails.model_validate(
            {**fields, "kinds": kind_names(kinds), "participant": participant.name}
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise Conflict(
            f"participant {participant.name!r}'s record does not make valid details: {problems}"
        ) from None


def register_business(
    keys: ApiKeyStore,
    reader: ChainClient,
    admin: ChainClient,
    store: ContentStore,
    account: str,
    kinds: BusinessKind,
    *,
    details: BusinessDetails | None = None,
    registration_hash: bytes | None = None,
) -> BusinessRecord:
    """Register ``account``: store ``details`` and register its digest (or a bare ``registration_hash``).

    A participant with that account gains the ``business`` API role.
    """
    if (details is None) == (registration_hash is None):
        raise Conflict("give the business's details or a registration hash (one of them)")
    if reader.get_business(account) is not None:
        raise Conflict(f"{account} is already registered")
    if details is not None:
        _, registration_hash = publish_details(store, details)
    assert registration_hash is not None
    admin.register_business(account, kinds, registration_hash)
    holder = keys.participant_by_account(account)
    if holder is not None and ApiRole.BUSINESS not in holder.roles:
        keys.set_roles(holder.name, holder.roles | {ApiRole.BUSINESS})
    record = reader.get_business(account)
    assert record is not None, "a registered business must be readable"
    return record


def bootstrap_admin(keys: ApiKeyStore, account: str, *, force: bool = False) -> tuple[Participant, str]:
    """The first admin participant (``admin``, the registry admin's ``account``) and its first API key.

    Refuses (``Conflict``) when any participant holds the admin role, unless ``force``: then the
    ``admin`` participant is (re)made and gets one more key (its older keys stay as they were).
    """
    admins = keys.list_participants(role=ApiRole.ADMIN)
    if admins and not force:
        names = ", ".join(p.name for p in admins)
        raise Conflict(f"this installation already has an admin ({names}); use --force to add a key anyway")
    existing = keys.get_participant(ADMIN_PARTICIPANT)
    if existing is None:
        keys.create_participant(
            Participant(
                name=ADMIN_PARTICIPANT,
                kind=ParticipantKind.ADMIN,
                display_name="Ledger administrator",
                roles=frozenset({ApiRole.ADMIN}),
                account=account,
            )
        )
    else:
        keys.set_account(ADMIN_PARTICIPANT, account)
        keys.set_roles(ADMIN_PARTICIPANT, existing.roles | {ApiRole.ADMIN})
    api_key = keys.issue_key(ADMIN_PARTICIPANT, label="bootstrap")
    participant = keys.get_participant(ADMIN_PARTICIPANT)
    assert participant is not None
    return participant, api_key
