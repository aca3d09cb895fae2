"""The public price index: completed sales grouped by chemistry, grade and state-of-health band.

Each group shows its count, median and interquartile range; a group with fewer sales than the minimum
size is left out (only counted in ``hidden_sales``), so no single trade's price can be read off it.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable

from pydantic import BaseModel

from passport.market.book import Sale


class PriceGroup(BaseModel):
    chemistry: str
    grade: str
    soh_band: str
    count: int
    median: float
    q1: float
    q3: float
    currency: str


class PriceIndex(BaseModel):
    min_group_size: int
    groups: list[PriceGroup]
    hidden_groups: int
    hidden_sales: int
    total_sales: int


def _quartiles(prices: list[int]) -> tuple[float, float, float]:
    if len(prices) == 1:
        return float(prices[0]), float(prices[0]), float(prices[0])
    q1, median, q3 = statistics.quantiles(prices, n=4, method="inclusive")
    return median, q1, q3


def price_index(sales: Iterable[Sale], min_group_size: int) -> PriceIndex:
    """The index over ``sales`` (the caller passes completed ones)."""
    groups: dict[tuple[str, str, str, str], list[int]] = defaultdict(list)
    for sale in sales:
        key = (sale.chemistry, sale.grade or "-", sale.soh_band or "-", sale.currency)
        groups[key].append(sale.price)
    shown: list[PriceGroup] = []
    hidden_groups = hidden_sales = 0
    for (chemistry, grade, band, currency), prices in sorted(groups.items()):
        if len(prices) < min_group_size:
            hidden_groups += 1
            hidden_sales += len(prices)
            continue
        median, q1, q3 = _quartiles(sorted(prices))
        shown.append(
            PriceGroup(
                chemistry=chemistry,
                grade=grade,
                soh_band=band,
                count=len(prices),
                median=median,
                q1=q1,
                q3=q3,
                currency=currency,
            )
        )
    return PriceIndex(
        min_group_size=min_group_size,
        groups=shown,
        hidden_groups=hidden_groups,
        hidden_sales=hidden_sales,
        total_sales=sum(len(p) for p in groups.values()),
    )
