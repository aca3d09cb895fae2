"""Running ``passport`` in-process, and the few invocations the suites share."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()
BASE_URL = "https://passports.example"
CERTIFICATE = "0x" + "ab" * 32


def ok(*argv: str) -> Any:
    """``passport ARGV --json``, which must exit 0; its parsed output."""
    result = runner.invoke(app, [*argv, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def issue(*args: str) -> str:
    """A sample passport issued as ``issuer``; its id."""
    return str(ok("issue", "--sample", *args)["passport_id"])


def register(account: str) -> Any:
    """``account`` registered as a collector and recycler by the admin."""
    return ok(
        "business", "register", account, "--kind", "collector", "--kind", "recycler",
        "--certificate-hash", CERTIFICATE,
    )  # fmt: skip
