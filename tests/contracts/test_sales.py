"""Sales tied to custody (``BatterySales``): agreeing offers custody to the buyer, only the buyer's
custody acceptance completes the sale, and cancellations, disputes and outcomes are recorded."""

from __future__ import annotations

from passport.chain.sales import SaleState
from passport.model import InspectionKind
from passport.model import LifecycleStatus as S
from tests.chain_backends import Actor, ChainBackend, digest, only_event, passport_id, reverts
from tests.contracts.test_safety import inspect

BATTERY = digest("sale-battery")
SALE = digest("sale-1")
TERMS = digest("terms-1")


def held_by(issuer: Actor, holder: Actor, ledger: ChainBackend, label: str = "s1") -> bytes:
    """A passport issued by ``issuer`` whose custody has moved to the business ``holder``."""
    pid = passport_id(label)
    issuer.client.issue_passport(
        pid, BATTERY, digest("m1"), issuer.sign(pid, BATTERY, 1, S.ORIGINAL, digest("m1"))
    )
    issuer.client.offer_custody(pid, holder.address, ledger.now() + 3600)
    holder.client.accept_custody(pid)
    return pid


def agree(ledger: ChainBackend, seller: Actor, buyer: Actor, pid: bytes, sale: bytes = SALE) -> None:
    seller.client.agree_sale(sale, pid, buyer.address, TERMS, ledger.now() + 3600)


def test_agree_offers_custody_and_acceptance_completes(
    ledger: ChainBackend, issuer: Actor, business: Actor, recycler: Actor
) -> None:
    pid = held_by(issuer, business, ledger)
    expires = ledger.now() + 3600
    receipt = business.client.agree_sale(SALE, pid, recycler.address, TERMS, expires)
    assert only_event(receipt, "SaleAgreed") == {
        "saleId": SALE,
        "passportId": pid,
        "seller": business.address,
        "buyer": recycler.address,
        "termsDigest": TERMS,
    }
    assert only_event(receipt, "CustodyOffered")["to"] == recycler.address
    sale = business.client.get_sale(SALE)
    assert sale is not None
    assert (sale.state, sale.seller, sale.buyer, sale.terms_digest) == (
        SaleState.AGREED,
        business.address,
        recycler.address,
        TERMS,
    )
    assert business.client.open_sale(pid) == SALE

    receipt = recycler.client.accept_custody(pid)
    names = [e.name for e in receipt.events]
    assert names == ["CustodyTransferred", "SaleCompleted"]
    assert only_event(receipt, "SaleCompleted") == {"saleId": SALE, "passportId": pid}
    sale = business.client.get_sale(SALE)
    assert sale is not None
    assert sale.state is SaleState.COMPLETED
    assert sale.closed_at > 0
    assert sale.terms_digest == TERMS  # the terms never change after acceptance
    assert business.client.open_sale(pid) is None
    record = recycler.client.get_passport(pid)
    assert record is not None
    assert record.custodian == recycler.address


def test_nothing_else_moves_custody_while_agreed(
    ledger: ChainBackend, issuer: Actor, business: Actor, recycler: Actor, repurposer: Actor
) -> None:
    pid = held_by(issuer, business, ledger)
    agree(ledger, business, recycler, pid)
    with reverts("BatterySalesSaleAgreed", pid, SALE):
        business.client.cancel_custody_offer(pid)
    with reverts("BatterySalesSaleAgreed", pid, SALE):
        business.client.agree_sale(digest("sale-2"), pid, repurposer.address, TERMS, ledger.now() + 60)
    with reverts("BatteryPassportRegistryNotOfferee", pid, repurposer.address):
        repurposer.client.accept_custody(pid)
    with reverts("BatterySalesSaleAgreed", pid, SALE):
        business.client.offer_custody(pid, repurposer.address, ledger.now() + 60)


def test_terms_cannot_be_reused_or_rewritten(
    ledger: ChainBackend, issuer: Actor, business: Actor, recycler: Actor
) -> None:
    pid = held_by(issuer, business, ledger)
    agree(ledger, business, recycler, pid)
    recycler.client.accept_custody(pid)
    with reverts("BatterySalesSaleExists", SALE):
        recycler.client.agree_sale(SALE, pid, business.address, digest("other-terms"), ledger.now() + 60)
    sale = business.client.get_sale(SALE)
    assert sale is not None
    assert sale.terms_digest == TERMS


def test_invalid_sales_are_refused(
    ledger: ChainBackend, issuer: Actor, business: Actor, recycler: Actor, stranger: Actor
) -> None:
    pid = held_by(issuer, business, ledger)
    zero = b"\x00" * 32
    with reverts("BatterySalesInvalidSale", zero):
        business.client.agree_sale(zero, pid, recycler.address, TERMS, ledger.now() + 60)
    with reverts("BatterySalesInvalidSale", SALE):
        business.client.agree_sale(SALE, pid, recycler.address, zero, ledger.now() + 60)
    with reverts("BatteryPassportRegistryNotCustodian", pid, recycler.address):
        recycler.client.agree_sale(SALE, pid, business.address, TERMS, ledger.now() + 60)
    with reverts("BusinessRegistryUnknownBusiness", stranger.address):
        business.client.agree_sale(SALE, pid, stranger.address, TERMS, ledger.now() + 60)


