"""Who may read a battery's restricted data beyond the tier table of ``api.access``, and the log of it.

A caller reads a passport's restricted data (device history, binding history, evaluations, the
``legitimate_interest`` tier) on exactly one *basis*, named in the access log:

* ``owner`` — a current owner link (a redeemed claim). A link made under one custodian ends at the first
  read that finds the battery in another's custody: the battery was sold.
* ``role:<role>`` — auditors and authorities read every battery (and issuers, inspectors, custodians
  what ``api.access`` grants them);
* ``share:<id>`` — an active grant naming the caller, or the bearer link of one, covering the data kind.

Every read of restricted data goes to the passport's access log (``OwnershipStore.log_access``), which
its owner, its custodian and auditors read.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from api.access import current_owner_link, is_owner, owns_battery, readable_tiers
from api.auth import ApiKeyStore, ApiRole, Caller
from api.errors import Forbidden, NotFound
from api.ownership import OwnerLink, OwnershipStore, Share
from api.services import Services
from passport.chain.records import PassportRecord
from passport.ids import battery_id_hash, passport_id_bytes32
from passport.model import AccessTier

# What a share grant can cover: the document's restricted tier, the evaluations, each kind of device
# reading, and the device binding history.
DATA_KINDS: tuple[str, ...] = (
    "passport",
    "evaluations",
    "charging",
    "safety",
    "parking",
    "diagnostics",
    "devices",
)
READING_KINDS: tuple[str, ...] = ("charging", "safety", "parking", "diagnostics")


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.lower() == b.lower()


def battery_of(services: Services, pid: uuid.UUID, record: PassportRecord) -> str:
    """The battery id of passport ``pid`` (its public ``general.battery_id``), checked against the ledger."""
    for link in services.ownership.links(passport_id=str(pid), current=False)[-1:]:
        return link.battery_id
    view = services.passports_for(None).fetch(pid, frozenset({AccessTier.PUBLIC})).view
    battery = view.get("general.battery_id")
    if not isinstance(battery, str) or battery_id_hash(battery) != record.battery_id_hash:
        raise NotFound(f"passport {pid}'s battery id cannot be read")
    return battery


def read_basis(
    services: Services, caller: Caller, pid: uuid.UUID, record: PassportRecord, kinds: Iterable[str]
) -> str:
    """The basis on which ``caller`` reads ``kinds`` of the passport's restricted data; 403 if none."""
    wanted = set(kinds)
    if caller.has(ApiRole.AUDITOR, ApiRole.AUTHORITY):
        return "role:" + ("auditor" if caller.has(ApiRole.AUDITOR) else "authority")
    if is_owner(services, caller, pid, record):
        return "owner"
    for share in services.ownership.grants_for(caller.name, str(pid)):
        if wanted <= set(share.kinds):
            return f"share:{share.id}"
    account = services.account_of(caller)
    if wanted <= {"passport", "evaluations"}:
        offer = services.reader.get_custody_offer(passport_id_bytes32(pid))
        if AccessTier.LEGITIMATE_INTEREST in readable_tiers(caller, account, record, offer):
            if caller.has(ApiRole.ISSUER) and _same(account, record.issuer):
                return "issuer"
            if _same(account, record.custodian):
                return "custodian"
            return "role:" + ",".join(sorted(r.value for r in caller.roles))
    raise Forbidden(
        f"{caller.name!r} may not read {', '.join(sorted(wanted))} of passport {pid}: not its owner, "
        "an auditor, or the holder of a grant covering it"
    )


def may_manage(services: Services, caller: Caller, pid: uuid.UUID, record: PassportRecord) -> str:
    """The basis on which ``caller`` manages the passport's shares (owner or custodian); 403 otherwise."""
    if is_owner(services, caller, pid, record):
        return "owner"
    if caller.name in services.keys and _same(services.account_of(caller), record.custodian):
        return "custodian"
    raise Forbidden(f"only the owner or the custodian of passport {pid} may manage who reads its data")


