"""The passport page in real headless Chromium, at a phone's size, against every page source."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import expect

from api.routes.pages import get_page_caller
from tests.api.browser.browser_harness import PHONE, LedgerScenario, LiveServer, PageScenario, Phone

pytestmark = pytest.mark.browser


def test_verified_page_then_failure_after_tampering(
    scenario: PageScenario, live_server: LiveServer, phone: Phone
) -> None:
    page = phone.page
    page.goto(f"{live_server.base_url}/p/{scenario.passport_id}")
    badge = page.get_by_test_id("verification-badge")
    expect(badge).to_have_attribute("data-verified", "true")
    expect(badge).to_contain_text("Verified")
    expect(page.locator("[data-outcome=fail]")).to_have_count(0)

    failing = scenario.tamper()
    page.reload()

    expect(badge).to_have_attribute("data-verified", "false")
    expect(badge).to_contain_text("Verification failed")
    expect(page.get_by_test_id("failed-check").filter(has_text=failing)).to_be_visible()
    # The check list opens by itself on failure, with the failing check marked and explained.
    check = page.locator(f'li[data-check="{failing}"]')
    expect(check).to_be_visible()
    expect(check).to_have_attribute("data-outcome", "fail")
    assert phone.errors == []


def test_qr_on_the_page_scans_to_the_page(
    scenario: PageScenario, live_server: LiveServer, phone: Phone
) -> None:
    """Decode the QR code as Chromium drew it, then open what it says: the same passport's page."""
    page = phone.page
    page.goto(f"{live_server.base_url}/p/{scenario.passport_id}")
    qr = page.get_by_test_id("qr")
    qr.scroll_into_view_if_needed()
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
    decoded = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.screenshot())))]
    assert decoded == [f"{live_server.base_url}/id/{scenario.passport_id}"]

    # The identification link resolves on the ledger (303 to the page); fixed views have no ledger.
    page_url = f"{live_server.base_url}/p/{scenario.passport_id}"
    page.goto(decoded[0] if isinstance(scenario, LedgerScenario) else page_url)
    assert page.url == page_url
    expect(page.get_by_test_id("verification-badge")).to_have_attribute("data-verified", "true")
    bundle = page.get_by_test_id("bundle-link")
    assert bundle.get_attribute("href") == f"/api/v1/passports/{scenario.passport_id}/bundle"
    assert phone.errors == []


def test_readable_on_a_phone(
    scenario: PageScenario, live_server: LiveServer, phone: Phone, tmp_path: Path
) -> None:
    page = phone.page
    page.goto(f"{live_server.base_url}/p/{scenario.passport_id}")
    # Nothing wider than the screen: long ids, addresses and hashes wrap instead of forcing a side-scroll.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # The verdict is on the first screen, large.
    title = page.locator(".verdict-title")
    box = title.bounding_box()
    assert box is not None
    assert box["y"] + box["height"] < PHONE["height"]
    assert float(title.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")) >= 24
    # The stylesheet and the script were served from this origin and applied (no CDN, no CSP block).
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(243, 245, 247)"
    expect(page.locator("html")).to_have_attribute("data-enhanced", "true")

    page.screenshot(path=tmp_path / "passport-phone.png", full_page=True)
    scenario.tamper()
    page.reload()
    page.screenshot(path=tmp_path / "passport-phone-tampered.png", full_page=True)
    assert (tmp_path / "passport-phone.png").stat().st_size > 10_000
    assert phone.errors == []


def test_owner_sees_the_health_chart(
    scenario: PageScenario, live_server: LiveServer, phone: Phone, tmp_path: Path
) -> None:
    page = phone.page
    url = f"{live_server.base_url}/p/{scenario.passport_id}"
    page.goto(url)
    expect(page.get_by_test_id("health-restricted")).to_be_visible()
    expect(page.get_by_test_id("soh-chart")).to_have_count(0)

    live_server.app.dependency_overrides[get_page_caller] = scenario.owner
    page.reload()
    chart = page.get_by_test_id("soh-chart")
    chart.scroll_into_view_if_needed()
    expect(chart).to_be_visible()
    expect(page.get_by_test_id("health-restricted")).to_have_count(0)
    box = chart.bounding_box()
    assert box is not None
    assert box["width"] > 300
    assert chart.locator("circle.dot").count() >= 1
    chart.screenshot(path=tmp_path / "soh-chart.png")
    page.screenshot(path=tmp_path / "passport-phone-owner.png", full_page=True)
    assert phone.errors == []
