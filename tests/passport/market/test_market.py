"""The market on a real ledger: listing → offer → accepted terms (digest on-chain) → custody completes
the sale; and every fair-trade rule refusing what it must, by name."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from devtools.samples import DEFAULT_AS_OF, sample_passport
from passport.chain.sales import SaleState
from passport.errors import ContractRevert
from passport.ids import passport_id_bytes32
from passport.market import (
    BusinessNotActive,
    DeliveryRejectionUnfounded,
    DisclosureMissing,
    DisclosureStale,
    GradeChangedWithoutEvaluation,
    ListingCreate,
    ListingState,
    MarketStateError,
    NotAParty,
    OfferCreate,
    SaleStatus,
    SellerNotCustodian,
    TermsMismatch,
)
from passport.market.terms import check_terms, terms_document
from passport.model import AccessTier, BatteryPassport
from passport.model.korea import InspectionResult, InspectionStage, KoreanExtensions, SafetyInspection
from passport.model.parties import Organisation
from passport.model.performance import NegativeEvent, NegativeEventKind
from passport.signing import PassportDomain
from tests.chain_backends import Actor, ChainBackend
from tests.passport.market.market_world import MarketWorld, build_world

ASK = ListingCreate(asking_price=4_200_000, location="Busan, Gangseo-gu", delivery="pickup")
INSPECTOR_ORG = Organisation(name="Busan Battery Safety Lab")


@pytest.fixture
def world(ledger: ChainBackend, tmp_path: Path) -> MarketWorld:
    return build_world(ledger, tmp_path)


def _with_korea(world: MarketWorld, pid: uuid.UUID, actor: Actor, **korea: object) -> None:
    passport = _current(world, pid)
    updated = passport.model_copy(update={"korea": passport.korea.model_copy(update=korea)})
    world.service(actor).update(pid, updated)


def _current(world: MarketWorld, pid: uuid.UUID) -> BatteryPassport:
    return world.issuer.fetch(pid, frozenset(AccessTier)).view.to_passport()


def test_list_offer_accept_and_custody_completes_the_sale(
    world: MarketWorld, business: Actor, recycler: Actor
) -> None:
    pid, _ = world.issue_held_by(business)
    listing = world.market.list_battery(world.party(business), pid, ASK)
    summary = listing.summary
    assert (summary.chemistry, summary.grade and summary.grade.grade) == ("NCM", "A")
    assert summary.grade is not None
    assert summary.grade.provenance.by == "Korea Battery Evaluation Center"
    assert summary.pre_distribution_inspection is not None
    assert summary.pre_distribution_inspection.result == "pass"
    assert [e.kind for e in summary.negative_events] == ["accident"]
    assert summary.warranty is not None
    assert summary.warranty.remaining is not None
    assert [(s.from_name, s.to_name) for s in summary.custody] == [("issuer", "business")]

    offer = world.market.make_offer(world.party(recycler), listing.id, OfferCreate(price=3_900_000))
    sale = world.market.accept_offer(world.party(business), offer.id)
    assert sale.state is SaleStatus.AGREED
    assert world.market.listing(listing.id).state is ListingState.SOLD

    checked = world.market.check_terms(sale.sale_id)
    assert checked.matches
    assert checked.onchain_digest == sale.terms_digest
    assert checked.body["price"] == {"amount": 3_900_000, "currency": "KRW"}
    record = business.client.get_sale(bytes.fromhex(sale.sale_id[2:]))
    assert record is not None
    assert record.state is SaleState.AGREED
    assert "0x" + record.terms_digest.hex() == sale.terms_digest

    # The market cannot complete the sale: only the buyer's custody acceptance does.
    assert world.market.sale(sale.sale_id).state is SaleStatus.AGREED
    recycler.client.accept_custody(passport_id_bytes32(pid))
    completed = world.market.sale(sale.sale_id)
    assert completed.state is SaleStatus.COMPLETED
    index = world.market.price_index()
    assert [(g.chemistry, g.grade, g.soh_band, g.count, g.median) for g in index.groups] == [
        ("NCM", "A", "90-100", 1, 3_900_000.0)
    ]


def test_custody_moves_only_through_the_agreed_sale(
    world: MarketWorld, business: Actor, recycler: Actor, repurposer: Actor
) -> None:
    pid, _ = world.issue_held_by(business)
    listing = world.market.list_battery(world.party(business), pid, ASK)
    offer = world.market.make_offer(world.party(recycler), listing.id, OfferCreate(price=1))
    world.market.accept_offer(world.party(business), offer.id)
    pid32 = passport_id_bytes32(pid)
    with pytest.raises(ContractRevert) as info:
        business.client.cancel_custody_offer(pid32)
    assert info.value.error == "BatterySalesSaleAgreed"
    with pytest.raises(ContractRevert) as info:
        repurposer.client.accept_custody(pid32)
    assert info.value.error == "BatteryPassportRegistryNotOfferee"


def test_missing_disclosures_refuse_the_listing(world: MarketWorld, business: Actor) -> None:
    pid, _ = world.issue_held_by(
        business, "noeval", korea=_current_korea_without_evaluations(world, business)
    )
    with pytest.raises(DisclosureMissing, match="no performance evaluation"):
        world.market.list_battery(world.party(business), pid, ASK)
    assert DisclosureMissing.rule == "mandatory-disclosures"


def _current_korea_without_evaluations(world: MarketWorld, _actor: Actor) -> KoreanExtensions:
    return sample_passport("KR-MKT-TEMPLATE").korea.model_copy(update={"performance_evaluations": []})


def test_an_expired_inspection_refuses_the_listing(world: MarketWorld, business: Actor) -> None:
    pid, _ = world.issue_held_by(business)
    world.clock.now = DEFAULT_AS_OF + timedelta(days=200)
    with pytest.raises(DisclosureMissing, match="expired"):
        world.market.list_battery(world.party(business), pid, ASK)


def test_a_new_incident_suspends_the_listing(
    world: MarketWorld, business: Actor, recycler: Actor, inspector: Actor
) -> None:
    pid, _ = world.issue_held_by(business)
    listing = world.market.list_battery(world.party(business), pid, ASK)
    passport = _current(world, pid)
    dynamic = passport.performance.dynamic
    incident = NegativeEvent(
        kind=NegativeEventKind.THERMAL_EVENT,
        occurred_at=world.clock.now,
        description="Cell venting in storage.",
    )
    updated = passport.model_copy(
        update={
            "performance": passport.performance.model_copy(
                update={
                    "dynamic": dynamic.model_copy(
                        update={"negative_events": [*dynamic.negative_events, incident]}
                    )
                }
            )
        }
    )
    world.service(inspector).update(pid, updated)
    refreshed = world.market.listing(listing.id)
    assert refreshed.state is ListingState.SUSPENDED
    assert refreshed.state_reason is not None
    assert "negative event" in refreshed.state_reason
    with pytest.raises(DisclosureStale):
        world.market.make_offer(world.party(recycler), listing.id, OfferCreate(price=1))


def test_an_inspection_expiring_after_listing_suspends_it(world: MarketWorld, business: Actor) -> None:
    pid, _ = world.issue_held_by(business)
    listing = world.market.list_battery(world.party(business), pid, ASK)
    world.clock.now = DEFAULT_AS_OF + timedelta(days=190)
    refreshed = world.market.listings(state=None)[0]
    assert refreshed.id == listing.id
    assert refreshed.state is ListingState.SUSPENDED
    assert refreshed.state_reason is not None
    assert "expired" in refreshed.state_reason


def test_no_relisting_at_another_grade_without_a_new_evaluation(
    world: MarketWorld, business: Actor, inspector: Actor
) -> None:
    pid, _ = world.issue_held_by(business)
    listing = world.market.list_battery(world.party(business), pid, ASK)
    world.market.withdraw(world.party(business), listing.id)
    passport = _current(world, pid)
    [evaluation] = passport.korea.performance_evaluations
    regraded = evaluation.model_copy(update={"grade": "B"})
    _with_korea(world, pid, inspector, performance_evaluations=[regraded])
    with pytest.raises(GradeChangedWithoutEvaluation):
        world.market.list_battery(world.party(business), pid, ASK)
    newer = regraded.model_copy(update={"evaluated_at": evaluation.evaluated_at + timedelta(days=3)})
    _with_korea(world, pid, inspector, performance_evaluations=[evaluation, newer])
    relisted = world.market.list_battery(world.party(business), pid, ASK)
    assert relisted.summary.grade is not None
    assert relisted.summary.grade.grade == "B"


def test_only_active_businesses_list_or_buy(
    world: MarketWorld, business: Actor, recycler: Actor, registry_admin: Actor, stranger: Actor
) -> None:
    pid, _ = world.issue_held_by(business)
    with pytest.raises(SellerNotCustodian):
        world.market.list_battery(world.party(recycler), pid, ASK)
    with pytest.raises(BusinessNotActive, match="not a registered business"):
        world.market.list_battery(world.party(stranger), pid, ASK)
    listing = world.market.list_battery(world.party(business), pid, ASK)
    with pytest.raises(BusinessNotActive):
        world.market.make_offer(world.party(stranger), listing.id, OfferCreate(price=1))
    offer = world.market.make_offer(world.party(recycler), listing.id, OfferCreate(price=1))
    registry_admin.client.suspend_business(recycler.address)
    with pytest.raises(BusinessNotActive, match="suspended"):
        world.market.make_offer(world.party(recycler), listing.id, OfferCreate(price=2))
    with pytest.raises(BusinessNotActive, match="suspended"):
        world.market.accept_offer(world.party(business), offer.id)
    registry_admin.client.reinstate_business(recycler.address)
    registry_admin.client.suspend_business(business.address)
    assert world.market.listing(listing.id).state is ListingState.SUSPENDED


def test_delivery_rejection_needs_a_contradicting_post_distribution_inspection(
    world: MarketWorld, business: Actor, recycler: Actor, inspector: Actor
) -> None:
    pid, _ = world.issue_held_by(business)
    listing = world.market.list_battery(world.party(business), pid, ASK)
    offer = world.market.make_offer(world.party(recycler), listing.id, OfferCreate(price=1_000))
    sale = world.market.accept_offer(world.party(business), offer.id)
    with pytest.raises(DeliveryRejectionUnfounded, match="no post-distribution inspection"):
        world.market.reject_delivery(world.party(recycler), sale.sale_id)
    with pytest.raises(NotAParty):
        world.market.reject_delivery(world.party(business), sale.sale_id)
    inspections = _current(world, pid).korea.safety_inspections
    fine = SafetyInspection(
        stage=InspectionStage.POST_DISTRIBUTION,
        inspected_at=world.clock.now + timedelta(days=1),
        inspector=INSPECTOR_ORG,
        result=InspectionResult.PASS,
    )
    _with_korea(world, pid, inspector, safety_inspections=[*inspections, fine])
    with pytest.raises(DeliveryRejectionUnfounded, match="does not contradict"):
        world.market.reject_delivery(world.party(recycler), sale.sale_id)
    failed = fine.model_copy(
        update={
            "inspected_at": world.clock.now + timedelta(days=2),
            "result": InspectionResult.FAIL,
            "findings": ["Swollen module 3"],
        }
    )
    _with_korea(world, pid, inspector, safety_inspections=[*inspections, fine, failed])
    rejected = world.market.reject_delivery(world.party(recycler), sale.sale_id)
    assert rejected.state is SaleStatus.CANCELLED
    record = business.client.get_sale(bytes.fromhex(sale.sale_id[2:]))
    assert record is not None
    assert record.state is SaleState.CANCELLED
    assert business.client.get_custody_offer(passport_id_bytes32(pid)) is None


def test_dispute_and_outcome_are_recorded(
    world: MarketWorld, business: Actor, recycler: Actor, registry_admin: Actor, repurposer: Actor
) -> None:
    pid, _ = world.issue_held_by(business)
    listing = world.market.list_battery(world.party(business), pid, ASK)
    offer = world.market.make_offer(world.party(recycler), listing.id, OfferCreate(price=5))
    sale = world.market.accept_offer(world.party(business), offer.id)
    with pytest.raises(MarketStateError):
        world.market.dispute(world.party(recycler), sale.sale_id, "too early")
    recycler.client.accept_custody(passport_id_bytes32(pid))
    with pytest.raises(NotAParty):
        world.market.dispute(world.party(repurposer), sale.sale_id, "not mine")
    with pytest.raises(MarketStateError):
        world.market.cancel(world.party(business), sale.sale_id, "too late")
    disputed = world.market.dispute(world.party(recycler), sale.sale_id, "capacity below disclosure")
    assert disputed.state is SaleStatus.DISPUTED
    resolved = world.market.resolve(world.party(registry_admin), sale.sale_id, "partial refund of 10 %")
    assert resolved.state is SaleStatus.RESOLVED
    record = business.client.get_sale(bytes.fromhex(sale.sale_id[2:]))
    assert record is not None
    assert record.state is SaleState.RESOLVED


def test_cancelled_sale_withdraws_the_listing_and_relisting_works(
    world: MarketWorld, business: Actor, recycler: Actor
) -> None:
    pid, _ = world.issue_held_by(business)
    listing = world.market.list_battery(world.party(business), pid, ASK)
    offer = world.market.make_offer(world.party(recycler), listing.id, OfferCreate(price=5))
    sale = world.market.accept_offer(world.party(business), offer.id)
    with pytest.raises(MarketStateError, match="agreed sale"):
        world.market.list_battery(world.party(business), pid, ASK)
    cancelled = world.market.cancel(world.party(business), sale.sale_id, "buyer did not collect")
    assert cancelled.state is SaleStatus.CANCELLED
    assert world.market.listing(listing.id).state is ListingState.WITHDRAWN
    assert world.market.list_battery(world.party(business), pid, ASK).state is ListingState.ACTIVE


def test_stored_terms_must_match_the_ledger(
    world: MarketWorld, business: Actor, recycler: Actor, stranger: Actor
) -> None:
    pid, _ = world.issue_held_by(business)
    listing = world.market.list_battery(world.party(business), pid, ASK)
    offer = world.market.make_offer(world.party(recycler), listing.id, OfferCreate(price=777))
    sale = world.market.accept_offer(world.party(business), offer.id)
    stored = world.store.get(sale.terms_cid)
    domain = PassportDomain(business.client.chain_id, business.client.registry_address)
    digest = bytes.fromhex(sale.terms_digest[2:])
    body = check_terms(
        stored, expected_digest=digest, domain=domain, seller=business.address, buyer=recycler.address
    )
    changed = terms_document({**body, "price": {"amount": 1, "currency": "KRW"}}, [])
    with pytest.raises(TermsMismatch, match="hash to"):
        check_terms(
            changed, expected_digest=digest, domain=domain, seller=business.address, buyer=recycler.address
        )
    with pytest.raises(TermsMismatch, match="did not sign"):
        check_terms(
            stored, expected_digest=digest, domain=domain, seller=stranger.address, buyer=recycler.address
        )
