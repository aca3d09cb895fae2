"""``GET /p/{id}``: what the server-rendered passport page shows for given views, and its error pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import ApiRole, Caller
from api.errors import PROBLEM_JSON
from api.routes.pages import get_page_caller
from passport.errors import ChainUnavailable, StoreUnavailable
from passport.settings import Settings
from tests.api.web_page_fakes import (
    BATTERY_ID,
    PASSPORT_ID,
    PREDECESSOR_ID,
    TAMPERED_CHECKS,
    FixedPageSource,
    health_history,
    owner_caller,
    sample_view,
)

SUCCESSOR_ID = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
HOSTILE = '<script>alert("x")</script>'


@pytest.fixture
def source() -> FixedPageSource:
    return FixedPageSource(sample_view())


@pytest.fixture
def app(source: FixedPageSource) -> FastAPI:
    return create_app(Settings(environment="development"), page_source=source)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def page(client: TestClient, passport_id: str = PASSPORT_ID) -> str:
    response = client.get(f"/p/{passport_id}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    html: str = response.text
    return html


def test_verified_page_lists_every_check_and_links(client: TestClient) -> None:
    html = page(client)
    assert 'data-verified="true"' in html
    assert ">Verified<" in html
    assert html.count('data-outcome="pass"') == len(sample_view().verification.checks)
    assert 'data-outcome="fail"' not in html
    assert f'href="/api/v1/passports/{PASSPORT_ID}/bundle"' in html
    assert f'src="/api/v1/passports/{PASSPORT_ID}/qr.svg"' in html
    assert BATTERY_ID in html
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in html


def test_tampered_passport_names_the_failed_checks(client: TestClient, source: FixedPageSource) -> None:
    source.tamper(PASSPORT_ID)
    html = page(client)
    assert 'data-verified="false"' in html
    assert "Verification failed" in html
    failed = re.findall(r'data-testid="failed-check">([^<]+)<', html)
    assert failed == list(TAMPERED_CHECKS)
    for name in TAMPERED_CHECKS:
        assert f'data-check="{name}" data-outcome="fail"' in html
    # The checks' details open by themselves when something failed.
    assert re.search(r'<details class="checks"\s+open>', html)


def test_anonymous_viewer_is_told_health_is_restricted(client: TestClient, source: FixedPageSource) -> None:
    html = page(client)
    assert 'data-testid="health-restricted"' in html
    assert 'data-testid="soh-chart"' not in html
    assert source.requests == [(PASSPORT_ID, None)]


def test_owner_sees_the_chart_and_every_reading(app: FastAPI, client: TestClient) -> None:
    app.dependency_overrides[get_page_caller] = owner_caller
    html = page(client)
    assert 'data-testid="health-restricted"' not in html
    assert 'data-testid="soh-chart"' in html
    points = health_history()
    assert html.count('<circle class="dot"') == len(points)
    assert html.count("<tr><td><time") == len(points)
    assert f"{points[-1].soh_percent:.1f}%" in html  # the headline is the newest reading


def test_someone_elses_owner_key_does_not_unlock_health(app: FastAPI, client: TestClient) -> None:
    app.dependency_overrides[get_page_caller] = lambda: owner_caller("BAT-SOMEONE-ELSE")
    assert 'data-testid="health-restricted"' in page(client)


def test_empty_history_is_not_restricted(app: FastAPI, client: TestClient, source: FixedPageSource) -> None:
    source.views[PASSPORT_ID] = sample_view(health=())
    app.dependency_overrides[get_page_caller] = lambda: Caller(
        name="inspector", roles=frozenset({ApiRole.INSPECTOR})
    )
    html = page(client)
    assert "No health readings have been anchored yet" in html
    assert 'data-testid="health-restricted"' not in html


def test_lineage_links_and_superseded_notice(client: TestClient, source: FixedPageSource) -> None:
    source.views[PASSPORT_ID] = sample_view(
        predecessor_id=PREDECESSOR_ID, successor_id=SUCCESSOR_ID, status="REPURPOSED"
    )
    html = page(client)
    assert f'href="/p/{PREDECESSOR_ID}"' in html
    assert f'href="/p/{SUCCESSOR_ID}"' in html
    assert 'data-testid="superseded"' in html
    assert ">Repurposed<" in html


def verdict_section(html: str) -> str:
    match = re.search(r'<section class="verdict[^"]*".*?</section>', html, flags=re.S)
    assert match is not None
    return match.group(0)


def test_a_current_passport_is_plainly_verified(client: TestClient) -> None:
    verdict = verdict_section(page(client))
    assert 'data-state="verified"' in verdict
    assert 'class="verdict ok"' in verdict
    assert 'data-testid="lifecycle"' not in verdict


def test_a_superseded_passport_is_verified_history_linking_its_successor(
    client: TestClient, source: FixedPageSource
) -> None:
    source.views[PASSPORT_ID] = sample_view(
        successor_id=SUCCESSOR_ID, closed_at=datetime(2026, 3, 4, 5, 6, tzinfo=UTC)
    )
    html = page(client)
    verdict = verdict_section(html)
    assert 'data-verified="true"' in verdict
    assert 'data-state="superseded"' in verdict
    assert 'class="verdict ok historical"' in verdict
    assert ">Verified — superseded<" in verdict
    assert f'<a href="/p/{SUCCESSOR_ID}" data-testid="successor-link">passport {SUCCESSOR_ID}</a>' in verdict
    # Babel's English time has CLDR's narrow no-break space before AM.
    assert "Superseded on March 4, 2026, 5:06\u202fAM UTC by" in verdict
    assert "Verification failed" not in html
    assert "Do not rely" not in html
    assert 'data-outcome="fail"' not in html


def test_a_recycled_passport_is_verified_history(client: TestClient, source: FixedPageSource) -> None:
    source.views[PASSPORT_ID] = sample_view(
        status="RECYCLED", closed_at=datetime(2026, 5, 6, 7, 8, tzinfo=UTC)
    )
    html = page(client)
    verdict = verdict_section(html)
    assert 'data-verified="true"' in verdict
    assert 'data-state="recycled"' in verdict
    assert ">Verified — recycled<" in verdict
    assert "Recycled on May 6, 2026, 7:08\u202fAM UTC: this battery has ended its life." in verdict
    assert "Verification failed" not in html
    assert "Do not rely" not in html


@pytest.mark.parametrize("closed", [{"successor_id": SUCCESSOR_ID}, {"status": "RECYCLED"}])
def test_a_tampered_closed_passport_still_fails(
    client: TestClient, source: FixedPageSource, closed: dict[str, object]
) -> None:
    source.views[PASSPORT_ID] = sample_view(**closed, closed_at=datetime(2026, 3, 4, tzinfo=UTC))
    source.tamper(PASSPORT_ID)
    verdict = verdict_section(page(client))
    assert 'data-state="failed"' in verdict
    assert 'data-verified="false"' in verdict
    assert "Verification failed" in verdict
    assert "Do not rely on this passport" in verdict
    assert "historical" not in verdict
    assert 'data-testid="lifecycle"' not in verdict


def test_custody_timeline_is_newest_first(client: TestClient) -> None:
    html = page(client)
    times = re.findall(r'<li class="event [a-z]+">.*?<time datetime="([^"]+)"', html, flags=re.S)
    assert times == sorted(times, reverse=True)
    assert len(times) == 3


@pytest.mark.parametrize("field", ["battery_id", "manufacturer", "custodian", "chemistry"])
def test_document_text_is_escaped(client: TestClient, source: FixedPageSource, field: str) -> None:
    source.views[PASSPORT_ID] = sample_view(**{field: HOSTILE})
    html = page(client)
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


def test_check_reasons_are_escaped(client: TestClient, source: FixedPageSource) -> None:
    view = sample_view()
    checks = list(view.verification.checks)
    checks[0] = checks[0].model_copy(update={"reason": HOSTILE})
    source.views[PASSPORT_ID] = view.model_copy(
        update={"verification": view.verification.model_copy(update={"checks": tuple(checks)})}
    )
    assert HOSTILE not in page(client)


def test_page_headers_forbid_foreign_content_and_caching(client: TestClient) -> None:
    headers = client.get(f"/p/{PASSPORT_ID}").headers
    csp = headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["cache-control"] == "no-store"
    assert headers["x-content-type-options"] == "nosniff"


def test_page_assets_are_local(client: TestClient) -> None:
    html = page(client)
    # What the browser loads by itself (stylesheets, icons, scripts, images); links to documents are not.
    assets = re.findall(r'(?:<link [^>]*href|src)="([^"]+)"', html)
    assert assets
    assert all(a.startswith("/") and not a.startswith("//") for a in assets), assets
    for path in ("/static/page.css", "/static/page.js", "/static/favicon.svg"):
        assert path in assets
        assert client.get(path).status_code == 200


@pytest.mark.parametrize(
    "spelling",
    [PASSPORT_ID.upper(), f"urn:uuid:{PASSPORT_ID}", "0x" + "00" * 16 + PASSPORT_ID.replace("-", "")],
)
def test_any_passport_id_spelling_reaches_the_canonical_view(
    client: TestClient, source: FixedPageSource, spelling: str
) -> None:
    page(client, spelling)
    assert source.requests[-1][0] == PASSPORT_ID


@pytest.mark.parametrize(
    ("passport_id", "status", "text"),
    [
        ("not-a-uuid", 400, "Invalid identifier"),
        ("0x1234", 400, "Invalid identifier"),
        ("00000000-0000-4000-8000-000000000000", 404, "Not found"),
    ],
)
def test_errors_are_pages_for_people(client: TestClient, passport_id: str, status: int, text: str) -> None:
    response = client.get(f"/p/{passport_id}")
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert text in response.text
    assert 'data-testid="error"' in response.text


def test_error_page_escapes_the_requested_id(client: TestClient) -> None:
    response = client.get('/p/"><img src=x onerror=alert(1)>')
    assert response.status_code == 400
    assert "<img src=x" not in response.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in response.text


@pytest.mark.parametrize(
    "error", [ChainUnavailable("rpc at http://10.0.0.5 refused"), StoreUnavailable("ipfs")]
)
def test_backend_outage_is_a_503_page_without_internals(app: FastAPI, error: Exception) -> None:
    class Broken:
        def page_view(self, passport_id: str, caller: Caller | None) -> None:
            raise error

    app.state.page_source = Broken()
    response = TestClient(app).get(f"/p/{PASSPORT_ID}")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert str(error) not in response.text


def test_without_a_page_source_the_route_is_unavailable() -> None:
    response = TestClient(create_app(Settings(environment="development"))).get(f"/p/{PASSPORT_ID}")
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM_JSON
