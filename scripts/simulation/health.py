"""The pilot's device-driven health: injected faults, early warnings scored per rule, a fleet refresh.

``PilotHealth`` hooks into ``scripts.simulation.pilot`` at two points:

* ``inject`` (each simulated day, before the devices sign): a seeded share of first-generation packs
  (``HealthPilotConfig.fault_share``) each get one fault, round-robin over the four rules of
  ``oracle.early_warnings``, from ``fault_start_day`` on — what their devices report changes, so the
  faults travel the real path (signature, journal, batch, anchor):

  - ``cell_voltage_spread_rising``: every diagnostic snapshot's cell voltage spread +15 mV per snapshot
    since the fault began;
  - ``temperature_rise_at_rest``: every parking period's peak raised 25 °C above its minimum (at least
    45 °C);
  - ``hot_fast_charging``: four extra 30-minute DC sessions peaking at 52 °C on four consecutive days;
  - ``sudden_capacity_drop``: every snapshot's measured capacity and SOCE times 0.9 (a ~10 % step);

* ``finish`` (after the last anchor): every confirmed batch document is opened once and its records
  grouped by battery; every open passport's health is refreshed (``oracle.health_refresh``, the API's
  path, a new version signed by the inspector) under the server policy ``kr-health-2026-1``; the rules
  scan every pack's anchored readings, alerts go to the alert journal, and each rule is scored per pack.
  A faulty pack is *exposed* once any of its readings was changed and the fault *manifest* once the
  data show all of it (spread: two raised snapshots; hot charging: all four sessions; capacity: a
  snapshot before the step): TP = manifest and fired, FN = manifest and silent, FP = fired on a pack
  without that fault. A sample of refreshed passports' evidence bundles is verified offline.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from oracle.device_health import UsedRecord, build_evidence, health_policy, verify_health_evidence
from oracle.early_warnings import CURRENT_WARNING_RULES, RULES, AlertStore, RuleName, scan
from oracle.evaluation import rated_values
from oracle.ports import AnchorReader
from oracle.proofs import AnchoredRecord
from passport.chain.records import AnchorRecord
from passport.ids import passport_id_bytes32
from passport.model import AccessTier
from scripts.simulation.fleet import battery_id as fleet_battery_id
from scripts.simulation.generator import DeviceUpload

if TYPE_CHECKING:
    from scripts.simulation.pilot import Pilot

_FAULT_STREAM: Final = 0xFA17
SPREAD_STEP_MV: Final = 15.0
REST_RISE_C: Final = 25.0
HOT_SESSION_TEMP_C: Final = 52.0
HOT_SESSIONS: Final = 4
CAPACITY_FACTOR: Final = 0.9
#: Refreshed passports whose evidence bundle is rebuilt and verified offline at the end.
EVIDENCE_SAMPLE: Final = 20
#: Passports refreshed per ``HealthRefresher.refresh_many`` call.
REFRESH_CHUNK: Final = 200


@dataclass(frozen=True, slots=True)
class HealthPilotConfig:
    """Fault injection and the end-of-run refresh (part of ``PilotConfig``)."""

    fault_share: float = 0.0  # share of first-generation packs given one fault (0 = none)
    fault_start_day: int | None = None  # None: max(8, days // 3), after the first weekly snapshot
    refresh: bool = True  # refresh every open passport's health at the end

    def __post_init__(self) -> None:
        if not 0.0 <= self.fault_share <= 1.0:
            raise ValueError("fault_share must be within 0..1")
        if self.fault_start_day is not None and self.fault_start_day < 0:
            raise ValueError("fault_start_day must not be negative")


def plan_faults(n_evs: int, share: float, seed: int) -> dict[int, RuleName]:
    """Which vehicles' first packs get which fault: a seeded sample, rules assigned round-robin."""
    count = round(n_evs * share)
    if count == 0:
        return {}
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(_FAULT_STREAM,))))
    chosen = sorted(int(ev) for ev in rng.choice(n_evs, size=count, replace=False))
    return {ev: RULES[i % len(RULES)] for i, ev in enumerate(chosen)}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


@dataclass
class _AnchorLookups:
    """An ``AnchorReader`` that asks the registry once per root (anchors never change once confirmed;
    the pilot's node does not reorganise)."""

    chain: AnchorReader
    found: dict[bytes, AnchorRecord | None] = field(default_factory=dict)

    def get_anchor(self, root: bytes) -> AnchorRecord | None:
        if root not in self.found:
            self.found[root] = self.chain.get_anchor(root)
        return self.found[root]

    def verify_record(self, root: bytes, record_digest: bytes, proof: Sequence[bytes]) -> bool:
        return self.chain.verify_record(root, record_digest, proof)


