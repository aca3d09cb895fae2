"""Building a ``Market`` from settings and the ledger's pieces (the API's ``Services`` and the CLI's
``Ledger`` both call ``build_market``, so the market is wired the same way everywhere)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterable

from passport.audit.records import AuditEvent
from passport.chain.clock import chain_now
from passport.chain.sales import sales_chain
from passport.market.book import MarketBook
from passport.market.service import Market
from passport.market.source import LedgerPassportSource
from passport.market.summary import CustodyStep
from passport.service import PassportService
from passport.settings import Settings
from passport.signing import PassportDomain
from passport.store.protocol import ContentStore

Names = Callable[[str], str | None]


def custody_steps(events: Iterable[AuditEvent], names: Names) -> list[CustodyStep]:
    """The custody transfers among a passport's audit-index events, with participant names."""
    return [
        CustodyStep(
            from_address=str(e.args["from"]),
            to_address=str(e.args["to"]),
            block_number=e.block_number,
            at=e.block_timestamp,
            from_name=names(str(e.args["from"])),
            to_name=names(str(e.args["to"])),
        )
        for e in events
        if e.name == "CustodyTransferred"
    ]


def build_market(
    settings: Settings,
    *,
    reader: object,
    store: ContentStore,
    passports: PassportService,
    custody: Callable[[uuid.UUID], list[CustodyStep]],
) -> Market:
    """A market over ``settings.market_db_path``; ``reader`` must be a sales-aware chain client."""
    chain = sales_chain(reader)
    return Market(
        MarketBook.from_settings(settings),
        LedgerPassportSource(passports, custody),
        chain,
        store,
        PassportDomain(passports.chain.chain_id, passports.chain.registry_address),
        min_group_size=settings.market_min_group_size,
        chain_time=lambda: chain_now(reader),
        # An intent is rolled back only long after its transaction would have timed out.
        intent_grace=max(900, 10 * math.ceil(settings.tx_timeout)),
    )
