"""The whole public passport in Chromium, in Korean and English, at a phone's and a desktop's width:
every group readable and operable by keyboard, Korean drawn with a CJK font, axe-core finding nothing.

Each language costs three page loads (anonymous at phone width; the owner at desktop width, so the
health chart is checked too; the same after tampering, for the failure state); axe runs after every
load, with all groups opened. Screenshots are kept
under ``test-artifacts/`` (git-ignored; ``PASSPORT_TEST_ARTIFACTS`` moves it) for a person to look at.

Only the fixed-views source runs here, to keep the suite short: its groups come from the full sample
passport through the same ``passport_groups`` as the ledger's; the ledger-backed page's groups are
checked over HTTP in both languages by ``tests/api/test_api_flow.py``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from api.routes.pages import get_page_caller
from api.web.groups import GROUPS
from tests.api.browser.browser_harness import FixedViewsScenario, LiveServer, PageScenario
from tests.api.web_page_fakes import GROUP_TEXTS

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[3]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(os.environ.get("PASSPORT_TEST_ARTIFACTS", ROOT / "test-artifacts"))
PHONE_412: ViewportSize = {"width": 412, "height": 915}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
# WCAG 2.0/2.1 A and AA, the level the pilot must meet; axe's best practices on top.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
# The page's own words per language: the verdict and the first group's title.
HEADINGS = {"en": ("Verified", "General and identification"), "ko": ("검증됨", "일반 정보 및 식별")}


@pytest.fixture
def scenario() -> Iterator[PageScenario]:
    """Overrides the suite's per-source ``scenario``: fixed views only (see the module docstring)."""
    made = FixedViewsScenario()
    yield made
    made.close()


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.is_file():
        pytest.fail(f"axe-core not found at {AXE}: run `make install` (npm devDependency)", pytrace=False)
    return AXE.read_text()


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    name = request.node.name.replace("[", "-").replace("]", "").replace("/", "-")
    path = ARTIFACTS / name
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def phone_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[tuple[Page, list[str]]]:
    """A phone-sized page that sends the test's ``Accept-Language`` (``lang`` param) and lets axe in.

    ``bypass_csp``: the page's CSP rightly refuses inline scripts, and axe is injected as one.
    """
    lang = request.node.callspec.params["lang"]
    headers = {"Accept-Language": "ko-KR,ko;q=0.9"} if lang == "ko" else {}
    context = browser.new_context(
        viewport=PHONE_412,
        device_scale_factor=1,  # full-page screenshots of a long page: keep them quick to encode
        is_mobile=True,
        has_touch=True,
        bypass_csp=True,
        extra_http_headers=headers,
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on("response", lambda r: errors.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    yield page, errors
    context.close()


def run_axe(page: Page, axe_source: str) -> list[dict[str, Any]]:
    page.add_script_tag(content=axe_source)
    result: dict[str, Any] = page.evaluate(
        "tags => axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] })",
        AXE_TAGS,
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
    ]


def open_every_group_by_keyboard(page: Page) -> None:
    """Open each folded group the way a keyboard user does: focus its summary, press Enter."""
    for key, _, _ in GROUPS:
        details = page.locator(f'section[data-group="{key}"] > details')
        summary = details.locator("> summary")
        if details.get_attribute("open") is None:
            summary.focus()
            expect(summary).to_be_focused()
            page.keyboard.press("Enter")
        expect(details).to_have_attribute("open", "")


def platform_fonts(page: Page, selector: str) -> list[str]:
    """The fonts Chromium actually drew ``selector``'s text with (DevTools protocol)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    cdp.detach()
    return [f["familyName"] for f in fonts]


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_whole_passport_in_both_languages_and_widths_is_accessible(
    scenario: PageScenario,
    live_server: LiveServer,
    phone_page: tuple[Page, list[str]],
    axe_source: str,
    artifacts: Path,
    lang: str,
) -> None:
    page, errors = phone_page
    page.goto(f"{live_server.base_url}/p/{scenario.passport_id}")
    verdict, first_group = HEADINGS[lang]
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.get_by_test_id("verification-badge")).to_contain_text(verdict)
    expect(page.locator("html")).to_have_attribute("data-enhanced", "true")

    # On a phone, the groups start folded (all but the first): short to scroll, opened by keyboard.
    assert page.locator(".group > details[open]").count() == 1
    expect(page.locator('section[data-group="general"] h2')).to_have_text(first_group)
    open_every_group_by_keyboard(page)
    summary = page.locator('section[data-group="carbon_footprint"] > details > summary')
    summary.focus()
    page.keyboard.press("Space")  # and closed again the same way
    expect(page.locator('section[data-group="carbon_footprint"] > details')).not_to_have_attribute("open", "")
    page.keyboard.press("Enter")

    for key, texts in GROUP_TEXTS[lang].items():
        shown = page.locator(f'section[data-group="{key}"]').inner_text()
        missing = [text for text in texts if text not in shown]
        assert missing == [], (key, missing)
    # Nothing wider than the phone, whatever the language's words.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_412["width"]
    if lang == "ko":
        assert any("CJK" in f for f in platform_fonts(page, '[data-group="general"] h2')), "no CJK font"

    violations = {"phone": run_axe(page, axe_source)}
    page.screenshot(path=artifacts / f"passport-{lang}-phone.png", full_page=True)

    # The owner at a desktop's width: the health chart and its readings join the page.
    live_server.app.dependency_overrides[get_page_caller] = scenario.owner
    page.set_viewport_size(DESKTOP)
    page.reload()
    expect(page.get_by_test_id("soh-chart")).to_be_visible()
    assert page.locator(".group > details[open]").count() == len(GROUPS)  # wide: nothing folded
    page.locator('[data-testid="health"] details > summary').click()
    violations["desktop"] = run_axe(page, axe_source)
    page.screenshot(path=artifacts / f"passport-{lang}-desktop.png", full_page=True)

    # The failure state has its own colours and an open check list: checked too.
    failing = scenario.tamper()
    page.reload()
    expect(page.get_by_test_id("verification-badge")).to_have_attribute("data-verified", "false")
    expect(page.locator(f'li[data-check="{failing}"]')).to_be_visible()
    violations["desktop-failed"] = run_axe(page, axe_source)
    page.evaluate("window.scrollTo(0, 0)")  # a reload keeps the scroll position; the verdict is on top
    page.screenshot(path=artifacts / f"passport-{lang}-desktop-failed.png")

    (artifacts / "axe.json").write_text(json.dumps(violations, indent=2, ensure_ascii=False))
    assert violations == {"phone": [], "desktop": [], "desktop-failed": []}
    assert errors == []

    # The canary: the same harness does report a violation (an image without a text alternative).
    page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', '<img src=/favicon.svg>')")
    assert "image-alt" in [v["id"] for v in run_axe(page, axe_source)]
