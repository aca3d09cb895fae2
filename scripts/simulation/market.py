"""The pilot's used-battery market: retired packs leave the collector through ``passport.market``.

At end of first life the collector holds the pack. Instead of a direct custody offer, the pilot's
inspector records the pack's evaluation (the oracle's grade at retirement) and a pre-distribution safety
inspection as a new passport version, the collector lists the pack (the fair-trade rules run on the
verified passport), the buyer (repurposer or recycler) offers a price, the collector accepts (signed
terms, sale agreed on-chain) and the buyer's custody acceptance completes the sale. Prices are a model,
not data: KRW per usable kWh by route, times state of health, with a ±10 % spread seeded by the battery
id, so a run's prices repeat for the same seed.
"""

from __future__ import annotations

import hashlib
import statistics
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from passport.chain.records import BusinessRecord, PassportRecord, TxReceipt
from passport.chain.sales import SaleRecord
from passport.ids import passport_id_bytes32
from passport.market import ListingCreate, Market, MarketBook, OfferCreate, Party, custody_from_events
from passport.market.source import LedgerPassportSource
from passport.model import AccessTier
from passport.model.korea import (
    EvaluationGrade,
    InspectionResult,
    InspectionStage,
    PerformanceEvaluation,
    SafetyInspection,
    SecondLifeRoute,
)
from passport.model.parties import Organisation
from passport.service import PassportService
from passport.signing import PassportDomain

# KRW per kWh of remaining (SoH-weighted) energy a buyer pays, by what the pack is bought for.
PRICE_PER_KWH: Mapping[str, int] = {"repurpose": 60_000, "remanufacture": 80_000, "recycle": 12_000}
_GRADES = {
    "reuse_or_remanufacture": EvaluationGrade.A,
    "repurpose": EvaluationGrade.B,
    "recycle": EvaluationGrade.D,
}
_ROUTES = {
    "reuse_or_remanufacture": SecondLifeRoute.REMANUFACTURE,
    "repurpose": SecondLifeRoute.REPURPOSE,
    "recycle": SecondLifeRoute.RECYCLE,
}
_INSPECTOR = Organisation(name="Pilot pre-distribution inspector")


def model_price(battery_id: str, grade: str, soh_pct: float | None, energy_kwh: float) -> int:
    """The buyer's price (KRW): energy times SoH times the route's rate, spread ±10 % by the battery id."""
    rate = PRICE_PER_KWH[_ROUTES[grade].value]
    spread = int.from_bytes(hashlib.sha256(battery_id.encode()).digest()[:2], "big") / 65_535 * 0.2 - 0.1
    return max(1, int(round(energy_kwh * (soh_pct or 50.0) / 100 * rate * (1 + spread), -3)))


class _CountingChain:
    """A sales chain that books every market transaction in the pilot's transaction counts."""

    def __init__(self, chain: Any, tx: Callable[[str, TxReceipt], TxReceipt]) -> None:
        self._chain = chain
        self._tx = tx

    @property
    def account(self) -> str:
        return str(self._chain.account)

    def agree_sale(
        self, sale_id: bytes, passport_id: bytes, buyer: str, terms_digest: bytes, expires_at: int
    ) -> TxReceipt:
        return self._tx(
            "agree_sale", self._chain.agree_sale(sale_id, passport_id, buyer, terms_digest, expires_at)
        )

    def cancel_sale(self, sale_id: bytes, reason_digest: bytes) -> TxReceipt:
        return self._tx("cancel_sale", self._chain.cancel_sale(sale_id, reason_digest))

    def dispute_sale(self, sale_id: bytes, claim_digest: bytes) -> TxReceipt:
        return self._tx("dispute_sale", self._chain.dispute_sale(sale_id, claim_digest))

    def resolve_sale_dispute(self, sale_id: bytes, outcome_digest: bytes) -> TxReceipt:
        return self._tx("resolve_sale_dispute", self._chain.resolve_sale_dispute(sale_id, outcome_digest))

    def get_sale(self, sale_id: bytes) -> SaleRecord | None:
        result: SaleRecord | None = self._chain.get_sale(sale_id)
        return result

    def open_sale(self, passport_id: bytes) -> bytes | None:
        result: bytes | None = self._chain.open_sale(passport_id)
        return result

    def accept_custody(self, passport_id: bytes) -> TxReceipt:
        return self._tx("accept_custody", self._chain.accept_custody(passport_id))

    def get_passport(self, passport_id: bytes) -> PassportRecord | None:
        result: PassportRecord | None = self._chain.get_passport(passport_id)
        return result

    def get_business(self, account: str) -> BusinessRecord | None:
        result: BusinessRecord | None = self._chain.get_business(account)
        return result


