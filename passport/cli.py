"""The ``passport`` command line: the root Typer ``app``; each command is a separate function below.

Commands are registered on ``app`` (or as sub-apps with ``app.add_typer``) so other parts of the
project can add theirs next to ``verify`` without touching it.

Exit codes are uniform: 0 success, 1 the thing checked is not valid (a failed check), 2 the input could
not be read or the options are wrong (Typer's own usage errors also exit 2).
"""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from passport.bundle import load_bundle
from passport.chain.protocol import ChainClient
from passport.errors import DocumentValidationError, InvalidIdentifier, PassportError, VerificationError
from passport.ids import ZERO32, parse_passport_id, validate_battery_id
from passport.model.access import AccessTier
from passport.sections import TIER_ORDER
from passport.settings import Settings
from passport.verify import CheckStatus, VerificationReport, parse_trusted_issuers, verify_bundle

if TYPE_CHECKING:
    from passport.service import PassportService

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_UNREADABLE = 2

app = typer.Typer(
    name="passport",
    help="Battery passport ledger: issue, inspect and verify EV battery passports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress to stderr.")] = False,
) -> None:
    """Battery passport ledger."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )


def _die(message: str, code: int = EXIT_UNREADABLE) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


# -- verify -----------------------------------------------------------------------------------------


def _trusted_from(trust: list[str], trust_file: Path | None) -> frozenset[str]:
    addresses = list(trust)
    if trust_file is not None:
        try:
            lines = trust_file.read_text().splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            _die(f"cannot read trust file {trust_file}: {exc}")
        # One address per line; '#' starts a comment so the file can say whose key each one is.
        addresses += [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]
    if not trust and trust_file is None:
        try:
            addresses += list(Settings().trusted_issuers)
        except (PassportError, ValidationError) as exc:
            _die(f"cannot read PASSPORT_TRUSTED_ISSUERS from the environment: {exc}")
    try:
        return parse_trusted_issuers(addresses)
    except InvalidIdentifier as exc:
        _die(str(exc))


def _read_only_chain(rpc: str, registry: str) -> ChainClient:
    """A chain client that verification only reads through.

    ``Web3ChainClient`` always acts as some account; this one is a throwaway key made here and
    forgotten, with no ether and no role, so nothing it could sign would be accepted by the ledger.
    """
    # Imported here: web3 is slow to import, and offline verification never needs it.
    from passport.chain.web3_client import Web3ChainClient

    try:
        return Web3ChainClient.from_rpc(rpc, secrets.token_bytes(32), registry)
    except PassportError as exc:
        _die(f"cannot use {rpc} (registry {registry}): {exc}")


def _print_report(report: VerificationReport, console: Console) -> None:
    styles = {CheckStatus.PASS: "green", CheckStatus.FAIL: "bold red", CheckStatus.SKIPPED: "dim"}
    table = Table(
        title=f"passport {report.passport_id} v{report.version} ({report.status})", title_justify="left"
    )
    table.add_column("check", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("reason", overflow="fold")
    for check in report.checks:
        style = styles[check.status]
        table.add_row(check.name, f"[{style}]{check.status.value}[/{style}]", check.reason)
    console.print(table)
    failed = report.failed()
    if report.ok:
        console.print(
            "[green]VALID[/green]: every check that ran passed"
            + ("" if report.chain_checked else " (offline)")
        )
    else:
        console.print(
            f"[bold red]INVALID[/bold red]: {len(failed)} check(s) failed: "
            + ", ".join(c.name for c in failed)
        )


@app.command("verify")
def verify_command(
    bundle: Annotated[Path, typer.Argument(help="The verification bundle (JSON) to check.")],
    trust: Annotated[
        list[str] | None, typer.Option("--trust", help="A trusted issuer address (repeatable).")
    ] = None,
    trust_file: Annotated[
        Path | None, typer.Option("--trust-file", help="File of trusted issuer addresses, one per line.")
    ] = None,
    rpc: Annotated[str | None, typer.Option("--rpc", help="JSON-RPC URL: also check the ledger.")] = None,
    registry: Annotated[str | None, typer.Option("--registry", help="Registry address (with --rpc).")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Verify a passport bundle offline (and against the ledger with --rpc/--registry)."""
    try:
        raw = bundle.read_bytes()
    except OSError as exc:
        _die(f"cannot read bundle {bundle}: {exc.strerror or exc}")
    try:
        parsed = load_bundle(raw)
    except VerificationError as exc:
        _die(f"{bundle}: {exc}")
    trusted = _trusted_from(trust or [], trust_file)
    if (rpc is None) != (registry is None):
        _die("--rpc and --registry go together")
    chain = _read_only_chain(rpc, registry) if rpc is not None and registry is not None else None

    report = verify_bundle(parsed, trusted, chain)
    if json_output:
        typer.echo(json.dumps(report.model_dump(mode="json"), indent=2))
    else:
        _print_report(report, Console(highlight=False))
    raise typer.Exit(EXIT_OK if report.ok else EXIT_INVALID)


# -- issue / show / bundle --------------------------------------------------------------------------
# These act on the deployed ledger described by the settings (PASSPORT_* environment): the deployment
# manifest, keystore, store and key ring under PASSPORT_DATA_DIR. Bad input exits 2; a ledger, store or
# keystore failure exits 1.