def share_basis(share: Share | None, now: float, kinds: Iterable[str]) -> Share:
    """The active bearer share covering ``kinds``; 404 for an unknown link, 403 once ended or too narrow."""
    if share is None:
        raise NotFound("no such share link")
    if not share.active(now):
        raise Forbidden(f"share {share.id} has {'been revoked' if share.revoked_at else 'expired'}")
    missing = set(kinds) - set(share.kinds)
    if missing:
        raise Forbidden(f"share {share.id} does not cover {', '.join(sorted(missing))}")
    return share


def log_restricted_read(
    services: Services,
    caller: Caller | None,
    pid: uuid.UUID,
    record: PassportRecord,
    tiers: frozenset[AccessTier],
    what: str,
) -> None:
    """Log a read through the tier table (``GET /passports/{id}``, evaluations) if it was restricted."""
    if caller is None or tiers <= {AccessTier.PUBLIC}:
        return
    if caller.has(ApiRole.AUDITOR, ApiRole.AUTHORITY):
        basis = "role:" + ("auditor" if caller.has(ApiRole.AUDITOR) else "authority")
    elif owns_battery(caller, record):
        basis = "owner"
    else:
        account = services.account_of(caller)
        basis = (
            "issuer"
            if _same(account, record.issuer)
            else "custodian"
            if _same(account, record.custodian)
            else "role:" + ",".join(sorted(r.value for r in caller.roles))
        )
    services.ownership.log_access(
        str(pid), caller.name, basis, what, {"tiers": sorted(t.value for t in tiers)}
    )


def require_record_owner(services: Services, caller: Caller, battery_id: str) -> str:
    """The basis (``owner``) on which ``caller`` reads a record of ``battery_id``; 403 unless they own
    it now (a current link whose custodian still holds the battery, or a seeded one)."""
    if caller.has(ApiRole.OWNER) and battery_id in caller.battery_ids:
        for link in services.ownership.links(participant=caller.name):
            if link.battery_id == battery_id:
                record = services.reader.get_passport(passport_id_bytes32(uuid.UUID(link.passport_id)))
                if record is not None and current_owner_link(
                    services, caller, uuid.UUID(link.passport_id), record
                ):
                    return "owner"
                break
        else:
            return "owner"  # seeded with the battery in its key
    raise Forbidden(f"{caller.name!r} may not read the records of battery {battery_id!r}")


def log_record_read(
    services: Services, caller: Caller, battery_id: str, basis: str, what: str, digest: str
) -> None:
    """Log a read of one battery record under its passport (or ``battery:<id>`` if no passport is known
    here for it)."""
    links = services.ownership.links(current=False, battery_id=battery_id)
    where = links[-1].passport_id if links else f"battery:{battery_id}"
    services.ownership.log_access(where, caller.name, basis, what, {"digest": digest})


def redeem(services: Services, participant: str, code: str) -> OwnerLink:
    """Burn ``code`` and link ``participant`` (an owner) to its battery, under its current custodian."""
    passport_id, _ = services.ownership.claim_target(code)
    record = services.reader.get_passport(passport_id_bytes32(uuid.UUID(passport_id)))
    if record is None:
        raise NotFound(f"no passport {passport_id} on the ledger")
    return link_owner(services.ownership, services.api_keys, participant, code, record.custodian)


def link_owner(
    ownership: OwnershipStore, api_keys: ApiKeyStore, participant: str, code: str, custodian: str
) -> OwnerLink:
    """Burn ``code``, link ``participant`` to its battery in both stores, and unlink everyone who owned
    it before (earlier claimants, and owners seeded with the battery in their key): the code proves
    possession."""
    previous = ownership.links(passport_id=ownership.claim_target(code)[0])
    link = ownership.redeem_claim(code, participant, custodian)
    for old in previous:
        api_keys.unlink_battery(old.participant, old.battery_id)
    for name in api_keys.battery_holders(link.battery_id):
        holder = api_keys.participant(name)
        if (
            name != participant
            and holder is not None
            and holder.device_id is None
            and holder.has(ApiRole.OWNER)
        ):
            api_keys.unlink_battery(name, link.battery_id)
    api_keys.link_battery(participant, link.battery_id)
    return link
