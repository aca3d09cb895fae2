"""What the verification route and the page say on a real ledger (anvil) about rewritten stored sections
and about superseded or recycled passports: tampering fails, closed history verifies."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from api.web.i18n import PageFormat
from devtools.samples import sample_passport
from passport.model import AccessTier
from passport.service import SECTIONS_CHECK
from passport.store import EmbeddedStore
from tests.api.api_stack import ApiStack, api_stack, new_battery_id

pytestmark = pytest.mark.node


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiStack]:
    with api_stack(tmp_path_factory.mktemp("api-integrity")) as running:
        yield running


def verification(stack: ApiStack, pid: str) -> dict[str, Any]:
    response = stack.call("GET", f"/passports/{pid}/verification")
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


def failed(report: dict[str, Any]) -> list[str]:
    return [c["name"] for c in report["checks"] if c["status"] == "fail"]


def check(report: dict[str, Any], name: str) -> dict[str, Any]:
    [found] = [c for c in report["checks"] if c["name"] == name]
    return found


def verdict(stack: ApiStack, pid: str) -> str:
    """The page's verdict section, as an anonymous QR scan sees it."""
    response = stack.http.get(f"/p/{pid}")
    assert response.status_code == 200, response.text
    match = re.search(r'<section class="verdict[^"]*".*?</section>', response.text, flags=re.S)
    assert match is not None
    return match.group(0)


def flip_a_byte(stack: ApiStack, pid: str, tier: AccessTier) -> None:
    """Flip one byte of a stored section (ciphertext, for a restricted tier) in the embedded store."""
    manifest = stack.services.passports_for(None).fetch(pid, {AccessTier.PUBLIC}).manifest
    cid = manifest.entry(tier).cid
    store = stack.services.store
    assert isinstance(store, EmbeddedStore)
    [path] = (store.root / "content").rglob(cid)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


# -- rewritten sections ------------------------------------------------------------------------------


def test_a_flipped_restricted_ciphertext_byte_fails_verification_and_the_page(stack: ApiStack) -> None:
    battery_id = new_battery_id()
    pid = str(stack.issue(battery_id).passport_id)
    before = verification(stack, pid)
    assert before["ok"] is True, failed(before)
    assert check(before, SECTIONS_CHECK)["status"] == "pass"

    flip_a_byte(stack, pid, AccessTier.LEGITIMATE_INTEREST)

    # Anonymous callers may not decrypt that tier, and still learn that it was rewritten.
    report = verification(stack, pid)
    assert report["ok"] is False
    assert failed(report) == [SECTIONS_CHECK]
    assert check(report, SECTIONS_CHECK)["reason"].startswith("legitimate_interest section: ")
    page = verdict(stack, pid)
    assert 'data-verified="false"' in page
    assert "Verification failed" in page
    assert re.findall(r'data-testid="failed-check">([^<]+)<', page) == [SECTIONS_CHECK]
    # The public tier still reads; the owner's restricted read fails as before (the store's 502).
    assert stack.call("GET", f"/passports/{pid}").status_code == 200
    assert stack.call("GET", f"/passports/{pid}", stack.owner(battery_id)).status_code == 502


def test_a_flipped_public_byte_fails_verification_and_the_page(stack: ApiStack) -> None:
    pid = str(stack.issue().passport_id)

    flip_a_byte(stack, pid, AccessTier.PUBLIC)

    report = verification(stack, pid)
    assert report["ok"] is False
    assert SECTIONS_CHECK in failed(report)
    assert check(report, SECTIONS_CHECK)["reason"].startswith("public section: ")
    page = verdict(stack, pid)
    assert "Verification failed" in page
    assert SECTIONS_CHECK in re.findall(r'data-testid="failed-check">([^<]+)<', page)


# -- closed passports: valid history --------------------------------------------------------------


def test_a_superseded_passport_verifies_as_history_linking_its_successor(stack: ApiStack) -> None:
    pid = str(stack.issue().passport_id)
    stack.transfer(pid, "issuer", "repurposer")
    successor = sample_passport(new_battery_id())
    new = str(successor.passport_id)
    response = stack.call(
        "POST",
        f"/passports/{pid}/successor",
        "repurposer",
        json={"status": "REPURPOSED", "passport": successor.model_dump(mode="json")},
    )
    assert response.status_code == 201, response.text

    report = verification(stack, pid)
    assert report["ok"] is True, failed(report)
    lifecycle = report["lifecycle"]
    assert (lifecycle["state"], lifecycle["successor_id"]) == ("superseded", new)
    assert isinstance(lifecycle["closed_at"], int)
    assert check(report, "chain.lifecycle")["status"] == "pass"
    page = verdict(stack, pid)
    assert 'data-verified="true"' in page
    assert 'data-state="superseded"' in page
    assert ">Verified — superseded<" in page
    assert f'<a href="/p/{new}" data-testid="successor-link">' in page
    assert "Do not rely" not in page

    # The successor is the current passport.
    assert verification(stack, new)["lifecycle"]["state"] == "open"
    assert 'data-state="verified"' in verdict(stack, new)

    # History is intact only while its stored bytes are: rewriting them still fails.
    flip_a_byte(stack, pid, AccessTier.AUTHORITY)
    assert failed(verification(stack, pid)) == [SECTIONS_CHECK]
    page = verdict(stack, pid)
    assert 'data-state="failed"' in page
    assert "Verification failed" in page


def test_a_recycled_passport_verifies_as_history(stack: ApiStack) -> None:
    pid = str(stack.issue().passport_id)
    stack.transfer(pid, "issuer", "business")
    waste = stack.call("POST", f"/passports/{pid}/status", "business", json={"status": "WASTE"})
    assert waste.status_code == 200, waste.text
    stack.transfer(pid, "business", "recycler")
    recycled = stack.call("POST", f"/passports/{pid}/recycle", "recycler", json={})
    assert recycled.status_code == 200, recycled.text

    report = verification(stack, pid)
    assert report["ok"] is True, failed(report)
    assert report["lifecycle"]["state"] == "recycled"
    assert report["lifecycle"]["status"] == "RECYCLED"
    closed_at = stack.call("GET", f"/passports/{pid}").json()["ledger"]["updated_at"]
    assert report["lifecycle"]["closed_at"] == closed_at
    page = verdict(stack, pid)
    assert 'data-verified="true"' in page
    assert 'data-state="recycled"' in page
    assert ">Verified — recycled<" in page
    # The closing time as the English page writes it (Babel's long date, short time).
    when = PageFormat("en").instant(datetime.fromtimestamp(closed_at, UTC))
    assert f"Recycled on {when}: this battery has ended its life." in page