class PilotMarket:
    """Trades the pilot's retired packs; ``tx`` counts each ledger transaction like the pilot's own."""

    def __init__(
        self,
        *,
        data_dir: Path,
        service: PassportService,
        chains: Mapping[str, Any],
        keys: Mapping[str, bytes],
        deploy_block: int,
        sim_now: Callable[[], float],
        chain_time: Callable[[], int],
        tx: Callable[[str, TxReceipt], TxReceipt],
    ) -> None:
        reader = chains["admin"]
        self._service = service
        self._chains = chains
        self._keys = keys
        self._tx = tx
        self._sim_now = sim_now
        names = {chains[n].account.lower(): n for n in chains}
        self.market = Market(
            MarketBook(data_dir / "market" / "market.sqlite3"),
            LedgerPassportSource(
                service, custody_from_events(reader, deploy_block, lambda a: names.get(a.lower()))
            ),
            reader,
            service.store,
            PassportDomain(reader.chain_id, reader.registry_address),
            min_group_size=3,
            clock=self.now,
            chain_time=lambda: chain_time() + 15,
        )
        self.volumes: Counter[str] = Counter()
        self.prices: dict[str, list[int]] = {}

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._sim_now(), UTC)

    def _party(self, name: str) -> Party:
        return Party(_CountingChain(self._chains[name], self._tx), self._keys[name])

    def _disclose(self, passport_id: uuid.UUID, grade: str, soh_pct: float | None) -> None:
        """The inspector records the retirement evaluation and the pre-distribution inspection."""
        current = self._service.fetch(passport_id, frozenset(AccessTier)).view.to_passport()
        now = self.now()
        evaluation = PerformanceEvaluation(
            evaluated_at=now - timedelta(hours=2),
            evaluator=Organisation(name="pilot inspector (oracle.health)"),
            method="oracle.health grading at end of first life",
            state_of_health_percent=soh_pct if soh_pct is not None else 50.0,
            grade=_GRADES[grade],
            recommendation=_ROUTES[grade],
        )
        inspection = SafetyInspection(
            stage=InspectionStage.PRE_DISTRIBUTION,
            inspected_at=now - timedelta(hours=1),
            inspector=_INSPECTOR,
            result=InspectionResult.PASS,
        )
        korea = current.korea.model_copy(
            update={
                "performance_evaluations": [*current.korea.performance_evaluations, evaluation],
                "safety_inspections": [*current.korea.safety_inspections, inspection],
            }
        )
        updated = self._service.acting_as(self._keys["inspector"]).update(
            passport_id, current.model_copy(update={"korea": korea})
        )
        self._tx("update_passport", updated.receipt)

    def sell(
        self,
        passport_id: uuid.UUID,
        battery_id: str,
        grade: str,
        soh_pct: float | None,
        energy_kwh: float,
        buyer: str,
    ) -> dict[str, Any]:
        """Collector → ``buyer`` through the market; returns the sale's facts for the report."""
        self._disclose(passport_id, grade, soh_pct)
        price = model_price(battery_id, grade, soh_pct, energy_kwh)
        ask = ListingCreate(
            asking_price=round(price * 1.05, -3), location="Busan pilot yard", delivery="pickup"
        )
        listing = self.market.list_battery(self._party("collector"), passport_id, ask)
        offer = self.market.make_offer(self._party(buyer), listing.id, OfferCreate(price=price))
        sale = self.market.accept_offer(self._party("collector"), offer.id, expires_in=3600)
        self._tx("accept_custody", self._chains[buyer].accept_custody(passport_id_bytes32(passport_id)))
        completed = self.market.sale(sale.sale_id)
        route = _ROUTES[grade].value
        self.volumes[route] += 1
        self.prices.setdefault(route, []).append(price)
        return {"price_krw": price, "state": completed.state.value}

    def report(self) -> dict[str, Any]:
        index = self.market.price_index()
        return {
            "sales": sum(self.volumes.values()),
            "volumes": dict(sorted(self.volumes.items())),
            "price_krw": {
                route: {"median": statistics.median(p), "min": min(p), "max": max(p)}
                for route, p in sorted(self.prices.items())
            },
            "index_groups": [g.model_dump(mode="json") for g in index.groups],
            "index_hidden_sales": index.hidden_sales,
        }

    def close(self) -> None:
        self.market.book.close()
