"""``passport health``: device-driven health of a passport and its offline verification.

Mirrors the API's health routes. ``refresh`` writes a new passport version as a keystore participant
with the inspector role (``--as``); ``evidence`` writes the offline-verifiable bundle of the figures on
the current version; ``verify`` checks a bundle with nothing but the file (``--chain`` also asks the
registry whether each root is anchored); ``warnings`` lists the battery's early-warning alerts.
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
    from oracle.health_refresh import HealthRefresher

app = typer.Typer(
    help="Device-driven health: refresh from anchored readings, evidence, offline verify, warnings.",
    no_args_is_help=True,
)


def _refresher(session: Session, *, alerts: bool) -> HealthRefresher:
    """Under the settings' policy; read-only on the chain (roots checked with a role-less reader)."""
    from oracle.device_health import health_policy
    from oracle.early_warnings import AlertStore
    from oracle.health_refresh import HealthRefresher
    from oracle.proofs import RecordProofs
    from passport.envelope import KeyRing
    from passport.store import open_store

    settings = session.settings
    reader = session.client(None)
    with reported():
        policy = health_policy(settings.health_policy)
        journal = session.journal()
        proofs = RecordProofs(journal, open_store(settings), keyring=KeyRing.from_settings(settings))
        store = AlertStore.from_settings(settings) if alerts else None
    return HealthRefresher(proofs, policy, alerts=store, chain=reader)


@app.command("refresh")
def health_refresh_command(
    ctx: typer.Context,
    passport_id: PassportArg,
    participant: Annotated[str, as_option("a participant with the inspector role; default inspector")] = (
        "inspector"
    ),
    json_output: JsonOption = False,
) -> None:
    """Recompute the battery's health from its anchored readings and write it as a new version."""
    pid = arguments.passport_id(passport_id)
    session = Session.of(ctx)
    refresher = _refresher(session, alerts=True)
    writer = session.passports(participant)
    with reported():
        result = refresher.refresh(pid, writer)
    figures = result.health.figures
    emit(
        {
            "passport_id": str(pid),
            "version": result.issued.version,
            "policy": result.health.policy.id,
            "policy_digest": result.health.policy.digest,
            "state_of_health_pct": figures.state_of_health_pct,
            "state_of_health_uncertainty_pct": figures.state_of_health_uncertainty_pct,
            "equivalent_full_cycles": figures.equivalent_full_cycles,
            "grade": figures.grade.value,
            "records": result.health.record_count,
            "anchors": len(result.health.anchors),
            "new_alerts": [a.rule for a in result.alerts],
        },
        json_output,
    )


@app.command("refresh-all")
def health_refresh_all_command(
    ctx: typer.Context,
    participant: Annotated[str, as_option("a participant with the inspector role; default inspector")] = (
        "inspector"
    ),
    json_output: JsonOption = False,
) -> None:
    """Refresh every open passport whose battery has a registered device (the periodic step: cron it).

    Each battery's newest passport (the audit index's PassportIssued events) is refreshed; batteries
    without an anchored diagnostic snapshot yet are skipped. Exits 1 if any refresh failed.
    """
    import time

    from cli.audit import synced_index
    from oracle.errors import InsufficientData, OracleError
    from passport.audit import EventQuery
    from passport.errors import PassportError
    from passport.ids import battery_id_hash, parse_passport_id, passport_id_bytes32

    session = Session.of(ctx)
    refresher = _refresher(session, alerts=True)
    writer = session.passports(participant)
    reader = session.client(None)
    started = time.perf_counter()
    counts = {"refreshed": 0, "skipped_no_anchored_diagnostics": 0, "closed": 0, "no_passport": 0}
    failures: dict[str, str] = {}
    new_alerts = 0
    index = synced_index(session, reader)
    try:
        batteries = sorted({device.battery_id for device in refresher.proofs.journal.devices()})
        for battery in batteries:
            page = index.query(
                EventQuery(
                    battery_id_hash=battery_id_hash(battery), names=("PassportIssued",), order="desc", limit=1
                )
            )
            if not page.items or page.items[0].passport_id is None:
                counts["no_passport"] += 1
                continue
            pid = parse_passport_id(page.items[0].passport_id)
            record = reader.get_passport(passport_id_bytes32(pid))
            if record is None or record.is_closed:
                counts["closed"] += 1
                continue
            try:
                result = refresher.refresh(pid, writer)
            except InsufficientData:
                counts["skipped_no_anchored_diagnostics"] += 1
            except (OracleError, PassportError) as exc:
                failures[battery] = f"{type(exc).__name__}: {exc}"
            else:
                counts["refreshed"] += 1
                new_alerts += len(result.alerts)
    finally:
        index.close()
    seconds = round(time.perf_counter() - started, 3)
    emit({**counts, "failed": len(failures), "new_alerts": new_alerts, "seconds": seconds}, json_output)
    for battery, why in failures.items():
        typer.echo(f"error: {battery}: {why}", err=True)
    raise typer.Exit(EXIT_INVALID if failures else EXIT_OK)


