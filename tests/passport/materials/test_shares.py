"""Art. 8 shares: pre- and post-consumer apart, lead per battery, rounding down, targets beside them."""

from __future__ import annotations

import pytest

from passport.materials import EU_TARGETS_2031, EU_TARGETS_2036, MassBalanceError, MetalMass, recycled_shares
from passport.materials.shares import against_targets
from passport.materials.targets import SOURCE, WHOLE_BATTERY_METALS
from passport.model.circularity import RecycledElement as E


def test_shares_keep_pre_and_post_consumer_apart() -> None:
    scope = MetalMass(cobalt=50_000, lithium=20_000, nickel=300_000)
    shares = recycled_shares(
        scope, MetalMass(cobalt=1_000), MetalMass(cobalt=9_436, lithium=1_879, nickel=26_796)
    )
    by = {s.element: s for s in shares}
    assert set(by) == {E.COBALT, E.LITHIUM, E.NICKEL}  # no lead in scope: no lead share
    # 1,000 / 50,000 = 2 %; 9,436 / 50,000 = 18.872 % -> 18.87 (rounded down)
    assert (by[E.COBALT].pre_consumer_percent, by[E.COBALT].post_consumer_percent) == (2.0, 18.87)
    assert by[E.COBALT].total_percent == 20.87
    # 1,879 / 20,000 = 9.395 % -> 9.39; 26,796 / 300,000 = 8.932 % -> 8.93
    assert by[E.LITHIUM].total_percent == 9.39
    assert by[E.NICKEL].total_percent == 8.93


def test_lead_counts_over_the_whole_battery() -> None:
    shares = recycled_shares(MetalMass(lead=12_000), MetalMass(lead=2_000), MetalMass(lead=8_400))
    assert [
        (s.element, s.pre_consumer_percent, s.post_consumer_percent, s.total_percent) for s in shares
    ] == [(E.LEAD, 16.66, 70.0, 86.66)]
    assert E.LEAD in WHOLE_BATTERY_METALS


@pytest.mark.parametrize(
    ("scope", "post", "message"),
    [
        (MetalMass(cobalt=100), MetalMass(cobalt=101), "101 g of recycled cobalt for 100 g"),
        (
            MetalMass(cobalt=100),
            MetalMass(nickel=1),
            "recycled nickel claimed but the batteries contain none",
        ),
    ],
)
def test_impossible_shares_are_refused(scope: MetalMass, post: MetalMass, message: str) -> None:
    with pytest.raises(MassBalanceError, match=message):
        recycled_shares(scope, MetalMass(), post)


def test_targets_are_the_regulations() -> None:
    assert "2023/1542" in SOURCE
    assert dict(EU_TARGETS_2031) == {E.COBALT: 16, E.LITHIUM: 6, E.NICKEL: 6, E.LEAD: 85}
    assert dict(EU_TARGETS_2036) == {E.COBALT: 26, E.LITHIUM: 12, E.NICKEL: 15, E.LEAD: 85}
    shares = recycled_shares(MetalMass(cobalt=100, nickel=100), MetalMass(), MetalMass(cobalt=20, nickel=15))
    report = against_targets(shares)
    assert report[E.COBALT]["meets_2031"] is True
    assert report[E.COBALT]["meets_2036"] is False
    assert report[E.NICKEL]["meets_2036"] is True
