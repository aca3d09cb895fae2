"""Identification links and RFC 9264 linksets: what a battery's data carrier leads to.

Two link forms resolve to a passport:

* ``{base}/id/{passport uuid}``: one URL per item, the form the QR code carries (IEC 61406-1: an
  identification link is a URL that is unique to the item and resolves to information about it);
* ``{base}/01/{gtin}/21/{serial}``: GS1 Digital Link (ISO/IEC 18975) with the GTIN (AI 01) and the
  battery id as serial (AI 21), for batteries whose passport lists a GTIN product code.

``GET`` on either redirects (303) to the passport page by default, answers ``linkType=linkset`` or
``Accept: application/linkset+json`` with a linkset (RFC 9264) of the passport's resources, 404 for an
unknown identifier and 410 once the battery is recycled (the identifier has ended).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from biip import ParseError
from biip.gtin import Gtin

from passport.errors import InvalidIdentifier

LINKSET_MEDIA_TYPE: Final = "application/linkset+json"
GS1_DEFAULT_LINK: Final = "https://gs1.org/voc/defaultLink"
GS1_PIP: Final = "https://gs1.org/voc/pip"
_GS1_PREFIX: Final = "gs1:"


def parse_gtin(value: str) -> str:
    """The GTIN as 14 digits (check digit verified); ``InvalidIdentifier`` otherwise."""
    try:
        return Gtin.parse(value).as_gtin_14()
    except ParseError as exc:
        raise InvalidIdentifier(f"not a GTIN: {exc}") from None


def gs1_link(base_url: str, gtin: str, serial: str) -> str:
    """The GS1 Digital Link URI of item ``serial`` of ``gtin`` under ``base_url``."""
    from urllib.parse import quote

    return f"{base_url.rstrip('/')}/01/{parse_gtin(gtin)}/21/{quote(serial, safe='')}"


def gtins_of(public: Mapping[str, Any]) -> set[str]:
    """The valid GTINs (14 digits) the public tier lists among its product codes."""
    codes = (public.get("general") or {}).get("product_codes") or []
    found: set[str] = set()
    for code in codes:
        if isinstance(code, dict) and str(code.get("key", "")).strip().upper() == "GTIN":
            try:
                found.add(parse_gtin(str(code.get("value", "")).replace(" ", "")))
            except InvalidIdentifier:
                continue
    return found


@dataclass(frozen=True, slots=True)
class Link:
    """One typed link of a linkset."""

    rel: str
    href: str
    media_type: str | None = None
    title: str | None = None

    def target(self) -> dict[str, str]:
        target = {"href": self.href}
        if self.media_type:
            target["type"] = self.media_type
        if self.title:
            target["title"] = self.title
        return target


def linkset(anchor: str, links: Iterable[Link]) -> dict[str, Any]:
    """The RFC 9264 JSON linkset of ``anchor``: one context object, each relation a list of targets."""
    context: dict[str, Any] = {"anchor": anchor}
    for link in links:
        context.setdefault(link.rel, []).append(link.target())
    return {"linkset": [context]}


def link_type(value: str) -> str:
    """A ``linkType`` query value as a full relation: ``gs1:pip`` → ``https://gs1.org/voc/pip``."""
    return (
        f"https://gs1.org/voc/{value.removeprefix(_GS1_PREFIX)}" if value.startswith(_GS1_PREFIX) else value
    )
