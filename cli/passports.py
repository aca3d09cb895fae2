"""Passports: ``verify``, ``issue``, ``show``, ``bundle`` and ``versions`` (top-level verbs).

``verify`` reads a bundle and needs no ledger unless ``--rpc``/``--registry`` are given; the others act
on the deployed ledger the ``PASSPORT_*`` settings describe (manifest, keystore, store and key ring under
``PASSPORT_DATA_DIR``), as the API's ``/passports`` routes do.
"""

from __future__ import annotations

import secrets
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli import arguments
from cli.arguments import PassportArg
from cli.output import (
    EXIT_INVALID,
    EXIT_OK,
    JsonOption,
    console,
    die,
    echo_json,
    emit,
    reported,
    table,
)
from cli.session import Session
from passport.bundle import load_bundle
from passport.ids import ZERO32, parse_passport_id, validate_battery_id
from passport.model.access import AccessTier
from passport.sections import TIER_ORDER
from passport.verify import CheckStatus, VerificationReport, parse_trusted_issuers, verify_bundle

if TYPE_CHECKING:
    from passport.chain.protocol import ChainClient

app = typer.Typer()


# -- verify -----------------------------------------------------------------------------------------


def _trusted(session: Session, trust: list[str], trust_file: Path | None) -> frozenset[str]:
    """``--trust`` and ``--trust-file`` addresses; with neither, the settings' ``trusted_issuers``."""
    addresses = list(trust)
    if trust_file is not None:
        try:
            lines = trust_file.read_text().splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            die(f"cannot read trust file {trust_file}: {exc}")
        # One address per line; '#' starts a comment so the file can say whose key each one is.
        addresses += [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]
    if not trust and trust_file is None:
        addresses += session.settings.trusted_issuers
    with reported():
        return parse_trusted_issuers(addresses)


def _read_only_chain(session: Session, rpc: str, registry: str) -> ChainClient:
    """A chain client that verification only reads through, for any node and registry named.

    ``Web3ChainClient`` always acts as some account; this one is a throwaway key made here and
    forgotten, with no ether and no role, so nothing it could sign would be accepted by the ledger.
    """
    from passport.chain.web3_client import Web3ChainClient

    settings = session.settings
    with reported(f"cannot use {rpc} (registry {registry})"):
        return Web3ChainClient.from_rpc(rpc, secrets.token_bytes(32), registry, settings=settings)


def _print_report(report: VerificationReport) -> None:
    styles = {CheckStatus.PASS: "green", CheckStatus.FAIL: "bold red", CheckStatus.SKIPPED: "dim"}
    title = f"passport {report.passport_id} v{report.version} ({report.status})"
    checks = table("check", "result", "reason", title=title)
    for check in report.checks:
        style = styles[check.status]
        checks.add_row(check.name, f"[{style}]{check.status.value}[/{style}]", check.reason)
    out = console()
    out.print(checks)
    out.print(report.summary, style="green" if report.ok else "bold red")


