"""``passport market``: list a battery you hold, make and accept offers, follow sales, the price index.

Mirrors the API's market routes. Writes act as a keystore participant (``--as``), which must be a
registered, active business (or the admin, for ``resolve``); fair-trade refusals exit 1 naming the rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from cli import arguments
from cli.arguments import PassportArg, as_option
from cli.output import JsonOption, echo_json, emit, reported
from cli.session import Session
from passport.chain.sales import sales_chain
from passport.market import ListingCreate, ListingState, Market, OfferCreate, Party

app = typer.Typer(help="The used-battery market: listings, offers, sales, price index.", no_args_is_help=True)


@contextmanager
def _market(ctx: typer.Context) -> Iterator[Market]:
    ledger = Session.of(ctx).ledger()
    with reported("cannot open the market"):
        market = ledger.market()
    try:
        yield market
    finally:
        market.book.close()


def _party(ctx: typer.Context, participant: str) -> Party:
    ledger = Session.of(ctx).ledger()
    with reported("cannot act as " + participant):
        return Party(sales_chain(ledger.client(participant)), ledger.key(participant))


def _show(value: Any, json_output: bool) -> None:
    data = value.model_dump(mode="json")
    if json_output:
        echo_json(data)
    else:
        emit({k: v for k, v in data.items() if not isinstance(v, dict | list)}, False)


@app.command("list")
def market_list_command(
    ctx: typer.Context,
    passport_id: PassportArg,
    price: Annotated[int, typer.Option("--price", min=1, help="Asking price (KRW).")],
    location: Annotated[str, typer.Option("--location", help="Where the battery is.")],
    delivery: Annotated[str, typer.Option("--delivery", help="pickup, delivery or either.")] = "pickup",
    participant: Annotated[str, as_option("the custodian business")] = "business",
    json_output: JsonOption = False,
) -> None:
    """List a battery you hold (the fair-trade rules apply)."""
    pid = arguments.passport_id(passport_id)
    party = _party(ctx, participant)
    with _market(ctx) as market, reported("listing refused"):
        ask = ListingCreate(asking_price=price, location=location, delivery=delivery)
        _show(market.list_battery(party, pid, ask), json_output)


@app.command("listings")
def market_listings_command(
    ctx: typer.Context,
    all_states: Annotated[bool, typer.Option("--all", help="Every listing, not only active ones.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Listings (active ones by default), refreshed: stale disclosures suspend a listing."""
    with _market(ctx) as market, reported():
        listings = market.listings(None if all_states else ListingState.ACTIVE)
    if json_output:
        echo_json([item.model_dump(mode="json") for item in listings])
        return
    for item in listings:
        grade = item.summary.grade.grade if item.summary.grade else "-"
        typer.echo(
            f"{item.id}  {item.state.value:9}  {item.summary.chemistry} {grade}  "
            f"{item.asking_price} {item.currency}"
        )


@app.command("offer")
def market_offer_command(
    ctx: typer.Context,
    listing_id: Annotated[str, typer.Argument(help="The listing's id.")],
    price: Annotated[int, typer.Option("--price", min=1, help="Offered price (KRW).")],
    conditions: Annotated[str | None, typer.Option("--conditions", help="Conditions of the offer.")] = None,
    participant: Annotated[str, as_option("the buying business")] = "recycler",
    json_output: JsonOption = False,
) -> None:
    """Make an offer on a listing (you sign the terms the seller may accept)."""
    party = _party(ctx, participant)
    with _market(ctx) as market, reported("offer refused"):
        _show(
            market.make_offer(party, listing_id, OfferCreate(price=price, conditions=conditions)), json_output
        )


