"""Two-step custody transfer: offers, acceptance, cancellation, expiry, and the event trail."""

from __future__ import annotations

import itertools

from passport.model import LifecycleStatus as S
from tests.chain_backends import Actor, ChainBackend, digest, only_event, passport_id, reverts

BATTERY = digest("battery-serial")


def issue(actor: Actor, label: str = "p1") -> bytes:
    pid = passport_id(label)
    actor.client.issue_passport(
        pid, BATTERY, digest("m1"), actor.sign(pid, BATTERY, 1, S.ORIGINAL, digest("m1"))
    )
    return pid


def test_offer_accept_moves_custody(ledger: ChainBackend, issuer: Actor, business: Actor) -> None:
    pid = issue(issuer)
    expires = ledger.now() + 3600
    offered = only_event(issuer.client.offer_custody(pid, business.address, expires), "CustodyOffered")
    assert offered == {
        "passportId": pid,
        "from": issuer.address,
        "to": business.address,
        "expiresAt": expires,
    }
    offer = issuer.client.get_custody_offer(pid)
    assert offer is not None
    assert (offer.from_address, offer.to_address, offer.expires_at) == (
        issuer.address,
        business.address,
        expires,
    )
    transferred = only_event(business.client.accept_custody(pid), "CustodyTransferred")
    assert transferred == {"passportId": pid, "from": issuer.address, "to": business.address}
    record = business.client.get_passport(pid)
    assert record is not None
    assert record.custodian == business.address
    assert record.issuer == issuer.address
    assert record.version == 1  # custody is not a new version of the document
    assert business.client.get_custody_offer(pid) is None


def test_cancel_offer(ledger: ChainBackend, issuer: Actor, business: Actor) -> None:
    pid = issue(issuer)
    issuer.client.offer_custody(pid, business.address, ledger.now() + 3600)
    cancelled = only_event(issuer.client.cancel_custody_offer(pid), "CustodyOfferCancelled")
    assert cancelled == {"passportId": pid, "from": issuer.address, "to": business.address}
    assert issuer.client.get_custody_offer(pid) is None
    with reverts("BatteryPassportRegistryNoCustodyOffer", pid):
        business.client.accept_custody(pid)
    with reverts("BatteryPassportRegistryNoCustodyOffer", pid):
        issuer.client.cancel_custody_offer(pid)


def test_only_the_custodian_offers_or_cancels(ledger: ChainBackend, issuer: Actor, business: Actor) -> None:
    pid = issue(issuer)
    with reverts("BatteryPassportRegistryNotCustodian", pid, business.address):
        business.client.offer_custody(pid, business.address, ledger.now() + 60)
    issuer.client.offer_custody(pid, business.address, ledger.now() + 60)
    with reverts("BatteryPassportRegistryNotCustodian", pid, business.address):
        business.client.cancel_custody_offer(pid)


def test_only_the_offeree_accepts(
    ledger: ChainBackend, issuer: Actor, business: Actor, recycler: Actor
) -> None:
    pid = issue(issuer)
    issuer.client.offer_custody(pid, business.address, ledger.now() + 60)
    with reverts("BatteryPassportRegistryNotOfferee", pid, recycler.address):
        recycler.client.accept_custody(pid)


def test_offer_must_be_to_someone_else_and_unexpired(
    ledger: ChainBackend, issuer: Actor, business: Actor
) -> None:
    pid = issue(issuer)
    now = ledger.now()
    with reverts("BatteryPassportRegistryInvalidCustodyOffer", pid, issuer.address, now + 60):
        issuer.client.offer_custody(pid, issuer.address, now + 60)
    with reverts("BatteryPassportRegistryInvalidCustodyOffer", pid, business.address, now - 1):
        issuer.client.offer_custody(pid, business.address, now - 1)
    with reverts("BatteryPassportRegistryInvalidCustodyOffer", pid, "0x" + "00" * 20, now + 60):
        issuer.client.offer_custody(pid, "0x" + "00" * 20, now + 60)


