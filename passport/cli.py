"""The ``passport`` command line: the root Typer ``app``; each command is a separate function below.

Commands are registered on ``app`` (or as sub-apps with ``app.add_typer``) so other parts of the
project can add theirs next to ``verify`` without touching it.

Exit codes are uniform: 0 success, 1 the thing checked is not valid (a failed check) or the ledger,
store or keystore failed (a revert is named by its custom error), 2 the input could not be read or the
options are wrong (Typer's own usage errors also exit 2). Messages go to stderr; results to stdout, as
``key value`` lines or tables, or one JSON document with ``--json``.

Only the core library is imported here (``passport.chain``, ``passport.service``, ``passport.audit``);
commands that need the oracle are attached by ``scripts.cli``.
"""

from __future__ import annotations

import itertools
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
from passport.chain.records import BusinessKind, BusinessRecord, TxReceipt
from passport.errors import DocumentValidationError, InvalidIdentifier, PassportError, VerificationError
from passport.ids import (
    ZERO32,
    battery_id_hash,
    parse_bytes32,
    parse_passport_id,
    passport_id_bytes32,
    validate_battery_id,
)
from passport.ledger import open_ledger
from passport.model.access import AccessTier
from passport.sections import TIER_ORDER
from passport.settings import Settings
from passport.verify import CheckStatus, VerificationReport, parse_trusted_issuers, verify_bundle

if TYPE_CHECKING:
    from passport.audit import AuditEvent, IndexFollower, SqliteAuditIndex
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

    try:
        return open_ledger(settings).passports(participant)
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
    from devtools.samples import sample_passport
    from passport.model.materials import Chemistry

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


# -- shared by the ledger commands below --------------------------------------------------------------
# Each write acts as a keystore participant (``--as``); reads need none. Output is ``key value`` lines,
# or one JSON document with ``--json``.

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
PassportArg = Annotated[str, typer.Argument(help="Passport id (UUID, urn:uuid:…, or 0x bytes32).")]
AccountArg = Annotated[str, typer.Argument(help="Account address (0x-hex; EIP-55 checked when mixed case).")]


def _as_option(default_help: str) -> Any:
    return typer.Option("--as", help=f"Keystore participant to act as ({default_help}).")


