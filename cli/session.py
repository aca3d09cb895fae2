"""What one ``passport`` invocation shares: the settings, read once, and the ledger opened from them.

The root callback puts a ``Session`` on the Typer context; commands take it with ``Session.of(ctx)``.
Both the settings and the ledger are built on first use, so commands that need neither (``verify
--trust …``, ``simulate``, every ``--help``) work whatever the ``PASSPORT_*`` environment holds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from cli.output import EXIT_INVALID, die, reported
from passport.ledger import Ledger, open_ledger
from passport.settings import Settings

if TYPE_CHECKING:
    from oracle.journal import Journal
    from passport.chain.protocol import ChainClient
    from passport.credentials import PassportCredentials
    from passport.service import PassportService


class Session:
    """Settings via ``Settings.load()`` and the ledger via ``open_ledger``, each built at most once."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._ledger: Ledger | None = None

    @classmethod
    def of(cls, ctx: typer.Context) -> Session:
        """The invocation's session (a fresh one when a group's app is run on its own, as in tests)."""
        return ctx.ensure_object(cls)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            with reported():
                self._settings = Settings.load()
        return self._settings

    def ledger(self) -> Ledger:
        """The deployed ledger the settings point at; a failure to open it exits (1, or 2 for settings)."""
        if self._ledger is None:
            settings = self.settings
            with reported("cannot open the ledger"):
                self._ledger = open_ledger(settings)
        return self._ledger

    def client(self, participant: str | None) -> ChainClient:
        """The chain client acting as keystore participant ``participant`` (None: a role-less reader)."""
        ledger = self.ledger()
        with reported("cannot open the ledger"):
            return ledger.client(participant)

    def passports(self, participant: str | None) -> PassportService:
        """A passport service writing as ``participant`` (None: read-only)."""
        ledger = self.ledger()
        with reported("cannot open the ledger"):
            return ledger.passports(participant)

    def credentials(self) -> PassportCredentials:
        """Credentials, DID documents and status lists of the keystore's participants."""
        ledger = self.ledger()
        with reported("cannot open the ledger"):
            return ledger.credentials()

    def journal(self) -> Journal:
        """The oracle's journal under the settings' data dir: the same one the API ingests into."""
        from oracle.journal import Journal

        settings = self.settings
        with reported("cannot open the oracle journal"):
            try:
                return Journal.open(settings)
            except OSError as exc:
                die(f"cannot open the oracle journal: {exc.strerror or exc}", EXIT_INVALID)
