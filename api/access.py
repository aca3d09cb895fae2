"""Who the caller is, which access tiers of a passport they may read, and what they may act on.

**Authentication.** ``Authorization: Bearer bpl_<id>_<secret>`` (an ``ApiKeyStore`` key). No header is
an anonymous caller (public data only); a header that is present but wrong is always a 401, never a
silent downgrade to anonymous, so a client with a broken key finds out.

**Tiers (EU 2023/1542 Annex XIII).** Everyone reads the ``public`` tier. On top of it:

========================================  =========================================================
caller                                    tiers
========================================  =========================================================
authority, auditor                        every tier, every battery (Annex XIII 3: notified bodies,
                                          market surveillance, the Commission; auditors of the ledger)
issuer of *this* passport                 every tier (it wrote them)
owner                                     ``legitimate_interest`` of the batteries it owns only
inspector, repurposer, recycler           ``legitimate_interest`` of any battery: by role, because
                                          Annex XIII 2 and 4 grant it to repairers, repurposers and
                                          recyclers, and a battery reaches them before its custody does
registered business                       ``legitimate_interest`` of a battery in its custody, or
                                          offered to it (a buyer must see what it is about to accept)
========================================  =========================================================

**Object-level rules** (each a 403 naming the reason): a business (or any custodial participant) acts
on a battery only while its account is the on-chain custodian (status changes, successors, recycling,
custody offers and cancellations); only the offeree accepts an offer; a device writes telemetry only
as itself and only for its own battery. The contract enforces the custody rules too; checking first
turns a revert into a clear 403 and keeps unauthorised callers from spending gas.
"""

from __future__ import annotations

import uuid

from fastapi import Request

from api.auth import ApiRole, Caller
from api.errors import Forbidden, Unauthenticated
from api.ownership import OwnerLink
from api.services import Services
from passport.chain.records import CustodyOffer, PassportRecord
from passport.ids import battery_id_hash, passport_id_bytes32
from passport.model import AccessTier

_ALL_TIERS = frozenset(AccessTier)
_PUBLIC = frozenset({AccessTier.PUBLIC})
_LEGITIMATE = frozenset({AccessTier.PUBLIC, AccessTier.LEGITIMATE_INTEREST})


# -- authentication ----------------------------------------------------------------------------------


def bearer_token(request: Request) -> str | None:
    """The request's API key; None without an ``Authorization`` header, 401 for a malformed one."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("expected 'Authorization: Bearer bpl_<id>_<secret>'")
    return token.strip()


def require_role(caller: Caller, *roles: ApiRole) -> None:
    """403 unless ``caller`` holds one of ``roles``."""
    if not caller.has(*roles):
        wanted = ", ".join(sorted(r.value for r in roles))
        raise Forbidden(f"{caller.name!r} lacks the role this needs (one of: {wanted})")


# -- read access -------------------------------------------------------------------------------------


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.lower() == b.lower()


def owns_battery(caller: Caller, record: PassportRecord) -> bool:
    """True if ``caller`` is an owner of the battery ``record`` describes (matched by battery-id hash)."""
    return caller.has(ApiRole.OWNER) and any(
        battery_id_hash(battery) == record.battery_id_hash for battery in caller.battery_ids
    )


def current_owner_link(
    services: Services, caller: Caller, pid: uuid.UUID, record: PassportRecord
) -> OwnerLink | None:
    """``caller``'s current owner link to the passport; ends (and returns None for) one whose battery has
    changed custody since it was made."""
    if not caller.has(ApiRole.OWNER):
        return None
    for link in services.ownership.links(participant=caller.name, passport_id=str(pid)):
        if _same(link.custodian, record.custodian):
            return link
        services.ownership.unlink(str(pid), "custody transferred", participant=caller.name)
        services.api_keys.unlink_battery(caller.name, link.battery_id)
    return None


def is_owner(services: Services, caller: Caller, pid: uuid.UUID, record: PassportRecord) -> bool:
    """An owner by a current claim, or one seeded with the battery in its key (demo, migrations)."""
    if current_owner_link(services, caller, pid, record) is not None:
        return True
    seeded = services.ownership.links(participant=caller.name, passport_id=str(pid), current=False)
    return not seeded and owns_battery(caller, record)


def readable_tiers(
    caller: Caller | None, account: str | None, record: PassportRecord, offer: CustodyOffer | None
) -> frozenset[AccessTier]:
    """The tiers ``caller`` (whose on-chain address is ``account``) may read of ``record``'s passport."""
    if caller is None:
        return _PUBLIC
    if caller.has(ApiRole.AUTHORITY, ApiRole.AUDITOR):
        return _ALL_TIERS
    if caller.has(ApiRole.ISSUER) and _same(account, record.issuer):
        return _ALL_TIERS
    if caller.has(ApiRole.INSPECTOR, ApiRole.REPURPOSER, ApiRole.RECYCLER):
        return _LEGITIMATE
    if owns_battery(caller, record):
        return _LEGITIMATE
    if caller.has(ApiRole.BUSINESS) and (
        _same(account, record.custodian) or (offer is not None and _same(account, offer.to_address))
    ):
        return _LEGITIMATE
    return _PUBLIC


def tiers_for(
    services: Services, caller: Caller | None, pid: uuid.UUID, record: PassportRecord
) -> frozenset[AccessTier]:
    """``readable_tiers`` for ``caller`` on passport ``pid``: resolves its account and pending offer."""
    if caller is None:
        return _PUBLIC
    if owns_battery(caller, record) and not is_owner(services, caller, pid, record):
        # The owner's claim ended when the battery changed custody (a sale): no restricted tier.
        caller = caller.model_copy(update={"roles": caller.roles - {ApiRole.OWNER}})
    offer = services.reader.get_custody_offer(passport_id_bytes32(pid))
    return readable_tiers(caller, services.account_of(caller), record, offer)


# -- acting on a battery ---------------------------------------------------------------------------


def require_custodian(account: str, record: PassportRecord) -> None:
    """403 unless ``account`` holds the battery's custody on-chain."""
    if not _same(account, record.custodian):
        raise Forbidden(f"the battery is in the custody of {record.custodian}, not of {account}")


def require_device_for(caller: Caller, device_id: str, battery_id: str) -> None:
    """403 unless ``caller`` is the device ``device_id`` and reports on its own battery."""
    if caller.device_id != device_id:
        raise Forbidden(f"{caller.name!r} may not send uploads as device {device_id!r}")
    if caller.battery_ids and battery_id not in caller.battery_ids:
        raise Forbidden(f"device {device_id!r} may not write for battery {battery_id!r}")
