"""Browser suite plumbing: the API served by uvicorn on a free loopback port, and Debian's Chromium.

Playwright's own browser download cannot work here (no internet), so the suite drives the system
Chromium that ``scripts/install_browser.sh`` installs. The suite is marked ``browser``, never skipped: a
missing Chromium fails with the command that fixes it.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from playwright.sync_api import Browser, Playwright, sync_playwright

from passport.settings import Settings
from tests.api.browser.browser_harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PHONE,
    SCENARIO_MARKS,
    SCENARIOS,
    LiveServer,
    PageScenario,
    Phone,
)


@pytest.fixture(params=[pytest.param(name, marks=SCENARIO_MARKS.get(name, ())) for name in sorted(SCENARIOS)])
def scenario(request: pytest.FixtureRequest) -> Iterator[PageScenario]:
    made = SCENARIOS[request.param]()
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def live_server(scenario: PageScenario) -> Iterator[LiveServer]:
    """The scenario's app under uvicorn in a thread, on a port the OS picked (bound before the app is
    built, so the public base URL, and hence the QR code, names the real address)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = scenario.build_app(Settings(environment="development", public_base_url=base_url))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start within 10 s")
            time.sleep(0.01)
        yield LiveServer(base_url=base_url, app=app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
    assert not thread.is_alive(), "uvicorn did not stop"


# Package scope, not session: while Playwright's sync API is open it leaves its event loop marked as
# running in this thread, so every later test calling asyncio.run() would fail ("cannot be called from a
# running event loop"). Closing it after the browser tests keeps them from leaking into the rest.
@pytest.fixture(scope="package")
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: run `bash scripts/install_browser.sh` (as root) to install "
            "Debian's chromium, or point PASSPORT_TEST_CHROMIUM at a Chromium binary",
            pytrace=False,
        )
    browser = playwright_driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Phone]:
    """A fresh phone-sized browser context and page."""
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    page.on("response", lambda r: errors.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    yield Phone(page=page, errors=errors)
    context.close()
