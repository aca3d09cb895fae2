"""RecycledMaterialLedger on every backend: lots, feedstock used once, recovery cap, certification,
credits, transfers and usage claims. Every revert names its custom error; every write asserts its event."""

from __future__ import annotations

import pytest

from passport.chain.material_ledger import (
    ClaimStatus,
    LotStatus,
    MaterialRole,
    Metal,
    MetalGrams,
)
from passport.chain.material_web3 import material_role_id
from passport.model import LifecycleStatus as S
from tests.chain_backends import ChainBackend, digest, only_event, reverts
from tests.contracts.material_world import MaterialWorld, material_world, original_passport, waste_in_custody

ZERO = b"\x00" * 32
# 10 kg Co, 1 kg Li, 30 kg Ni in the feedstock; 9.5 / 0.9 / 29 kg recovered (within 98/95/98 %).
FEED: MetalGrams = (10_000, 1_000, 30_000, 0)
RECOVERED: MetalGrams = (9_500, 900, 29_000, 0)


@pytest.fixture(scope="module")
def deployed(chain_backend: ChainBackend) -> MaterialWorld:
    return material_world(chain_backend)


@pytest.fixture
def world(deployed: MaterialWorld, ledger: ChainBackend) -> MaterialWorld:
    return deployed


def record(
    world: MaterialWorld, ledger: ChainBackend, label: str, count: int = 2
) -> tuple[bytes, list[bytes]]:
    feedstock = [waste_in_custody(ledger, f"{label}-{i}", recycled=i % 2 == 1) for i in range(count)]
    lot = digest(f"lot:{label}")
    world["recycler"].record_lot(
        lot,
        post_consumer=True,
        feedstock=feedstock,
        feedstock_grams=FEED,
        recovered_grams=RECOVERED,
        document_digest=digest(f"lotdoc:{label}"),
    )
    return lot, feedstock


def certified(world: MaterialWorld, ledger: ChainBackend, label: str) -> bytes:
    lot, _ = record(world, ledger, label)
    world["certifier"].certify_lot(lot, digest(f"cert:{label}"))
    return lot


# -- deployment and roles -----------------------------------------------------------------------------


def test_deployment_points_at_the_registry_and_grants_roles(
    world: MaterialWorld, ledger: ChainBackend
) -> None:
    admin = world["admin"]
    assert admin.has_role(MaterialRole.RECYCLER, world["recycler"].account)
    assert admin.has_role(MaterialRole.CERTIFIER, world["certifier"].account)
    assert not admin.has_role(MaterialRole.CERTIFIER, world["recycler"].account)
    assert admin._call("registry") == ledger.registry_address
    assert [admin.max_recovery(m) for m in Metal] == [9_800, 9_500, 9_800, 9_900]


def test_only_the_admin_sets_max_recovery_within_bounds(world: MaterialWorld) -> None:
    receipt = world["admin"].set_max_recovery(Metal.LITHIUM, 9_000)
    assert only_event(receipt, "MaxRecoveryChanged") == {"metal": 1, "basisPoints": 9_000}
    assert world["admin"].max_recovery(Metal.LITHIUM) == 9_000
    with reverts("RecycledMaterialLedgerInvalidRecovery", 1, 10_001):
        world["admin"].set_max_recovery(Metal.LITHIUM, 10_001)
    with reverts("RecycledMaterialLedgerInvalidRecovery", 3, 0):
        world["admin"].set_max_recovery(Metal.LEAD, 0)
    with reverts("AccessControlUnauthorizedAccount", world["certifier"].account, ZERO):
        world["certifier"].set_max_recovery(Metal.LITHIUM, 5_000)


# -- lots ---------------------------------------------------------------------------------------------


