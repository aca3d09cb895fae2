"""The Jinja2 environment for the server-rendered pages: our templates only, autoescaped, strict.

Every value on the page (battery ids, manufacturer names, check reasons) comes from documents that
other parties wrote, so autoescaping is on for every template, whatever its file name, and an
undefined name is an error rather than an empty string that would hide a broken template.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.templating import Jinja2Templates

_HEX = re.compile(r"0x[0-9a-fA-F]+")
TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def format_utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def short_hex(value: str, keep: int = 6) -> str:
    """``0x1234…cdef`` for hashes and addresses: enough to compare by eye on a phone; names unchanged."""
    if not _HEX.fullmatch(value) or len(value) <= 2 + 2 * keep + 1:
        return value
    return f"{value[: 2 + keep]}…{value[-keep:]}"


def humanize(value: str) -> str:
    """``REPURPOSED`` → ``Repurposed``; registry enums are upper-case names."""
    return value.replace("_", " ").capitalize()


@cache
def page_templates() -> Jinja2Templates:
    """The one template set, built on first use (immutable afterwards)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["utc"] = format_utc
    env.filters["short_hex"] = short_hex
    env.filters["humanize"] = humanize
    return Jinja2Templates(env=env)
