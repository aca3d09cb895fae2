"""The passport's groups on the page: every public attribute of a full sample, what is held back, links."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.web.groups import GROUPS, passport_groups
from api.web.views import FactGroup, FactKind
from devtools.samples import sample_passport
from passport.model import AccessTier, PassportView
from passport.settings import Settings
from tests.api.web_page_fakes import (
    BATTERY_ID,
    GROUP_TEXTS,
    PASSPORT_ID,
    FixedPageSource,
    sample_view,
)


def public_view(**tiers: bool) -> PassportView:
    held = {AccessTier.PUBLIC} | {AccessTier(t) for t, on in tiers.items() if on}
    return PassportView.of(sample_passport(BATTERY_ID), held)


def by_key(groups: tuple[FactGroup, ...]) -> dict[str, FactGroup]:
    return {g.key: g for g in groups}


def test_groups_follow_din_dke_spec_99100_order() -> None:
    groups = passport_groups(public_view())
    assert [g.key for g in groups] == [key for key, _, _ in GROUPS]
    assert all(g.facts for g in groups)


def test_what_a_qr_scan_cannot_read_is_named_per_group() -> None:
    groups = by_key(passport_groups(public_view()))
    assert groups["carbon_footprint"].restricted == ()
    assert groups["materials"].restricted == (AccessTier.LEGITIMATE_INTEREST,)
    assert groups["performance"].restricted == (AccessTier.LEGITIMATE_INTEREST, AccessTier.AUTHORITY)
    assert groups["conformity"].restricted == (AccessTier.AUTHORITY,)
    assert all(g.not_shown == () for g in groups.values())


def test_a_holder_of_more_tiers_is_pointed_to_the_api() -> None:
    groups = by_key(passport_groups(public_view(legitimate_interest=True)))
    assert groups["performance"].restricted == (AccessTier.AUTHORITY,)
    assert groups["performance"].not_shown == (AccessTier.LEGITIMATE_INTEREST,)


def test_only_web_addresses_become_links() -> None:
    view = public_view()
    data = dict(view.data)
    data["carbon_footprint"] = {
        **data["carbon_footprint"],
        "declarations": [
            {"title": "evil", "content": "javascript:alert(1)"},
            {
                "title": "pinned",
                "content": "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
            },
            {"title": "web", "content": "https://example.org/d.pdf"},
        ],
    }
    groups = by_key(passport_groups(PassportView(tiers=view.tiers, data=data)))
    facts = groups["carbon_footprint"].facts
    [declarations] = [f for f in facts if f.label == "Carbon footprint declarations"]
    assert declarations.kind is FactKind.LINKS
    assert [(link.title, link.href) for link in declarations.links] == [
        ("evil", None),
        ("pinned", None),
        ("web", "https://example.org/d.pdf"),
    ]


def test_absent_optional_values_are_left_out() -> None:
    view = public_view()
    data = {**view.data, "general": {**view.data["general"], "warranty": None, "dimensions": None}}
    general = by_key(passport_groups(PassportView(tiers=view.tiers, data=data)))["general"]
    labels = [f.label for f in general.facts]
    assert "Warranty" not in labels
    assert "Length" not in labels


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = create_app(Settings(environment="development"), page_source=FixedPageSource(sample_view()))
    with TestClient(app) as client:
        yield client


def group_html(html: str) -> dict[str, str]:
    found = re.findall(r'(<section class="card group" data-group="([a-z_]+)".*?</section>)', html, flags=re.S)
    return {key: section for section, key in found}


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_every_group_is_on_the_page(client: TestClient, lang: str) -> None:
    html = client.get(f"/p/{PASSPORT_ID}", params={"lang": lang}).text
    sections = group_html(html)
    assert list(sections) == [key for key, _, _ in GROUPS]
    for key, texts in GROUP_TEXTS[lang].items():
        for text in texts:
            assert text in sections[key], (key, text)
    # Collapsible with the keyboard and without script: native <details>, open by default.
    assert all("<details open>" in section for section in sections.values())
    assert 'data-testid="restricted-legitimate_interest"' in sections["materials"]
    assert 'rel="noopener noreferrer external"' in sections["due_diligence"]


def test_unreadable_documents_say_so_instead_of_groups(client: TestClient) -> None:
    app = create_app(Settings(environment="development"), page_source=FixedPageSource(sample_view(groups=())))
    html = TestClient(app).get(f"/p/{PASSPORT_ID}").text
    assert 'data-testid="passport-groups-unavailable"' in html
    assert 'class="card group"' not in html