def test_record_lot_consumes_its_feedstock(world: MaterialWorld, ledger: ChainBackend) -> None:
    feedstock = [waste_in_custody(ledger, "a"), waste_in_custody(ledger, "b", recycled=True)]
    lot = digest("lot:a")
    receipt = world["recycler"].record_lot(
        lot,
        post_consumer=True,
        feedstock=feedstock,
        feedstock_grams=FEED,
        recovered_grams=RECOVERED,
        document_digest=digest("doc:a"),
    )
    assert only_event(receipt, "LotRecorded") == {
        "lotId": lot,
        "recycler": world["recycler"].account,
        "postConsumer": True,
        "documentDigest": digest("doc:a"),
        "recoveredGrams": RECOVERED,
    }
    consumed = [e.args for e in receipt.events if e.name == "FeedstockConsumed"]
    assert consumed == [{"passportId": p, "lotId": lot} for p in feedstock]
    record_ = world["stranger"].get_lot(lot)
    assert record_ is not None
    assert (record_.status, record_.recycler, record_.feedstock) == (
        LotStatus.RECORDED,
        world["recycler"].account,
        tuple(feedstock),
    )
    assert (record_.feedstock_grams, record_.recovered_grams, record_.certificate_digest) == (
        FEED,
        RECOVERED,
        ZERO,
    )
    assert [world["stranger"].feedstock_lot(p) for p in feedstock] == [lot, lot]
    assert world["stranger"].get_lot(digest("lot:none")) is None


def test_a_battery_feeds_lots_only_once(world: MaterialWorld, ledger: ChainBackend) -> None:
    lot, feedstock = record(world, ledger, "once")
    fresh = waste_in_custody(ledger, "fresh")
    with reverts("RecycledMaterialLedgerFeedstockUsed", feedstock[1], lot):
        world["recycler"].record_lot(
            digest("lot:again"),
            post_consumer=True,
            feedstock=[fresh, feedstock[1]],
            feedstock_grams=FEED,
            recovered_grams=RECOVERED,
            document_digest=digest("doc:again"),
        )
    with reverts("RecycledMaterialLedgerFeedstockUsed", fresh, digest("lot:dup")):
        world["recycler"].record_lot(
            digest("lot:dup"),
            post_consumer=True,
            feedstock=[fresh, fresh],
            feedstock_grams=FEED,
            recovered_grams=RECOVERED,
            document_digest=digest("doc:dup"),
        )
    assert world["stranger"].feedstock_lot(fresh) is None


def test_feedstock_must_be_waste_known_and_in_the_recyclers_custody(
    world: MaterialWorld, ledger: ChainBackend
) -> None:
    def attempt(passport: bytes) -> None:
        world["recycler"].record_lot(
            digest("lot:bad"),
            post_consumer=True,
            feedstock=[passport],
            feedstock_grams=FEED,
            recovered_grams=RECOVERED,
            document_digest=digest("doc:bad"),
        )

    new = original_passport(ledger, "in-use")
    with reverts("RecycledMaterialLedgerFeedstockNotWaste", new, int(S.ORIGINAL)):
        attempt(new)
    with reverts("RecycledMaterialLedgerUnknownFeedstock", digest("nobody")):
        attempt(digest("nobody"))
    elsewhere = waste_in_custody(ledger, "elsewhere", holder="business")
    with reverts("RecycledMaterialLedgerNotFeedstockCustodian", elsewhere, world["recycler"].account):
        attempt(elsewhere)


def test_recovery_is_capped_by_feedstock_content(world: MaterialWorld, ledger: ChainBackend) -> None:
    feedstock = [waste_in_custody(ledger, "cap")]
    too_much: MetalGrams = (9_500, 951, 29_000, 0)  # lithium: 951 g of 1,000 g at most 95 %
    with reverts("RecycledMaterialLedgerRecoveryExceeded", digest("lot:cap"), int(Metal.LITHIUM), 951, 950):
        world["recycler"].record_lot(
            digest("lot:cap"),
            post_consumer=True,
            feedstock=feedstock,
            feedstock_grams=FEED,
            recovered_grams=too_much,
            document_digest=digest("doc:cap"),
        )
    exact: MetalGrams = (9_800, 950, 29_400, 0)
    receipt = world["recycler"].record_lot(
        digest("lot:cap"),
        post_consumer=True,
        feedstock=feedstock,
        feedstock_grams=FEED,
        recovered_grams=exact,
        document_digest=digest("doc:cap"),
    )
    assert only_event(receipt, "LotRecorded")["recoveredGrams"] == exact


