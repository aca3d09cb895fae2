"""Custody offers over HTTP while the chain idles: the offer is measured from when it will be mined, and
a doomed write is a named 409 with no transaction sent (anvil: its clock runs ahead of its latest block
after ``evm_increaseTime``, exactly as an idle instamine node's does)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.api_stack import ApiStack, api_stack

pytestmark = pytest.mark.node


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiStack]:
    with api_stack(tmp_path_factory.mktemp("api-custody-time")) as running:
        yield running


def _idle(stack: ApiStack, seconds: int) -> None:
    """Advance the node's clock without mining: the latest block's timestamp now lags by ``seconds``."""
    stack.backend.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]


def _sent(stack: ApiStack, who: str) -> int:
    return int(stack.backend.w3.eth.get_transaction_count(stack.address(who), "pending"))


def test_sixty_second_offer_after_an_idle_spell_is_accepted(stack: ApiStack) -> None:
    pid = str(stack.issue().passport_id)
    _idle(stack, 600)
    offer = stack.call(
        "POST",
        f"/passports/{pid}/custody/offer",
        "issuer",
        json={"to": stack.address("business"), "expires_in_seconds": 60},
    )
    assert offer.status_code == 201, offer.text
    mined_at = stack.backend.w3.eth.get_block(offer.json()["block_number"])["timestamp"]
    assert offer.json()["offer"]["expires_at"] >= mined_at + 59
    accept = stack.call("POST", f"/passports/{pid}/custody/accept", "business")
    assert accept.status_code == 200, accept.text


def test_accepting_an_expired_offer_is_a_named_409_and_sends_nothing(stack: ApiStack) -> None:
    pid = str(stack.issue().passport_id)
    offer = stack.call(
        "POST",
        f"/passports/{pid}/custody/offer",
        "issuer",
        json={"to": stack.address("business"), "expires_in_seconds": 60},
    )
    assert offer.status_code == 201, offer.text
    _idle(stack, 120)
    before = _sent(stack, "business")
    accept = stack.call("POST", f"/passports/{pid}/custody/accept", "business")
    assert accept.status_code == 409, accept.text
    assert accept.headers["content-type"].startswith("application/problem+json")
    assert accept.json()["ledger_error"] == "BatteryPassportRegistryCustodyOfferExpired"
    assert _sent(stack, "business") == before
