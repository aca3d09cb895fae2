"""``passport report`` and ``passport verify-report``: a buyer's provenance report (HTML or PDF), and the
later check of such a file against the ledger (exit 0 when every check passes, 1 otherwise)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli import arguments
from cli.arguments import PassportArg
from cli.output import EXIT_INVALID, JsonOption, die, echo_json, reported
from cli.session import Session
from passport.report import build_report, render_html, render_pdf, verify_report

app = typer.Typer()


@app.command("report")
def report_command(
    ctx: typer.Context,
    passport_id: PassportArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write (.pdf or .html).")],
    fmt: Annotated[str | None, typer.Option("--format", help="pdf or html (default: from --out).")] = None,
) -> None:
    """Write the provenance report of a passport (identity, custody, grade, inspections, verification)."""
    pid = arguments.passport_id(passport_id)
    kind = fmt or ("pdf" if out.suffix.lower() == ".pdf" else "html")
    if kind not in ("pdf", "html"):
        die(f"--format must be pdf or html, not {kind!r}", EXIT_INVALID)
    session = Session.of(ctx)
    ledger = session.ledger()
    with reported("cannot build the report"):
        payload = build_report(
            ledger.passports(None),
            pid,
            custody=ledger.custody_history(),
            base_url=session.settings.public_base_url,
        )
        out.write_bytes(render_pdf(payload) if kind == "pdf" else render_html(payload).encode())
    typer.echo(f"wrote {out} ({kind})")


@app.command("verify-report")
def verify_report_command(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(help="A provenance report (.pdf or .html).", exists=True, dir_okay=False)
    ],
    json_output: JsonOption = False,
) -> None:
    """Check a provenance report against the ledger: its embedded data, digest, bundle and version."""
    ledger = Session.of(ctx).ledger()
    with reported():
        result = verify_report(file.read_bytes(), ledger.reader, frozenset(ledger.trusted_issuers))
    if json_output:
        echo_json(result.model_dump(mode="json") | {"ok": result.ok})
    else:
        for check in result.checks:
            typer.echo(f"{'PASS' if check.ok else 'FAIL'}  {check.name}: {check.reason}")
        typer.echo("VALID report" if result.ok else "INVALID report")
    if not result.ok:
        raise typer.Exit(EXIT_INVALID)