def test_lot_shape_is_checked(world: MaterialWorld, ledger: ChainBackend) -> None:
    recycler = world["recycler"]
    feed = [waste_in_custody(ledger, "shape")]
    with reverts("RecycledMaterialLedgerFeedstockMismatch", digest("lot:s"), True, 0):
        recycler.record_lot(
            digest("lot:s"),
            post_consumer=True,
            feedstock=[],
            feedstock_grams=FEED,
            recovered_grams=RECOVERED,
            document_digest=digest("d"),
        )
    with reverts("RecycledMaterialLedgerFeedstockMismatch", digest("lot:s"), False, 1):
        recycler.record_lot(
            digest("lot:s"),
            post_consumer=False,
            feedstock=feed,
            feedstock_grams=FEED,
            recovered_grams=RECOVERED,
            document_digest=digest("d"),
        )
    with reverts("RecycledMaterialLedgerEmpty", digest("lot:s")):
        recycler.record_lot(
            digest("lot:s"),
            post_consumer=True,
            feedstock=feed,
            feedstock_grams=FEED,
            recovered_grams=(0, 0, 0, 0),
            document_digest=digest("d"),
        )
    with reverts("RecycledMaterialLedgerInvalidValue", ZERO):
        recycler.record_lot(
            ZERO,
            post_consumer=True,
            feedstock=feed,
            feedstock_grams=FEED,
            recovered_grams=RECOVERED,
            document_digest=digest("d"),
        )
    with reverts("RecycledMaterialLedgerInvalidValue", ZERO):
        recycler.record_lot(
            digest("lot:s"),
            post_consumer=True,
            feedstock=feed,
            feedstock_grams=FEED,
            recovered_grams=RECOVERED,
            document_digest=ZERO,
        )
    role = material_role_id(MaterialRole.RECYCLER)
    with reverts("AccessControlUnauthorizedAccount", world["stranger"].account, role):
        world["stranger"].record_lot(
            digest("lot:s"),
            post_consumer=True,
            feedstock=feed,
            feedstock_grams=FEED,
            recovered_grams=RECOVERED,
            document_digest=digest("d"),
        )
    # Manufacturing waste (pre-consumer): no passports, still capped by its declared content.
    receipt = recycler.record_lot(
        digest("lot:pre"),
        post_consumer=False,
        feedstock=[],
        feedstock_grams=FEED,
        recovered_grams=RECOVERED,
        document_digest=digest("d"),
    )
    assert only_event(receipt, "LotRecorded")["postConsumer"] is False
    with reverts("RecycledMaterialLedgerLotExists", digest("lot:pre")):
        recycler.record_lot(
            digest("lot:pre"),
            post_consumer=False,
            feedstock=[],
            feedstock_grams=FEED,
            recovered_grams=RECOVERED,
            document_digest=digest("d"),
        )


# -- production certificates ---------------------------------------------------------------------