@dataclass
class PilotHealth:
    """Fault injection during the run and the health/warning accounting after it."""

    config: HealthPilotConfig
    start_epoch_s: int
    days: int
    seed: int
    n_evs: int
    faults: dict[str, RuleName] = field(init=False)  # battery id -> its injected fault
    exposed: dict[str, RuleName] = field(init=False, default_factory=dict)
    manifest: dict[str, RuleName] = field(init=False, default_factory=dict)
    _snapshots: Counter[str] = field(init=False, default_factory=Counter)
    _diagnosed_before: set[str] = field(init=False, default_factory=set)
    _hot_added: Counter[str] = field(init=False, default_factory=Counter)

    def __post_init__(self) -> None:
        plan = plan_faults(self.n_evs, self.config.fault_share, self.seed)
        self.faults = {fleet_battery_id(ev, 0): rule for ev, rule in plan.items()}

    @property
    def start_day(self) -> int:
        if self.config.fault_start_day is not None:
            return self.config.fault_start_day
        return max(8, self.days // 3)

    # -- during the run ----------------------------------------------------------------------------------

    def inject(self, day: int, uploads: list[DeviceUpload]) -> list[DeviceUpload]:
        """The day's uploads with the faulty packs' readings changed (in place) from the start day on."""
        if not self.faults:
            return uploads
        for upload in uploads:
            rule = self.faults.get(upload.battery_id)
            if rule is None:
                continue
            if day < self.start_day:
                if any(r["kind"] == "diagnostics" for r in upload.readings):
                    self._diagnosed_before.add(upload.battery_id)
                continue
            if self._inject(rule, day, upload):
                self.exposed[upload.battery_id] = rule
                if self._manifest(rule, upload.battery_id):
                    self.manifest[upload.battery_id] = rule
        return uploads

    def _manifest(self, rule: RuleName, battery: str) -> bool:
        """Whether the data now show the whole fault (what a rule could be asked to catch)."""
        if rule == "cell_voltage_spread_rising":
            return self._snapshots[battery] >= 2  # +30 mV over the last healthy snapshot
        if rule == "hot_fast_charging":
            return self._hot_added[battery] >= HOT_SESSIONS
        if rule == "sudden_capacity_drop":
            return battery in self._diagnosed_before  # a step needs a snapshot before it
        return True

    def _inject(self, rule: RuleName, day: int, upload: DeviceUpload) -> bool:
        changed = False
        for reading in upload.readings:
            kind = reading["kind"]
            if rule == "cell_voltage_spread_rising" and kind == "diagnostics":
                self._snapshots[upload.battery_id] += 1
                step = SPREAD_STEP_MV * self._snapshots[upload.battery_id]
                reading["cell_voltage_spread_mv"] = round(
                    min(1990.0, reading["cell_voltage_spread_mv"] + step), 1
                )
                changed = True
            elif rule == "temperature_rise_at_rest" and kind == "parking":
                peak = max(reading["temp_min_c"] + REST_RISE_C, 45.0)
                reading["temp_max_c"] = round(min(89.0, peak), 1)
                changed = True
            elif rule == "sudden_capacity_drop" and kind == "diagnostics":
                reading["capacity_ah"] = round(reading["capacity_ah"] * CAPACITY_FACTOR, 2)
                reading["soce_pct"] = round(reading["soce_pct"] * CAPACITY_FACTOR, 2)
                changed = True
        if rule == "hot_fast_charging" and self._hot_added[upload.battery_id] < HOT_SESSIONS:
            start = datetime.fromtimestamp(self.start_epoch_s + 86400 * day + 3600, UTC)
            upload.readings.append(
                {
                    "kind": "charging",
                    "started_at": _iso(start),
                    "ended_at": _iso(start + timedelta(minutes=30)),
                    "energy_kwh": 25.0,
                    "soc_start_pct": 30.0,
                    "soc_end_pct": 70.0,
                    "avg_power_kw": 50.0,
                    "max_power_kw": 100.0,
                    "max_cell_temp_c": HOT_SESSION_TEMP_C,
                    "mode": "fast",
                }
            )
            self._hot_added[upload.battery_id] += 1
            changed = True
        return changed

    # -- after the run ---------------------------------------------------------------------------------

    def histories(self, pilot: Pilot) -> dict[str, list[AnchoredRecord]]:
        """Every battery's anchored records: each anchored batch document opened once for the run."""
        return pilot.proofs.histories()

    def finish(self, pilot: Pilot) -> dict[str, Any]:
        """Refresh, scan and score (see the module docstring); the report's ``health`` section."""
        with pilot.stage("health_histories"):
            histories = self.histories(pilot)
        records = {b: [UsedRecord.of(a) for a in h] for b, h in histories.items()}
        policy = health_policy()
        report: dict[str, Any] = {
            "policy": policy.ref.model_dump(),
            "refresh": self._refresh(pilot, policy, histories, records),
        }
        with pilot.stage("warnings"):
            report["warnings"] = self._warnings(pilot, records)
        return report

    def _refresh(
        self,
        pilot: Pilot,
        policy: Any,
        histories: dict[str, list[AnchoredRecord]],
        records: dict[str, list[UsedRecord]],
    ) -> dict[str, Any]:
        if not self.config.refresh:
            return {"enabled": False}
        from oracle.health_refresh import HealthRefresher

        refresher = HealthRefresher(pilot.proofs, policy)
        writer = pilot.service.acting_as(pilot.keys["inspector"])
        grades: Counter[str] = Counter()
        refreshed: list[tuple[Any, str, Any]] = []
        skipped = 0
        # Every open passport: the packs in the cars and the second-life successors (same battery id,
        # so the first life's readings); recycled and superseded passports are closed to writes.
        by_passport = {pack.passport_id: pack.battery_id for pack in pilot.packs.values()}
        targets = [(pack.passport_id, pack.battery_id) for pack in pilot.current.values()]
        targets += [(new, by_passport[old]) for new, old in sorted(pilot.successors.items())]
        # A pack removed on the run's last day is still its vehicle's current pack (no replacement was
        # fitted after it): its passport may be closed already, so ask the ledger.
        # The record read here is handed to the fetch, which would otherwise read it again.
        chain = pilot.chains["admin"]
        with pilot.stage("health_refresh"):
            ledger = [
                (pid, battery, chain.get_passport(passport_id_bytes32(pid))) for pid, battery in targets
            ]
        targets = [(pid, battery) for pid, battery, record in ledger if not record or not record.is_closed]
        open_records = {pid: record for pid, _, record in ledger if not record or not record.is_closed}
        battery_of = dict(targets)
        with pilot.stage("health_refresh"):
            # Chunks of passports refreshed together: their versions go out as transactions in flight.
            for start in range(0, len(targets), REFRESH_CHUNK):
                chunk = [
                    (
                        pid,
                        writer.fetch(pid, frozenset(AccessTier), record=open_records[pid]).passport(),
                        records.get(battery, []),
                    )
                    for pid, battery in targets[start : start + REFRESH_CHUNK]
                ]
                results, passed = refresher.refresh_many(
                    writer, chunk, evaluated_at=datetime.fromtimestamp(pilot.sim_now, UTC)
                )
                skipped += len(passed)
                for result in results:
                    pilot.tx("update_passport", result.issued.receipt)
                    grades[result.health.figures.grade.value] += 1
                    refreshed.append((result.passport_id, battery_of[result.passport_id], result))
        verified = 0
        sample = refreshed[:EVIDENCE_SAMPLE]
        # The sampled batteries share most batches: each root is looked up on the registry once.
        anchors = _AnchorLookups(pilot.chains["admin"])
        for passport_id, battery, result in sample:
            rated = rated_values(result.issued.document)
            evidence = build_evidence(
                passport_id, result.issued.version, battery, rated, result.health, histories[battery]
            )
            verified += verify_health_evidence(evidence, chain=anchors).ok
        return {
            "enabled": True,
            "passports_open": len(targets),
            "refreshed": len(refreshed),
            "skipped_no_anchored_diagnostics": skipped,
            "grades": dict(sorted(grades.items())),
            "evidence_verified": {"sample": len(sample), "ok": verified},
        }

    def _warnings(self, pilot: Pilot, records: dict[str, list[UsedRecord]]) -> dict[str, Any]:
        fired: dict[RuleName, set[str]] = {rule: set() for rule in RULES}
        alerts = 0
        with AlertStore(pilot.settings.warnings_path) as store:
            for battery, used in sorted(records.items()):
                pack = pilot.packs.get(battery)
                if pack is None:
                    continue
                raised = scan(battery, used, rated_capacity_ah=pack.rated.rated_capacity_ah)
                store.record(raised, now=datetime.fromtimestamp(pilot.sim_now, UTC))
                alerts += len(raised)
                for alert in raised:
                    fired[alert.rule].add(battery)
        per_rule: dict[str, dict[str, int]] = {}
        for rule in RULES:
            faulty = {b for b, r in self.faults.items() if r == rule}
            exposed = {b for b, r in self.exposed.items() if r == rule}
            manifest = {b for b, r in self.manifest.items() if r == rule}
            per_rule[rule] = {
                "faulty_packs": len(faulty),
                "exposed": len(exposed),
                "manifest": len(manifest),
                "tp": len(fired[rule] & manifest),
                "fn": len(manifest - fired[rule]),
                "fired_before_manifest": len((fired[rule] & exposed) - manifest),
                "fp": len(fired[rule] - faulty),
            }
        healthy = set(records) - set(self.faults)
        return {
            "rules": CURRENT_WARNING_RULES.ref.model_dump(),
            "fault_start_day": self.start_day if self.faults else None,
            "packs_scanned": len(records),
            "alerts": alerts,
            "healthy_packs_with_alerts": len({b for rule in RULES for b in fired[rule]} & healthy),
            "per_rule": per_rule,
        }