def _plain(value: object) -> object:
    """A JSON-ready copy of chain values: bytes as 0x-hex, enums as ints, containers recursively."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _emit(result: dict[str, Any], json_output: bool) -> None:
    if json_output:
        typer.echo(json.dumps(_plain(result), indent=2, default=str))
        return
    for key, value in result.items():
        shown = json.dumps(_plain(value), default=str) if isinstance(value, dict | list) else value
        typer.echo(f"{key:<16} {shown}")


def _address_arg(value: str) -> str:
    from eth_utils.address import to_checksum_address

    from passport.audit.records import normalize_address

    try:
        return str(to_checksum_address(normalize_address(value)))
    except InvalidIdentifier as exc:
        _die(str(exc))


def _receipt(receipt: TxReceipt) -> dict[str, Any]:
    return {
        "tx_hash": receipt.tx_hash,
        "block_number": receipt.block_number,
        "events": [{"name": event.name, "args": event.args} for event in receipt.events],
    }


def _chain_timestamp(chain: ChainClient) -> int:
    """When the offer will be mined (not the latest block's time, stale on an idle node)."""
    from passport.chain.clock import chain_now

    return chain_now(chain)


# -- audit index --------------------------------------------------------------------------------------

# Blocks read per follower step while a progress bar is shown; ranges shorter than this sync silently.
SYNC_STEP = 2000


def _synced_index(settings: Settings, chain: ChainClient) -> SqliteAuditIndex:
    """The service's audit index (``index_path``), caught up with the chain's confirmed head."""
    from passport.audit import FollowerConfig, IndexFollower, SqliteAuditIndex, index_path
    from passport.chain.deployment import load_manifest

    try:
        manifest = load_manifest(settings)
        index = SqliteAuditIndex(index_path(settings))
    except PassportError as exc:
        _ledger_failure(exc)
    follower = IndexFollower(
        index, FollowerConfig.from_settings(settings, start_block=manifest.deploy_block_number)
    )
    try:
        _sync(follower, chain)
    except PassportError as exc:
        index.close()
        _ledger_failure(exc)
    return index


def _sync(follower: IndexFollower, chain: ChainClient) -> None:
    cursor = follower.index.cursor()
    first = follower.config.start_block if cursor is None else cursor.number + 1
    target = chain.block_number() - follower.config.confirmations
    if target - first + 1 <= SYNC_STEP:
        follower.sync(chain)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("indexing ledger blocks", total=target - first + 1)
        while True:
            result = follower.sync(chain, max_blocks=SYNC_STEP)
            done = 0 if result.cursor is None else result.cursor.number - first + 1
            progress.update(task, completed=min(max(done, 0), target - first + 1))
            if result.to_block is None or result.cursor is None or result.cursor.number >= target:
                return


_SHORT_COLUMNS = frozenset({"block", "log", "event", "version", "status"})


def _table(*columns: str, title: str | None = None) -> Table:
    """A table whose cells fold rather than truncate: ids and hashes are useless cut short."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold", no_wrap=column in _SHORT_COLUMNS)
    return table


def _event_row(event: AuditEvent) -> dict[str, Any]:
    return event.model_dump(mode="json")


# -- custody ------------------------------------------------------------------------------------------

custody_app = typer.Typer(
    help="Custody transfers: offer a passport to a registered business, accept, cancel, history.",
    no_args_is_help=True,
)
app.add_typer(custody_app, name="custody")

DEFAULT_OFFER_SECONDS = 7 * 24 * 3600


@custody_app.command("offer")
def custody_offer_command(
    passport_id: PassportArg,
    to: Annotated[str, typer.Argument(help="Address of the registered business offered custody.")],
    expires_in: Annotated[
        int, typer.Option("--expires-in", min=1, help="Seconds (of chain time) the offer stays open.")
    ] = DEFAULT_OFFER_SECONDS,
    participant: Annotated[str, _as_option("the custodian; default issuer")] = "issuer",
    json_output: JsonOption = False,
) -> None:
    """Offer custody of a passport (as its current custodian) to a registered business."""
    pid = _passport_arg(passport_id)
    recipient = _address_arg(to)
    chain = _service(_settings(), participant).chain
    try:
        expires_at = _chain_timestamp(chain) + expires_in
        receipt = chain.offer_custody(passport_id_bytes32(pid), recipient, expires_at)
    except PassportError as exc:
        _ledger_failure(exc)
    result = {"passport_id": str(pid), "from": chain.account, "to": recipient, "expires_at": expires_at}
    _emit(result | _receipt(receipt), json_output)


@custody_app.command("accept")
def custody_accept_command(
    passport_id: PassportArg,
    participant: Annotated[str, _as_option("the offeree; default business")] = "business",
    json_output: JsonOption = False,
) -> None:
    """Accept a pending custody offer (as the business it was made to)."""
    pid = _passport_arg(passport_id)
    chain = _service(_settings(), participant).chain
    try:
        receipt = chain.accept_custody(passport_id_bytes32(pid))
    except PassportError as exc:
        _ledger_failure(exc)
    _emit({"passport_id": str(pid), "custodian": chain.account} | _receipt(receipt), json_output)


@custody_app.command("cancel")
def custody_cancel_command(
    passport_id: PassportArg,
    participant: Annotated[str, _as_option("the custodian; default issuer")] = "issuer",
    json_output: JsonOption = False,
) -> None:
    """Withdraw a pending custody offer (as the custodian who made it)."""
    pid = _passport_arg(passport_id)
    chain = _service(_settings(), participant).chain
    try:
        receipt = chain.cancel_custody_offer(passport_id_bytes32(pid))
    except PassportError as exc:
        _ledger_failure(exc)
    _emit({"passport_id": str(pid)} | _receipt(receipt), json_output)


@custody_app.command("history")
def custody_history_command(passport_id: PassportArg, json_output: JsonOption = False) -> None:
    """The passport's custody chain from ledger events (offers, transfers, cancellations), oldest first."""
    pid = _passport_arg(passport_id)
    settings = _settings()
    chain = _service(settings, None).chain
    try:
        record = chain.get_passport(passport_id_bytes32(pid))
        offer = chain.get_custody_offer(passport_id_bytes32(pid))
    except PassportError as exc:
        _ledger_failure(exc)
    if record is None:
        _die(f"PassportNotFound: no passport {pid} on the ledger", EXIT_INVALID)
    with _synced_index(settings, chain) as index:
        events = index.custody_timeline(pid)
    pending = None
    if offer is not None:
        pending = {"from": offer.from_address, "to": offer.to_address, "expires_at": offer.expires_at}
    if json_output:
        result = {
            "passport_id": str(pid),
            "custodian": record.custodian,
            "pending_offer": pending,
            "events": [_event_row(event) for event in events],
        }
        typer.echo(json.dumps(result, indent=2))
        return
    typer.echo(f"passport {pid}: custodian {record.custodian}")
    if pending is not None:
        typer.echo(f"pending offer to {pending['to']} until {pending['expires_at']}")
    table = _table("block", "event", "from", "to", "tx")
    for event in events:
        args = event.args
        table.add_row(
            str(event.block_number),
            event.name,
            str(args.get("from", "")),
            str(args.get("to", "")),
            event.tx_hash,
        )
    Console(highlight=False).print(table)


# -- businesses ---------------------------------------------------------------------------------------

business_app = typer.Typer(
    help="The registry of used-battery businesses (register, suspend, reinstate: ledger admin).",
    no_args_is_help=True,
)
app.add_typer(business_app, name="business")


class BusinessKindName(StrEnum):
    """What a registered business may do (``BusinessKind`` flags, by name)."""

    COLLECTOR = "collector"
    REUSER = "reuser"
    REPURPOSER = "repurposer"
    REMANUFACTURER = "remanufacturer"
    RECYCLER = "recycler"


def _business(record: BusinessRecord) -> dict[str, Any]:
    return {
        "account": record.account,
        "kinds": [kind.value for kind in BusinessKindName if BusinessKind[kind.name] in record.kinds],
        "registration_hash": record.registration_hash,
        "active": record.active,
        "registered_at": record.registered_at,
    }


@business_app.command("register")
def business_register_command(
    account: AccountArg,
    kind: Annotated[
        list[BusinessKindName], typer.Option("--kind", help="An activity of the business (repeatable).")
    ],
    certificate_hash: Annotated[
        str,
        typer.Option("--certificate-hash", help="0x-hex digest (32 bytes) of the registration certificate."),
    ],
    participant: Annotated[str, _as_option("the ledger admin; default admin")] = "admin",
    json_output: JsonOption = False,
) -> None:
    """Register a used-battery business with its activities and certificate digest."""
    address = _address_arg(account)
    try:
        registration_hash = parse_bytes32(certificate_hash, "certificate hash")
    except InvalidIdentifier as exc:
        _die(str(exc))
    kinds = BusinessKind(0)
    for name in kind:
        kinds |= BusinessKind[name.name]
    chain = _service(_settings(), participant).chain
    try:
        receipt = chain.register_business(address, kinds, registration_hash)
    except PassportError as exc:
        _ledger_failure(exc)
    result = {
        "account": address,
        "kinds": sorted({k.value for k in kind}),
        "registration_hash": registration_hash,
    }
    _emit(result | _receipt(receipt), json_output)


@business_app.command("suspend")
def business_suspend_command(
    account: AccountArg,
    participant: Annotated[str, _as_option("the ledger admin; default admin")] = "admin",
    json_output: JsonOption = False,
) -> None:
    """Suspend a registered business: it can no longer be offered or accept custody."""
    _set_business_active(account, participant, json_output, active=False)


@business_app.command("reinstate")
def business_reinstate_command(
    account: AccountArg,
    participant: Annotated[str, _as_option("the ledger admin; default admin")] = "admin",
    json_output: JsonOption = False,
) -> None:
    """Reinstate a suspended business."""
    _set_business_active(account, participant, json_output, active=True)


def _set_business_active(account: str, participant: str, json_output: bool, *, active: bool) -> None:
    address = _address_arg(account)
    chain = _service(_settings(), participant).chain
    try:
        receipt = chain.reinstate_business(address) if active else chain.suspend_business(address)
    except PassportError as exc:
        _ledger_failure(exc)
    _emit({"account": address, "active": active} | _receipt(receipt), json_output)


@business_app.command("show")
def business_show_command(account: AccountArg, json_output: JsonOption = False) -> None:
    """Show a business's registration (kinds, certificate digest, whether it is active)."""
    address = _address_arg(account)
    chain = _service(_settings(), None).chain
    try:
        record = chain.get_business(address)
    except PassportError as exc:
        _ledger_failure(exc)
    if record is None:
        _die(f"BusinessNotFound: no business registered for {address}", EXIT_INVALID)
    _emit(_business(record), json_output)


# -- versions -----------------------------------------------------------------------------------------


@app.command("versions")
def versions_command(passport_id: PassportArg, json_output: JsonOption = False) -> None:
    """Every version of a passport, oldest first: the ledger's digests and how each was written."""
    pid = _passport_arg(passport_id)
    service = _service(_settings(), None)
    try:
        versions = service.versions(pid)
    except PassportError as exc:
        _ledger_failure(exc)
    rows: list[dict[str, Any]] = [
        {
            "version": v.version,
            "status": None if v.status is None else v.status.name,
            "manifest_digest": v.manifest_digest,
            "manifest_cid": v.manifest_cid,
            "signer": v.signer,
            "tx_hash": v.tx_hash,
            "block_number": v.block_number,
            "recorded": v.recorded,
        }
        for v in versions
    ]
    if json_output:
        typer.echo(json.dumps({"passport_id": str(pid), "versions": _plain(rows)}, indent=2))
        return
    table = _table("version", "status", "manifest cid", "block", "signer", title=f"passport {pid}")
    for row in rows:
        table.add_row(
            str(row["version"]),
            str(row["status"] or "?"),
            row["manifest_cid"],
            "" if row["block_number"] is None else str(row["block_number"]),
            row["signer"] or "",
        )
    Console(highlight=False).print(table)


# -- audit --------------------------------------------------------------------------------------------

audit_app = typer.Typer(help="The audit index of ledger events: query and export.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


class EventFormat(StrEnum):
    """How ``audit events`` writes events."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"


DEFAULT_EVENT_LIMIT = 100


@audit_app.command("events")
def audit_events_command(
    passport: Annotated[str | None, typer.Option("--passport", help="Only events of this passport.")] = None,
    battery_id: Annotated[
        str | None, typer.Option("--battery-id", help="Only events of this battery.")
    ] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Only events naming this address.")] = None,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="Event name, e.g. CustodyTransferred (repeatable).")
    ] = None,
    from_block: Annotated[int | None, typer.Option("--from-block", min=0)] = None,
    to_block: Annotated[int | None, typer.Option("--to-block", min=0)] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            min=1,
            help=f"At most this many events (default: {DEFAULT_EVENT_LIMIT} on screen, all into -o FILE).",
        ),
    ] = None,
    fmt: Annotated[EventFormat, typer.Option("--format", help="Output format.")] = EventFormat.TABLE,
    json_output: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write every match to FILE.")] = None,
) -> None:
    """Query the ledger's events (the audit index is synced first), as a table, JSON or CSV."""
    from passport.audit import MAX_PAGE_SIZE, EventQuery, to_csv, to_json_array
    from passport.audit.records import normalize_passport_id

    if json_output:
        fmt = EventFormat.JSON
    if output is not None and fmt is EventFormat.TABLE:
        _die("-o writes json or csv: pass --format json or --format csv")
    try:
        battery_hash = None if battery_id is None else battery_id_hash(validate_battery_id(battery_id))
        cap = limit if limit is not None else (None if output is not None else DEFAULT_EVENT_LIMIT)
        query = EventQuery(
            passport_id=None if passport is None else normalize_passport_id(_passport_arg(passport)),
            battery_id_hash=None if battery_hash is None else "0x" + battery_hash.hex(),
            actor=actor,
            names=tuple(kind or ()),
            from_block=from_block,
            to_block=to_block,
            limit=min(cap or MAX_PAGE_SIZE, MAX_PAGE_SIZE),
        )
    except (InvalidIdentifier, ValidationError) as exc:
        _die(f"invalid query: {exc}")
    settings = _settings()
    chain = _service(settings, None).chain
    with _synced_index(settings, chain) as index:
        events = itertools.islice(index.iter_events(query), cap)
        if fmt is EventFormat.TABLE:
            _print_events(list(events))
            return
        chunks = to_csv(events) if fmt is EventFormat.CSV else to_json_array(events)
        if output is None:
            for chunk in chunks:
                typer.echo(chunk, nl=False)
            typer.echo()
            return
        try:
            with output.open("w", encoding="utf-8", newline="") as file:
                for chunk in chunks:
                    file.write(chunk)
        except OSError as exc:
            _die(f"cannot write {output}: {exc.strerror or exc}")
    typer.echo(f"events written to {output} ({fmt.value})", err=True)


def _print_events(events: list[AuditEvent]) -> None:
    table = _table("block", "log", "event", "passport", "args")
    for event in events:
        table.add_row(
            str(event.block_number),
            str(event.log_index),
            event.name,
            event.passport_id or "",
            json.dumps(event.args, sort_keys=True),
        )
    Console(highlight=False).print(table)