@app.command("evidence")
def health_evidence_command(
    ctx: typer.Context,
    passport_id: PassportArg,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the bundle here (default: stdout).")
    ] = None,
) -> None:
    """The evidence bundle of the health figures on the passport's current version (JSON)."""
    pid = arguments.passport_id(passport_id)
    session = Session.of(ctx)
    refresher = _refresher(session, alerts=False)
    with reported():
        evidence = refresher.evidence(pid, session.passports(None))
    text = evidence.model_dump_json(indent=2)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        typer.echo(f"wrote {output} ({len(evidence.records)} records)", err=True)


@app.command("verify")
def health_verify_command(
    ctx: typer.Context,
    bundle: Annotated[Path, typer.Argument(help="A health evidence bundle (from `health evidence`).")],
    chain: Annotated[
        bool, typer.Option("--chain", help="Also check each root is anchored on the configured ledger.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Verify a health figure offline: readings' proofs, policy digest, and the recomputed figures.

    Exits 0 if every check passes, 1 naming each failed check, 2 if the file is not a bundle.
    """
    from oracle.device_health import HealthEvidence, verify_health_evidence

    try:
        data = bundle.read_bytes()
    except OSError as exc:
        die(f"cannot read {bundle}: {exc.strerror or exc}", EXIT_UNREADABLE)
    with reported():
        evidence = HealthEvidence.parse(data)
    reader = Session.of(ctx).client(None) if chain else None
    with reported():
        result = verify_health_evidence(evidence, chain=reader)
    if json_output:
        echo_json(result.model_dump(mode="json"))
    else:
        out = table(
            "check", "result", "detail", title=f"health evidence of {result.passport_id} v{result.version}"
        )
        for check in result.checks:
            out.add_row(check.name, "PASS" if check.ok else "FAIL", check.detail)
        console().print(out)
        console().print(f"{'VALID' if result.ok else 'INVALID'}: {result.record_count} records, policy "
                        f"{result.policy.id} ({result.policy.digest})")  # fmt: skip
    raise typer.Exit(EXIT_OK if result.ok else EXIT_INVALID)


@app.command("warnings")
def health_warnings_command(
    ctx: typer.Context, passport_id: PassportArg, json_output: JsonOption = False
) -> None:
    """The battery's early-warning alerts, each citing its readings' digests and anchors."""
    from oracle.early_warnings import AlertStore

    pid = arguments.passport_id(passport_id)
    session = Session.of(ctx)
    with reported():
        from passport.model import AccessTier

        document = session.passports(None).fetch(pid, frozenset(AccessTier)).passport()
        with AlertStore.from_settings(session.settings) as store:
            alerts = store.of_battery(document.battery_id)
    if json_output:
        echo_json([a.model_dump(mode="json") for a in alerts])
        return
    out = table("observed", "rule", "severity", "value", "threshold", "records", title=document.battery_id)
    for stored in alerts:
        alert = stored.alert
        out.add_row(
            alert.observed_at.isoformat(),
            alert.rule,
            alert.severity,
            f"{alert.value:g}",
            f"{alert.threshold:g}",
            ", ".join(e.record_digest[:12] for e in alert.evidence),
        )
    console().print(out)
