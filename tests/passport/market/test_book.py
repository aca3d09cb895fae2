"""``MarketBook`` on its own, on SQLite and PostgreSQL (``database_url``): listings, offers, the sale and
its intent, and acceptance that records a sale once even when two processes reconcile it at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from passport.db import StorageIntegrityError
from passport.market.book import (
    IntentState,
    Listing,
    ListingState,
    MarketBook,
    Offer,
    OfferState,
    Sale,
    SaleStatus,
)
from passport.market.errors import ListingNotFound, OfferNotFound
from passport.market.summary import ListingSummary
from passport.settings import Settings

SUMMARY = ListingSummary(
    passport_id="P1",
    version=1,
    manifest_digest="0x" + "ab" * 32,
    chemistry="NMC811",
    rated_capacity_ah=180.0,
    status="ORIGINAL",
    grade=None,
    latest_inspection=None,
    pre_distribution_inspection=None,
    post_distribution_inspection=None,
    negative_events=[],
    warranty=None,
    custody=[],
    verified_checks=12,
)


def listing(listing_id: str, passport_id: str = "P1", created_at: int = 100) -> Listing:
    return Listing(
        id=listing_id,
        passport_id=passport_id,
        seller="0xseller",
        asking_price=2_500_000,
        currency="KRW",
        location="Busan",
        delivery="pickup",
        notes=None,
        summary=SUMMARY,
        state=ListingState.ACTIVE,
        state_reason=None,
        created_at=created_at,
        updated_at=created_at,
    )


def offer(offer_id: str, listing_id: str = "L1", price: int = 2_400_000) -> Offer:
    return Offer(
        id=offer_id,
        listing_id=listing_id,
        buyer=f"0xbuyer-{offer_id}",
        price=price,
        conditions=None,
        terms_body={"price": price, "nested": {"b": 1, "a": [1, 2]}},
        buyer_signature="0x" + "11" * 65,
        state=OfferState.OPEN,
        created_at=110,
    )


def sale(offer_id: str = "O1") -> Sale:
    return Sale(
        sale_id="S-" + offer_id,
        offer_id=offer_id,
        listing_id="L1",
        passport_id="P1",
        seller="0xseller",
        buyer=f"0xbuyer-{offer_id}",
        price=2_400_000,
        currency="KRW",
        terms_cid="bafkreiterms",
        terms_digest="0x" + "cd" * 32,
        state=SaleStatus.AGREED,
        chemistry="NMC811",
        grade=None,
        soh_band=None,
        agreed_at=120,
        closed_at=None,
        note=None,
    )


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    return Settings(data_dir=tmp_path, database_url=database_url)


@pytest.fixture
def book(settings: Settings) -> Iterator[MarketBook]:
    opened = MarketBook.from_settings(settings)
    yield opened
    opened.close()


def test_listings_round_trip_and_order(book: MarketBook) -> None:
    book.add_listing(listing("L1"))
    book.add_listing(listing("L0"))  # same passport and second: insertion order breaks the tie
    book.add_listing(listing("L2", passport_id="P2", created_at=200))
    assert book.listing("L1") == listing("L1")
    assert [x.id for x in book.listings_of("P1")] == ["L0", "L1"]
    assert [x.id for x in book.listings()] == ["L2", "L0", "L1"]
    book.set_listing_state("L1", ListingState.SUSPENDED, "stale disclosures", 150)
    suspended = book.listings(ListingState.SUSPENDED)
    assert [(x.id, x.state_reason, x.updated_at) for x in suspended] == [("L1", "stale disclosures", 150)]
    with pytest.raises(ListingNotFound):
        book.listing("nope")


def test_offers_sale_and_intent(book: MarketBook, settings: Settings) -> None:
    book.add_listing(listing("L1"))
    book.add_offer(offer("O1"))
    book.add_offer(offer("O2", price=2_450_000))
    assert book.offer("O1") == offer("O1")
    assert [o.id for o in book.offers_for("L1")] == ["O1", "O2"]
    with pytest.raises(OfferNotFound):
        book.offer("nope")

    book.add_intent(sale("O2"), at=119)
    book.add_intent(sale("O2"), at=121)  # a retried acceptance renews the intent, once
    [intent] = book.intents(IntentState.PENDING, listing_id="L1")
    assert (intent.sale, intent.created_at) == (sale("O2"), 121)

    # Two processes record the agreed sale at once (the acceptance and a reconciliation): one sale.
    twin = MarketBook.from_settings(settings)
    barrier = threading.Barrier(2)

    def accept(target: MarketBook) -> None:
        barrier.wait()
        target.accept(sale("O2"), at=130)

    threads = [threading.Thread(target=accept, args=(b,)) for b in (book, twin)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    twin.close()
    assert book.sales() == [sale("O2")]
    assert (book.offer("O1").state, book.offer("O2").state) == (OfferState.DECLINED, OfferState.ACCEPTED)
    assert book.listing("L1").state is ListingState.SOLD
    assert book.intents(IntentState.PENDING) == []
    assert [i.sale.sale_id for i in book.intents(IntentState.RECORDED)] == ["S-O2"]

    book.set_sale_state("S-O2", SaleStatus.COMPLETED, 140, None)
    book.set_sale_state("S-O2", SaleStatus.COMPLETED, None, "delivered")
    done = book.sale("S-O2")
    assert (done.state, done.closed_at, done.note) == (SaleStatus.COMPLETED, 140, "delivered")
    assert book.sales(SaleStatus.AGREED) == []
    with pytest.raises(OfferNotFound):
        book.sale("nope")


def test_an_offer_on_an_unknown_listing_is_refused(book: MarketBook) -> None:
    with pytest.raises(StorageIntegrityError):
        book.add_offer(offer("O9", listing_id="missing"))
