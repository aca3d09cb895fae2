"""``passport telemetry upload``: signed device uploads into the oracle's journal (the API's ``/telemetry``).

The journal is the API's own (``Settings.journal_path``), so a script
or an auditor sees exactly what the service sees.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.output import EXIT_INVALID, EXIT_OK, JsonOption, die, echo_json, reported
from cli.session import Session

if TYPE_CHECKING:
    from oracle.ingestion import Acknowledgement

app = typer.Typer(help="Device telemetry: signed uploads into the oracle's journal.", no_args_is_help=True)


def _read_uploads(path: Path) -> list[Any]:
    try:
        value = json.loads(path.read_bytes())
    except OSError as exc:
        die(f"cannot read {path}: {exc.strerror or exc}")
    except ValueError as exc:
        die(f"{path} is not JSON: {exc}")
    uploads = value if isinstance(value, list) else [value]
    if not uploads or not all(isinstance(upload, dict) for upload in uploads):
        die(f"{path}: expected a signed upload (JSON object) or a non-empty list of them")
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


@app.command("upload")
def telemetry_upload_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="JSON file: one signed upload, or a list of them.")],
    json_output: JsonOption = False,
) -> None:
    """Journal signed device uploads (as the API's telemetry route does) and print the acknowledgements.

    Exits 1 if any upload was rejected as a whole; rejected readings of an accepted upload are listed.
    """
    from oracle.ingestion import Ingestor

    uploads = _read_uploads(file)
    with Session.of(ctx).journal() as journal, reported():
        acks = Ingestor(journal).ingest_many(uploads)
    rejected = sum(1 for ack in acks if ack.status == "rejected")
    if json_output:
        echo_json(
            {
                "acknowledgements": [ack.model_dump(mode="json") for ack in acks],
                "accepted": len(acks) - rejected,
                "rejected": rejected,
            }
        )
    else:
        for ack in acks:
            for line in _describe(ack):
                typer.echo(line)
    raise typer.Exit(EXIT_INVALID if rejected else EXIT_OK)
