"""The price-index chart's geometry, computed server-side like the state-of-health chart: one row per
shown group, a bar to the median and a line across the interquartile range, as inline SVG numbers."""

from __future__ import annotations

from dataclasses import dataclass

from passport.market import PriceIndex

WIDTH = 360
ROW = 26
_LEFT, _RIGHT, _TOP = 110, 16, 8


@dataclass(frozen=True)
class PriceRow:
    label: str
    y: float
    median_x: float
    q1_x: float
    q3_x: float
    median: float
    count: int


@dataclass(frozen=True)
class PriceChart:
    width: int
    height: int
    left: int
    rows: list[PriceRow]
    max_price: float


def price_chart(index: PriceIndex) -> PriceChart | None:
    """The chart of ``index``'s shown groups, or None when no group is shown."""
    if not index.groups:
        return None
    top = max(group.q3 for group in index.groups) or 1.0
    span = WIDTH - _LEFT - _RIGHT

    def x(value: float) -> float:
        return round(_LEFT + span * value / top, 1)

    rows = [
        PriceRow(
            label=f"{g.chemistry} {g.grade} {g.soh_band}%",
            y=_TOP + i * ROW,
            median_x=x(g.median),
            q1_x=x(g.q1),
            q3_x=x(g.q3),
            median=g.median,
            count=g.count,
        )
        for i, g in enumerate(index.groups)
    ]
    return PriceChart(WIDTH, _TOP * 2 + ROW * len(rows), _LEFT, rows, top)