def test_seller_must_be_an_active_business(
    ledger: ChainBackend, issuer: Actor, business: Actor, recycler: Actor, registry_admin: Actor
) -> None:
    pid = passport_id("direct")
    issuer.client.issue_passport(
        pid, BATTERY, digest("m1"), issuer.sign(pid, BATTERY, 1, S.ORIGINAL, digest("m1"))
    )
    with reverts("BusinessRegistryUnknownBusiness", issuer.address):
        issuer.client.agree_sale(SALE, pid, recycler.address, TERMS, ledger.now() + 60)
    held = held_by(issuer, business, ledger, "held")
    registry_admin.client.suspend_business(business.address)
    with reverts("BusinessRegistrySuspendedBusiness", business.address):
        business.client.agree_sale(SALE, held, recycler.address, TERMS, ledger.now() + 60)
    registry_admin.client.reinstate_business(business.address)
    agree(ledger, business, recycler, held)
    registry_admin.client.suspend_business(recycler.address)
    with reverts("BusinessRegistrySuspendedBusiness", recycler.address):
        recycler.client.accept_custody(held)


def test_cancel_before_completion_withdraws_the_offer(
    ledger: ChainBackend, issuer: Actor, business: Actor, recycler: Actor, stranger: Actor
) -> None:
    pid = held_by(issuer, business, ledger)
    agree(ledger, business, recycler, pid)
    with reverts("BatterySalesNotParty", SALE, stranger.address):
        stranger.client.cancel_sale(SALE, digest("reason"))
    receipt = recycler.client.cancel_sale(SALE, digest("reason"))
    assert only_event(receipt, "SaleCancelled") == {
        "saleId": SALE,
        "by": recycler.address,
        "reasonDigest": digest("reason"),
    }
    assert only_event(receipt, "CustodyOfferCancelled")["to"] == recycler.address
    assert business.client.get_custody_offer(pid) is None
    assert business.client.open_sale(pid) is None
    sale = business.client.get_sale(SALE)
    assert sale is not None
    assert sale.state is SaleState.CANCELLED
    with reverts("BatteryPassportRegistryNoCustodyOffer", pid):
        recycler.client.accept_custody(pid)
    with reverts("BatterySalesWrongState", SALE, SaleState.CANCELLED):
        business.client.cancel_sale(SALE, digest("again"))
    # the passport can be sold again under a new sale
    agree(ledger, business, recycler, pid, digest("sale-2"))


def test_expired_sale_offer_is_cancelled_not_accepted(
    ledger: ChainBackend, issuer: Actor, business: Actor, recycler: Actor
) -> None:
    pid = held_by(issuer, business, ledger)
    expires = ledger.now() + 60
    business.client.agree_sale(SALE, pid, recycler.address, TERMS, expires)
    ledger.advance_time(120)
    with reverts("BatteryPassportRegistryCustodyOfferExpired", pid, expires):
        recycler.client.accept_custody(pid)
    only_event(business.client.cancel_sale(SALE, digest("lapsed")), "SaleCancelled")


def test_dispute_after_completion_and_admin_outcome(
    ledger: ChainBackend,
    issuer: Actor,
    business: Actor,
    recycler: Actor,
    registry_admin: Actor,
    stranger: Actor,
) -> None:
    pid = held_by(issuer, business, ledger)
    agree(ledger, business, recycler, pid)
    with reverts("BatterySalesWrongState", SALE, SaleState.AGREED):
        recycler.client.dispute_sale(SALE, digest("claim"))
    recycler.client.accept_custody(pid)
    with reverts("BatterySalesWrongState", SALE, SaleState.COMPLETED):
        business.client.cancel_sale(SALE, digest("late"))
    with reverts("BatterySalesNotParty", SALE, stranger.address):
        stranger.client.dispute_sale(SALE, digest("claim"))
    with reverts("BatterySalesWrongState", SALE, SaleState.COMPLETED):
        registry_admin.client.resolve_sale_dispute(SALE, digest("outcome"))
    disputed = only_event(recycler.client.dispute_sale(SALE, digest("claim")), "SaleDisputed")
    assert disputed == {"saleId": SALE, "by": recycler.address, "claimDigest": digest("claim")}
    with reverts("AccessControlUnauthorizedAccount"):
        business.client.resolve_sale_dispute(SALE, digest("outcome"))
    resolved = only_event(
        registry_admin.client.resolve_sale_dispute(SALE, digest("outcome")), "SaleDisputeResolved"
    )
    assert resolved == {"saleId": SALE, "outcomeDigest": digest("outcome")}
    sale = business.client.get_sale(SALE)
    assert sale is not None
    assert sale.state is SaleState.RESOLVED
    assert sale.terms_digest == TERMS


def test_closing_a_passport_waits_for_its_sale(
    ledger: ChainBackend, issuer: Actor, business: Actor, recycler: Actor, inspector: Actor
) -> None:
    pid = held_by(issuer, business, ledger)
    waste = digest("m2")
    business.client.change_status(pid, S.WASTE, waste, business.sign_next(pid, waste, S.WASTE))
    business.client.offer_custody(pid, recycler.address, ledger.now() + 60)
    recycler.client.accept_custody(pid)
    # A used battery goes to a non-recycler only after a passed pre-distribution inspection.
    inspect(inspector, pid, InspectionKind.PRE_DISTRIBUTION, True, ledger.now() + 3600)
    recycler.client.agree_sale(SALE, pid, business.address, TERMS, ledger.now() + 600)
    recycled = digest("m3")
    with reverts("BatterySalesSaleAgreed", pid, SALE):
        recycler.client.recycle(pid, recycled, recycler.sign_next(pid, recycled, S.RECYCLED))


def test_unknown_sale_reads_as_none(ledger: ChainBackend, business: Actor) -> None:
    assert business.client.get_sale(digest("nope")) is None
    assert business.client.open_sale(passport_id("nope")) is None
