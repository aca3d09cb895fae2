"""The state-of-health chart's geometry, computed server-side.

The page draws the chart as inline SVG from these numbers: no chart library, no script, nothing fetched,
and it renders the same on any phone. Only numbers and our own labels reach the template, which escapes
them anyway.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from api.web.i18n import PageFormat
from api.web.views import HealthPointView, sorted_health

# Drawn at roughly a phone's width in CSS pixels, so the axis labels stay legible when scaled to fit.
WIDTH = 360
HEIGHT = 210
_LEFT, _RIGHT, _TOP, _BOTTOM = 52, 14, 10, 28


@dataclass(frozen=True)
class Tick:
    x: float
    y: float
    label: str


@dataclass(frozen=True)
class Marker:
    x: float
    y: float
    label: str


@dataclass(frozen=True)
class SohChart:
    width: int
    height: int
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float
    polyline: str
    markers: tuple[Marker, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    summary: str


def _y_range(values: Sequence[float]) -> tuple[float, float]:
    # Start at a round ten below the lowest reading so a fade from 98 % to 91 % is visible, not a flat
    # line at the top of a 0-100 axis; keep at least a 10-point span.
    low = max(0.0, math.floor((min(values) - 2) / 10) * 10)
    high = max(100.0, math.ceil(max(values) / 10) * 10)
    if high - low < 10:
        low = high - 10
    return low, high


def soh_chart(points: Sequence[HealthPointView], fmt: PageFormat | None = None) -> SohChart | None:
    """The chart for ``points`` (any order), or ``None`` when there is nothing to draw.

    Labels and the summary are in ``fmt``'s language (English by default), numbers and dates as its
    locale writes them.
    """
    fmt = fmt or PageFormat("en")
    ordered = sorted_health(points)
    if not ordered:
        return None
    left, right, top, bottom = _LEFT, WIDTH - _RIGHT, _TOP, HEIGHT - _BOTTOM
    low, high = _y_range([p.soh_percent for p in ordered])
    t0 = ordered[0].at.timestamp()
    span = ordered[-1].at.timestamp() - t0

    def x_of(ts: float) -> float:
        # A single reading (or all at one instant) sits in the middle rather than on the axis.
        return (left + right) / 2 if span == 0 else left + (ts - t0) / span * (right - left)

    def y_of(soh: float) -> float:
        return bottom - (soh - low) / (high - low) * (bottom - top)

    markers = tuple(
        Marker(
            x=round(x_of(p.at.timestamp()), 1),
            y=round(y_of(p.soh_percent), 1),
            label=fmt.gettext("%(date)s: state of health %(soh)s, %(capacity)s")
            % {
                "date": fmt.short_day(p.at),
                "soh": fmt.quantity(round(p.soh_percent, 1), "percent"),
                "capacity": fmt.quantity(round(p.capacity_ah, 1), "ah"),
            },
        )
        for p in ordered
    )
    step = 10 if high - low <= 50 else 20
    y_ticks = tuple(
        Tick(x=left, y=round(y_of(v), 1), label=fmt.quantity(v, "percent"))
        for v in range(int(low), int(high) + 1, step)
    )
    first, last = ordered[0], ordered[-1]
    x_ticks = [Tick(x=x_of(t0), y=bottom, label=fmt.short_day(first.at))]
    if span:
        x_ticks.append(Tick(x=right, y=bottom, label=fmt.short_day(last.at)))
    summary = fmt.ngettext(
        "State of health over %(num)s reading: %(first)s on %(first_date)s, %(last)s on %(last_date)s",
        "State of health over %(num)s readings: %(first)s on %(first_date)s, %(last)s on %(last_date)s",
        len(ordered),
    ) % {
        "num": len(ordered),
        "first": fmt.quantity(round(first.soh_percent, 1), "percent"),
        "first_date": fmt.day(first.at.date()),
        "last": fmt.quantity(round(last.soh_percent, 1), "percent"),
        "last_date": fmt.day(last.at.date()),
    }
    return SohChart(
        width=WIDTH,
        height=HEIGHT,
        plot_left=left,
        plot_right=right,
        plot_top=top,
        plot_bottom=bottom,
        polyline=" ".join(f"{m.x},{m.y}" for m in markers),
        markers=markers,
        y_ticks=y_ticks,
        x_ticks=tuple(x_ticks),
        summary=summary,
    )
