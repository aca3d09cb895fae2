"""The page's device-driven health and early warnings, in English and Korean."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.routes.pages import get_page_caller
from api.web.health_views import AlertView, DeviceHealthView
from passport.settings import Settings
from tests.api.web_page_fakes import PASSPORT_ID, FixedPageSource, owner_caller, sample_view

ROOT = "0x" + "ab" * 32
DIGEST = "0x" + "cd" * 32
HEALTH = DeviceHealthView(
    evaluated_at=datetime(2026, 3, 2, tzinfo=UTC),
    measured_at=datetime(2026, 3, 1, tzinfo=UTC),
    policy_id="kr-health-2026-1",
    policy_digest="ef" * 32,
    soh_percent=91.5,
    soh_uncertainty=2.0,
    capacity_fade_percent=8.5,
    resistance_increase_percent=12.0,
    equivalent_full_cycles=412.3,
    energy_throughput_kwh=31_000.0,
    hours_hot=3.5,
    hours_cold=12.0,
    hours_high_soc=140.0,
    fast_charge_share_percent=35.0,
    grade="B",
    record_count=1234,
    anchors=(ROOT,),
    evidence_url=f"/api/v1/passports/{PASSPORT_ID}/health/evidence",
)
ALERT = AlertView(
    title="Sudden capacity drop",
    severity="serious",
    severity_title="serious",
    observed_at=datetime(2026, 2, 20, tzinfo=UTC),
    value=9.7,
    threshold=5.0,
    unit="percent",
    records=(DIGEST,),
    status="open",
)


@pytest.fixture
def client() -> Iterator[TestClient]:
    source = FixedPageSource(sample_view(device_health=HEALTH, alerts=(ALERT,)))
    app = create_app(Settings(environment="development"), page_source=source)
    app.dependency_overrides[get_page_caller] = owner_caller
    with TestClient(app) as client:
        yield client


@pytest.mark.parametrize(
    ("lang", "texts"),
    [
        (
            "en",
            ("Health from device data", "Equivalent full cycles", "Early warnings", "Sudden capacity drop"),
        ),
        (
            "ko",
            ("단말기 데이터 기반 건전성", "등가 완전 충방전 횟수", "조기 경보", "급격한 용량 감소", "심각"),
        ),
    ],
)
def test_the_figures_their_provenance_and_alerts_are_shown(
    client: TestClient, lang: str, texts: tuple[str, ...]
) -> None:
    html = client.get(f"/p/{PASSPORT_ID}?lang={lang}").text
    assert 'data-testid="device-health"' in html
    assert 'data-testid="alerts"' in html
    for text in (*texts, "kr-health-2026-1", ROOT, DIGEST, "ef" * 32, HEALTH.evidence_url):
        assert text in html, text


def test_without_figures_or_alerts_the_sections_are_absent() -> None:
    source = FixedPageSource(sample_view())
    app = create_app(Settings(environment="development"), page_source=source)
    with TestClient(app) as client:
        html = client.get(f"/p/{PASSPORT_ID}").text
    assert 'data-testid="device-health"' not in html
    assert 'data-testid="alerts"' not in html
