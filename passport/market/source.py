"""Where the market reads passports from: the verified passport, and its custody history.

``LedgerPassportSource`` verifies the passport (``PassportService.verify``: signature, anchor,
on-chain digest, stored sections) before building a summary; a passport that fails any check cannot be
listed, because a disclosure built from unverified data would not be a disclosure.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from passport.chain.records import LedgerEvent, PassportRecord
from passport.ids import passport_id_bytes32
from passport.market.errors import MarketError
from passport.market.summary import CustodyStep, ListingSummary, build_summary
from passport.model import AccessTier, BatteryPassport
from passport.service import PassportService
from passport.verify import VerificationReport


class PassportUnverified(MarketError):
    """Raised when a passport fails verification, so nothing can be disclosed from it."""


class PassportSource(Protocol):
    """The verified passport and its summary."""

    def verified(
        self, passport_id: uuid.UUID
    ) -> tuple[BatteryPassport, PassportRecord, VerificationReport]: ...

    def summary(self, passport_id: uuid.UUID, now: datetime) -> ListingSummary: ...


@runtime_checkable
class PassportEvents(Protocol):
    """The chain client's per-passport event query (``Web3ChainClient.passport_events``)."""

    def passport_events(
        self, passport_id: bytes, from_block: int, to_block: int, names: Sequence[str]
    ) -> list[LedgerEvent]: ...

    def block_number(self) -> int: ...


def custody_from_events(
    chain: PassportEvents, from_block: int, names: Callable[[str], str | None] = lambda _a: None
) -> Callable[[uuid.UUID], list[CustodyStep]]:
    """A custody-history reader over the registry's ``CustodyTransferred`` events."""

    def history(passport_id: uuid.UUID) -> list[CustodyStep]:
        events = chain.passport_events(
            passport_id_bytes32(passport_id), from_block, chain.block_number(), ["CustodyTransferred"]
        )
        return [
            CustodyStep(
                from_address=str(e.args["from"]),
                to_address=str(e.args["to"]),
                block_number=e.block_number,
                from_name=names(str(e.args["from"])),
                to_name=names(str(e.args["to"])),
            )
            for e in events
        ]

    return history


class LedgerPassportSource:
    """Passports read (every tier: the service holds the keys) and verified through a ``PassportService``."""

    def __init__(self, passports: PassportService, custody: Callable[[uuid.UUID], list[CustodyStep]]) -> None:
        self._passports = passports
        self._custody = custody

    def verified(self, passport_id: uuid.UUID) -> tuple[BatteryPassport, PassportRecord, VerificationReport]:
        report = self._passports.verify(passport_id)
        if not report.ok:
            failed = ", ".join(f"{c.name} ({c.reason})" for c in report.failed())
            raise PassportUnverified(f"passport {passport_id} failed verification: {failed}")
        fetched = self._passports.fetch(passport_id, frozenset(AccessTier))
        return fetched.view.to_passport(), fetched.record, report

    def summary(self, passport_id: uuid.UUID, now: datetime) -> ListingSummary:
        passport, record, report = self.verified(passport_id)
        return build_summary(
            passport,
            version=record.version,
            manifest_digest=record.manifest_digest,
            status=record.status.name,
            custody=self._custody(passport_id),
            verified_checks=len(report.checks),
            now=now,
        )
