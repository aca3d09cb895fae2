"""A Hypothesis state machine over lots, credits and usage claims (eth-tester), against a plain model.

Each rule predicts from the model whether the contract must accept the write and asserts it agrees (a
refusal must be a named custom error). Invariants after every step: every balance equals the model's
(so none is negative and none moved twice); per metal and origin, certified = held + retired (no gram
minted, transferred or retired twice); a retired gram returns only through a rejected claim; every
feedstock passport fed at most one lot.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from passport.chain.material_ledger import DEFAULT_MAX_RECOVERY_BPS, ClaimStatus, LotStatus, Metal
from passport.errors import ContractRevert
from tests.chain_backends import ChainBackend, digest
from tests.contracts.material_world import MaterialWorld, material_world, waste_in_custody

HOLDERS = ("recycler", "cellmaker", "stranger")
POOL = 6
FEED = (1_000, 1_000, 1_000, 1_000)
grams = st.integers(min_value=0, max_value=1_000)
# Two metals keep the per-step reads (and so CI time) down; the contract treats all four alike.
METALS = (Metal.COBALT, Metal.NICKEL)
amounts = st.tuples(grams, st.just(0), grams, st.just(0))
Key = tuple[str, Metal, bool]


@pytest.fixture(scope="module")
def pool(eth_tester_backend: ChainBackend) -> Iterator[tuple[MaterialWorld, list[bytes], bytes]]:
    world = material_world(eth_tester_backend)
    with eth_tester_backend.isolated():
        passports = [waste_in_custody(eth_tester_backend, f"sm-{i}") for i in range(POOL)]
        passports.append(waste_in_custody(eth_tester_backend, "sm-elsewhere", holder="business"))
        yield world, passports, eth_tester_backend.snapshot()


def make_machine(
    backend: ChainBackend, world: MaterialWorld, passports: list[bytes]
) -> type[RuleBasedStateMachine]:
    class MaterialMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.snapshot = backend.snapshot()
            self.used: dict[bytes, bytes] = {}
            self.lots: dict[bytes, tuple[LotStatus, bool, tuple[int, ...]]] = {}
            self.claims: dict[bytes, tuple[ClaimStatus, str, tuple[int, ...], tuple[int, ...]]] = {}
            self.balances: dict[Key, int] = {}
            self.certified: dict[tuple[Metal, bool], int] = {}
            self.retired: dict[tuple[Metal, bool], int] = {}
            self.counter = 0
            self.checked_lots = -1

        def teardown(self) -> None:
            backend.revert(self.snapshot)

        def attempt(self, allowed: bool, write: object) -> bool:
            refused: ContractRevert | None = None
            try:
                write()  # type: ignore[operator]
            except ContractRevert as exc:
                refused = exc
            assert (refused is None) == allowed, f"allowed={allowed}, got {refused}"
            if refused is not None:
                assert refused.error.startswith(("RecycledMaterialLedger", "AccessControl")), refused.error
            return refused is None

        def new_id(self, kind: str) -> bytes:
            self.counter += 1
            return digest(f"sm-{kind}-{self.counter}")

        # -- rules ----------------------------------------------------------------------------------------
        @rule(
            picks=st.lists(st.integers(0, len(passports) - 1), max_size=3),
            post=st.booleans(),
            recovered=amounts,
            actor=st.sampled_from(["recycler", "recycler", "stranger"]),
        )
        def record_lot(
            self, picks: list[int], post: bool, recovered: tuple[int, int, int, int], actor: str
        ) -> None:
            feedstock = [passports[i] for i in picks]
            feed = tuple(f * max(len(feedstock), 1) for f in FEED)
            allowed = (
                actor == "recycler"
                and post == bool(feedstock)
                and all(
                    r * 10_000 <= f * cap
                    for r, f, cap in zip(recovered, feed, DEFAULT_MAX_RECOVERY_BPS, strict=True)
                )
                and any(recovered)
                and len(set(feedstock)) == len(feedstock)
                and not any(p in self.used for p in feedstock)
                and passports[-1] not in feedstock  # in another business's custody
            )
            lot = self.new_id("lot")
            ok = self.attempt(
                allowed,
                lambda: world[actor].record_lot(
                    lot,
                    post_consumer=post,
                    feedstock=feedstock,
                    feedstock_grams=feed,  # type: ignore[arg-type]
                    recovered_grams=recovered,
                    document_digest=digest(lot),
                ),
            )
            if ok:
                self.lots[lot] = (LotStatus.RECORDED, post, recovered)
                self.used.update(dict.fromkeys(feedstock, lot))

        @rule(index=st.integers(0, 50), actor=st.sampled_from(["certifier", "certifier", "recycler"]))
        def certify_lot(self, index: int, actor: str) -> None:
            if not self.lots:
                return
            lot = sorted(self.lots)[index % len(self.lots)]
            status, post, recovered = self.lots[lot]
            if self.attempt(
                actor == "certifier" and status is LotStatus.RECORDED,
                lambda: world[actor].certify_lot(lot, digest(b"cert" + lot)),
            ):
                self.lots[lot] = (LotStatus.CERTIFIED, post, recovered)
                for metal, amount in zip(Metal, recovered, strict=True):
                    key = ("recycler", metal, post)
                    self.balances[key] = self.balances.get(key, 0) + amount
                    self.certified[(metal, post)] = self.certified.get((metal, post), 0) + amount

        @rule(
            sender=st.sampled_from(HOLDERS),
            to=st.sampled_from(HOLDERS),
            metal=st.sampled_from(METALS),
            post=st.booleans(),
            amount=st.integers(0, 3_000),
        )
        def transfer(self, sender: str, to: str, metal: Metal, post: bool, amount: int) -> None:
            held = self.balances.get((sender, metal, post), 0)
            allowed = sender != to and 0 < amount <= held
            to_address = world[to].account
            if self.attempt(
                allowed, lambda: world[sender].transfer_credits(to_address, metal, amount, post_consumer=post)
            ):
                self.balances[(sender, metal, post)] = held - amount
                self.balances[(to, metal, post)] = self.balances.get((to, metal, post), 0) + amount

        @rule(
            holder=st.sampled_from(HOLDERS),
            pre=st.tuples(grams, grams, grams, grams),
            post=st.tuples(grams, grams, grams, grams),
        )
        def submit_claim(
            self, holder: str, pre: tuple[int, int, int, int], post: tuple[int, int, int, int]
        ) -> None:
            allowed = any(pre) or any(post)
            for metal in Metal:
                allowed = allowed and pre[metal] <= self.balances.get((holder, metal, False), 0)
                allowed = allowed and post[metal] <= self.balances.get((holder, metal, True), 0)
            claim = self.new_id("claim")
            if self.attempt(
                allowed, lambda: world[holder].submit_usage_claim(claim, digest(claim), pre, post)
            ):
                self.claims[claim] = (ClaimStatus.SUBMITTED, holder, pre, post)
                for metal in Metal:
                    for origin, amounts in ((False, pre), (True, post)):
                        self.balances[(holder, metal, origin)] -= amounts[metal]
                        self.retired[(metal, origin)] = self.retired.get((metal, origin), 0) + amounts[metal]

        @rule(index=st.integers(0, 50), reject=st.booleans())
        def decide_claim(self, index: int, reject: bool) -> None:
            if not self.claims:
                return
            claim = sorted(self.claims)[index % len(self.claims)]
            status, holder, pre, post = self.claims[claim]
            certifier = world["certifier"]
            write = certifier.reject_usage_claim if reject else certifier.certify_usage
            if self.attempt(
                status is ClaimStatus.SUBMITTED, lambda: write(claim, digest(b"decision" + claim))
            ):
                self.claims[claim] = (
                    ClaimStatus.REJECTED if reject else ClaimStatus.CERTIFIED,
                    holder,
                    pre,
                    post,
                )
                if reject:
                    for metal in Metal:
                        for origin, amounts in ((False, pre), (True, post)):
                            self.balances[(holder, metal, origin)] += amounts[metal]
                            self.retired[(metal, origin)] -= amounts[metal]

        # -- invariants --------------------------------------------------------------------------------------
        @invariant()
        def balances_match_and_conserve(self) -> None:
            reader = world["stranger"]
            for metal in METALS:
                for post in (False, True):
                    held = 0
                    for holder in HOLDERS:
                        on_chain = reader.credit_balance(world[holder].account, metal, post_consumer=post)
                        assert on_chain == self.balances.get((holder, metal, post), 0) >= 0
                        held += on_chain
                    certified, retired = reader.credit_totals(metal, post_consumer=post)
                    assert certified == self.certified.get((metal, post), 0)
                    assert retired == self.retired.get((metal, post), 0)
                    assert certified == held + retired, "a gram was created, moved or retired twice"

        @invariant()
        def feedstock_feeds_once(self) -> None:
            if len(self.lots) == self.checked_lots:
                return
            self.checked_lots = len(self.lots)
            reader = world["stranger"]
            for passport in passports:
                assert reader.feedstock_lot(passport) == self.used.get(passport)

        @invariant()
        def claims_match(self) -> None:
            for claim, (status, _, pre, post) in list(self.claims.items())[-2:]:
                record = world["stranger"].get_claim(claim)
                assert record is not None
                assert (record.status, record.pre_consumer_grams, record.post_consumer_grams) == (
                    status,
                    pre,
                    post,
                )

    return MaterialMachine


@pytest.mark.slow
def test_material_ledger_state_machine(
    eth_tester_backend: ChainBackend, pool: tuple[MaterialWorld, list[bytes], bytes]
) -> None:
    world, passports, _ = pool
    run_state_machine_as_test(
        make_machine(eth_tester_backend, world, passports),
        # Sized for CI (each step is several eth-tester transactions): 4 x 12 took 20 s on a quiet
        # 2-core machine, so this is about a minute there and several under load.
        settings=settings(
            max_examples=8,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
