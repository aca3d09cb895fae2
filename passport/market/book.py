"""The market's own state: listings, offers and sales in one SQLite file (``Settings.market_db_path``), or
the ``market`` schema of PostgreSQL when ``PASSPORT_DATABASE_URL`` is set (``passport/db/migrations/market``).

The ledger stays the authority on custody and on each sale's state and terms digest; this file holds
what the chain must not (prices, locations, the disclosed summary) and mirrors each sale's state, which
``Market`` refreshes from the chain. Writes are committed before the call returns (WAL, synchronous
FULL; on PostgreSQL, its durable commit), so an accepted listing or offer is never lost.

A sale is written twice: as an intent (``sale_intents``: the prepared row with its terms digest and CID)
before ``agreeSale`` is sent, and as the sale itself after it is mined (``accept``, which marks the
intent recorded in the same transaction). An intent still pending after a crash is reconciled against
the chain by ``Market.reconcile``.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel

from passport.db import Database, open_database, open_sqlite
from passport.market.errors import ListingNotFound, OfferNotFound
from passport.market.summary import ListingSummary
from passport.settings import Settings


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


#: The database component (PostgreSQL schema, migrations folder) of the market book.
COMPONENT: Final = "market"

# Column lists in table order (``INSERT … VALUES`` and ``SELECT`` name them: PostgreSQL's listings has
# one more column, ``seq``).
_LISTING = (
    "id, passport_id, seller, asking_price, currency, location, delivery, notes, summary, state, "
    "state_reason, created_at, updated_at"
)
_OFFER = "id, listing_id, buyer, price, conditions, terms_body, buyer_signature, state, created_at"
_SALE = (
    "sale_id, offer_id, listing_id, passport_id, seller, buyer, price, currency, terms_cid, terms_digest, "
    "state, chemistry, grade, soh_band, agreed_at, closed_at, note"
)
_INTENT = "sale_id, offer_id, listing_id, terms_digest, terms_cid, sale, state, created_at"
# Insertion order of listings: SQLite's rowid, PostgreSQL's identity column.
_INSERTION_ORDER: Final = {"sqlite": "rowid", "postgresql": "seq"}


def _placeholders(columns: str) -> str:
    return ", ".join("?" for _ in columns.split(","))


def _named(columns: str, row: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip((c.strip() for c in columns.split(",")), row, strict=True))


# The statements below splice in the constant column lists above; every value is a bound parameter.
_INSERT_LISTING = f"INSERT INTO listings ({_LISTING}) VALUES ({_placeholders(_LISTING)})"  # noqa: S608
_INSERT_OFFER = f"INSERT INTO offers ({_OFFER}) VALUES ({_placeholders(_OFFER)})"  # noqa: S608
_INSERT_SALE = f"INSERT INTO sales ({_SALE}) VALUES ({_placeholders(_SALE)})"  # noqa: S608
_UPSERT_INTENT = (
    f"INSERT INTO sale_intents ({_INTENT}) VALUES ({_placeholders(_INTENT)}) "  # noqa: S608
    "ON CONFLICT (sale_id) DO UPDATE SET offer_id = excluded.offer_id, listing_id = excluded.listing_id, "
    "terms_digest = excluded.terms_digest, terms_cid = excluded.terms_cid, sale = excluded.sale, "
    "state = excluded.state, created_at = excluded.created_at"
)


class MarketBook:
    """The market's tables: one SQLite file, or a PostgreSQL schema; safe to share between threads."""

    def __init__(self, database: Database | Path) -> None:
        """``database``: an open database (its ``market`` migrations applied), or a SQLite file path."""
        self._db = open_sqlite(database, COMPONENT) if isinstance(database, Path) else database

    @classmethod
    def from_settings(cls, settings: Settings) -> MarketBook:
        """The book at ``Settings.market_db_path``, or in PostgreSQL when ``database_url`` is set."""
        return cls(open_database(settings, COMPONENT, settings.market_db_path))

    def close(self) -> None:
        self._db.close()

    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        with self._db.transaction() as cur:
            cur.execute(sql, params)

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self._db.query(sql, params)

    # -- listings -----------------------------------------------------------------------------------
    def add_listing(self, listing: Listing) -> None:
        self._write(
            _INSERT_LISTING,
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
    def _listing(row: tuple[Any, ...]) -> Listing:
        data = _named(_LISTING, row)
        data["summary"] = ListingSummary.model_validate_json(data["summary"])
        return Listing.model_validate(data)

    def listing(self, listing_id: str) -> Listing:
        rows = self._rows(
            f"SELECT {_LISTING} FROM listings WHERE id = ?",  # noqa: S608
            (listing_id,),
        )
        if not rows:
            raise ListingNotFound(f"no listing {listing_id}")
        return self._listing(rows[0])

    def listings(self, state: ListingState | None = None, limit: int = 200) -> list[Listing]:
        if state is None:
            rows = self._rows(
                f"SELECT {_LISTING} FROM listings ORDER BY created_at DESC, id LIMIT ?",  # noqa: S608
                (limit,),
            )
        else:
            rows = self._rows(
                f"SELECT {_LISTING} FROM listings WHERE state = ? "  # noqa: S608
                "ORDER BY created_at DESC, id LIMIT ?",
                (state.value, limit),
            )
        return [self._listing(r) for r in rows]

    def listings_of(self, passport_id: str) -> list[Listing]:
        """Every listing of a passport, newest first."""
        rows = self._rows(
            f"SELECT {_LISTING} FROM listings WHERE passport_id = ? "  # noqa: S608
            f"ORDER BY created_at DESC, {_INSERTION_ORDER[self._db.dialect]} DESC",
            (passport_id,),
        )
        return [self._listing(r) for r in rows]

    # -- offers -------------------------------------------------------------------------------------
    def add_offer(self, offer: Offer) -> None:
        self._write(
            _INSERT_OFFER,
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
    def _offer(row: tuple[Any, ...]) -> Offer:
        data = _named(_OFFER, row)
        data["terms_body"] = json.loads(data["terms_body"])
        return Offer.model_validate(data)

    def offer(self, offer_id: str) -> Offer:
        rows = self._rows(
            f"SELECT {_OFFER} FROM offers WHERE id = ?",  # noqa: S608
            (offer_id,),
        )
        if not rows:
            raise OfferNotFound(f"no offer {offer_id}")
        return self._offer(rows[0])

    def offers_for(self, listing_id: str) -> list[Offer]:
        rows = self._rows(
            f"SELECT {_OFFER} FROM offers WHERE listing_id = ? ORDER BY created_at, id",  # noqa: S608
            (listing_id,),
        )
        return [self._offer(r) for r in rows]

    def accept(self, sale: Sale, at: int) -> None:
        """One transaction: record the sale, accept its offer, decline the others, mark the listing sold.

        Idempotent: a sale already recorded (by a concurrent reconciliation) is left as it is."""
        with self._db.transaction() as cur:
            # ON CONFLICT DO NOTHING: a concurrent reconciliation (in this or another process) may have
            # recorded the sale first; then nothing else changes either.
            cur.execute(f"{_INSERT_SALE} ON CONFLICT (sale_id) DO NOTHING", self._sale_row(sale))
            if not cur.rowcount:
                return
            cur.execute("UPDATE offers SET state = 'declined' WHERE listing_id = ?", (sale.listing_id,))
            cur.execute("UPDATE offers SET state = 'accepted' WHERE id = ?", (sale.offer_id,))
            cur.execute(
                "UPDATE listings SET state = 'sold', state_reason = NULL, updated_at = ? WHERE id = ?",
                (at, sale.listing_id),
            )
            cur.execute("UPDATE sale_intents SET state = 'recorded' WHERE sale_id = ?", (sale.sale_id,))

    @staticmethod
    def _sale_row(sale: Sale) -> tuple[Any, ...]:
        return (
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
        )

    # -- sale intents -------------------------------------------------------------------------------
    def add_intent(self, sale: Sale, at: int) -> None:
        """Record (or renew, for a retried acceptance of the same offer) the intent to agree ``sale``."""
        self._write(
            _UPSERT_INTENT,
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
            SaleIntent(sale=Sale.model_validate_json(sale), state=IntentState(state), created_at=created_at)
            for sale, state, created_at in rows
        ]

    def set_intent_state(self, sale_id: str, state: IntentState) -> None:
        self._write("UPDATE sale_intents SET state = ? WHERE sale_id = ?", (state.value, sale_id))

    # -- sales --------------------------------------------------------------------------------------
    def sale(self, sale_id: str) -> Sale:
        rows = self._rows(f"SELECT {_SALE} FROM sales WHERE sale_id = ?", (sale_id,))  # noqa: S608
        if not rows:
            raise OfferNotFound(f"no sale {sale_id}")
        return Sale.model_validate(_named(_SALE, rows[0]))

    def sales(self, state: SaleStatus | None = None) -> list[Sale]:
        if state is None:
            rows = self._rows(f"SELECT {_SALE} FROM sales ORDER BY agreed_at, sale_id")  # noqa: S608
        else:
            rows = self._rows(
                f"SELECT {_SALE} FROM sales WHERE state = ? ORDER BY agreed_at, sale_id",  # noqa: S608
                (state.value,),
            )
        return [Sale.model_validate(_named(_SALE, r)) for r in rows]

    def set_sale_state(
        self, sale_id: str, state: SaleStatus, closed_at: int | None, note: str | None
    ) -> None:
        self._write(
            "UPDATE sales SET state = ?, closed_at = COALESCE(?, closed_at), note = COALESCE(?, note) "
            "WHERE sale_id = ?",
            (state.value, closed_at, note, sale_id),
        )
