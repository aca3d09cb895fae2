"""Writes are pre-flighted (a doomed transaction is never sent) and time limits are measured from when
the transaction will be mined, not from the latest block (stale while an instamine node idles)."""

from __future__ import annotations

import time

import pytest

from passport.chain import chain_now
from passport.errors import ContractRevert
from tests.chain_backends import Actor, ChainBackend, reverts
from tests.contracts.test_custody import issue


def _sent(ledger: ChainBackend, actor: Actor) -> int:
    return int(ledger.w3.eth.get_transaction_count(actor.address, "pending"))


def test_offer_measured_from_chain_now_survives_an_idle_chain(
    ledger: ChainBackend, issuer: Actor, business: Actor
) -> None:
    pid = issue(issuer)
    time.sleep(3)  # the node idles: its latest block is now 3 s old
    issuer.client.offer_custody(pid, business.address, chain_now(issuer.client) + 2)
    offer = issuer.client.get_custody_offer(pid)
    assert offer is not None
    assert offer.to_address == business.address


# Only anvil shows an unmined evm_increaseTime offset (in its pending block); ganache and eth-tester
# move their clock only when a block is mined, so the case does not exist there.
@pytest.mark.node
@pytest.mark.parametrize("chain_backend", ["anvil"], indirect=True)
def test_next_block_time_sees_a_dev_node_time_offset(
    ledger: ChainBackend, issuer: Actor, business: Actor
) -> None:
    pid = issue(issuer)
    ledger.w3.provider.make_request("evm_increaseTime", [600])  # type: ignore[arg-type]
    assert chain_now(issuer.client) >= ledger.now() + 599  # the latest block lags by the offset
    issuer.client.offer_custody(pid, business.address, chain_now(issuer.client) + 60)
    assert issuer.client.get_custody_offer(pid) is not None


def test_doomed_write_raises_the_named_revert_and_sends_nothing(
    ledger: ChainBackend, issuer: Actor, business: Actor
) -> None:
    pid = issue(issuer)
    before = _sent(ledger, issuer)
    with reverts("BatteryPassportRegistryInvalidCustodyOffer", pid, issuer.address, ledger.now() + 60):
        issuer.client.offer_custody(pid, issuer.address, ledger.now() + 60)
    assert _sent(ledger, issuer) == before


def test_write_doomed_only_by_the_next_block_time_is_not_sent(
    ledger: ChainBackend, issuer: Actor, business: Actor
) -> None:
    """The latest block says the offer is valid; the block that would mine it says it has expired."""
    pid = issue(issuer)
    stale = ledger.now()
    if ledger.name == "eth-tester":
        ledger.tester.time_travel(stale + 600)
    else:
        ledger.w3.provider.make_request("evm_increaseTime", [600])  # type: ignore[arg-type]
    before = _sent(ledger, issuer)
    with pytest.raises(ContractRevert) as info:
        issuer.client.offer_custody(pid, business.address, stale + 60)
    assert info.value.error == "BatteryPassportRegistryInvalidCustodyOffer"
    if ledger.name != "ganache":  # ganache's pending state keeps the stale time: it is sent, then named
        assert _sent(ledger, issuer) == before
