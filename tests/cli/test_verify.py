"""``passport verify``: output per check, and exit codes 0 (valid), 1 (a check failed), 2 (unreadable)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from passport.bundle import VerificationBundle
from passport.verify import CHAIN_CHECKS
from tests.passport.bundle_samples import ISSUER, OFFLINE_CHECKS, OTHER, OTHER_KEY, make_bundle

runner = CliRunner()


@pytest.fixture
def bundle_file(tmp_path: Path) -> Path:
    path = tmp_path / "bundle.json"
    path.write_bytes(make_bundle(tmp_path).to_json())
    return path


def test_valid_bundle_exits_0_and_names_every_check(bundle_file: Path) -> None:
    result = runner.invoke(app, ["verify", str(bundle_file), "--trust", ISSUER])
    assert result.exit_code == 0, result.output
    for name in OFFLINE_CHECKS + list(CHAIN_CHECKS):
        assert name in result.output
    assert "VALID" in result.output
    assert "INVALID" not in result.output


def test_json_report(bundle_file: Path) -> None:
    result = runner.invoke(app, ["verify", str(bundle_file), "--trust", ISSUER, "--json"])
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert [c["name"] for c in report["checks"]] == OFFLINE_CHECKS + list(CHAIN_CHECKS)


def test_untrusted_issuer_exits_1(bundle_file: Path) -> None:
    result = runner.invoke(app, ["verify", str(bundle_file), "--trust", OTHER])
    assert result.exit_code == 1
    assert "INVALID" in result.output
    assert "signature.trusted_issuer" in result.output


def test_tampered_bundle_exits_1(bundle_file: Path) -> None:
    document = json.loads(bundle_file.read_text())
    document["manifest"]["document_schema"] = "other"
    bundle_file.write_text(json.dumps(document))
    result = runner.invoke(app, ["verify", str(bundle_file), "--trust", ISSUER, "--json"])
    assert result.exit_code == 1
    failed = {c["name"] for c in json.loads(result.stdout)["checks"] if c["status"] == "fail"}
    assert failed == {"manifest.digest", "manifest.cid"}


def test_trust_file_with_comments(tmp_path: Path, bundle_file: Path) -> None:
    trust = tmp_path / "trusted.txt"
    trust.write_text(f"# issuers we accept\n\n{OTHER}  # another OEM\n{ISSUER.lower()} # ours\n")
    assert runner.invoke(app, ["verify", str(bundle_file), "--trust-file", str(trust)]).exit_code == 0


def test_trusted_issuers_from_the_environment(bundle_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSPORT_TRUSTED_ISSUERS", json.dumps([ISSUER]))
    assert runner.invoke(app, ["verify", str(bundle_file)]).exit_code == 0
    monkeypatch.setenv("PASSPORT_TRUSTED_ISSUERS", "[]")
    assert runner.invoke(app, ["verify", str(bundle_file)]).exit_code == 1


def test_signature_by_another_key_exits_1(tmp_path: Path) -> None:
    forged: VerificationBundle = make_bundle(tmp_path, key=OTHER_KEY).model_copy(update={"issuer": ISSUER})
    path = tmp_path / "forged.json"
    path.write_bytes(forged.to_json())
    result = runner.invoke(app, ["verify", str(path), "--trust", ISSUER])
    assert result.exit_code == 1
    assert "signature.recover" in result.output


@pytest.mark.parametrize(
    ("args", "content", "fragment"),
    [
        (["--trust", ISSUER], None, "cannot read bundle"),
        (["--trust", ISSUER], b"{not json", "not strict JSON"),
        (["--trust", ISSUER], b'{"format": "x"}', "malformed"),
        (["--trust", "0x1234"], "bundle", "invalid trusted issuer"),
        (["--trust-file", "/nonexistent/trust.txt"], "bundle", "cannot read trust file"),
        (["--trust", ISSUER, "--rpc", "http://127.0.0.1:9"], "bundle", "--rpc and --registry go together"),
        (["--trust", ISSUER, "--registry", ISSUER], "bundle", "--rpc and --registry go together"),
    ],
    ids=[
        "missing-file",
        "not-json",
        "malformed",
        "bad-trust",
        "missing-trust-file",
        "rpc-alone",
        "registry-alone",
    ],
)
def test_unreadable_input_exits_2_with_a_message(
    tmp_path: Path, bundle_file: Path, args: list[str], content: bytes | str | None, fragment: str
) -> None:
    if content is None:
        path = tmp_path / "missing.json"
    elif content == "bundle":
        path = bundle_file
    else:
        path = tmp_path / "input.json"
        path.write_bytes(content)  # type: ignore[arg-type]
    result = runner.invoke(app, ["verify", str(path), *args])
    assert result.exit_code == 2
    assert fragment in result.stderr


def test_no_arguments_shows_help() -> None:
    result = runner.invoke(app, [])
    assert "verify" in result.output
