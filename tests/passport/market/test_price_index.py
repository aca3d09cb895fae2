"""The public price index: groups by chemistry, grade and SoH band; median and IQR; small groups hidden."""

from __future__ import annotations

import pytest

from passport.market import Sale, SaleStatus, price_index


def sale(
    n: int, price: int, chemistry: str = "NCM", grade: str | None = "A", band: str | None = "90-100"
) -> Sale:
    return Sale(
        sale_id=f"0x{n:064x}",
        offer_id=f"offer-{n}",
        listing_id=f"listing-{n}",
        passport_id=f"passport-{n}",
        seller="0xseller",
        buyer="0xbuyer",
        price=price,
        currency="KRW",
        terms_cid="bafk",
        terms_digest="0x00",
        state=SaleStatus.COMPLETED,
        chemistry=chemistry,
        grade=grade,
        soh_band=band,
        agreed_at=n,
        closed_at=n,
        note=None,
    )


def test_groups_show_count_median_and_iqr() -> None:
    sales = [sale(i, p) for i, p in enumerate([100, 200, 300, 400, 1000])]
    index = price_index(sales, min_group_size=3)
    [group] = index.groups
    assert (group.count, group.median, group.q1, group.q3) == (5, 300.0, 200.0, 400.0)
    assert (index.total_sales, index.hidden_sales, index.hidden_groups) == (5, 0, 0)


def test_groups_below_the_minimum_are_hidden_not_revealed() -> None:
    sales = [
        sale(1, 100),
        sale(2, 120),
        sale(3, 140),
        sale(4, 9_999, chemistry="LFP", grade="B", band="80-90"),  # one trade: its price must not show
    ]
    index = price_index(sales, min_group_size=2)
    assert [(g.chemistry, g.grade, g.soh_band) for g in index.groups] == [("NCM", "A", "90-100")]
    assert (index.hidden_groups, index.hidden_sales, index.total_sales) == (1, 1, 4)
    assert "9999" not in index.model_dump_json()


@pytest.mark.parametrize(("size", "shown"), [(1, 2), (2, 1), (4, 0)])
def test_minimum_group_size_is_a_threshold(size: int, shown: int) -> None:
    sales = [sale(1, 10), sale(2, 20), sale(3, 30, grade="B")]
    assert len(price_index(sales, min_group_size=size).groups) == shown


def test_a_single_sale_group_has_a_degenerate_range() -> None:
    [group] = price_index([sale(1, 500)], min_group_size=1).groups
    assert (group.median, group.q1, group.q3) == (500.0, 500.0, 500.0)
