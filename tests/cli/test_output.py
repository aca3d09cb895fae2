"""``cli.output``: project errors become one message on stderr and one exit code, for every group."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from cli.output import EXIT_INVALID, EXIT_UNREADABLE, emit, reported
from oracle.errors import MalformedUpload, NotAnchored, OracleError, RecordNotFound
from passport.errors import (
    ConfigError,
    ContractRevert,
    DocumentValidationError,
    InvalidIdentifier,
    KeystoreError,
    PassportError,
    PassportNotFound,
    VerificationError,
)


def run_raising(exc: Exception, context: str | None = None) -> tuple[int, str, str]:
    probe = typer.Typer()

    @probe.command()
    def fail() -> None:
        with reported(context):
            raise exc

    result = CliRunner().invoke(probe, [])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("exc", "code", "stderr"),
    [
        (ConfigError("invalid settings: poll_latency: too small"), EXIT_UNREADABLE, "invalid settings: poll"),
        (InvalidIdentifier("invalid passport id 'x'"), EXIT_UNREADABLE, "error: invalid passport id 'x'"),
        (DocumentValidationError("bad document", problems=[]), EXIT_UNREADABLE, "error: bad document"),
        (MalformedUpload("no readings"), EXIT_UNREADABLE, "error: no readings"),
        (VerificationError("bundle is not a JSON object"), EXIT_UNREADABLE, "error: bundle is not a JSON"),
        (PassportNotFound("no passport 7"), EXIT_INVALID, "error: PassportNotFound: no passport 7"),
        (KeystoreError("no key named 'nobody'"), EXIT_INVALID, "KeystoreError: no key named 'nobody'"),
        (RecordNotFound("no record 0xee"), EXIT_INVALID, "error: RecordNotFound: no record 0xee"),
        (NotAnchored("batch 3 pending"), EXIT_INVALID, "NotAnchored: batch 3 pending"),
        (PassportError("anything else"), EXIT_INVALID, "PassportError: anything else"),
        (OracleError("anything else"), EXIT_INVALID, "OracleError: anything else"),
    ],
)
def test_project_errors_map_to_one_message_and_exit_code(exc: Exception, code: int, stderr: str) -> None:
    exit_code, stdout, err = run_raising(exc)
    assert exit_code == code
    assert stderr in err
    assert err.startswith("error: ")
    assert stdout == ""


def test_context_prefixes_the_message() -> None:
    code, _, err = run_raising(KeystoreError("locked"), "cannot open the ledger")
    assert (code, err.strip()) == (EXIT_INVALID, "error: cannot open the ledger: KeystoreError: locked")


def test_other_exceptions_are_not_swallowed() -> None:
    probe = typer.Typer()

    @probe.command()
    def fail() -> None:
        with reported():
            raise RuntimeError("a bug")

    result = CliRunner().invoke(probe, [])
    assert isinstance(result.exception, RuntimeError)


def test_a_revert_keeps_its_custom_error_name() -> None:
    revert = ContractRevert("BatteryPassportRegistryPassportExists", ())
    code, _, err = run_raising(revert)
    assert code == EXIT_INVALID
    assert "BatteryPassportRegistryPassportExists" in err


def test_emit_shows_bytes_as_hex_in_text_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    emit({"digest": b"\x01\x02", "events": [{"raw": b"\xff"}]}, json_output=False)
    assert capsys.readouterr().out.split() == ["digest", "0x0102", "events", '[{"raw":', '"0xff"}]']
    emit({"digest": b"\x01\x02"}, json_output=True)
    assert '"0x0102"' in capsys.readouterr().out
