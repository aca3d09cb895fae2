"""The page's view model and its server-side chart geometry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from api.web import (
    CheckOutcome,
    HealthPointView,
    Verdict,
    VerificationCheckView,
    VerificationView,
    bundle_path,
    page_path,
    qr_png_path,
)
from api.web.chart import HEIGHT, WIDTH, soh_chart
from api.web.render import short_hex
from passport.errors import InvalidIdentifier
from tests.api.web_page_fakes import (
    PASSPORT_ID,
    health_history,
    passing_verification,
    sample_view,
    tampered_verification,
)

SUCCESSOR_ID = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"


def test_ok_cannot_hide_a_failed_check() -> None:
    failed = VerificationCheckView(name="manifest.digest", outcome=CheckOutcome.FAIL, reason="mismatch")
    with pytest.raises(ValidationError, match="cannot be ok while a check failed"):
        VerificationView(ok=True, checks=(failed,))
    assert VerificationView(ok=False, checks=(failed,)).failed == (failed,)


@dataclass(frozen=True)
class _Check:
    name: str
    status: str
    reason: str


@dataclass(frozen=True)
class _Report:
    ok: bool
    checks: list[_Check]


def test_from_report_keeps_order_and_outcomes() -> None:
    # The same shape and values as passport.verify.VerificationReport.
    report = _Report(
        ok=False,
        checks=[
            _Check("bundle.format", "pass", "format v1"),
            _Check("public_section.digest", "fail", "digest differs"),
            _Check("chain.anchor", "skipped", "no chain client"),
        ],
    )
    view = VerificationView.from_report(report)
    assert [(c.name, c.outcome) for c in view.checks] == [
        ("bundle.format", CheckOutcome.PASS),
        ("public_section.digest", CheckOutcome.FAIL),
        ("chain.anchor", CheckOutcome.SKIPPED),
    ]
    assert not view.ok
    assert [c.name for c in view.skipped] == ["chain.anchor"]


def test_unverifiable_bundle_is_a_failure() -> None:
    view = VerificationView.unverifiable("bundle is not JSON")
    assert not view.ok
    assert view.failed[0].reason == "bundle is not JSON"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"passport_id": PASSPORT_ID.upper()}, "canonical"),
        ({"successor_id": "urn:uuid:" + PASSPORT_ID}, "canonical"),
        ({"version": 0}, "greater than or equal to 1"),
        ({"unexpected": 1}, "Extra inputs"),
    ],
)
def test_view_rejects_malformed_fields(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        sample_view(**changes)


def test_times_must_be_aware_and_are_shown_in_utc() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        HealthPointView(at=datetime(2025, 1, 1, 12, 0), soh_percent=99, capacity_ah=200)
    cet = timezone(timedelta(hours=1))
    point = HealthPointView(at=datetime(2025, 1, 1, 13, 0, tzinfo=cet), soh_percent=99, capacity_ah=200)
    assert point.at == datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    assert point.at.tzinfo is UTC


@pytest.mark.parametrize(("soh", "ok"), [(-0.1, False), (0, True), (100, True), (112.5, True), (151, False)])
def test_soh_range(soh: float, ok: bool) -> None:
    def make() -> HealthPointView:
        return HealthPointView(at=datetime(2025, 1, 1, tzinfo=UTC), soh_percent=soh, capacity_ah=1)

    if ok:
        assert make().soh_percent == soh
    else:
        with pytest.raises(ValidationError):
            make()


def test_paths_are_canonical_and_validated() -> None:
    assert page_path(PASSPORT_ID.upper()) == f"/p/{PASSPORT_ID}"
    assert qr_png_path(PASSPORT_ID) == f"/api/v1/passports/{PASSPORT_ID}/qr.png"
    assert bundle_path(PASSPORT_ID) == f"/api/v1/passports/{PASSPORT_ID}/bundle"
    with pytest.raises(InvalidIdentifier):
        page_path("../../etc/passwd")


@pytest.mark.parametrize(
    ("changes", "verdict"),
    [
        ({}, Verdict.VERIFIED),
        ({"status": "WASTE"}, Verdict.VERIFIED),
        ({"successor_id": SUCCESSOR_ID, "status": "REPURPOSED"}, Verdict.SUPERSEDED),
        ({"status": "RECYCLED"}, Verdict.RECYCLED),
        ({"verification": tampered_verification()}, Verdict.FAILED),
        ({"successor_id": SUCCESSOR_ID, "verification": tampered_verification()}, Verdict.FAILED),
        ({"status": "RECYCLED", "verification": tampered_verification()}, Verdict.FAILED),
    ],
)
def test_verdict_tells_history_from_failure(changes: dict[str, object], verdict: Verdict) -> None:
    view = sample_view(**changes)
    assert view.verdict is verdict
    assert view.historical is (verdict in (Verdict.SUPERSEDED, Verdict.RECYCLED))


def test_health_none_means_restricted() -> None:
    assert sample_view(health=None).health_restricted
    assert not sample_view(health=()).health_restricted


def test_passing_fixture_is_ok() -> None:
    assert passing_verification().ok


# -- chart ------------------------------------------------------------------------------------------


def test_no_points_no_chart() -> None:
    assert soh_chart([]) is None


def test_chart_orders_points_in_time_and_stays_inside_the_plot() -> None:
    points = list(reversed(health_history(8)))
    chart = soh_chart(points)
    assert chart is not None
    xs = [m.x for m in chart.markers]
    assert xs == sorted(xs)
    assert xs[0] == chart.plot_left
    assert xs[-1] == chart.plot_right
    for m in chart.markers:
        assert chart.plot_top <= m.y <= chart.plot_bottom
        assert 0 <= m.x <= WIDTH
        assert 0 <= m.y <= HEIGHT
    # SoH falls over time, so the line goes down (SVG y grows downwards).
    ys = [m.y for m in chart.markers]
    assert ys == sorted(ys)
    assert chart.polyline.count(",") == len(points)


def test_axis_starts_below_the_lowest_reading() -> None:
    chart = soh_chart(health_history(6))  # 99.5 % down to 91.5 %
    assert chart is not None
    labels = [t.label for t in chart.y_ticks]
    assert labels == ["80%", "90%", "100%"]


def test_single_reading_sits_in_the_middle() -> None:
    chart = soh_chart(health_history(1))
    assert chart is not None
    assert chart.markers[0].x == (chart.plot_left + chart.plot_right) / 2
    assert len(chart.x_ticks) == 1


def test_markers_carry_a_readable_label() -> None:
    chart = soh_chart(health_history(1))
    assert chart is not None
    assert chart.markers[0].label == "Jan 15, 2025: state of health 99.5%, 230 Ah"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("0x" + "ab" * 32, "0xababab…ababab"),
        ("0x" + "1a" * 20, "0x1a1a1a…1a1a1a"),
        ("0x1234", "0x1234"),
        ("Dealer GmbH, a long participant name", "Dealer GmbH, a long participant name"),
    ],
)
def test_short_hex(value: str, shown: str) -> None:
    assert short_hex(value) == shown