def test_certification_mints_credits_to_the_recycler_once(world: MaterialWorld, ledger: ChainBackend) -> None:
    lot, _ = record(world, ledger, "mint")
    recycler = world["recycler"].account
    receipt = world["certifier"].certify_lot(lot, digest("cert:mint"))
    assert only_event(receipt, "LotCertified") == {
        "lotId": lot,
        "certifier": world["certifier"].account,
        "recycler": recycler,
        "certificateDigest": digest("cert:mint"),
    }
    reader = world["stranger"]
    assert [reader.credit_balance(recycler, m, post_consumer=True) for m in Metal] == list(RECOVERED)
    assert [reader.credit_balance(recycler, m, post_consumer=False) for m in Metal] == [0, 0, 0, 0]
    assert reader.credit_totals(Metal.NICKEL, post_consumer=True) == (29_000, 0)
    lot_record = reader.get_lot(lot)
    assert lot_record is not None
    assert (lot_record.status, lot_record.certificate_digest) == (LotStatus.CERTIFIED, digest("cert:mint"))
    with reverts("RecycledMaterialLedgerLotNotRecorded", lot, int(LotStatus.CERTIFIED)):
        world["certifier"].certify_lot(lot, digest("cert:mint2"))
    assert reader.credit_balance(recycler, Metal.NICKEL, post_consumer=True) == 29_000


def test_certification_needs_a_certifier_other_than_the_recycler(
    world: MaterialWorld, ledger: ChainBackend
) -> None:
    lot, _ = record(world, ledger, "who")
    role = material_role_id(MaterialRole.CERTIFIER)
    with reverts("AccessControlUnauthorizedAccount", world["recycler"].account, role):
        world["recycler"].certify_lot(lot, digest("c"))
    world["admin"].grant_role(MaterialRole.CERTIFIER, world["recycler"].account)
    with reverts("RecycledMaterialLedgerSelfCertification", lot, world["recycler"].account):
        world["recycler"].certify_lot(lot, digest("c"))
    with reverts("RecycledMaterialLedgerUnknownLot", digest("lot:none")):
        world["certifier"].certify_lot(digest("lot:none"), digest("c"))
    with reverts("RecycledMaterialLedgerInvalidValue", ZERO):
        world["certifier"].certify_lot(lot, ZERO)


# -- credits and usage claims --------------------------------------------------------------------------


def test_transfers_move_credits_within_balances(world: MaterialWorld, ledger: ChainBackend) -> None:
    certified(world, ledger, "xfer")
    recycler, maker = world["recycler"], world["cellmaker"]
    receipt = recycler.transfer_credits(maker.account, Metal.NICKEL, 20_000, post_consumer=True)
    assert only_event(receipt, "CreditsTransferred") == {
        "from": recycler.account,
        "to": maker.account,
        "metal": int(Metal.NICKEL),
        "postConsumer": True,
        "grams": 20_000,
    }
    assert recycler.credit_balance(recycler.account, Metal.NICKEL, post_consumer=True) == 9_000
    assert recycler.credit_balance(maker.account, Metal.NICKEL, post_consumer=True) == 20_000
    with reverts(
        "RecycledMaterialLedgerInsufficientCredits", recycler.account, int(Metal.NICKEL), True, 9_000, 9_001
    ):
        recycler.transfer_credits(maker.account, Metal.NICKEL, 9_001, post_consumer=True)
    with reverts(
        "RecycledMaterialLedgerInsufficientCredits", recycler.account, int(Metal.NICKEL), False, 0, 1
    ):
        recycler.transfer_credits(maker.account, Metal.NICKEL, 1, post_consumer=False)
    with reverts("RecycledMaterialLedgerInvalidTransfer", maker.account, 0):
        recycler.transfer_credits(maker.account, Metal.NICKEL, 0, post_consumer=True)
    with reverts("RecycledMaterialLedgerInvalidTransfer", recycler.account, 1):
        recycler.transfer_credits(recycler.account, Metal.NICKEL, 1, post_consumer=True)


