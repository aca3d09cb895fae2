"""A crash between ``agreeSale`` and the market's SQLite write loses nothing: the sale intent written
before the transaction is reconciled against the chain when the market reopens (or on a read) — the
sale recorded if the chain has it, the intent rolled back if it has none and the transaction can no
longer be pending (eth-tester only: the path is the market's, not the chain's)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest

from passport.chain.sales import SaleState
from passport.ids import passport_id_bytes32
from passport.market import (
    IntentState,
    ListingCreate,
    ListingState,
    Market,
    MarketBook,
    MarketStateError,
    OfferCreate,
    OfferState,
    Sale,
    SaleStatus,
)
from tests.chain_backends import Actor, ChainBackend
from tests.passport.market.market_world import MarketWorld, build_world

ASK = ListingCreate(asking_price=4_200_000, location="Busan, Gangseo-gu", delivery="pickup")
GRACE = 900


class Crash(Exception):
    """The process dying at the worst moment."""


@pytest.fixture
def chain(eth_tester_backend: ChainBackend) -> Iterator[ChainBackend]:
    with eth_tester_backend.isolated():
        yield eth_tester_backend


@pytest.fixture
def world(chain: ChainBackend, tmp_path: Path) -> MarketWorld:
    return build_world(chain, tmp_path)


@pytest.fixture
def seller(chain: ChainBackend) -> Actor:
    return chain.actors["business"]


@pytest.fixture
def buyer(chain: ChainBackend) -> Actor:
    return chain.actors["recycler"]


def reopen(world: MarketWorld, tmp_path: Path) -> Market:
    """A new ``Market`` over the same SQLite file, store and ledger (what a restarted process opens)."""
    old = world.market
    return Market(
        MarketBook(tmp_path / "market.sqlite3"),
        old._source,
        old._reader,
        world.store,
        old._domain,
        min_group_size=1,
        clock=world.clock,
        chain_time=lambda: world.ledger.now() + 15,
        intent_grace=GRACE,
    )


def crash_after_agree_sale(
    world: MarketWorld, seller: Actor, buyer: Actor, monkeypatch: pytest.MonkeyPatch, price: int = 3_900_000
) -> tuple[str, str]:
    """List, offer, accept with the sale row's write failing after the transaction was mined."""
    pid, _ = world.issue_held_by(seller)
    listing = world.market.list_battery(world.party(seller), pid, ASK)
    offer = world.market.make_offer(world.party(buyer), listing.id, OfferCreate(price=price))

    def die(_sale: Sale, _at: int) -> None:
        raise Crash("killed after agreeSale was mined")

    monkeypatch.setattr(world.market.book, "accept", die)
    with pytest.raises(Crash):
        world.market.accept_offer(world.party(seller), offer.id)
    # The crash left the chain ahead of the book: the sale is agreed on-chain, the book has only the intent.
    [intent] = world.market.book.intents(IntentState.PENDING)
    assert intent.sale.offer_id == offer.id
    assert world.market.book.sales() == []
    record = seller.client.get_sale(bytes.fromhex(intent.sale.sale_id[2:]))
    assert record is not None
    assert record.state is SaleState.AGREED
    return listing.id, intent.sale.sale_id


