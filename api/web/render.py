"""The Jinja2 environment for the server-rendered pages: our templates only, autoescaped, strict.

Every value on the page (battery ids, manufacturer names, check reasons) comes from documents that
other parties wrote, so autoescaping is on for every template, whatever its file name, and an
undefined name is an error rather than an empty string that would hide a broken template.

There is one environment per page language: each has that language's gettext catalogue installed
(Jinja's i18n extension, ``{% trans %}`` and ``_()``) and filters bound to its Babel locale, so a
request only picks an environment and no state is shared between languages.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.templating import Jinja2Templates

from api.web.checks import check_label
from api.web.groups import CODES
from api.web.i18n import LANGUAGE_NAMES, LOCALES, PageFormat
from api.web.safety import EVENT_LABELS, RESULT_LABELS, STAGE_LABELS
from api.web.views import UNAVAILABLE

_HEX = re.compile(r"0x[0-9a-fA-F]+")
TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def short_hex(value: str, keep: int = 6) -> str:
    """``0x1234…cdef`` for hashes and addresses: enough to compare by eye on a phone; names unchanged."""
    if not _HEX.fullmatch(value) or len(value) <= 2 + 2 * keep + 1:
        return value
    return f"{value[: 2 + keep]}…{value[-keep:]}"


def humanize(value: str) -> str:
    """``REPURPOSED`` → ``Repurposed``; registry enums are upper-case names."""
    return value.replace("_", " ").capitalize()


@cache
def page_templates(locale: str = "en") -> Jinja2Templates:
    """The template set of one page language, built on first use (immutable afterwards)."""
    fmt = PageFormat(locale)
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    # Added to the environment by the i18n extension at run time, hence unknown to the type checker.
    env.install_gettext_translations(fmt.translations, newstyle=True)  # type: ignore[attr-defined]
    env.globals["locale"] = locale
    env.globals["locales"] = [(code, LANGUAGE_NAMES[code]) for code in LOCALES]
    env.globals["fmt"] = fmt
    env.globals["check_label"] = check_label
    env.globals["code_label"] = CODES.get
    env.globals["stage_label"] = STAGE_LABELS.get
    env.globals["result_label"] = RESULT_LABELS.get
    env.globals["event_label"] = EVENT_LABELS.get
    env.filters["utc"] = fmt.instant
    env.filters["day"] = fmt.day
    env.filters["number"] = fmt.number
    env.filters["quantity"] = fmt.quantity
    env.filters["or_unavailable"] = lambda value: fmt.gettext(UNAVAILABLE) if value == UNAVAILABLE else value
    env.filters["short_hex"] = short_hex
    env.filters["humanize"] = humanize
    return Jinja2Templates(env=env)
