"""The health refresh: one battery's anchored readings → a new signed passport version + early warnings.

``HealthRefresher.refresh`` is the one path the API's admin trigger (``POST
/api/v1/passports/{id}/health``), the CLI (``passport health refresh``) and the pilot take:

1. read the passport's current version (every tier: the service holds the keys) and its rated values;
2. rebuild the battery's anchored history from the sealed batch documents (``RecordProofs``; each
   root checked against the registry when a chain is given);
3. compute ``DeviceHealth`` under the server's policy (``oracle.device_health``) and write it, with the
   Annex XIII dynamic fields it determines, as the next passport version, signed by ``writer``;
4. scan the same records with the early-warning rules and journal the alerts (``oracle.early_warnings``).

``evidence`` rebuilds the offline-verifiable bundle for the health figures a passport version carries.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from oracle.device_health import (
    HealthEvidence,
    HealthPolicy,
    UsedRecord,
    build_evidence,
    compute_health,
    with_device_health,
)
from oracle.early_warnings import CURRENT_WARNING_RULES, Alert, AlertStore, WarningRules, scan
from oracle.errors import InsufficientData
from oracle.evaluation import rated_values
from oracle.ports import AnchorReader
from oracle.proofs import RecordProofs
from passport.model import AccessTier, BatteryPassport, DeviceHealth
from passport.service import IssuedVersion, PassportService


@dataclass(frozen=True, slots=True)
class RefreshResult:
    """What one refresh wrote: the health record, the passport version carrying it, new alerts."""

    passport_id: uuid.UUID
    battery_id: str
    health: DeviceHealth
    issued: IssuedVersion
    alerts: list[Alert] = field(default_factory=list)


@dataclass
class HealthRefresher:
    """Refreshes passports' device-driven health under one server-side policy (never a caller's)."""

    proofs: RecordProofs
    policy: HealthPolicy
    alerts: AlertStore | None = None
    rules: WarningRules = CURRENT_WARNING_RULES
    chain: AnchorReader | None = None

    def refresh(
        self,
        passport_id: uuid.UUID,
        writer: PassportService,
        *,
        evaluated_at: datetime | None = None,
    ) -> RefreshResult:
        """Compute, write and scan (see the module docstring). ``InsufficientData`` if the battery has
        no anchored diagnostic snapshot yet: nothing is written then."""
        current = writer.fetch(passport_id, frozenset(AccessTier)).passport()
        history = self.proofs.battery_history(current.battery_id, chain=self.chain)
        return self.refresh_from(
            passport_id, writer, current, [UsedRecord.of(a) for a in history], evaluated_at=evaluated_at
        )

    def refresh_from(
        self,
        passport_id: uuid.UUID,
        writer: PassportService,
        current: BatteryPassport,
        records: Sequence[UsedRecord],
        *,
        evaluated_at: datetime | None = None,
    ) -> RefreshResult:
        """``refresh`` with the passport's current document and its battery's anchored records given
        (a fleet-wide refresh opens each batch document once for every battery in it)."""
        rated = rated_values(current)
        if not records:
            raise InsufficientData(f"battery {current.battery_id} has no anchored readings yet")
        health = compute_health(current.battery_id, rated, records, self.policy, evaluated_at=evaluated_at)
        issued = writer.update(passport_id, with_device_health(current, health, self.policy))
        raised = scan(
            current.battery_id, records, rated_capacity_ah=rated.rated_capacity_ah, rules=self.rules
        )
        new = self.alerts.record(raised) if self.alerts is not None else raised
        return RefreshResult(passport_id, current.battery_id, health, issued, new)

    def refresh_many(
        self,
        writer: PassportService,
        targets: Sequence[tuple[uuid.UUID, BatteryPassport, Sequence[UsedRecord]]],
        *,
        evaluated_at: datetime | None = None,
    ) -> tuple[list[RefreshResult], list[uuid.UUID]]:
        """``refresh_from`` for many passports, their versions written by ``PassportService.update_many``
        (transactions in flight): ``(results in the order given, passports skipped)``. A passport whose
        battery has no anchored diagnostic snapshot is skipped (nothing written), as ``refresh`` raises
        ``InsufficientData`` for it."""
        computed: list[tuple[uuid.UUID, BatteryPassport, Sequence[UsedRecord], DeviceHealth]] = []
        skipped: list[uuid.UUID] = []
        for passport_id, current, records in targets:
            try:
                if not records:
                    raise InsufficientData(f"battery {current.battery_id} has no anchored readings yet")
                health = compute_health(
                    current.battery_id, rated_values(current), records, self.policy, evaluated_at=evaluated_at
                )
            except InsufficientData:
                skipped.append(passport_id)
                continue
            computed.append((passport_id, current, records, health))
        issued = writer.update_many(
            [(pid, with_device_health(current, health, self.policy)) for pid, current, _, health in computed]
        )
        results: list[RefreshResult] = []
        for (passport_id, current, records, health), version in zip(computed, issued, strict=True):
            rated = rated_values(current)
            raised = scan(
                current.battery_id, records, rated_capacity_ah=rated.rated_capacity_ah, rules=self.rules
            )
            new = self.alerts.record(raised) if self.alerts is not None else raised
            results.append(RefreshResult(passport_id, current.battery_id, health, version, new))
        return results, skipped

    def evidence(self, passport_id: uuid.UUID, reader: PassportService) -> HealthEvidence:
        """The evidence bundle for the health figures on the passport's current version."""
        fetched = reader.fetch(passport_id, frozenset(AccessTier))
        passport = fetched.passport()
        health = passport.performance.dynamic.device_health
        if health is None:
            raise InsufficientData(f"passport {passport_id} carries no device-driven health figures")
        history = self.proofs.battery_history(passport.battery_id, chain=self.chain)
        return build_evidence(
            passport_id, fetched.version, passport.battery_id, rated_values(passport), health, history
        )