def test_one_pending_offer_at_a_time(
    ledger: ChainBackend, issuer: Actor, business: Actor, recycler: Actor
) -> None:
    pid = issue(issuer)
    issuer.client.offer_custody(pid, business.address, ledger.now() + 60)
    with reverts("BatteryPassportRegistryCustodyOfferPending", pid, business.address):
        issuer.client.offer_custody(pid, recycler.address, ledger.now() + 60)


def test_expired_offer_cannot_be_accepted(ledger: ChainBackend, issuer: Actor, business: Actor) -> None:
    pid = issue(issuer)
    expires = ledger.now() + 30
    issuer.client.offer_custody(pid, business.address, expires)
    ledger.advance_time(120)
    with reverts("BatteryPassportRegistryCustodyOfferExpired", pid, expires):
        business.client.accept_custody(pid)
    issuer.client.cancel_custody_offer(pid)  # the custodian can clear it and offer again
    issuer.client.offer_custody(pid, business.address, ledger.now() + 3600)
    business.client.accept_custody(pid)


def test_only_active_registered_businesses_take_custody(
    ledger: ChainBackend, registry_admin: Actor, issuer: Actor, business: Actor, stranger: Actor
) -> None:
    pid = issue(issuer)
    with reverts("BusinessRegistryUnknownBusiness", stranger.address):
        issuer.client.offer_custody(pid, stranger.address, ledger.now() + 60)
    registry_admin.client.suspend_business(business.address)
    with reverts("BusinessRegistrySuspendedBusiness", business.address):
        issuer.client.offer_custody(pid, business.address, ledger.now() + 60)
    registry_admin.client.reinstate_business(business.address)
    issuer.client.offer_custody(pid, business.address, ledger.now() + 60)
    registry_admin.client.suspend_business(business.address)  # suspended while the offer is pending
    with reverts("BusinessRegistrySuspendedBusiness", business.address):
        business.client.accept_custody(pid)


def test_closing_a_passport_withdraws_its_offer(
    ledger: ChainBackend, issuer: Actor, repurposer: Actor, business: Actor
) -> None:
    pid = issue(issuer)
    issuer.client.offer_custody(pid, repurposer.address, ledger.now() + 60)
    repurposer.client.accept_custody(pid)
    repurposer.client.offer_custody(pid, business.address, ledger.now() + 60)
    new = passport_id("second-life")
    sig = repurposer.sign(new, BATTERY, 1, S.REPURPOSED, digest("n1"), pid)
    receipt = repurposer.client.issue_successor(pid, new, BATTERY, S.REPURPOSED, digest("n1"), sig)
    assert only_event(receipt, "CustodyOfferCancelled") == {
        "passportId": pid,
        "from": repurposer.address,
        "to": business.address,
    }
    assert repurposer.client.get_custody_offer(pid) is None
    with reverts("BatteryPassportRegistryPassportClosed", pid):
        business.client.accept_custody(pid)


def test_custody_chain_is_reconstructable_from_events(
    ledger: ChainBackend, issuer: Actor, business: Actor, repurposer: Actor, recycler: Actor
) -> None:
    start = issuer.client.block_number() + 1
    pid = issue(issuer)
    chain = [issuer, business, repurposer, business, recycler]
    for sender, receiver in itertools.pairwise(chain):
        sender.client.offer_custody(pid, receiver.address, ledger.now() + 60)
        receiver.client.accept_custody(pid)
    transfers = issuer.client.events(start, issuer.client.block_number(), ["CustodyTransferred"])
    assert [e.args["passportId"] for e in transfers] == [pid] * 4
    custodians = [transfers[0].args["from"]] + [e.args["to"] for e in transfers]
    assert custodians == [a.address for a in chain]
    assert all(a.args["to"] == b.args["from"] for a, b in itertools.pairwise(transfers))
    record = issuer.client.get_passport(pid)
    assert record is not None
    assert record.custodian == custodians[-1]
