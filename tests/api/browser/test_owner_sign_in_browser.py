"""The owner's phone sign-in in headless Chromium: scan (open ``/p/{id}``), type the claim code from the
vehicle's papers, and the page shows the SoH chart and the device history; then sign out. Also the
one-time link an owner sends to their phone, opened and confirmed in the browser.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from tests.api.api_stack import ApiStack, api_stack, new_battery_id
from tests.api.browser.browser_harness import Phone
from tests.builders import charging, parking

pytestmark = pytest.mark.browser


@dataclass
class Owned:
    stack: ApiStack
    passport_id: str


@pytest.fixture(scope="module")
def owned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Owned]:
    with api_stack(tmp_path_factory.mktemp("owner-browser"), "eth-tester") as stack:
        battery_id = new_battery_id()
        # The sample passport carries performance evaluations: the owner's chart has points.
        pid = str(stack.issue(battery_id).passport_id)
        device = stack.device(battery_id)
        response = stack.call(
            "POST", "/telemetry/uploads", device.device_id, json=device.upload_json([charging(), parking()])
        )
        assert response.status_code == 200, response.text
        yield Owned(stack, pid)


def _claim_code(owned: Owned) -> str:
    response = owned.stack.call("POST", f"/passports/{owned.passport_id}/claim-codes", "issuer")
    assert response.status_code == 201, response.text
    code: str = response.json()["claim_code"]
    return code


def test_owner_signs_in_with_the_claim_code_and_sees_the_chart(owned: Owned, phone: Phone) -> None:
    page = phone.page
    page.goto(f"{owned.stack.base_url}/p/{owned.passport_id}")
    expect(page.get_by_test_id("health-restricted")).to_be_visible()
    expect(page.get_by_test_id("soh-chart")).to_have_count(0)

    page.get_by_test_id("owner-claim-code").fill(_claim_code(owned).lower())
    page.get_by_test_id("owner-sign-in-submit").click()

    page.wait_for_url(f"{owned.stack.base_url}/p/{owned.passport_id}")
    expect(page.get_by_test_id("soh-chart")).to_be_visible()
    expect(page.get_by_test_id("owner-signed-in")).to_be_visible()
    history = page.get_by_test_id("owner-history")
    expect(history).to_be_visible()
    expect(history).to_contain_text("2025-03")
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["bpl_owner_session"]
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # invisible to scripts

    page.get_by_test_id("owner-sign-out").click()
    expect(page.get_by_test_id("owner-sign-in")).to_be_visible()
    expect(page.get_by_test_id("soh-chart")).to_have_count(0)
    assert phone.errors == []


def test_owner_opens_a_one_time_link_on_the_phone(owned: Owned, phone: Phone) -> None:
    stack = owned.stack
    owner = stack.owner(new_battery_id())  # any owner participant; it claims this battery next
    code = _claim_code(owned)
    assert stack.call("POST", "/owners/claims", owner, json={"claim_code": code}).status_code == 201
    link = stack.call("POST", f"/passports/{owned.passport_id}/owner/sign-in-links", owner)
    assert link.status_code == 201, link.text

    page = phone.page
    page.goto(link.json()["url"])
    page.get_by_test_id("owner-link-submit").click()
    page.wait_for_url(f"{stack.base_url}/p/{owned.passport_id}")
    expect(page.get_by_test_id("owner-signed-in")).to_contain_text(owner)
    expect(page.get_by_test_id("soh-chart")).to_be_visible()
    assert phone.errors == []
