"""``passport energy``: a second-life pack's metered energy per month, proven offline, claimed once.

Mirrors the API's energy routes. ``prove`` writes the month's proof bundle (readings, Merkle proofs,
anchoring receipts, the storage installation's receipt); ``verify`` checks a bundle with nothing but the
file (``--chain`` also asks the registry whether each root is anchored); ``claim`` records the month's
energy-delivered claim on ``BatteryServices`` as a keystore participant (``--as``, the custodian or the
legal owner) from a bundle that verifies -- once: a second claim for the month is refused by the
contract (``BatteryServicesClaimExists``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli import arguments
from cli.arguments import PassportArg, as_option
from cli.output import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_UNREADABLE,
    JsonOption,
    console,
    die,
    echo_json,
    emit,
    reported,
    table,
)
from cli.session import Session

if TYPE_CHECKING:
    from oracle.energy import EnergyProof
    from oracle.energy_proofs import EnergyProver

app = typer.Typer(
    help="Second-life energy: a month's metered energy proven offline, and its claim recorded once.",
    no_args_is_help=True,
)

MonthArg = Annotated[str, typer.Argument(help="The calendar month, YYYY-MM (UTC).")]


def _prover(session: Session) -> EnergyProver:
    """Read-only: the journal and store of this oracle, a role-less reader, the services contract."""
    from oracle.energy_proofs import EnergyProver
    from oracle.proofs import RecordProofs
    from passport.envelope import KeyRing
    from passport.store import open_store

    settings = session.settings
    ledger = session.ledger()
    with reported():
        proofs = RecordProofs(
            session.journal(), open_store(settings), keyring=KeyRing.from_settings(settings)
        )
        services = ledger.services_ledger(None)
    return EnergyProver(
        proofs, session.client(None), services, from_block=ledger.deployment.deploy_block_number
    )


def _read(bundle: Path) -> EnergyProof:
    from oracle.energy import EnergyProof

    try:
        data = bundle.read_bytes()
    except OSError as exc:
        die(f"cannot read {bundle}: {exc.strerror or exc}", EXIT_UNREADABLE)
    with reported():
        return EnergyProof.parse(data)


@app.command("prove")
def energy_prove_command(
    ctx: typer.Context,
    passport_id: PassportArg,
    month: MonthArg,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the bundle here (default: stdout).")
    ] = None,
) -> None:
    """The proof bundle of the energy the successor passport's pack delivered in MONTH (JSON)."""
    pid = arguments.passport_id(passport_id)
    session = Session.of(ctx)
    prover = _prover(session)
    with reported():
        proof = prover.prove(pid, month, session.passports(None))
    text = proof.model_dump_json(indent=2)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        typer.echo(
            f"wrote {output} ({proof.energy.energy_delivered_wh} Wh delivered, "
            f"{len(proof.records)} readings)",
            err=True,
        )


@app.command("verify")
def energy_verify_command(
    ctx: typer.Context,
    bundle: Annotated[Path, typer.Argument(help="An energy proof bundle (from `energy prove`).")],
    chain: Annotated[
        bool, typer.Option("--chain", help="Also check each root is anchored on the configured ledger.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Verify a month's energy offline: readings, proofs, receipts, window, meter, recomputed figure.

    Exits 0 if every check passes, 1 naming each failed check, 2 if the file is not a bundle.
    """
    from oracle.energy import verify_energy_proof

    proof = _read(bundle)
    reader = Session.of(ctx).client(None) if chain else None
    with reported():
        result = verify_energy_proof(proof, chain=reader)
    if json_output:
        echo_json(result.model_dump(mode="json"))
    else:
        out = table("check", "result", "detail", title=f"energy of {result.passport_id} in {result.month}")
        for check in result.checks:
            out.add_row(check.name, "PASS" if check.ok else "FAIL", check.detail)
        console().print(out)
        verdict = "VALID" if result.ok else "INVALID"
        delivered, received = result.energy_delivered_wh, result.energy_received_wh
        console().print(f"{verdict}: {delivered} Wh delivered, {received} Wh received")
        console().print(f"{result.record_count} readings of {result.battery_id}")
    raise typer.Exit(EXIT_OK if result.ok else EXIT_INVALID)


@app.command("claim")
def energy_claim_command(
    ctx: typer.Context,
    bundle: Annotated[Path, typer.Argument(help="An energy proof bundle (from `energy prove`).")],
    participant: Annotated[str, as_option("the custodian or legal owner; default repurposer")] = "repurposer",
    json_output: JsonOption = False,
) -> None:
    """Record the bundle's energy-delivered claim for its passport and month (once; it must verify)."""
    from oracle.energy_proofs import claim_energy, claim_period, proof_digest

    proof = _read(bundle)
    ledger = Session.of(ctx).ledger()
    with reported():
        receipt = claim_energy(ledger.services_ledger(participant), proof)
    emit(
        {
            "passport_id": str(proof.installation.passport_id),
            "period": claim_period(proof.energy.month),
            "energy_delivered_wh": proof.energy.energy_delivered_wh,
            "evidence_digest": "0x" + proof_digest(proof).hex(),
            "tx_hash": "0x" + receipt.tx_hash.hex(),
            "block_number": receipt.block_number,
        },
        json_output,
    )
