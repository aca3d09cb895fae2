"""``passport vc export|verify`` and ``passport did show|rotate`` on a ledger deployed from settings.

``vc verify`` against a served did:web document is exercised in ``tests/api/test_api_credentials.py``
(it needs the API running); here the issuer's host (``BASE_URL``) does not answer, which verification
must report as a failed proof, not a crash.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import app
from cli.output import EXIT_INVALID, EXIT_UNREADABLE
from passport.credentials import open_envelope
from tests.chain_backends import Actor
from tests.cli.runner import issue, runner

pytestmark = pytest.mark.parametrize(
    "chain_backend", [pytest.param("anvil", marks=pytest.mark.node)], indirect=True
)


def test_export_show_rotate_verify(deployed: str, issuer: Actor, tmp_path: Path) -> None:
    pid = issue()
    out = tmp_path / "passport.jwt"
    exported = runner.invoke(app, ["vc", "export", pid, "-o", str(out)])
    assert exported.exit_code == 0, exported.output
    envelope = open_envelope(out.read_text())
    did = f"did:web:passports.example:participants:{issuer.address.lower()}"
    assert envelope.issuer == did
    assert envelope.credential["credentialSubject"]["ledgerAnchor"]["registry"] == deployed

    shown = runner.invoke(app, ["did", "show", "issuer"])
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.stdout)
    assert document["id"] == did
    assert envelope.kid in document["assertionMethod"]

    rotated = runner.invoke(app, ["did", "rotate", "issuer"])
    assert rotated.exit_code == 0, rotated.output
    keys = [m for m in json.loads(rotated.stdout)["verificationMethod"] if "publicKeyJwk" in m]
    assert len(keys) == 2
    again = runner.invoke(app, ["vc", "export", pid, "--version", "1"])
    assert again.exit_code == 0, again.output
    assert open_envelope(again.stdout).kid != envelope.kid

    # passports.example does not answer: the proof cannot be checked, and says so.
    verified = runner.invoke(app, ["vc", "verify", str(out), "--json"])
    assert verified.exit_code == EXIT_INVALID
    report = json.loads(verified.stdout)
    assert report["ok"] is False
    assert report["checks"][0]["name"] == "credential.proof"
    assert report["chain_checked"] is False

    # --chain checks the anchor on the ledger the settings point at, whatever the proof says.
    anchored = runner.invoke(app, ["vc", "verify", str(out), "--chain", "--json"])
    checks = {c["name"]: c for c in json.loads(anchored.stdout)["checks"]}
    assert checks["credential.anchor"]["status"] == "pass", checks
    assert "is the latest" not in checks["credential.anchor"]["reason"]
    assert checks["credential.anchor"]["reason"] == "version 1 is anchored (the latest)"


def test_bad_input_exit_codes(deployed: str, tmp_path: Path) -> None:
    assert runner.invoke(app, ["vc", "export", "not-a-uuid"]).exit_code == EXIT_UNREADABLE
    missing = runner.invoke(app, ["vc", "export", "00000000-0000-4000-8000-000000000000"])
    assert missing.exit_code == EXIT_INVALID
    assert "PassportNotFound" in missing.output
    junk = tmp_path / "junk.jwt"
    junk.write_text("not a jws")
    assert runner.invoke(app, ["vc", "verify", str(junk)]).exit_code == EXIT_UNREADABLE
    assert runner.invoke(app, ["vc", "verify", str(tmp_path / "absent")]).exit_code == EXIT_UNREADABLE
    nobody = runner.invoke(app, ["did", "show", "nobody"])
    assert nobody.exit_code in (EXIT_INVALID, EXIT_UNREADABLE)
    assert "error:" in nobody.output
