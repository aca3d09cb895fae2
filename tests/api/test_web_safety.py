"""The passport page's safety panel (``api.web.safety``): latest inspection, negative events, the flag."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.web.safety import safety_view
from passport.settings import Settings
from tests.api.web_page_fakes import PASSPORT_ID, FixedPageSource, sample_view

INSPECTIONS = [
    {
        "stage": "pre_distribution",
        "result": "pass",
        "inspected_at": "2026-10-01T09:00:00+00:00",
        "valid_until": "2099-01-01T00:00:00+00:00",
        "inspector": {"name": "KTL"},
        "checks": [{"name": "casing", "passed": True}, {"name": "insulation", "passed": True}],
    },
    {
        "stage": "clearance",
        "result": "fail",
        "inspected_at": "2026-11-02T09:00:00+00:00",
        "inspector": {"identifier": "KR-123"},
        "checks": [{"name": "casing", "passed": False}, {"name": "insulation", "passed": True}],
    },
]
EVENTS = [
    {"kind": "deep_discharge", "occurred_at": "2026-09-01T00:00:00+00:00", "description": "left empty"},
    {
        "kind": "thermal_event",
        "occurred_at": "2026-11-01T00:00:00+00:00",
        "description": "smoke",
        "serious": True,
    },
]


def test_safety_view_picks_the_latest_inspection_and_orders_events() -> None:
    view = safety_view(
        flagged=True, distribution_valid_until=0, inspections=INSPECTIONS, negative_events=EVENTS
    )
    assert view.latest_inspection is not None
    assert (view.latest_inspection.stage, view.latest_inspection.inspector) == ("clearance", "KR-123")
    assert (view.latest_inspection.checks_passed, view.latest_inspection.checks_total) == (1, 2)
    assert [e.kind for e in view.negative_events or ()] == ["thermal_event", "deep_discharge"]
    assert not view.cleared_for_distribution
    restricted = safety_view(
        flagged=False, distribution_valid_until=4_102_444_800, inspections=None, negative_events=None
    )
    assert (restricted.inspections_visible, restricted.negative_events) == (False, None)
    assert restricted.cleared_for_distribution
    assert restricted.distribution_valid_until == datetime(2100, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("lang", "texts"),
    [
        (
            "en",
            [
                "Open alert",
                "Clearance after an incident",
                "1 of 2 passed",
                "Fire or thermal event",
                "serious",
            ],
        ),
        ("ko", ["경보", "사고 후 해제 검사", "2개 중 1개 통과", "화재 또는 열 사고", "중대"]),
    ],
)
def test_page_shows_latest_inspection_events_and_flag(lang: str, texts: list[str]) -> None:
    safety = safety_view(
        flagged=True, distribution_valid_until=0, inspections=INSPECTIONS, negative_events=EVENTS
    )
    source = FixedPageSource(sample_view(safety=safety))
    with TestClient(create_app(Settings(environment="development"), page_source=source)) as client:
        html = client.get(f"/p/{PASSPORT_ID}?lang={lang}").text
    assert 'data-testid="safety-flagged"' in html
    assert 'data-testid="latest-inspection"' in html
    assert 'data-testid="negative-events"' in html
    for text in texts:
        assert text in html


def test_page_without_safety_data_has_no_panel() -> None:
    source = FixedPageSource(sample_view())
    with TestClient(create_app(Settings(environment="development"), page_source=source)) as client:
        assert 'data-testid="safety"' not in client.get(f"/p/{PASSPORT_ID}").text
