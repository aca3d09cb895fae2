"""``LedgerPageSource``: the passport page built from the real ledger, content store and audit index.

What a QR scan shows is decided by the same tier policy as the API (``api.access``): identity, status,
custody, verification and the whole public tier, group by group (``api.web.groups``), for everyone;
the state-of-health history (recorded performance evaluations, ``legitimate_interest`` tier) only for
callers who may read that tier of this battery.

The custody timeline is read from the audit index and cross-checked against the chain's events for this
passport (``index.custody``), so an edited index fails the verdict instead of being shown as verified.

When the stored documents no longer match the ledger (someone rewrote them), the page still renders:
identity fields read "unavailable" and the verification panel shows which check failed. A buyer must
see the failure, not an error page that looks like an outage.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from api.access import tiers_for
from api.auth import Caller
from api.errors import NotFound
from api.services import Services
from api.web.groups import passport_groups
from api.web.health_views import AlertView, DeviceHealthView, alert_views, device_health_view
from api.web.safety import safety_view
from api.web.service_views import ServicesView, services_view
from api.web.views import (
    UNAVAILABLE,
    CustodyEntryView,
    CustodyKind,
    HealthPointView,
    PassportPageView,
    VerificationView,
    bundle_path,
    qr_svg_path,
)
from passport.audit import AuditEvent
from passport.errors import ContentIntegrityError, ContentNotFound, DocumentError, PassportError
from passport.ids import ZERO32, parse_passport_id, passport_id_bytes32
from passport.model import AccessTier, PassportView

log = logging.getLogger(__name__)

_CUSTODY_KINDS = {
    "CustodyOffered": CustodyKind.OFFERED,
    "CustodyTransferred": CustodyKind.ACCEPTED,
    "CustodyOfferCancelled": CustodyKind.CANCELLED,
}


def _text(view: PassportView | None, path: str) -> str:
    value = None if view is None else view.get(path)
    return str(value) if value not in (None, "") else UNAVAILABLE


def custody_entries(
    events: list[AuditEvent], fallback_time: int, names: Callable[[str], str | None] = lambda _a: None
) -> tuple[CustodyEntryView, ...]:
    """The audit index's custody events as timeline entries (block time; ``fallback_time`` if unknown),
    each party with its directory name when ``names`` knows one."""
    entries = []
    for event in events:
        kind = _CUSTODY_KINDS.get(event.name)
        if kind is None:
            continue
        at = event.block_timestamp if event.block_timestamp is not None else fallback_time
        entries.append(
            CustodyEntryView(
                at=datetime.fromtimestamp(at, UTC),
                from_party=str(event.args.get("from", "")),
                to_party=str(event.args.get("to", "")),
                from_name=names(str(event.args.get("from", ""))),
                to_name=names(str(event.args.get("to", ""))),
                kind=kind,
                tx_hash=event.tx_hash,
            )
        )
    return tuple(entries)


def health_points(evaluations: list[Any]) -> tuple[HealthPointView, ...]:
    """State-of-health points from the passport's recorded performance evaluations."""
    points = []
    for item in evaluations:
        if not isinstance(item, dict):
            continue
        points.append(
            HealthPointView(
                at=datetime.fromisoformat(str(item["evaluated_at"])),
                soh_percent=float(item["state_of_health_percent"]),
                capacity_ah=float(item.get("remaining_capacity_ah") or 0.0),
            )
        )
    return tuple(points)


class LedgerPageSource:
    """A ``PassportPageSource`` over the application's ``Services``."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def page_view(self, passport_id: str, caller: Caller | None) -> PassportPageView:
        services = self.services
        pid = parse_passport_id(passport_id)
        pid32 = passport_id_bytes32(pid)
        record = services.read_model.lookup(pid32).record
        if record is None:
            raise NotFound(f"no passport {pid} on the ledger")
        tiers = tiers_for(services, caller, pid, record)
        reader = services.passports_for(None)
        view: PassportView | None
        try:
            view = reader.fetch(pid, tiers, record=record).view
        except (ContentIntegrityError, ContentNotFound, DocumentError) as exc:
            # Verification below names the failed check; the page shows the ledger's facts only.
            log.warning("passport %s: stored documents unreadable: %s", pid, exc)
            view = None
        # The timeline comes from the audit index, a file anyone with access could edit: it is shown
        # only together with its cross-check against the chain, which fails the verdict if it differs.
        # Both are read for the ledger state the read model holds (its follower keeps the index current,
        # and this process's own writes refresh it at once).
        index = services.custody_check(pid, record)
        custody = custody_entries(index.events, record.updated_at, services.names.name_of)
        report = services.verification(pid, record)
        health = None
        device_health: DeviceHealthView | None = None
        alerts: tuple[AlertView, ...] = ()
        if view is not None and AccessTier.LEGITIMATE_INTEREST in tiers:
            health = health_points(list(view.get("korea.performance_evaluations", []) or []))
            device_health = device_health_view(view.get("performance.dynamic.device_health"), str(pid))
            if services.alerts is not None:
                alerts = alert_views(services.alerts.of_battery(_text(view, "general.battery_id")))
        manufacturer = view.get("general.manufacturer.name") if view is not None else None
        state = services.reader.get_safety_state(pid32)
        readable = view is not None and AccessTier.LEGITIMATE_INTEREST in tiers
        safety = safety_view(
            flagged=state.flagged,
            distribution_valid_until=state.distribution_valid_until,
            inspections=list(view.get("korea.safety_inspections", []) or []) if readable and view else None,
            negative_events=list(view.get("performance.dynamic.negative_events", []) or [])
            if readable and view
            else None,
        )
        return PassportPageView(
            passport_id=str(pid),
            battery_id=_text(view, "general.battery_id"),
            category=_text(view, "general.category"),
            chemistry=_text(view, "materials.chemistry"),
            manufacturer=str(manufacturer)
            if manufacturer
            else _text(view, "general.manufacturer.identifier"),
            status=record.status.name,
            version=record.version,
            predecessor_id=None
            if record.predecessor == ZERO32
            else str(parse_passport_id(record.predecessor)),
            successor_id=None if record.successor == ZERO32 else str(parse_passport_id(record.successor)),
            closed_at=datetime.fromtimestamp(record.updated_at, UTC) if record.is_closed else None,
            custodian=record.custodian,
            custody=custody,
            verification=VerificationView.from_report(report),
            health=health,
            qr_url=qr_svg_path(str(pid)),
            bundle_url=bundle_path(str(pid)),
            groups=passport_groups(view) if view is not None else (),
            device_health=device_health,
            alerts=alerts,
            safety=safety,
            services=self._services_view(pid32),
        )

    def _services_view(self, pid32: bytes) -> ServicesView | None:
        """The battery-services section, or None (no contract deployed, nothing recorded, or the node
        failed: the rest of the page does not depend on it)."""
        services = self.services
        if services.services_address is None:
            return None
        try:
            ledger = services.service_models_for(None).ledger
            owner = ledger.legal_owner(pid32)
            view = services_view(
                owner,
                None if owner is None else services.names.name_of(owner),
                ledger.get_binding(pid32),
                ledger.get_storage_installation(pid32),
            )
        except PassportError as exc:
            log.warning("battery services of 0x%s unreadable: %s", pid32.hex(), exc)
            return None
        return None if view.empty else view
