"""QR codes: decoded back from the PNG they really are, the passport's identification link."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pytest
import segno
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image

from api.app import create_app
from api.errors import PROBLEM_JSON
from passport.settings import Settings
from tests.api.web_page_fakes import PASSPORT_ID

BASE = "https://passports.example.eu"
OTHER_ID = "0b7e4d2c-1a3f-4e5d-8c6b-9f0a1b2c3d4e"


def client_for(base_url: str = BASE) -> TestClient:
    return TestClient(create_app(Settings(environment="development", public_base_url=base_url)))


def decode_png(png: bytes) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


@pytest.mark.parametrize(
    ("base_url", "passport_id"),
    [
        (BASE, PASSPORT_ID),
        (BASE + "/", PASSPORT_ID),  # a trailing slash in the setting must not double up
        ("http://127.0.0.1:8000", OTHER_ID),
        (BASE, PASSPORT_ID.upper()),
        (BASE, f"urn:uuid:{PASSPORT_ID}"),
        (BASE, "0x" + "00" * 16 + PASSPORT_ID.replace("-", "")),
    ],
)
def test_png_decodes_to_the_identification_link(base_url: str, passport_id: str) -> None:
    response = client_for(base_url).get(f"/api/v1/passports/{passport_id}/qr.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    canonical = OTHER_ID if passport_id == OTHER_ID else PASSPORT_ID
    assert decode_png(response.content) == [f"{base_url.rstrip('/')}/id/{canonical}"]


@pytest.mark.parametrize("scale", [2, 8, 20])
def test_png_scale_sets_the_pixel_size(scale: int) -> None:
    response = client_for().get(f"/api/v1/passports/{PASSPORT_ID}/qr.png", params={"scale": scale})
    image = Image.open(io.BytesIO(response.content))
    modules = segno.make_qr(f"{BASE}/id/{PASSPORT_ID}", error="m").symbol_size(scale=1, border=4)
    assert image.size == (modules[0] * scale, modules[1] * scale)
    assert decode_png(response.content) == [f"{BASE}/id/{PASSPORT_ID}"]


def test_svg_is_the_same_symbol_as_the_png() -> None:
    client = client_for()
    response = client.get(f"/api/v1/passports/{PASSPORT_ID}/qr.svg")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(response.content)  # noqa: S314  (our own response, not untrusted XML)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    # The browser suite decodes the SVG as Chromium draws it; here: it encodes the very same matrix.
    expected = segno.make_qr(f"{BASE}/id/{PASSPORT_ID}", error="m")
    out = io.BytesIO()
    expected.save(out, kind="svg", scale=8, border=4, xmldecl=False, title="Battery passport")
    assert response.content == out.getvalue()
    other = client.get(f"/api/v1/passports/{OTHER_ID}/qr.svg")
    assert other.content != response.content


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_qr_is_cacheable(kind: str) -> None:
    response = client_for().get(f"/api/v1/passports/{PASSPORT_ID}/qr.{kind}")
    assert response.headers["cache-control"] == "public, max-age=86400"


@pytest.mark.parametrize("kind", ["png", "svg"])
@pytest.mark.parametrize(
    "bad_id",
    [
        "not-a-uuid",
        "1234",
        "6f1c2a4e-8b3d-4c1e-9a7f-2d5b8e0c4a1",  # one digit short
        "0x" + "11" * 32,  # bytes32 that is not a padded UUID
        "urn:uuid:",
    ],
)
def test_bad_passport_id_is_a_400_problem(kind: str, bad_id: str) -> None:
    response = client_for().get(f"/api/v1/passports/{bad_id}/qr.{kind}")
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["title"] == "Invalid identifier"


@pytest.mark.parametrize("scale", [0, 41, -1])
def test_scale_out_of_range_is_refused(scale: int) -> None:
    response = client_for().get(f"/api/v1/passports/{PASSPORT_ID}/qr.png", params={"scale": scale})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.scale"


def test_operation_ids_are_stable() -> None:
    paths = client_for().get("/openapi.json").json()["paths"]
    assert paths["/api/v1/passports/{passport_id}/qr.png"]["get"]["operationId"] == "get_passport_qr_png"
    assert paths["/api/v1/passports/{passport_id}/qr.svg"]["get"]["operationId"] == "get_passport_qr_svg"
    assert paths["/p/{passport_id}"]["get"]["operationId"] == "get_passport_page"
