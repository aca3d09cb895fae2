"""The market's own state: listings, offers and sales in one SQLite file (``Settings.market_db_path``).

The ledger stays the authority on custody and on each sale's state and terms digest; this file holds
what the chain must not (prices, locations, the disclosed summary) and mirrors each sale's state, which
``Market`` refreshes from the chain. Writes are committed before the call returns (WAL, synchronous
FULL), so an accepted listing or offer is never lost.

A sale is written twice: as an intent (``sale_intents``: the prepared row with its terms digest and CID)
before ``agreeSale`` is sent, and as the sale itself after it is mined (``accept``, which marks the
intent recorded in the same transaction). An intent still pending after a crash is reconciled against
the chain by ``Market.reconcile``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from passport.market.errors import ListingNotFound, OfferNotFound
from passport.market.summary import ListingSummary


class ListingState(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"  # disclosures went stale; relist after updating the passport
    SOLD = "sold"  # a sale was agreed (or completed) on it
    WITHDRAWN = "withdrawn"


class OfferState(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"  # another offer was accepted, or the listing closed


class SaleStatus(StrEnum):
    AGREED = "agreed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    DISPUTED = "disputed"
    RESOLVED = "resolved"


class IntentState(StrEnum):
    PENDING = "pending"  # written before agreeSale was sent; its outcome is not known yet
    RECORDED = "recorded"  # the sale row was written (the sale is on-chain)
    ROLLED_BACK = "rolled_back"  # no sale on-chain and its transaction is no longer expected


class Listing(BaseModel):
    id: str
    passport_id: str
    seller: str
    asking_price: int
    currency: str
    location: str
    delivery: str
    notes: str | None
    summary: ListingSummary
    state: ListingState
    state_reason: str | None
    created_at: int
    updated_at: int


class Offer(BaseModel):
    id: str
    listing_id: str
    buyer: str
    price: int
    conditions: str | None
    terms_body: dict[str, Any]
    buyer_signature: str
    state: OfferState
    created_at: int


class Sale(BaseModel):
    sale_id: str
    offer_id: str
    listing_id: str
    passport_id: str
    seller: str
    buyer: str
    price: int
    currency: str
    terms_cid: str
    terms_digest: str
    state: SaleStatus
    chemistry: str
    grade: str | None
    soh_band: str | None
    agreed_at: int
    closed_at: int | None
    note: str | None


class SaleIntent(BaseModel):
    """A sale about to be agreed on-chain: the row ``accept`` will write, kept until the chain decides."""

    sale: Sale
    state: IntentState
    created_at: int


_SCHEMA = """
CREATE TABLE IF NOT EXISTS listings (
    id TEXT PRIMARY KEY, passport_id TEXT NOT NULL, seller TEXT NOT NULL, asking_price INTEGER NOT NULL,
    currency TEXT NOT NULL, location TEXT NOT NULL, delivery TEXT NOT NULL, notes TEXT,
    summary TEXT NOT NULL, state TEXT NOT NULL, state_reason TEXT,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS listings_passport ON listings (passport_id, created_at);
CREATE TABLE IF NOT EXISTS offers (
    id TEXT PRIMARY KEY, listing_id TEXT NOT NULL REFERENCES listings (id), buyer TEXT NOT NULL,
    price INTEGER NOT NULL, conditions TEXT, terms_body TEXT NOT NULL, buyer_signature TEXT NOT NULL,
    state TEXT NOT NULL, created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS offers_listing ON offers (listing_id);
CREATE TABLE IF NOT EXISTS sales (
    sale_id TEXT PRIMARY KEY, offer_id TEXT NOT NULL UNIQUE REFERENCES offers (id),
    listing_id TEXT NOT NULL, passport_id TEXT NOT NULL, seller TEXT NOT NULL, buyer TEXT NOT NULL,
    price INTEGER NOT NULL, currency TEXT NOT NULL, terms_cid TEXT NOT NULL, terms_digest TEXT NOT NULL,
    state TEXT NOT NULL, chemistry TEXT NOT NULL, grade TEXT, soh_band TEXT,
    agreed_at INTEGER NOT NULL, closed_at INTEGER, note TEXT
);
CREATE INDEX IF NOT EXISTS sales_state ON sales (state);
CREATE TABLE IF NOT EXISTS sale_intents (
    sale_id TEXT PRIMARY KEY, offer_id TEXT NOT NULL REFERENCES offers (id), listing_id TEXT NOT NULL,
    terms_digest TEXT NOT NULL, terms_cid TEXT NOT NULL, sale TEXT NOT NULL, state TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sale_intents_state ON sale_intents (state);
"""


class MarketBook:
    """The SQLite file; safe to share between threads (one connection, one lock)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(sql, params)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._db.execute(sql, params).fetchall())

    # -- listings -----------------------------------------------------------------------------------
    def add_listing(self, listing: Listing) -> None:
        self._write(
            "INSERT INTO listings VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                listing.id,
                listing.passport_id,
                listing.seller,
                listing.asking_price,
                listing.currency,
                listing.location,
                listing.delivery,
                listing.notes,
                listing.summary.model_dump_json(),
                listing.state.value,
                listing.state_reason,
                listing.created_at,
                listing.updated_at,
            ),
        )

    def set_listing_state(self, listing_id: str, state: ListingState, reason: str | None, at: int) -> None:
        self._write(
            "UPDATE listings SET state = ?, state_reason = ?, updated_at = ? WHERE id = ?",
            (state.value, reason, at, listing_id),
        )

    @staticmethod
    def _listing(row: sqlite3.Row) -> Listing:
        data = dict(row)
        data["summary"] = ListingSummary.model_validate_json(data["summary"])
        return Listing.model_validate(data)

    def listing(self, listing_id: str) -> Listing:
        rows = self._rows("SELECT * FROM listings WHERE id = ?", (listing_id,))
        if not rows:
            raise ListingNotFound(f"no listing {listing_id}")
        return self._listing(rows[0])

    def listings(self, state: ListingState | None = None, limit: int = 200) -> list[Listing]:
        if state is None:
            rows = self._rows("SELECT * FROM listings ORDER BY created_at DESC, id LIMIT ?", (limit,))
        else:
            rows = self._rows(
                "SELECT * FROM listings WHERE state = ? ORDER BY created_at DESC, id LIMIT ?",
                (state.value, limit),
            )
        return [self._listing(r) for r in rows]

    def listings_of(self, passport_id: str) -> list[Listing]:
        """Every listing of a passport, newest first."""
        rows = self._rows(
            "SELECT * FROM listings WHERE passport_id = ? ORDER BY created_at DESC, rowid DESC",
            (passport_id,),
        )
        return [self._listing(r) for r in rows]

    # -- offers -------------------------------------------------------------------------------------
    def add_offer(self, offer: Offer) -> None:
        self._write(
            "INSERT INTO offers VALUES (?,?,?,?,?,?,?,?,?)",
            (
                offer.id,
                offer.listing_id,
                offer.buyer,
                offer.price,
                offer.conditions,
                json.dumps(offer.terms_body, sort_keys=True),
                offer.buyer_signature,
                offer.state.value,
                offer.created_at,
            ),
        )

    @staticmethod
    def _offer(row: sqlite3.Row) -> Offer:
        data = dict(row)
        data["terms_body"] = json.loads(data["terms_body"])
        return Offer.model_validate(data)

    def offer(self, offer_id: str) -> Offer:
        rows = self._rows("SELECT * FROM offers WHERE id = ?", (offer_id,))
        if not rows:
            raise OfferNotFound(f"no offer {offer_id}")
        return self._offer(rows[0])

    def offers_for(self, listing_id: str) -> list[Offer]:
        rows = self._rows("SELECT * FROM offers WHERE listing_id = ? ORDER BY created_at, id", (listing_id,))
        return [self._offer(r) for r in rows]

    def accept(self, sale: Sale, at: int) -> None:
        """One transaction: record the sale, accept its offer, decline the others, mark the listing sold.

        Idempotent: a sale already recorded (by a concurrent reconciliation) is left as it is."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if self._db.execute("SELECT 1 FROM sales WHERE sale_id = ?", (sale.sale_id,)).fetchone():
                    self._db.execute("COMMIT")
                    return
                self._db.execute(
                    "INSERT INTO sales VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        sale.sale_id,
                        sale.offer_id,
                        sale.listing_id,
                        sale.passport_id,
                        sale.seller,
                        sale.buyer,
                        sale.price,
                        sale.currency,
                        sale.terms_cid,
                        sale.terms_digest,
                        sale.state.value,
                        sale.chemistry,
                        sale.grade,
                        sale.soh_band,
                        sale.agreed_at,
                        sale.closed_at,
                        sale.note,
                    ),
                )
                self._db.execute(
                    "UPDATE offers SET state = 'declined' WHERE listing_id = ?", (sale.listing_id,)
                )
                self._db.execute("UPDATE offers SET state = 'accepted' WHERE id = ?", (sale.offer_id,))
                self._db.execute(
                    "UPDATE listings SET state = 'sold', state_reason = NULL, updated_at = ? WHERE id = ?",
                    (at, sale.listing_id),
                )
                self._db.execute(
                    "UPDATE sale_intents SET state = 'recorded' WHERE sale_id = ?", (sale.sale_id,)
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- sale intents -------------------------------------------------------------------------------
    def add_intent(self, sale: Sale, at: int) -> None:
        """Record (or renew, for a retried acceptance of the same offer) the intent to agree ``sale``."""
        self._write(
            "INSERT OR REPLACE INTO sale_intents VALUES (?,?,?,?,?,?,?,?)",
            (
                sale.sale_id,
                sale.offer_id,
                sale.listing_id,
                sale.terms_digest,
                sale.terms_cid,
                sale.model_dump_json(),
                IntentState.PENDING.value,
                at,
            ),
        )

    def intents(self, state: IntentState, listing_id: str | None = None) -> list[SaleIntent]:
        """Intents in ``state`` (of one listing if given), oldest first."""
        sql = "SELECT sale, state, created_at FROM sale_intents WHERE state = ?"
        params: tuple[Any, ...] = (state.value,)
        if listing_id is not None:
            sql += " AND listing_id = ?"
            params += (listing_id,)
        rows = self._rows(sql + " ORDER BY created_at, sale_id", params)
        return [
            SaleIntent(
                sale=Sale.model_validate_json(r["sale"]),
                state=IntentState(r["state"]),
                created_at=r["created_at"],
            )
            for r in rows
        ]

    def set_intent_state(self, sale_id: str, state: IntentState) -> None:
        self._write("UPDATE sale_intents SET state = ? WHERE sale_id = ?", (state.value, sale_id))

    # -- sales --------------------------------------------------------------------------------------
    def sale(self, sale_id: str) -> Sale:
        rows = self._rows("SELECT * FROM sales WHERE sale_id = ?", (sale_id,))
        if not rows:
            raise OfferNotFound(f"no sale {sale_id}")
        return Sale.model_validate(dict(rows[0]))

    def sales(self, state: SaleStatus | None = None) -> list[Sale]:
        if state is None:
            rows = self._rows("SELECT * FROM sales ORDER BY agreed_at, sale_id")
        else:
            rows = self._rows(
                "SELECT * FROM sales WHERE state = ? ORDER BY agreed_at, sale_id", (state.value,)
            )
        return [Sale.model_validate(dict(r)) for r in rows]

    def set_sale_state(
        self, sale_id: str, state: SaleStatus, closed_at: int | None, note: str | None
    ) -> None:
        self._write(
            "UPDATE sales SET state = ?, closed_at = COALESCE(?, closed_at), note = COALESCE(?, note) "
            "WHERE sale_id = ?",
            (state.value, closed_at, note, sale_id),
        )
