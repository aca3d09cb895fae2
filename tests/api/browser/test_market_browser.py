"""The market in headless Chromium: list a pack, make and accept an offer, complete custody, and see the
sale in the price index on the market page (ledger in process on eth-tester, API under uvicorn)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import APIRequestContext

from devtools.samples import sample_passport
from tests.api.api_stack import PARTICIPANTS, ApiStack, build_services, new_battery_id, serve
from tests.api.browser.browser_harness import Phone
from tests.chain_backends import running_backend

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def stack() -> Iterator[ApiStack]:
    run_dir = Path(tempfile.mkdtemp(prefix="browser-market-"))
    try:
        with running_backend("eth-tester", run_dir / "chain") as backend:
            services = build_services(backend, run_dir / "data")
            # One sale is enough to show a group here (the default hides groups below three).
            services.settings = services.settings.model_copy(update={"market_min_group_size": 1})
            try:
                with serve(services) as base_url:
                    running = ApiStack(backend, services, base_url)
                    for name in PARTICIPANTS:
                        running.keys[name] = services.api_keys.issue_key(name)
                    yield running
                    running.http.close()
            finally:
                services.close()
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def _call(api: APIRequestContext, stack: ApiStack, method: str, path: str, who: str, body: Any = None) -> Any:
    response = api.fetch(
        f"{stack.base_url}/api/v1{path}", method=method, headers=stack.headers(who), data=body
    )
    assert response.ok, f"{method} {path}: {response.status} {response.text()}"
    return response.json()


def test_list_offer_accept_complete_and_see_the_index(stack: ApiStack, phone: Phone) -> None:
    page = phone.page
    api = page.request
    passport = sample_passport(new_battery_id(), as_of=datetime.now(UTC) - timedelta(days=2))
    pid = str(passport.passport_id)
    _call(api, stack, "POST", "/passports", "issuer", {"passport": passport.model_dump(mode="json")})
    _call(api, stack, "POST", f"/passports/{pid}/custody/offer", "issuer", {"to": stack.address("business")})
    _call(api, stack, "POST", f"/passports/{pid}/custody/accept", "business")

    listing = _call(
        api,
        stack,
        "POST",
        "/market/listings",
        "business",
        {
            "passport_id": pid,
            "asking_price": 6_500_000,
            "location": "Busan, Gangseo-gu",
            "delivery": "pickup",
        },
    )
    page.goto(f"{stack.base_url}/market?lang=en")
    row = page.locator(f'[data-testid="listing"][data-passport="{pid}"]')
    assert row.count() == 1
    assert "6,500,000" in row.inner_text()
    assert "Not enough completed sales" in page.locator('[data-testid="price-index"]').inner_text()

    offer = _call(
        api, stack, "POST", f"/market/listings/{listing['id']}/offers", "recycler", {"price": 6_100_000}
    )
    sale = _call(api, stack, "POST", f"/market/offers/{offer['id']}/accept", "business", {})
    assert sale["state"] == "agreed"
    _call(api, stack, "POST", f"/passports/{pid}/custody/accept", "recycler")
    assert _call(api, stack, "GET", f"/market/sales/{sale['sale_id']}", "recycler")["state"] == "completed"

    page.goto(f"{stack.base_url}/market?lang=ko")
    assert page.locator("h1").inner_text() == "사용후 배터리 거래소"
    assert page.locator(f'[data-testid="listing"][data-passport="{pid}"]').count() == 0  # sold
    group = page.locator('[data-testid="price-group"]')
    assert group.count() == 1
    text = group.inner_text()
    assert "NCM A 90-100%" in text
    assert "6,100,000" in text
    assert page.locator('[data-testid="price-chart"]').is_visible()
    assert phone.errors == []