@app.command("verify")
def verify_command(
    ctx: typer.Context,
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
    session = Session.of(ctx)
    try:
        raw = bundle.read_bytes()
    except OSError as exc:
        die(f"cannot read bundle {bundle}: {exc.strerror or exc}")
    with reported(str(bundle)):
        parsed = load_bundle(raw)
    trusted = _trusted(session, trust or [], trust_file)
    if (rpc is None) != (registry is None):
        die("--rpc and --registry go together")
    chain = _read_only_chain(session, rpc, registry) if rpc is not None and registry is not None else None

    report = verify_bundle(parsed, trusted, chain)
    if json_output:
        echo_json(report.model_dump(mode="json"))
    else:
        _print_report(report)
    raise typer.Exit(EXIT_OK if report.ok else EXIT_INVALID)


# -- issue / show / bundle / versions ---------------------------------------------------------------


class SampleChemistry(StrEnum):
    """Chemistries ``sample_passport`` has a pack for."""

    NCM = "NCM"
    NCA = "NCA"
    LFP = "LFP"


@app.command("issue")
def issue_command(
    ctx: typer.Context,
    sample: Annotated[bool, typer.Option("--sample", help="Issue a generated sample passport.")] = False,
    battery_id: Annotated[
        str | None, typer.Option("--battery-id", help="Battery id of the sample (default: random).")
    ] = None,
    chemistry: Annotated[
        SampleChemistry, typer.Option("--chemistry", help="Cell chemistry of the sample pack.")
    ] = SampleChemistry.NCM,
    json_output: JsonOption = False,
) -> None:
    """Issue a passport on the deployed ledger as the keystore's `issuer` participant."""
    from devtools.samples import sample_passport
    from passport.model.materials import Chemistry

    if not sample:
        die("nothing to issue: pass --sample (issuing your own documents goes through the API)")
    # A random serial by default, so a demo can be run again; a given one always yields the same
    # passport id (UUIDv5), and issuing it twice is refused by the ledger.
    serial = battery_id or f"SAMPLE-{secrets.token_hex(4).upper()}"
    with reported():
        document = sample_passport(validate_battery_id(serial), Chemistry(chemistry.value))
    session = Session.of(ctx)
    service = session.passports("issuer")
    with reported():
        issued = service.issue(document)
    result = {
        "passport_id": str(issued.passport_id),
        "battery_id": document.battery_id,
        "version": issued.version,
        "status": issued.status.name,
        "manifest_cid": issued.manifest_cid,
        "manifest_digest": issued.manifest_digest,
        "tx_hash": issued.tx_hash,
        "block_number": issued.block_number,
        "signer": issued.signer,
        "url": f"{session.settings.public_base_url}/p/{issued.passport_id}",
    }
    emit(result, json_output)
    if not json_output:
        # Ready to paste, so the README tour's commands act on this passport without copying its id.
        typer.echo(f"export PID={issued.passport_id}")


@app.command("show")
def show_command(
    ctx: typer.Context,
    passport_id: PassportArg,
    tier: Annotated[
        list[AccessTier] | None,
        typer.Option("--tier", help="Access tier to show (repeatable; default: public)."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Show a passport's on-chain record and the sections of the given tiers, checked against the ledger."""
    pid = arguments.passport_id(passport_id)
    tiers = set(tier or [AccessTier.PUBLIC])
    service = Session.of(ctx).passports(None)
    with reported():
        fetched = service.fetch(pid, tiers)
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
        "manifest_digest": record.manifest_digest,
        "tiers": [t.value for t in TIER_ORDER if t in fetched.tiers],
        "data": fetched.view.data,
    }
    if json_output:
        echo_json(result)
        return
    emit({key: value for key, value in result.items() if key != "data"}, json_output=False)
    echo_json(result["data"])


@app.command("bundle")
def bundle_command(
    ctx: typer.Context,
    passport_id: PassportArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the bundle (JSON).")],
) -> None:
    """Write the offline verification bundle of a passport's current version."""
    pid = arguments.passport_id(passport_id)
    service = Session.of(ctx).passports(None)
    with reported():
        bundle = service.bundle(pid)
    try:
        output.write_bytes(bundle.to_json())
    except OSError as exc:
        die(f"cannot write {output}: {exc.strerror or exc}")
    typer.echo(f"bundle of passport {pid} version {bundle.signed.version} written to {output}")


@app.command("versions")
def versions_command(ctx: typer.Context, passport_id: PassportArg, json_output: JsonOption = False) -> None:
    """Every version of a passport, oldest first: the ledger's digests and how each was written."""
    pid = arguments.passport_id(passport_id)
    service = Session.of(ctx).passports(None)
    with reported():
        versions = service.versions(pid)
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
        echo_json({"passport_id": str(pid), "versions": rows})
        return
    listing = table("version", "status", "manifest cid", "block", "signer", title=f"passport {pid}")
    for row in rows:
        listing.add_row(
            str(row["version"]),
            str(row["status"] or "?"),
            row["manifest_cid"],
            "" if row["block_number"] is None else str(row["block_number"]),
            row["signer"] or "",
        )
    console().print(listing)