def test_a_sale_agreed_before_a_crash_is_recorded_when_the_market_reopens(
    world: MarketWorld, seller: Actor, buyer: Actor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listing_id, sale_id = crash_after_agree_sale(world, seller, buyer, monkeypatch)

    market = reopen(world, tmp_path)
    sale = market.book.sale(sale_id)  # the book itself, before any read reconciles again
    assert sale.state is SaleStatus.AGREED
    assert market.book.intents(IntentState.PENDING) == []
    assert [i.sale.sale_id for i in market.book.intents(IntentState.RECORDED)] == [sale_id]
    assert market.book.listing(listing_id).state is ListingState.SOLD
    assert market.book.offer(sale.offer_id).state is OfferState.ACCEPTED
    checked = market.check_terms(sale_id)  # the terms CID stored before the crash is the one on-chain
    assert checked.matches
    assert checked.body["price"] == {"amount": 3_900_000, "currency": "KRW"}

    # The buyer can now complete it through the market, and the price index counts it.
    buyer.client.accept_custody(bytes.fromhex(checked.body["passport_id32"][2:]))
    assert market.sale(sale_id).state is SaleStatus.COMPLETED
    assert [g.count for g in market.price_index().groups] == [1]


def test_a_sale_completed_on_chain_while_the_market_was_down_shows_completed(
    world: MarketWorld, seller: Actor, buyer: Actor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listing_id, sale_id = crash_after_agree_sale(world, seller, buyer, monkeypatch, price=3_100_000)
    passport_id = world.market.book.intents(IntentState.PENDING)[0].sale.passport_id
    buyer.client.accept_custody(passport_id_bytes32(UUID(passport_id)))

    market = reopen(world, tmp_path)
    sale = market.book.sale(sale_id)
    assert sale.state is SaleStatus.COMPLETED
    assert sale.closed_at is not None
    assert market.book.listing(listing_id).state is ListingState.SOLD
    index = market.price_index()
    assert [(g.count, g.median) for g in index.groups] == [(1, 3_100_000.0)]


def test_the_old_market_reconciles_on_its_next_read(
    world: MarketWorld, seller: Actor, buyer: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    listing_id, sale_id = crash_after_agree_sale(world, seller, buyer, monkeypatch)
    monkeypatch.undo()  # the write works again (a transient failure, not a crash)
    assert world.market.listing(listing_id).state is ListingState.SOLD
    assert world.market.sale(sale_id).state is SaleStatus.AGREED


def test_an_intent_whose_transaction_was_never_sent_rolls_back(
    world: MarketWorld, seller: Actor, buyer: Actor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid, _ = world.issue_held_by(seller)
    listing = world.market.list_battery(world.party(seller), pid, ASK)
    first = world.market.make_offer(world.party(buyer), listing.id, OfferCreate(price=3_000_000))
    second = world.market.make_offer(world.party(buyer), listing.id, OfferCreate(price=3_200_000))

    def die(*_args: object) -> None:
        raise Crash("killed before agreeSale was sent")

    monkeypatch.setattr(seller.client, "agree_sale", die)
    with pytest.raises(Crash):
        world.market.accept_offer(world.party(seller), first.id)
    monkeypatch.undo()
    [intent] = world.market.book.intents(IntentState.PENDING)
    assert seller.client.get_sale(bytes.fromhex(intent.sale.sale_id[2:])) is None

    # Within the grace period the transaction might still be pending: the intent stays, and no other
    # offer on the listing can be accepted (that would sell the battery twice).
    market = reopen(world, tmp_path)
    assert market.reconcile().pending == [intent.sale.sale_id]
    with pytest.raises(MarketStateError, match="being recorded"):
        market.accept_offer(world.party(seller), second.id)

    world.clock.now += timedelta(seconds=GRACE)
    done = market.reconcile()
    assert (done.rolled_back, done.pending, done.completed) == ([intent.sale.sale_id], [], [])
    assert market.book.intents(IntentState.PENDING) == []
    assert market.book.sales() == []
    assert market.listing(listing.id).state is ListingState.ACTIVE
    assert market.book.offer(first.id).state is OfferState.OPEN

    sale = market.accept_offer(world.party(seller), second.id)
    assert sale.state is SaleStatus.AGREED
    assert market.book.offer(first.id).state is OfferState.DECLINED


def test_a_transaction_mined_after_its_intent_rolled_back_is_recorded_at_the_next_opening(
    world: MarketWorld, seller: Actor, buyer: Actor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid, _ = world.issue_held_by(seller)
    listing = world.market.list_battery(world.party(seller), pid, ASK)
    offer = world.market.make_offer(world.party(buyer), listing.id, OfferCreate(price=2_500_000))
    sent: list[tuple[object, ...]] = []

    def stuck(*args: object) -> None:
        sent.append(args)
        raise Crash("killed while the transaction sat in the mempool")

    monkeypatch.setattr(seller.client, "agree_sale", stuck)
    with pytest.raises(Crash):
        world.market.accept_offer(world.party(seller), offer.id)
    monkeypatch.undo()
    world.clock.now += timedelta(seconds=GRACE)
    [sale_id] = world.market.reconcile().rolled_back

    seller.client.agree_sale(*sent[0])  # type: ignore[arg-type]  # the stuck transaction mines late

    market = reopen(world, tmp_path)
    assert market.book.sale(sale_id).state is SaleStatus.AGREED
    assert market.book.intents(IntentState.ROLLED_BACK) == []
    assert market.book.listing(listing.id).state is ListingState.SOLD
    assert market.check_terms(sale_id).matches


def test_a_read_that_records_the_sale_first_does_not_fail_the_acceptance(
    world: MarketWorld, seller: Actor, buyer: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid, _ = world.issue_held_by(seller)
    listing = world.market.list_battery(world.party(seller), pid, ASK)
    offer = world.market.make_offer(world.party(buyer), listing.id, OfferCreate(price=2_800_000))
    agree = seller.client.agree_sale
    read: list[SaleStatus] = []

    def agree_then_a_concurrent_read(*args: object) -> object:
        receipt = agree(*args)  # type: ignore[arg-type]
        read.extend(s.state for s in world.market.sales())  # another request reconciles in between
        return receipt

    monkeypatch.setattr(seller.client, "agree_sale", agree_then_a_concurrent_read)
    sale = world.market.accept_offer(world.party(seller), offer.id)
    assert read == [SaleStatus.AGREED]
    assert sale.state is SaleStatus.AGREED
    assert [s.sale_id for s in world.market.book.sales()] == [sale.sale_id]
    assert [i.sale.sale_id for i in world.market.book.intents(IntentState.RECORDED)] == [sale.sale_id]
