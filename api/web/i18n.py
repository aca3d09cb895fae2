"""The page's languages: Korean and English message catalogues, locale choice and locale formatting.

Catalogues are gettext ``.po`` files under ``api/locales/<lang>/LC_MESSAGES/messages.po``, the only
form committed. They are compiled in memory (Babel's ``read_po`` then ``write_mo``) the first time a
language is used, so a fresh clone needs no build step and no ``.mo`` file can go stale.

Strings that are not in a template are marked with ``N_`` where they are defined (group titles, field
labels, check names) and translated where they are shown; ``tests/api/test_web_i18n.py`` extracts every
marked string from the templates and ``api/web`` and fails when a catalogue lacks one.
"""

from __future__ import annotations

import io
import math
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Final

from babel import Locale
from babel.dates import format_date, format_time, get_datetime_format
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations
from babel.units import format_unit

LOCALE_DIR: Final = Path(__file__).resolve().parent.parent / "locales"
DOMAIN: Final = "messages"
DEFAULT_LOCALE: Final = "en"
# The pilot's readers: English (the regulation's working language, and the default) and Korean (Busan).
LOCALES: Final = ("en", "ko")
LANGUAGE_NAMES: Final = {"en": "English", "ko": "한국어"}

# Up to six decimals, grouped: 0.0011 Ω stays 0.0011 Ω, 250000 W reads 250,000 W.
_DECIMAL = "#,##0.######"

# Quantities by the unit suffix the passport model uses; CLDR units where CLDR has one (translated and
# spaced per locale), the symbol after a locale-formatted number otherwise.
_CLDR_UNITS: Final = {
    "kg": "mass-kilogram",
    "mm": "length-millimeter",
    "v": "electric-volt",
    "kwh": "energy-kilowatt-hour",
    "w": "power-watt",
    "kw": "power-kilowatt",
    "ohm": "electric-ohm",
    "c": "temperature-celsius",
    "percent": "concentr-percent",
    "ppm": "concentr-part-per-1e6",
    "year": "duration-year",
    "month": "duration-month",
    "day": "duration-day",
    "hour": "duration-hour",
}
_SYMBOLS: Final = {
    "ah": "Ah",
    "mv": "mV",
    "kg_co2e_per_kwh": "kg CO₂e/kWh",
    "c_rate": "C",
    "ppb": "ppb",
    "ppt": "ppt",
    "per_mille": "‰",
    "percent_volume": "% vol",
}


def N_(message: str) -> str:  # noqa: N802  # the conventional gettext marker name
    """Mark ``message`` for the catalogues without translating it here (it is translated where shown)."""
    return message


def catalogue_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(locale: str) -> Translations:
    """The compiled catalogue of one supported locale (built once, immutable afterwards)."""
    if locale not in LOCALES:
        raise ValueError(f"unsupported page locale {locale!r}; supported: {', '.join(LOCALES)}")
    with catalogue_path(locale).open("rb") as po:
        catalog = read_po(po, locale=locale, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def _parse_accept_language(header: str) -> list[str]:
    """Language tags of an ``Accept-Language`` header, best first; malformed parts are ignored."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and quality > 0 and math.isfinite(quality):
            ranked.append((-quality, index, tag.strip()))
    return [tag for _, _, tag in sorted(ranked)]


def _supported(tag: str | None) -> str | None:
    if not tag:
        return None
    language = tag.strip().replace("_", "-").split("-")[0].lower()
    return language if language in LOCALES else None


def choose_locale(requested: str | None, accept_language: str | None) -> str:
    """The page's language: ``?lang=`` if supported, else the best supported ``Accept-Language``
    entry, else English. An unsupported ``?lang=`` falls back rather than failing: the reader still
    gets a page, and the switch on it offers the languages there are."""
    chosen = _supported(requested)
    if chosen is not None:
        return chosen
    for tag in _parse_accept_language(accept_language or ""):
        if tag == "*":
            return DEFAULT_LOCALE
        chosen = _supported(tag)
        if chosen is not None:
            return chosen
    return DEFAULT_LOCALE


class PageFormat:
    """Locale-bound formatting of the values the page shows (dates, numbers, quantities)."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self._babel = Locale.parse(locale)
        self.translations = translations(locale)

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.translations.ngettext(singular, plural, n)

    def day(self, value: date | str) -> str:
        parsed = date.fromisoformat(value) if isinstance(value, str) else value
        return format_date(parsed, "long", locale=self._babel)

    def instant(self, value: datetime | str) -> str:
        """A time in UTC (the chain's and the oracle's clock), with its zone said."""
        parsed = (datetime.fromisoformat(value) if isinstance(value, str) else value).astimezone(UTC)
        # The locale's long date and short time (no seconds), joined the locale's way.
        pattern = str(get_datetime_format("long", locale=self._babel))
        day = format_date(parsed, "long", locale=self._babel)
        time = format_time(parsed, "short", tzinfo=UTC, locale=self._babel)
        return f"{pattern.replace('{1}', day).replace('{0}', time)} UTC"

    def short_day(self, value: datetime | date) -> str:
        """``Jan 15, 2025`` / ``2025. 1. 15.``: unambiguous, and short enough for a chart axis."""
        return format_date(value, "medium", locale=self._babel)

    def number(self, value: float) -> str:
        return format_decimal(value, format=_DECIMAL, locale=self._babel)

    def quantity(self, value: float, unit: str) -> str:
        """``value`` in ``unit`` (a model unit suffix such as ``kwh`` or ``ohm``), as the locale writes it."""
        if unit == "cycles":
            # CLDR has no cycle unit; a plural-aware catalogue message instead.
            count = int(value) if float(value).is_integer() else 2
            return self.ngettext("%(num)s cycle", "%(num)s cycles", count) % {"num": self.number(value)}
        cldr = _CLDR_UNITS.get(unit)
        if cldr is not None:
            return format_unit(value, cldr, length="short", format=_DECIMAL, locale=self._babel)
        symbol = _SYMBOLS.get(unit, unit)
        return f"{self.number(value)} {symbol}"
