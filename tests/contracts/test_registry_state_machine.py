"""A Hypothesis state machine over the registry lifecycle (eth-tester), checked against a plain model.

Each rule predicts from the model whether the contract must accept the write, then asserts the contract
agrees (a refused write must name a custom error). Invariants after every step: the on-chain state matches
the model, the custody chain rebuilt from events ends at the current custodian, status only moves
forward, versions only grow, recycled passports never change, and no root is anchored twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from passport.chain import PassportRecord
from passport.errors import ContractRevert
from passport.ids import ZERO32
from passport.model import AnchorKind, InspectionKind
from passport.model import LifecycleStatus as S
from tests.chain_backends import Actor, ChainBackend, digest, passport_id

BATTERY = digest("sm-battery")
# Status can only move forward through these ranks (ReUsed/Repurposed/Remanufactured are second lives).
RANK = {S.ORIGINAL: 0, S.REUSED: 1, S.REPURPOSED: 1, S.REMANUFACTURED: 1, S.WASTE: 2, S.RECYCLED: 3}
ACTORS = ("issuer", "business", "repurposer", "recycler", "stranger")
BUSINESSES = {"business", "repurposer", "recycler", "issuer2"}


@dataclass
class Model:
    issuer: str
    custodian: str
    status: S
    version: int = 1
    predecessor: bytes = ZERO32
    successor: bytes = ZERO32
    offer_to: str | None = None
    flagged: bool = False  # an open serious incident
    cleared: bool = False  # a passed pre-distribution inspection, valid for the machine's whole run

    @property
    def closed(self) -> bool:
        return self.successor != ZERO32 or self.status is S.RECYCLED

    def may_pass_to(self, name: str) -> bool:
        """The safety gate: recyclers always; others unless flagged, and for used batteries if cleared."""
        return name == "recycler" or (not self.flagged and (self.status is S.ORIGINAL or self.cleared))


@dataclass
class History:
    ranks: dict[bytes, int] = field(default_factory=dict)
    versions: dict[bytes, int] = field(default_factory=dict)
    recycled: dict[bytes, PassportRecord] = field(default_factory=dict)


def make_machine(backend: ChainBackend) -> type[RuleBasedStateMachine]:
    actors: dict[str, Actor] = backend.actors

    class RegistryMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.snapshot = backend.snapshot()
            self.start_block = backend.w3.eth.block_number + 1
            self.passports: dict[bytes, Model] = {}
            self.roots: set[bytes] = set()
            self.history = History()
            self.counter = 0

        def teardown(self) -> None:
            backend.revert(self.snapshot)

        # -- helpers --------------------------------------------------------------------------------
        def pick(self, index: int) -> bytes | None:
            ids = sorted(self.passports)
            return ids[index % len(ids)] if ids else None

        def attempt(self, allowed: bool, write: object) -> bool:
            """Run ``write``; it must succeed iff ``allowed``, and a refusal must be a named revert."""
            refused: ContractRevert | None = None
            try:
                write()  # type: ignore[operator]
            except ContractRevert as exc:
                refused = exc
            if refused is not None:
                assert not allowed, f"refused a legal write: {refused.error}{refused.error_args}"
                assert refused.error
                return False
            assert allowed, "accepted an illegal write"
            return True

        # -- rules ----------------------------------------------------------------------------------
        @rule()
        def issue(self) -> None:
            self.counter += 1
            pid = passport_id(f"sm-{self.counter}")
            a = actors["issuer"]
            sig = a.sign(pid, BATTERY, 1, S.ORIGINAL, digest(pid))
            a.client.issue_passport(pid, BATTERY, digest(pid), sig)
            self.passports[pid] = Model(a.address, a.address, S.ORIGINAL)

        @rule(index=st.integers(0, 9), who=st.sampled_from((*ACTORS, "inspector")))
        def update(self, index: int, who: str) -> None:
            pid = self.pick(index)
            if pid is None:
                return
            m, a = self.passports[pid], actors[who]
            allowed = not m.closed and (a.address in (m.issuer, m.custodian) or who == "inspector")
            new = digest(f"{pid.hex()}-{m.version + 1}")
            sig = a.sign(pid, BATTERY, m.version + 1, m.status, new, m.predecessor)
            if self.attempt(allowed, lambda: a.client.update_passport(pid, new, sig)):
                m.version += 1

        @rule(index=st.integers(0, 9), to=st.sampled_from((S.REUSED, S.WASTE, S.ORIGINAL, S.RECYCLED)))
        def change_status(self, index: int, to: S) -> None:
            pid = self.pick(index)
            if pid is None:
                return
            m = self.passports[pid]
            a = next(actors[n] for n in ACTORS if actors[n].address == m.custodian)
            legal = (to is S.REUSED and m.status is S.ORIGINAL and not m.flagged) or (
                to is S.WASTE and m.status is not S.WASTE
            )
            new = digest(f"{pid.hex()}-{m.version + 1}")
            sig = a.sign(pid, BATTERY, m.version + 1, to, new, m.predecessor)
            if self.attempt(legal and not m.closed, lambda: a.client.change_status(pid, to, new, sig)):
                m.version, m.status = m.version + 1, to

        @rule(index=st.integers(0, 9), to=st.sampled_from(ACTORS), lapse=st.booleans())
        def offer(self, index: int, to: str, lapse: bool) -> None:
            pid = self.pick(index)
            if pid is None:
                return
            m = self.passports[pid]
            a = next(actors[n] for n in ACTORS if actors[n].address == m.custodian)
            target = actors[to].address
            allowed = (
                not m.closed
                and m.offer_to is None
                and target != m.custodian
                and to in BUSINESSES
                and m.may_pass_to(to)
            )
            expires = backend.now() + (30 if lapse else 3600)
            if self.attempt(allowed, lambda: a.client.offer_custody(pid, target, expires)):
                m.offer_to = target
                if lapse:
                    backend.advance_time(60)  # the offer is now expired and must be refused

        @rule(index=st.integers(0, 9), who=st.sampled_from(ACTORS))
        def accept(self, index: int, who: str) -> None:
            pid = self.pick(index)
            if pid is None:
                return
            m, a = self.passports[pid], actors[who]
            offer = a.client.get_custody_offer(pid)
            # Offers are made either an hour ahead or already lapsed: no race with the next block's time.
            unexpired = offer is not None and offer.expires_at > backend.now() + 10
            allowed = not m.closed and m.offer_to == a.address and unexpired and m.may_pass_to(who)
            if self.attempt(allowed, lambda: a.client.accept_custody(pid)):
                m.custodian, m.offer_to = a.address, None

        @rule(index=st.integers(0, 9))
        def cancel(self, index: int) -> None:
            pid = self.pick(index)
            if pid is None:
                return
            m = self.passports[pid]
            a = next(actors[n] for n in ACTORS if actors[n].address == m.custodian)
            if self.attempt(
                not m.closed and m.offer_to is not None, lambda: a.client.cancel_custody_offer(pid)
            ):
                m.offer_to = None

        @rule(index=st.integers(0, 9), status=st.sampled_from((S.REPURPOSED, S.REMANUFACTURED, S.REUSED)))
        def successor(self, index: int, status: S) -> None:
            old = self.pick(index)
            if old is None:
                return
            m = self.passports[old]
            a = actors["repurposer"]
            self.counter += 1
            new = passport_id(f"sm-{self.counter}")
            allowed = not m.closed and m.custodian == a.address and status is not S.REUSED and not m.flagged
            sig = a.sign(new, BATTERY, 1, status, digest(new), old)
            if self.attempt(
                allowed, lambda: a.client.issue_successor(old, new, BATTERY, status, digest(new), sig)
            ):
                m.successor, m.offer_to = new, None
                self.passports[new] = Model(a.address, a.address, status, predecessor=old)

        @rule(index=st.integers(0, 9))
        def recycle(self, index: int) -> None:
            pid = self.pick(index)
            if pid is None:
                return
            m, a = self.passports[pid], actors["recycler"]
            allowed = not m.closed and m.custodian == a.address and m.status is S.WASTE
            new = digest(f"{pid.hex()}-{m.version + 1}")
            sig = a.sign(pid, BATTERY, m.version + 1, S.RECYCLED, new, m.predecessor)
            if self.attempt(allowed, lambda: a.client.recycle(pid, new, sig)):
                m.version, m.status, m.offer_to = m.version + 1, S.RECYCLED, None

        @rule(index=st.integers(0, 9), kind=st.sampled_from(InspectionKind), passed=st.booleans())
        def inspect(self, index: int, kind: InspectionKind, passed: bool) -> None:
            pid = self.pick(index)
            if pid is None:
                return
            m, a = self.passports[pid], actors["inspector"]
            new = digest(f"{pid.hex()}-{m.version + 1}")
            sig = a.sign(pid, BATTERY, m.version + 1, m.status, new, m.predecessor)
            until = backend.now() + 30 * 24 * 3600 if passed else 0
            if self.attempt(
                not m.closed, lambda: a.client.record_inspection(pid, kind, passed, until, new, sig)
            ):
                m.version += 1
                if kind is InspectionKind.PRE_DISTRIBUTION:
                    m.cleared = passed
                elif kind is InspectionKind.CLEARANCE and passed:
                    m.flagged = False

        @rule(index=st.integers(0, 9), who=st.sampled_from((*ACTORS, "inspector")), serious=st.booleans())
        def incident(self, index: int, who: str, serious: bool) -> None:
            pid = self.pick(index)
            if pid is None:
                return
            m, a = self.passports[pid], actors[who]
            allowed = not m.closed and (a.address == m.custodian or who == "inspector")
            new = digest(f"{pid.hex()}-{m.version + 1}")
            sig = a.sign(pid, BATTERY, m.version + 1, m.status, new, m.predecessor)
            if self.attempt(allowed, lambda: a.client.record_incident(pid, serious, new, sig)):
                m.version += 1
                if serious:
                    m.flagged, m.cleared = True, False

        @rule(root=st.integers(0, 4), count=st.integers(1, 2000))
        def anchor(self, root: int, count: int) -> None:
            value = digest(f"sm-root-{root}")
            oracle = actors["oracle"].client
            allowed = value not in self.roots
            if self.attempt(
                allowed, lambda: oracle.anchor_batch(value, digest(count), count, AnchorKind.CHARGING)
            ):
                self.roots.add(value)

        # -- invariants -----------------------------------------------------------------------------
        @invariant()
        def chain_matches_model(self) -> None:
            client = actors["stranger"].client
            for pid, m in self.passports.items():
                record = client.get_passport(pid)
                assert record is not None
                assert (record.custodian, record.status, record.version, record.successor) == (
                    m.custodian,
                    m.status,
                    m.version,
                    m.successor,
                )
                offer = client.get_custody_offer(pid)
                assert (offer.to_address if offer else None) == m.offer_to
                safety = client.get_safety_state(pid)
                assert (safety.flagged, safety.distribution_valid_until > 0) == (m.flagged, m.cleared)
                assert RANK[record.status] >= self.history.ranks.get(pid, 0), "status went backwards"
                assert record.version >= self.history.versions.get(pid, 1), "version decreased"
                if pid in self.history.recycled:
                    assert record == self.history.recycled[pid], "a recycled passport changed"
                elif record.status is S.RECYCLED:
                    self.history.recycled[pid] = replace(record)
                self.history.ranks[pid] = RANK[record.status]
                self.history.versions[pid] = record.version

        @invariant()
        def event_trail(self) -> None:
            """Custody chain rebuilt from events ends at each custodian; every root is anchored once."""
            client = actors["stranger"].client
            names = ["PassportIssued", "CustodyTransferred", "BatchAnchored"]
            last: dict[bytes, str] = {}
            roots: list[bytes] = []
            for event in client.events(self.start_block, client.block_number(), names):
                if event.name == "BatchAnchored":
                    roots.append(event.args["root"])
                    continue
                pid = event.args["passportId"]
                if event.name == "PassportIssued":
                    assert pid not in last
                    last[pid] = event.args["issuer"]
                else:
                    assert last[pid] == event.args["from"], "custody transfer from a non-custodian"
                    last[pid] = event.args["to"]
            assert last == {pid: m.custodian for pid, m in self.passports.items()}
            assert len(roots) == len(set(roots)) == len(self.roots), "a root was anchored twice"

    return RegistryMachine


@pytest.mark.slow
def test_registry_lifecycle_state_machine(eth_tester_backend: ChainBackend) -> None:
    run_state_machine_as_test(
        make_machine(eth_tester_backend),
        settings=settings(
            max_examples=10,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