@app.command("accept")
def market_accept_command(
    ctx: typer.Context,
    offer_id: Annotated[str, typer.Argument(help="The offer's id.")],
    expires_in: Annotated[int, typer.Option("--expires-in", min=60, help="Seconds the buyer has.")] = 7
    * 86_400,
    participant: Annotated[str, as_option("the selling business")] = "business",
    json_output: JsonOption = False,
) -> None:
    """Accept an offer: terms stored, sale agreed on-chain; the buyer's custody acceptance completes it."""
    party = _party(ctx, participant)
    with _market(ctx) as market, reported("acceptance refused"):
        _show(market.accept_offer(party, offer_id, expires_in), json_output)


@app.command("sale")
def market_sale_command(
    ctx: typer.Context,
    sale_id: Annotated[str, typer.Argument(help="The sale's id (0x…).")],
    json_output: JsonOption = False,
) -> None:
    """A sale, its state read back from the ledger, and its terms checked against the ledger's digest."""
    with _market(ctx) as market, reported():
        sale = market.sale(sale_id)
        terms = market.check_terms(sale_id)
    emit(sale.model_dump(mode="json") | {"terms_match_ledger": terms.matches}, json_output)


def _sale_action(ctx: typer.Context, participant: str, action: str, sale_id: str, text: str | None) -> Any:
    party = _party(ctx, participant)
    with _market(ctx) as market, reported(f"{action} refused"):
        if action == "cancel":
            return market.cancel(party, sale_id, text or "")
        if action == "reject-delivery":
            return market.reject_delivery(party, sale_id)
        if action == "dispute":
            return market.dispute(party, sale_id, text or "")
        return market.resolve(party, sale_id, text or "")


ReasonOption = Annotated[str, typer.Option("--reason", help="Why (recorded as a document, digest on-chain).")]
SaleArg = Annotated[str, typer.Argument(help="The sale's id (0x…).")]


@app.command("cancel")
def market_cancel_command(
    ctx: typer.Context,
    sale_id: SaleArg,
    reason: ReasonOption,
    participant: Annotated[str, as_option("a party")] = "business",
    json_output: JsonOption = False,
) -> None:
    """Cancel an agreed sale (seller or buyer)."""
    _show(_sale_action(ctx, participant, "cancel", sale_id, reason), json_output)


@app.command("reject-delivery")
def market_reject_command(
    ctx: typer.Context,
    sale_id: SaleArg,
    participant: Annotated[str, as_option("the buyer")] = "recycler",
    json_output: JsonOption = False,
) -> None:
    """Reject a delivery on a post-distribution inspection that contradicts the disclosures (buyer)."""
    _show(_sale_action(ctx, participant, "reject-delivery", sale_id, None), json_output)


@app.command("dispute")
def market_dispute_command(
    ctx: typer.Context,
    sale_id: SaleArg,
    reason: ReasonOption,
    participant: Annotated[str, as_option("a party")] = "recycler",
    json_output: JsonOption = False,
) -> None:
    """Dispute a completed sale (seller or buyer)."""
    _show(_sale_action(ctx, participant, "dispute", sale_id, reason), json_output)


@app.command("resolve")
def market_resolve_command(
    ctx: typer.Context,
    sale_id: SaleArg,
    reason: ReasonOption,
    participant: Annotated[str, as_option("the admin")] = "admin",
    json_output: JsonOption = False,
) -> None:
    """Record a dispute's outcome (the ledger admin)."""
    _show(_sale_action(ctx, participant, "resolve", sale_id, reason), json_output)


@app.command("index")
def market_index_command(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """The public price index (count, median, IQR per chemistry, grade and SoH band)."""
    with _market(ctx) as market, reported():
        index = market.price_index()
    if json_output:
        echo_json(index.model_dump(mode="json"))
        return
    for g in index.groups:
        typer.echo(
            f"{g.chemistry:4} {g.grade} {g.soh_band:7} n={g.count:<4} median={g.median:,.0f} "
            f"IQR={g.q1:,.0f}-{g.q3:,.0f} {g.currency}"
        )
    typer.echo(
        f"{index.total_sales} sale(s); {index.hidden_sales} in {index.hidden_groups} group(s) "
        f"below {index.min_group_size} hidden"
    )
