"""Provenance reports: built from a real ledger, rendered to HTML and PDF (the PDF's pages rendered to
PNG and their text read back), verified against the ledger, and failing after one changed byte."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader, PdfWriter

from passport.market import custody_from_events
from passport.report import build_report, extract_payload, render_html, render_pdf, verify_report
from passport.report.provenance import DIGEST_NAME, PAYLOAD_NAME
from tests.chain_backends import Actor, ChainBackend
from tests.passport.market.market_world import MarketWorld, build_world


@pytest.fixture
def world(ledger: ChainBackend, tmp_path: Path) -> MarketWorld:
    return build_world(ledger, tmp_path)


def _report(world: MarketWorld, business: Actor) -> tuple[str, dict[str, object]]:
    pid, _ = world.issue_held_by(business, "report")
    custody = custody_from_events(
        world.ledger.actors["admin"].client, world.ledger.deploy_block, world.names.get
    )
    payload = build_report(world.issuer, pid, custody=custody, base_url="http://127.0.0.1:8000")
    return str(pid), payload


def _trusted(world: MarketWorld) -> frozenset[str]:
    return frozenset(world.issuer.trusted_issuers)


def test_html_report_verifies_and_one_changed_byte_fails(world: MarketWorld, business: Actor) -> None:
    pid, payload = _report(world, business)
    page = render_html(payload)
    for text in ("Battery provenance report", "KR-MKT-report", "Korea Battery Evaluation Center", "accident"):
        assert text in page
    assert "business" in page  # the custody history names the business
    chain = world.ledger.actors["admin"].client
    result = verify_report(page.encode(), chain, _trusted(world))
    assert result.ok, result.checks
    assert result.passport_id == pid
    assert [c.name for c in result.checks] == [
        "report.digest",
        "report.data",
        "report.bundle",
        "report.version",
    ]

    data, _ = extract_payload(page.encode())
    at = page.index('"battery_id":"KR-MKT-report"') + len('"battery_id":"KR-MKT-')
    tampered = page[:at] + "X" + page[at + 1 :]
    assert extract_payload(tampered.encode())[0] != data
    failed = verify_report(tampered.encode(), chain, _trusted(world))
    assert not failed.ok
    assert [c.name for c in failed.checks if not c.ok] == ["report.digest"]


def test_pdf_report_renders_pages_and_verifies(world: MarketWorld, business: Actor) -> None:
    _pid, payload = _report(world, business)
    pdf = render_pdf(payload)
    assert pdf.startswith(b"%PDF")
    document = pdfium.PdfDocument(pdf)
    text = ""
    for index in range(len(document)):
        page = document[index]
        image = page.render(scale=1).to_pil()
        assert image.size[0] > 500  # a real A4 page at 72 dpi is 595 px wide
        png = io.BytesIO()
        image.save(png, format="PNG")
        assert png.getvalue().startswith(b"\x89PNG")
        text += page.get_textpage().get_text_range()
    assert "Battery provenance report" in text
    assert "KR-MKT-report" in text
    assert "chain.signer_role" in text or "signature" in text
    chain = world.ledger.actors["admin"].client
    assert verify_report(pdf, chain, _trusted(world)).ok

    # One byte of the embedded data changed, the digest attachment kept: the report fails.
    data, stated = extract_payload(pdf)
    changed = bytearray(data)
    changed[data.index(b"KR-MKT-report")] ^= 0x01
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    del writer._root_object["/Names"]  # drop the original attachments (they live in the name tree)
    writer.add_attachment(PAYLOAD_NAME, bytes(changed))
    writer.add_attachment(DIGEST_NAME, stated.encode())
    out = io.BytesIO()
    writer.write(out)
    failed = verify_report(out.getvalue(), chain, _trusted(world))
    assert not failed.ok
    assert [c.name for c in failed.checks if not c.ok] == ["report.digest"]


def test_a_report_of_a_moved_passport_still_verifies_its_version(
    world: MarketWorld, business: Actor, recycler: Actor
) -> None:
    pid, payload = _report(world, business)
    page = render_html(payload).encode()
    world.hand_over(uuid.UUID(pid), business, recycler)  # custody is not a version: still current
    assert verify_report(page, world.ledger.actors["admin"].client, _trusted(world)).ok
    assert not verify_report(b"not a report", world.ledger.actors["admin"].client, _trusted(world)).ok
