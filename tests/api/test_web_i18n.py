"""The page in Korean and English: complete catalogues, the language choice, locale formatting."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from api.app import create_app
from api.web.checks import CHECK_LABELS
from api.web.i18n import LOCALE_DIR, LOCALES, PageFormat, catalogue_path, choose_locale
from passport.audit import INDEX_CUSTODY_CHECK
from passport.service import STORE_CHECK
from passport.settings import Settings
from passport.verify import ANCHOR_CHECKS, CHAIN_CHECKS
from tests.api.web_page_fakes import OFFLINE_CHECKS, PASSPORT_ID, FixedPageSource, sample_view

ROOT = LOCALE_DIR.parent.parent
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None}
Message = str | tuple[str, ...]


def used_messages() -> set[Message]:
    """Every message the templates and the page code mark, extracted as ``make messages`` does."""
    with (LOCALE_DIR / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: set[Message] = set()
    for _, _, message, _, _ in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True
    ):
        found.add(message if isinstance(message, str) else tuple(m for m in message if m))
    return found


def untranslated(catalog: Catalog, messages: set[Message]) -> list[str]:
    """The messages ``catalog`` lacks or leaves empty (any plural form), sorted for a readable failure."""
    missing = []
    for message in messages:
        key = message if isinstance(message, str) else message[0]
        entry = catalog.get(key)
        if entry is None:
            missing.append(key)
            continue
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if not strings or not all(strings):
            missing.append(key)
    return sorted(missing)


def load(locale: str) -> Catalog:
    with catalogue_path(locale).open("rb") as po:
        return read_po(po, locale=locale)


@pytest.fixture(scope="module")
def messages() -> set[Message]:
    found = used_messages()
    assert len(found) > 150  # templates, groups, check names, error titles
    return found


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_has_a_translation(messages: set[Message], locale: str) -> None:
    catalog = load(locale)
    assert untranslated(catalog, messages) == []
    # Placeholders agree between message and translation (Babel's python-format checker).
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check() if errors]
    assert problems == []


def test_a_missing_key_is_reported(messages: set[Message]) -> None:
    catalog = load("ko")
    catalog.delete("Carbon footprint")
    catalog["Verified"].string = ""
    assert untranslated(catalog, messages) == ["Carbon footprint", "Verified"]


def test_every_verification_check_has_a_described_name() -> None:
    names = {*OFFLINE_CHECKS, *ANCHOR_CHECKS, *CHAIN_CHECKS, STORE_CHECK, INDEX_CUSTODY_CHECK}
    names.add("bundle.readable")  # the page's own, for a bundle that cannot be read at all
    assert names - CHECK_LABELS.keys() == set()


@pytest.mark.parametrize(
    ("lang", "accept", "chosen"),
    [
        (None, None, "en"),
        (None, "ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7", "ko"),
        (None, "en-GB,ko;q=0.5", "en"),
        (None, "de-DE,de;q=0.9,ko;q=0.4", "ko"),  # the best supported one, not the first
        (None, "ko;q=0.2,en;q=0.8", "en"),
        (None, "ko;q=0", "en"),  # q=0 means "not this one"
        (None, "fr, *;q=0.1", "en"),
        (None, "ko;q=abc, ;;;,", "en"),  # malformed parts are ignored, not an error
        ("ko", "en", "ko"),  # ?lang= wins over the header
        ("EN", "ko", "en"),
        ("ko-KR", None, "ko"),
        ("fr", "ko", "ko"),  # an unsupported ?lang= falls back to the header
        ("x" * 5000, None, "en"),
    ],
)
def test_choose_locale(lang: str | None, accept: str | None, chosen: str) -> None:
    assert choose_locale(lang, accept) == chosen


@pytest.mark.parametrize(
    ("locale", "value", "unit", "shown"),
    [
        ("en", 477.0, "kg", "477 kg"),
        ("ko", 477.0, "kg", "477kg"),
        ("en", 250_000, "w", "250,000 W"),
        ("en", 0.0011, "ohm", "0.0011 Ω"),
        ("en", -30.0, "c", "-30°C"),
        ("en", 2.0, "ppm", "2 ppm"),
        ("en", 10.0, "year", "10 yrs"),
        ("ko", 10.0, "year", "10년"),
        ("en", 61.3, "kg_co2e_per_kwh", "61.3 kg CO₂e/kWh"),
        ("en", 111.2, "ah", "111.2 Ah"),
        ("en", 2000, "cycles", "2,000 cycles"),
        ("en", 1, "cycles", "1 cycle"),
        ("ko", 2000, "cycles", "2,000회 사이클"),
    ],
)
def test_quantities_are_formatted_for_the_locale(locale: str, value: float, unit: str, shown: str) -> None:
    assert PageFormat(locale).quantity(value, unit) == shown


def test_dates_are_formatted_for_the_locale() -> None:
    assert PageFormat("en").day(date(2024, 7, 15)) == "July 15, 2024"
    assert PageFormat("ko").day(date(2024, 7, 15)) == "2024년 7월 15일"


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = create_app(Settings(environment="development"), page_source=FixedPageSource(sample_view()))
    with TestClient(app) as client:
        yield client


def test_korean_from_accept_language(client: TestClient) -> None:
    response = client.get(f"/p/{PASSPORT_ID}", headers={"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.5"})
    assert response.status_code == 200
    html = response.text
    assert '<html lang="ko">' in html
    assert response.headers["content-language"] == "ko"
    assert "Accept-Language" in response.headers["vary"]
    for text in ("검증됨", "일반 정보 및 식별", "탄소발자국", "정격 용량", "2024년 7월 15일", "477kg"):
        assert text in html
    # The switch offers both languages, each named in itself, the current one marked.
    assert '<a href="?lang=ko" hreflang="ko" lang="ko" aria-current="true">한국어</a>' in html
    assert '<a href="?lang=en" hreflang="en" lang="en">English</a>' in html
    # The verifier's reasons stay English and say so.
    assert '<span class="reason" lang="en">ok</span>' in html


def test_lang_parameter_overrides_the_header(client: TestClient) -> None:
    html = client.get(f"/p/{PASSPORT_ID}?lang=en", headers={"Accept-Language": "ko"}).text
    assert '<html lang="en">' in html
    assert ">Verified<" in html
    assert "검증됨" not in html
    html = client.get(f"/p/{PASSPORT_ID}?lang=ko").text
    assert '<html lang="ko">' in html


@pytest.mark.parametrize(
    ("lang", "text"),
    [("en", "Recycled content and carbon footprint"), ("ko", "재활용 원료 함량과 탄소발자국")],
)
def test_the_page_links_to_the_materials_page_in_its_language(
    client: TestClient, lang: str, text: str
) -> None:
    html = client.get(f"/p/{PASSPORT_ID}?lang={lang}").text
    link = f'<a href="/p/{PASSPORT_ID}/materials?lang={lang}" data-testid="materials-link">{text}</a>'
    assert link in html


@pytest.mark.parametrize("lang", ["fr", "", "<script>", "ko" * 1000])
def test_an_unsupported_lang_is_not_an_error(client: TestClient, lang: str) -> None:
    response = client.get(f"/p/{PASSPORT_ID}", params={"lang": lang})
    assert response.status_code == 200
    assert response.headers["content-language"] == "en"


def test_error_pages_are_translated(client: TestClient) -> None:
    response = client.get("/p/00000000-0000-4000-8000-000000000000", headers={"Accept-Language": "ko"})
    assert response.status_code == 404
    assert '<html lang="ko">' in response.text
    assert "찾을 수 없음" in response.text
    assert "배터리 라벨의 코드를 확인하고 다시 스캔하세요." in response.text
    # The service's own detail is English, and marked so.
    assert '<p lang="en">no passport' in response.text


def test_unreadable_identity_reads_unavailable_in_the_page_language() -> None:
    unreadable = sample_view(battery_id="unavailable", manufacturer="unavailable", groups=())
    app = create_app(Settings(environment="development"), page_source=FixedPageSource(unreadable))
    html = TestClient(app).get(f"/p/{PASSPORT_ID}?lang=ko").text
    assert '<h1 class="battery-id" data-testid="battery-id">확인 불가</h1>' in html
    assert "unavailable" not in html.replace("passport-groups-unavailable", "")
