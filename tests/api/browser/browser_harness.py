"""The browser suite's harness: which Chromium, which page sources, what a test gets to hold.

Kept out of ``conftest.py`` so test modules import it by a unique name (``conftest`` is not one).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from fastapi import FastAPI
from playwright.sync_api import Page, ViewportSize

from api.app import create_app
from api.auth import Caller
from passport.settings import Settings

# tests/ has no packages, and pytest's default import mode puts only each test file's own folder on
# sys.path; the browser suite shares the fixed-view page source with tests/api/test_web_*.py.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from web_page_fakes import PASSPORT_ID, FixedPageSource, owner_caller, sample_view

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


# One entry per source. The ledger-backed source joins here (issue a real passport, then rewrite its
# stored public section) and every browser test runs against it unchanged.
SCENARIOS: dict[str, Callable[[], PageScenario]] = {
    "fixed-views": FixedViewsScenario,
}


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    app: FastAPI


@dataclass(frozen=True)
class Phone:
    page: Page
    # Script errors and console errors (CSP violations are reported there), for tests to assert none.
    errors: list[str]
