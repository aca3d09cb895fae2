"""The pilot's safety step on a tiny fleet (anvil): inspections around each second-life transfer, an
injected serious incident that blocks the transfer until a clearance, and a minor one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from passport.ids import passport_id_bytes32
from passport.model import AccessTier
from scripts.simulation.fleet import FleetConfig
from scripts.simulation.pilot import Pilot, PilotConfig, PilotReport
from scripts.simulation.safety import SafetyConfig

# Packs removed at a workshop after their first weekly diagnostics: graded for a second life.
CONFIG = PilotConfig(
    fleet=FleetConfig(n_evs=4, days=8, seed=11, forced_removals=((7, 0), (7, 1), (7, 2), (7, 3))),
    naive_sample=0,
    verify_sample=10,
    durable_store=False,
    safety=SafetyConfig(incidents=2, serious=1),
)

pytestmark = [pytest.mark.node, pytest.mark.slow]


@pytest.fixture(scope="module")
def pilot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Pilot, PilotReport]]:
    with Pilot(CONFIG, tmp_path_factory.mktemp("pilot-safety")) as running:
        yield running, running.run()


def test_report_counts_inspections_incidents_and_blocked_transfers(pilot: tuple[Pilot, PilotReport]) -> None:
    _, report = pilot
    second_life = [p for p in report.end_of_first_life["packs"] if p["route"] != "recycled"]
    n = len(second_life)
    assert n >= 2, report.end_of_first_life
    assert report.safety == {
        "transfers_inspected": n,
        "inspections": {"clearance": 1, "post_distribution": n, "pre_distribution": n},
        "inspections_total": 2 * n + 1,
        "incidents": {"minor": 1, "serious": 1},
        "incidents_total": 2,
        "blocked_transfers": {"SafetyRecordsPassportFlagged": 1},
        "blocked_total": 1,
        "cleared": 1,
        "flags_open": 0,
    }
    assert report.as_dict()["safety"] == report.safety
    assert report.audit["agrees"] is True
    assert report.audit["expected"]["InspectionRecorded"] == 2 * n + 1
    assert report.audit["expected"]["IncidentRecorded"] == 2


def test_the_records_are_in_the_verified_predecessor_passports(pilot: tuple[Pilot, PilotReport]) -> None:
    running, report = pilot
    first = next(p for p in report.end_of_first_life["packs"] if p["route"] != "recycled")
    pid = uuid.UUID(first["passport_id"])
    record = running.chains["admin"].get_passport(passport_id_bytes32(pid))
    assert record is not None
    # issue, serious incident, clearance, pre-distribution inspection, the market's retirement evaluation
    # with its own pre-distribution inspection (a listing needs a current grade), post-distribution
    # inspection; then superseded.
    assert (record.version, record.is_closed) == (6, True)
    document = running.service.fetch(pid, frozenset(AccessTier)).passport()
    stages = [i.stage.value for i in document.korea.safety_inspections]
    # The clearance, then a pre-distribution inspection (the safety pilot's, and the market's own before
    # listing), and the receiving business's post-distribution inspection last.
    assert stages[-1] == "post_distribution"
    cleared = stages.index("clearance")
    assert "pre_distribution" in stages[cleared + 1 : -1]
    assert document.performance.dynamic.negative_events[-1].serious is True
    assert running.service.verify(pid).ok
