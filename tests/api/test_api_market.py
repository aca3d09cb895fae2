"""The market over real HTTP (eth-tester in process): list → offer → accept → the buyer's custody
acceptance completes the sale → price index; fair-trade refusals are named 409 problems."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from devtools.samples import sample_passport
from passport.report import verify_report
from tests.api.api_stack import ApiStack, api_stack, new_battery_id

FAIR_TRADE = "https://battery-passport-ledger.example/problems/fair-trade/"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiStack]:
    with api_stack(tmp_path_factory.mktemp("market-stack"), "eth-tester") as running:
        yield running


def fresh_passport(stack: ApiStack, holder: str = "business", days_ago: int = 3) -> str:
    """A passport evaluated and inspected ``days_ago`` days ago, handed to ``holder``."""
    passport = sample_passport(new_battery_id(), as_of=datetime.now(UTC) - timedelta(days=days_ago))
    issued = stack.call("POST", "/passports", "issuer", json={"passport": passport.model_dump(mode="json")})
    assert issued.status_code == 201, issued.text
    pid = str(passport.passport_id)
    stack.transfer(pid, "issuer", holder)
    return pid


def sell(stack: ApiStack, pid: str, price: int, buyer: str = "recycler") -> dict[str, object]:
    listing = stack.call(
        "POST",
        "/market/listings",
        "business",
        json={"passport_id": pid, "asking_price": price + 100, "location": "Busan", "delivery": "pickup"},
    )
    assert listing.status_code == 201, listing.text
    offer = stack.call(
        "POST", f"/market/listings/{listing.json()['id']}/offers", buyer, json={"price": price}
    )
    assert offer.status_code == 201, offer.text
    sale = stack.call("POST", f"/market/offers/{offer.json()['id']}/accept", "business", json={})
    assert sale.status_code == 200, sale.text
    body: dict[str, object] = sale.json()
    return body


def test_a_sale_completes_through_custody_and_enters_the_index(stack: ApiStack) -> None:
    pid = fresh_passport(stack)
    listings = stack.call("GET", "/market/listings").json()
    assert pid not in [item["passport_id"] for item in listings]
    sale = sell(stack, pid, 4_000_000)
    assert sale["state"] == "agreed"
    sale_id = sale["sale_id"]
    terms = stack.call("GET", f"/market/sales/{sale_id}/terms", "recycler")
    assert terms.status_code == 200, terms.text
    assert terms.json()["matches"] is True
    assert terms.json()["onchain_digest"] == sale["terms_digest"]
    assert stack.call("GET", f"/market/sales/{sale_id}", "issuer2").status_code == 403
    history = stack.call("GET", f"/passports/{pid}/custody").json()
    assert history["pending_offer"]["to_address"] == stack.address("recycler")

    accepted = stack.call("POST", f"/passports/{pid}/custody/accept", "recycler")
    assert accepted.status_code == 200, accepted.text
    assert stack.call("GET", f"/market/sales/{sale_id}", "recycler").json()["state"] == "completed"
    for price in (4_200_000, 3_800_000):
        other = fresh_passport(stack)
        done = sell(stack, other, price)
        stack.call("POST", f"/passports/{other}/custody/accept", "recycler")
        assert (
            stack.call("GET", f"/market/sales/{done['sale_id']}", "business").json()["state"] == "completed"
        )
    index = stack.call("GET", "/market/price-index").json()
    [group] = [g for g in index["groups"] if g["chemistry"] == "NCM" and g["grade"] == "A"]
    assert group["count"] == 3
    assert group["median"] == 4_000_000
    assert (group["q1"], group["q3"]) == (3_900_000, 4_100_000)


def test_fair_trade_refusals_are_named_problems(stack: ApiStack) -> None:
    pid = fresh_passport(stack)
    body = {"passport_id": pid, "asking_price": 1, "location": "Busan", "delivery": "delivery"}
    not_holder = stack.call("POST", "/market/listings", "recycler", json=body)
    assert not_holder.status_code == 409
    assert not_holder.headers["content-type"] == "application/problem+json"
    assert not_holder.json()["type"] == FAIR_TRADE + "custodian-lists"
    assert not_holder.json()["error"] == "SellerNotCustodian"
    assert stack.call("POST", "/market/listings", "issuer", json=body).status_code == 403

    stale = fresh_passport(stack, days_ago=400)
    refused = stack.call("POST", "/market/listings", "business", json={**body, "passport_id": stale})
    assert refused.status_code == 409
    assert refused.json()["type"] == FAIR_TRADE + "mandatory-disclosures"
    assert refused.json()["error"] == "DisclosureMissing"

    bad = stack.call("POST", "/market/listings", "business", json={**body, "delivery": "teleport"})
    assert bad.status_code == 422
    assert stack.call("GET", "/market/listings/not-a-uuid").status_code == 400
    assert stack.call("GET", "/market/listings/00000000-0000-0000-0000-000000000000").status_code == 404


def test_suspended_buyer_is_refused(stack: ApiStack) -> None:
    pid = fresh_passport(stack)
    listing = stack.call(
        "POST",
        "/market/listings",
        "business",
        json={"passport_id": pid, "asking_price": 10, "location": "Busan", "delivery": "either"},
    ).json()
    suspended = stack.call("POST", f"/businesses/{stack.address('issuer2')}/suspend", "admin")
    assert suspended.status_code == 200, suspended.text
    try:
        offer = stack.call("POST", f"/market/listings/{listing['id']}/offers", "issuer2", json={"price": 9})
        assert offer.status_code == 409
        assert offer.json()["type"] == FAIR_TRADE + "active-business-only"
    finally:
        stack.call("POST", f"/businesses/{stack.address('issuer2')}/reinstate", "admin")


@pytest.mark.parametrize(("lang", "title"), [("en", "Used-battery market"), ("ko", "사용후 배터리 거래소")])
def test_market_page_shows_listings_and_the_index(stack: ApiStack, lang: str, title: str) -> None:
    pid = fresh_passport(stack)
    listed = stack.call(
        "POST",
        "/market/listings",
        "business",
        json={"passport_id": pid, "asking_price": 5_000_000, "location": "Busan", "delivery": "pickup"},
    )
    assert listed.status_code == 201, listed.text
    page = stack.http.get(f"/market?lang={lang}")
    assert page.status_code == 200
    assert page.headers["content-language"] == lang
    assert title in page.text
    assert f'data-passport="{pid}"' in page.text
    assert 'data-testid="price-index"' in page.text


def test_provenance_report_from_the_running_stack_verifies(stack: ApiStack) -> None:
    pid = fresh_passport(stack)
    chain = stack.services.reader
    trusted = stack.services.trusted_issuers
    pdf = stack.call("GET", f"/passports/{pid}/report")
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    assert verify_report(pdf.content, chain, trusted).ok
    page = stack.call("GET", f"/passports/{pid}/report", params={"format": "html"})
    assert page.status_code == 200
    assert verify_report(page.content, chain, trusted).ok
    changed = page.content.replace(b'"lifecycle":"ORIGINAL"', b'"lifecycle":"ORIGINAM"', 1)
    assert changed != page.content
    assert not verify_report(changed, chain, trusted).ok
    assert stack.call("GET", f"/passports/{pid}/report", params={"format": "doc"}).status_code == 422
    assert stack.call("GET", "/passports/00000000-0000-4000-8000-000000000000/report").status_code == 404
