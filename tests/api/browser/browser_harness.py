"""The browser suite's harness: which Chromium, which page sources, what a test gets to hold.

Kept out of ``conftest.py`` so test modules import it by a unique name (``conftest`` is not one).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest
from fastapi import FastAPI
from playwright.sync_api import Page, ViewportSize

from api.app import create_app
from api.auth import ApiRole, Caller
from devtools.samples import sample_passport
from passport.model import AccessTier
from passport.service import SECTIONS_CHECK
from passport.settings import Settings
from passport.store import EmbeddedStore
from tests.api.api_stack import build_services, new_battery_id
from tests.api.web_page_fakes import PASSPORT_ID, FixedPageSource, owner_caller, sample_view
from tests.chain_backends import running_backend

CHROMIUM = Path(os.environ.get("PASSPORT_TEST_CHROMIUM", "/usr/bin/chromium"))
# Without the networking flags Chromium keeps dialling Google services that this closed network refuses;
# --no-sandbox because CI runs as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PHONE: ViewportSize = {"width": 390, "height": 844}


class PageScenario(Protocol):
    """A passport the page can show, served by some ``PassportPageSource``, and a way to tamper with it.

    ``tamper`` changes the passport's stored data behind the ledger's back and returns the name of the
    verification check that must fail because of it. ``owner`` is a caller who may see the battery's
    restricted health history (the passport must have some).
    """

    passport_id: str

    def build_app(self, settings: Settings) -> FastAPI: ...

    def owner(self) -> Caller: ...

    def tamper(self) -> str: ...

    def close(self) -> None:
        """Release what the scenario started (nodes, files); called once its test is done."""
        ...


class FixedViewsScenario:
    """The page against fixed views: ``tamper`` swaps in the report verification gives after tampering."""

    passport_id = PASSPORT_ID

    def __init__(self) -> None:
        self.source = FixedPageSource(sample_view(PASSPORT_ID))

    def build_app(self, settings: Settings) -> FastAPI:
        return create_app(settings, page_source=self.source)

    def owner(self) -> Caller:
        return owner_caller()

    def tamper(self) -> str:
        return self.source.tamper(self.passport_id)

    def close(self) -> None:
        """Nothing to release: the views live in memory."""


class LedgerScenario:
    """The page against the real ledger: the application's own ``LedgerPageSource`` over ``Services``
    on anvil (built as ``tests/api/api_stack.py`` builds them), showing a passport issued for real.

    ``tamper`` rewrites the bytes of the passport's stored public section in the embedded store, as
    someone with access to the store's disk could. The manifest is intact, so verification (served from
    the read model, which re-hashes the stored content on every request) reports the failed
    ``store.sections`` check: a stored section no longer hashes to the manifest's digest.
    """

    def __init__(self) -> None:
        self._cleanup = ExitStack()
        try:
            run_dir = Path(tempfile.mkdtemp(prefix="browser-ledger-"))
            self._cleanup.callback(shutil.rmtree, run_dir, ignore_errors=True)
            backend = self._cleanup.enter_context(running_backend("anvil", run_dir / "anvil"))
            self.services = build_services(backend, run_dir / "data")
            self._cleanup.callback(self.services.close)
            issuer = self.services.api_keys.participant("issuer")
            assert issuer is not None
            self.battery_id = new_battery_id()
            # The sample passport carries performance evaluations: the owner's health chart has points.
            issued = self.services.passports_for(issuer).issue(sample_passport(self.battery_id))
        except BaseException:
            self._cleanup.close()
            raise
        self.passport_id = str(issued.passport_id)
        self._public_cid = issued.section_cids[AccessTier.PUBLIC]

    def build_app(self, settings: Settings) -> FastAPI:
        # The browser's settings (public base URL = the live server) with the scenario's services.
        return create_app(settings, services=self.services)

    def owner(self) -> Caller:
        return self.services.api_keys.upsert_participant(
            "browser-owner", [ApiRole.OWNER], battery_ids=[self.battery_id]
        )

    def tamper(self) -> str:
        store = self.services.store
        assert isinstance(store, EmbeddedStore)
        # The store's documented layout (content/<next-to-last two characters of the CID>/<CID>).
        path = store.root / "content" / self._public_cid[-3:-1] / self._public_cid
        section = json.loads(path.read_bytes())
        section["data"]["general"]["battery_id"] = "FORGED-0001"
        path.write_bytes(json.dumps(section).encode())
        return SECTIONS_CHECK

    def close(self) -> None:
        self._cleanup.close()


# One entry per source; every browser test runs against each of them unchanged.
SCENARIOS: dict[str, Callable[[], PageScenario]] = {
    "fixed-views": FixedViewsScenario,
    "ledger": LedgerScenario,
}
# What a scenario needs beyond Chromium: the ledger runs on anvil (node_modules).
SCENARIO_MARKS: dict[str, tuple[pytest.MarkDecorator, ...]] = {"ledger": (pytest.mark.node,)}


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    app: FastAPI


@dataclass(frozen=True)
class Phone:
    page: Page
    # Script errors and console errors (CSP violations are reported there), for tests to assert none.
    errors: list[str]