def test_a_usage_claim_retires_credits_once_and_is_certified(
    world: MaterialWorld, ledger: ChainBackend
) -> None:
    certified(world, ledger, "use")
    recycler, maker, certifier = world["recycler"], world["cellmaker"], world["certifier"]
    recycler.transfer_credits(maker.account, Metal.COBALT, 9_500, post_consumer=True)
    recycler.transfer_credits(maker.account, Metal.NICKEL, 29_000, post_consumer=True)
    claim = digest("claim:use")
    post: MetalGrams = (9_000, 0, 29_000, 0)
    receipt = maker.submit_usage_claim(claim, digest("claimdoc"), (0, 0, 0, 0), post)
    assert only_event(receipt, "UsageClaimSubmitted") == {
        "claimId": claim,
        "claimant": maker.account,
        "claimDigest": digest("claimdoc"),
        "preConsumerGrams": (0, 0, 0, 0),
        "postConsumerGrams": post,
    }
    assert maker.credit_balance(maker.account, Metal.COBALT, post_consumer=True) == 500
    assert maker.credit_balance(maker.account, Metal.NICKEL, post_consumer=True) == 0
    assert maker.credit_totals(Metal.NICKEL, post_consumer=True) == (29_000, 29_000)
    # The retired nickel is gone: it can neither be claimed again nor moved.
    with reverts("RecycledMaterialLedgerInsufficientCredits", maker.account, int(Metal.NICKEL), True, 0, 1):
        maker.submit_usage_claim(digest("claim:again"), digest("doc2"), (0, 0, 0, 0), (0, 0, 1, 0))
    with reverts("RecycledMaterialLedgerClaimExists", claim):
        maker.submit_usage_claim(claim, digest("doc3"), (0, 0, 0, 0), (1, 0, 0, 0))
    with reverts("RecycledMaterialLedgerSelfCertification", claim, maker.account):
        world["admin"].grant_role(MaterialRole.CERTIFIER, maker.account)
        maker.certify_usage(claim, digest("usecert"))
    receipt = certifier.certify_usage(claim, digest("usecert"))
    assert only_event(receipt, "UsageCertified") == {
        "claimId": claim,
        "certifier": certifier.account,
        "certificateDigest": digest("usecert"),
    }
    record_ = maker.get_claim(claim)
    assert record_ is not None
    assert (record_.status, record_.certificate_digest, record_.post_consumer_grams) == (
        ClaimStatus.CERTIFIED,
        digest("usecert"),
        post,
    )
    with reverts("RecycledMaterialLedgerClaimNotSubmitted", claim, int(ClaimStatus.CERTIFIED)):
        certifier.certify_usage(claim, digest("usecert2"))
    with reverts("RecycledMaterialLedgerClaimNotSubmitted", claim, int(ClaimStatus.CERTIFIED)):
        certifier.reject_usage_claim(claim, digest("why"))
    with reverts("RecycledMaterialLedgerUnknownClaim", digest("claim:none")):
        certifier.certify_usage(digest("claim:none"), digest("x"))
    with reverts("RecycledMaterialLedgerEmpty", digest("claim:empty")):
        maker.submit_usage_claim(digest("claim:empty"), digest("d"), (0, 0, 0, 0), (0, 0, 0, 0))


def test_a_rejected_claim_returns_its_credits(world: MaterialWorld, ledger: ChainBackend) -> None:
    certified(world, ledger, "reject")
    recycler, certifier = world["recycler"], world["certifier"]
    claim = digest("claim:reject")
    recycler.submit_usage_claim(claim, digest("d"), (0, 0, 0, 0), (1_000, 0, 0, 0))
    assert recycler.credit_totals(Metal.COBALT, post_consumer=True) == (9_500, 1_000)
    receipt = certifier.reject_usage_claim(claim, digest("why"))
    assert only_event(receipt, "UsageClaimRejected") == {
        "claimId": claim,
        "certifier": certifier.account,
        "reasonDigest": digest("why"),
    }
    assert recycler.credit_balance(recycler.account, Metal.COBALT, post_consumer=True) == 9_500
    assert recycler.credit_totals(Metal.COBALT, post_consumer=True) == (9_500, 0)
    claim_record = recycler.get_claim(claim)
    assert claim_record is not None
    assert claim_record.status is ClaimStatus.REJECTED