class SampleChemistry(StrEnum):
    """Chemistries ``sample_passport`` has a pack for."""

    NCM = "NCM"
    NCA = "NCA"
    LFP = "LFP"


def _settings() -> Settings:
    try:
        return Settings()
    except (PassportError, ValidationError) as exc:
        _die(f"invalid PASSPORT_* settings: {exc}")


def _service(settings: Settings, participant: str | None) -> PassportService:
    # Imported here: the service pulls in web3, which `passport verify` (offline) never needs.
    from passport.service import PassportService

    try:
        return PassportService.from_settings(settings, participant)
    except PassportError as exc:
        _die(f"cannot open the ledger: {exc}", EXIT_INVALID)


def _passport_arg(value: str) -> uuid.UUID:
    try:
        return parse_passport_id(value)
    except InvalidIdentifier as exc:
        _die(str(exc))


def _ledger_failure(exc: PassportError) -> NoReturn:
    # Input the ledger or the document model rejected as malformed is the caller's to fix (exit 2);
    # everything else (reverts, unreachable node or store, tampered content) is a ledger failure.
    code = EXIT_UNREADABLE if isinstance(exc, InvalidIdentifier | DocumentValidationError) else EXIT_INVALID
    _die(f"{type(exc).__name__}: {exc}", code)


@app.command("issue")
def issue_command(
    sample: Annotated[bool, typer.Option("--sample", help="Issue a generated sample passport.")] = False,
    battery_id: Annotated[
        str | None, typer.Option("--battery-id", help="Battery id of the sample (default: random).")
    ] = None,
    chemistry: Annotated[
        SampleChemistry, typer.Option("--chemistry", help="Cell chemistry of the sample pack.")
    ] = SampleChemistry.NCM,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Issue a passport on the deployed ledger as the keystore's `issuer` participant."""
    from passport.model.materials import Chemistry
    from passport.model.samples import sample_passport

    if not sample:
        _die("nothing to issue: pass --sample (issuing your own documents goes through the API)")
    # A random serial by default, so a demo can be run again; a given one always yields the same
    # passport id (UUIDv5), and issuing it twice is refused by the ledger.
    serial = battery_id or f"SAMPLE-{secrets.token_hex(4).upper()}"
    try:
        document = sample_passport(validate_battery_id(serial), Chemistry(chemistry.value))
    except InvalidIdentifier as exc:
        _die(str(exc))
    settings = _settings()
    service = _service(settings, "issuer")
    try:
        issued = service.issue(document)
    except PassportError as exc:
        _ledger_failure(exc)
    url = f"{settings.public_base_url.rstrip('/')}/p/{issued.passport_id}"
    result = {
        "passport_id": str(issued.passport_id),
        "battery_id": document.battery_id,
        "version": issued.version,
        "status": issued.status.name,
        "manifest_cid": issued.manifest_cid,
        "manifest_digest": "0x" + issued.manifest_digest.hex(),
        "tx_hash": "0x" + issued.tx_hash.hex(),
        "block_number": issued.block_number,
        "signer": issued.signer,
        "url": url,
    }
    if json_output:
        typer.echo(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        typer.echo(f"{key:<16} {value}")


@app.command("show")
def show_command(
    passport_id: Annotated[str, typer.Argument(help="Passport id (UUID, urn:uuid:…, or 0x bytes32).")],
    tier: Annotated[
        list[AccessTier] | None,
        typer.Option("--tier", help="Access tier to show (repeatable; default: public)."),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Show a passport's on-chain record and the sections of the given tiers, checked against the ledger."""
    pid = _passport_arg(passport_id)
    tiers = set(tier or [AccessTier.PUBLIC])
    service = _service(_settings(), None)
    try:
        fetched = service.fetch(pid, tiers)
    except PassportError as exc:
        _ledger_failure(exc)
    record = fetched.record
    result: dict[str, Any] = {
        "passport_id": str(pid),
        "version": record.version,
        "status": record.status.name,
        "issuer": record.issuer,
        "custodian": record.custodian,
        "predecessor": None if record.predecessor == ZERO32 else str(parse_passport_id(record.predecessor)),
        "successor": None if record.successor == ZERO32 else str(parse_passport_id(record.successor)),
        "manifest_cid": fetched.manifest_cid,
        "manifest_digest": "0x" + record.manifest_digest.hex(),
        "tiers": [t.value for t in TIER_ORDER if t in fetched.tiers],
        "data": fetched.view.data,
    }
    if json_output:
        typer.echo(json.dumps(result, indent=2, default=str))
        return
    for key, value in result.items():
        if key != "data":
            typer.echo(f"{key:<16} {value}")
    typer.echo(json.dumps(result["data"], indent=2, default=str))


@app.command("bundle")
def bundle_command(
    passport_id: Annotated[str, typer.Argument(help="Passport id (UUID, urn:uuid:…, or 0x bytes32).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the bundle (JSON).")],
) -> None:
    """Write the offline verification bundle of a passport's current version."""
    pid = _passport_arg(passport_id)
    service = _service(_settings(), None)
    try:
        bundle = service.bundle(pid)
    except PassportError as exc:
        _ledger_failure(exc)
    try:
        output.write_bytes(bundle.to_json())
    except OSError as exc:
        _die(f"cannot write {output}: {exc.strerror or exc}")
    typer.echo(f"bundle of passport {pid} version {bundle.signed.version} written to {output}")
