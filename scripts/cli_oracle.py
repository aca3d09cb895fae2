"""``passport telemetry upload`` and ``passport record proof``: the commands that need the oracle.

They act on the same oracle journal as the API (``Settings.journal_path`` under
``PASSPORT_DATA_DIR``), so a script or an auditor sees exactly what the service sees. They live here, not
in ``passport.cli``, because the core package must not import the oracle (``scripts → oracle →
passport``); ``scripts.cli`` attaches them to the ``passport`` command. Exit codes follow
``passport.cli``: 0 success, 1 a rejected upload or a failed check or a ledger/journal failure, 2 input
that could not be read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError

from oracle.errors import OracleError
from oracle.ingestion import Acknowledgement, Ingestor
from oracle.journal import Journal
from oracle.proofs import RecordProofs
from passport.cli import EXIT_INVALID, EXIT_OK, EXIT_UNREADABLE
from passport.errors import InvalidIdentifier, PassportError
from passport.ids import parse_bytes32
from passport.ledger import open_ledger
from passport.settings import Settings
from passport.store import open_store

telemetry_app = typer.Typer(
    help="Device telemetry: signed uploads into the oracle's journal.", no_args_is_help=True
)
record_app = typer.Typer(help="Anchored device records: inclusion proofs.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def _die(message: str, code: int = EXIT_UNREADABLE) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _settings() -> Settings:
    try:
        return Settings()
    except (PassportError, ValidationError) as exc:
        _die(f"invalid PASSPORT_* settings: {exc}")


def _journal(settings: Settings) -> Journal:
    try:
        return Journal(settings.journal_path)
    except (OracleError, OSError) as exc:
        _die(f"cannot open the oracle journal: {exc}", EXIT_INVALID)


def _read_uploads(path: Path) -> list[Any]:
    try:
        value = json.loads(path.read_bytes())
    except OSError as exc:
        _die(f"cannot read {path}: {exc.strerror or exc}")
    except ValueError as exc:
        _die(f"{path} is not JSON: {exc}")
    uploads = value if isinstance(value, list) else [value]
    if not uploads or not all(isinstance(upload, dict) for upload in uploads):
        _die(f"{path}: expected a signed upload (JSON object) or a non-empty list of them")
    return uploads


def _describe(ack: Acknowledgement) -> list[str]:
    who = f"{ack.device_id or '?'}#{ack.seq if ack.seq is not None else '?'}"
    if ack.status == "rejected":
        return [f"{who} rejected ({ack.code}): {ack.reason}"]
    lines = [f"{who} {ack.status}: {len(ack.accepted)} reading(s) journaled, {len(ack.rejected)} rejected"]
    lines += [f"  accepted [{record.index}] {record.kind} {record.digest}" for record in ack.accepted]
    for rejected in ack.rejected:
        lines += [f"  rejected [{rejected.index}] {p.path}: {p.reason}" for p in rejected.problems]
    if ack.gap is not None:
        lines.append(f"  gap: sequence numbers {ack.gap.first}..{ack.gap.last} never received")
    return lines


@telemetry_app.command("upload")
def telemetry_upload_command(
    file: Annotated[Path, typer.Argument(help="JSON file: one signed upload, or a list of them.")],
    json_output: JsonOption = False,
) -> None:
    """Journal signed device uploads (as the API's telemetry route does) and print the acknowledgements.

    Exits 1 if any upload was rejected as a whole; rejected readings of an accepted upload are listed.
    """
    uploads = _read_uploads(file)
    with _journal(_settings()) as journal:
        try:
            acks = Ingestor(journal).ingest_many(uploads)
        except OracleError as exc:
            _die(f"{type(exc).__name__}: {exc}", EXIT_INVALID)
    rejected = sum(1 for ack in acks if ack.status == "rejected")
    if json_output:
        result = {
            "acknowledgements": [ack.model_dump(mode="json") for ack in acks],
            "accepted": len(acks) - rejected,
            "rejected": rejected,
        }
        typer.echo(json.dumps(result, indent=2))
    else:
        for ack in acks:
            for line in _describe(ack):
                typer.echo(line)
    raise typer.Exit(EXIT_INVALID if rejected else EXIT_OK)


@record_app.command("proof")
def record_proof_command(
    digest: Annotated[str, typer.Argument(help="The record digest (0x-hex, from an acknowledgement).")],
    json_output: JsonOption = False,
) -> None:
    """The Merkle proof of an anchored record, checked offline and with the registry's verifyRecord.

    Exits 0 only if both checks pass; 1 if the record is unknown, not anchored yet, or a check fails.
    """

    try:
        record_digest = parse_bytes32(digest, "record digest")
    except InvalidIdentifier as exc:
        _die(str(exc))
    settings = _settings()
    try:
        reader = open_ledger(settings).reader
        store = open_store(settings)
    except PassportError as exc:
        _die(f"cannot open the ledger: {exc}", EXIT_INVALID)
    with _journal(settings) as journal:
        # Read-only: the journal, the store and a reader; never the oracle's key.
        try:
            proof = RecordProofs(journal, store).proof_for_digest(record_digest)
            offline = proof.verify_offline()
            on_chain = proof.verify_on_chain(reader)
        except (OracleError, PassportError) as exc:
            _die(f"{type(exc).__name__}: {exc}", EXIT_INVALID)
    ok = offline and on_chain
    if json_output:
        result = {
            "proof": proof.model_dump(mode="json"),
            "verified_offline": offline,
            "verified_on_chain": on_chain,
        }
        typer.echo(json.dumps(result, indent=2))
    else:
        rows: dict[str, object] = {
            "record_digest": "0x" + proof.record_digest.hex(),
            "root": "0x" + proof.root.hex(),
            "kind": proof.kind.name,
            "cid": proof.cid,
            "block_number": proof.block_number,
            "tx_hash": None if proof.tx_hash is None else "0x" + proof.tx_hash.hex(),
            "confirmed": proof.confirmed,
            "proof": ["0x" + node.hex() for node in proof.proof],
            "offline": "PASS" if offline else "FAIL",
            "on_chain": "PASS" if on_chain else "FAIL",
        }
        for key, value in rows.items():
            typer.echo(f"{key:<16} {json.dumps(value) if isinstance(value, list) else value}")
    raise typer.Exit(EXIT_OK if ok else EXIT_INVALID)
