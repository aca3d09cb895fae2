"""A market over a real ledger, store, key ring and version log (shared by the market and report tests).

The passport is a ``devtools.samples`` pack: evaluated (grade A, SoH 96 %) on ``DEFAULT_AS_OF`` and
inspected before distribution two days later, so it may be listed from then on for 180 days.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from devtools.samples import DEFAULT_AS_OF, sample_passport
from passport.envelope import KeyRing
from passport.ids import passport_id_bytes32
from passport.market import LedgerPassportSource, Market, MarketBook, Party, custody_from_events
from passport.model import BatteryPassport
from passport.service import PassportService, VersionLog
from passport.signing import PassportDomain
from passport.store import EmbeddedStore
from tests.chain_backends import Actor, ChainBackend

LISTED_AT = DEFAULT_AS_OF + timedelta(days=10)


@dataclass
class Clock:
    now: datetime = LISTED_AT

    def __call__(self) -> datetime:
        return self.now


@dataclass
class MarketWorld:
    ledger: ChainBackend
    store: EmbeddedStore
    issuer: PassportService
    market: Market
    clock: Clock
    names: dict[str, str] = field(default_factory=dict)

    def party(self, actor: Actor) -> Party:
        return Party(actor.client, actor.key)

    def service(self, actor: Actor) -> PassportService:
        return self.issuer.acting_as(actor.key)

    def hand_over(self, pid: uuid.UUID, frm: Actor, to: Actor) -> None:
        pid32 = passport_id_bytes32(pid)
        frm.client.offer_custody(pid32, to.address, self.ledger.now() + 3600)
        to.client.accept_custody(pid32)

    def issue_held_by(
        self, holder: Actor, label: str = "0001", **changes: object
    ) -> tuple[uuid.UUID, BatteryPassport]:
        """Issue a sample passport (with ``changes`` applied) and hand it to ``holder``."""
        pid = uuid.uuid5(uuid.NAMESPACE_URL, f"market-test/{label}")
        doc = sample_passport(f"KR-MKT-{label}", passport_id=pid)
        if changes:
            doc = doc.model_copy(update=changes)
        self.issuer.issue(doc)
        self.hand_over(pid, self.ledger.actors["issuer"], holder)
        return pid, doc


def build_world(ledger: ChainBackend, tmp_path: Path, *, min_group_size: int = 1) -> MarketWorld:
    actors = ledger.actors
    issuer = actors["issuer"]
    store = EmbeddedStore(tmp_path / "store", durable=False)
    service = PassportService(
        issuer.client,
        store,
        KeyRing(tmp_path / "keys"),
        versions=VersionLog(tmp_path / "versions.sqlite3"),
        trusted_issuers=[actors[n].address for n in ("issuer", "inspector", "repurposer", "recycler")],
        signer_key=issuer.key,
    )
    names = {actor.address: name for name, actor in actors.items()}
    clock = Clock()
    reader = actors["admin"].client
    market = Market(
        MarketBook(tmp_path / "market.sqlite3"),
        LedgerPassportSource(service, custody_from_events(reader, ledger.deploy_block, names.get)),
        reader,
        store,
        PassportDomain(reader.chain_id, reader.registry_address),
        min_group_size=min_group_size,
        clock=clock,
        chain_time=lambda: ledger.now() + 15,
    )
    return MarketWorld(ledger, store, service, market, clock, names)
