"""``passport carbon``: carbon-footprint declarations (Art. 7) computed from activity data per
manufacturing process and documented emission factors, signed and stored. Mirrors ``/carbon``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import Field

from cli.arguments import as_option
from cli.output import JsonOption, emit, reported
from cli.recycled import read_model
from cli.session import Session
from passport.materials import (
    Activity,
    CarbonFootprintDeclaration,
    EmissionFactor,
    declare_carbon_footprint,
    document_cid,
    document_digest,
    open_document,
    sign_document,
)
from passport.materials.documents import Hex32, MaterialModel
from passport.model.documents import DocumentRef
from passport.store import open_store
from passport.store.cid import cid_digest

app = typer.Typer(help="Carbon-footprint declarations per life-cycle stage (Art. 7).", no_args_is_help=True)


class DeclarationInput(MaterialModel):
    """What ``passport carbon declare`` reads: the passport, its energy over life, factors, activities."""

    passport_id: Hex32
    battery_model: str = Field(min_length=1, max_length=200)
    plant: str = Field(min_length=1, max_length=200)
    usable_energy_kwh: float = Field(gt=0, le=100_000)
    expected_full_cycles: int = Field(gt=0, le=1_000_000)
    factors: list[EmissionFactor] = Field(min_length=1)
    activities: list[Activity] = Field(min_length=1)
    study: DocumentRef


def _result(cid: str, signer: str, declaration: CarbonFootprintDeclaration) -> dict[str, object]:
    return {
        "cid": cid,
        "signer": signer,
        "performance_class": declaration.performance_class,
        "total_kg_co2e_per_kwh": declaration.total_kg_co2e_per_kwh,
        "stages": {s.stage.value: s.kg_co2e_per_kwh for s in declaration.stages},
    }


@app.command("declare")
def declare_command(
    ctx: typer.Context,
    input_file: Annotated[
        Path, typer.Argument(help="JSON: passport_id, energy, factors, activities, study.")
    ],
    participant: Annotated[str, as_option("the manufacturer signing it; default issuer")] = "issuer",
    json_output: JsonOption = False,
) -> None:
    """Compute, sign and store a declaration; exit 2 when a factor is missing or units disagree."""
    body = read_model(input_file, DeclarationInput)
    session = Session.of(ctx)
    ledger = session.ledger()
    with reported():
        declaration = declare_carbon_footprint(
            **body.model_dump(exclude={"factors", "activities", "study"}),
            factors=body.factors,
            activities=body.activities,
            study=body.study,
        )
        key = ledger.key(participant)
        data = sign_document(declaration, key)
        cid = open_store(session.settings).put(data)
    _, signer = open_document(data, CarbonFootprintDeclaration)
    emit(_result(cid, signer, declaration) | {"digest": "0x" + document_digest(data).hex()}, json_output)


@app.command("show")
def show_command(
    ctx: typer.Context,
    cid: Annotated[str, typer.Argument(help="The declaration's CID.")],
    json_output: JsonOption = False,
) -> None:
    """A stored declaration with its signer (exit 1 if its signature or sums do not hold)."""
    settings = Session.of(ctx).settings
    with reported():
        data = open_store(settings).get(document_cid(cid_digest(cid)))
        declaration, signer = open_document(data, CarbonFootprintDeclaration)
    emit(_result(cid, signer, declaration), json_output)
