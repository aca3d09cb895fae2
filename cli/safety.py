"""``passport inspect``, ``passport incident``, ``passport ship``: safety records, mirroring the API's safety
routes (``api/routes/safety.py``).

Every write is a new signed passport version written as a keystore participant (``--as``): inspections
by an inspector, incidents by the custodian or an inspector, shipments and storage by the custodian. The
registry enforces what follows (distribution clearance, the incident flag); a refusal exits 1 naming the
custom error, input the model refuses (a shipment above its class's state-of-charge limit) exits 2.
"""

from __future__ import annotations

import json
import mimetypes
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError

from cli import arguments
from cli.arguments import PassportArg, as_option
from cli.audit import synced_index
from cli.output import JsonOption, console, die, echo_json, emit, receipt_fields, reported, table
from cli.session import Session
from passport.audit import EventQuery
from passport.chain.clock import chain_now
from passport.evidence import find_evidence, read_evidence, store_evidence
from passport.ids import parse_passport_id, passport_id_bytes32
from passport.model import (
    AccessTier,
    BatteryPassport,
    DocumentRef,
    InspectionCheck,
    Organisation,
    SafetyInspection,
    Shipment,
    StorageRecord,
)
from passport.model.korea import InspectionResult, InspectionStage
from passport.model.performance import NegativeEvent, NegativeEventKind
from passport.model.safety import ReporterRole
from passport.service import IssuedVersion, PassportService, SafetyRecords

inspect_app = typer.Typer(
    help="Safety inspections: record one, list them, show the on-chain state.", no_args_is_help=True
)
incident_app = typer.Typer(
    help="Incidents (negative events): report, list, and the alert directory.", no_args_is_help=True
)
ship_app = typer.Typer(help="Transport and storage records of a battery (custodian).", no_args_is_help=True)

MAX_EVIDENCE_BYTES = 256 * 1024


def _invalid(exc: ValidationError | ValueError) -> NoReturn:
    die(f"invalid record: {exc}")


def _current(session: Session, pid: uuid.UUID) -> BatteryPassport:
    with reported():
        return session.passports(None).fetch(pid, frozenset(AccessTier)).passport()


def _version_fields(issued: IssuedVersion) -> dict[str, Any]:
    return {
        "passport_id": str(issued.passport_id),
        "version": issued.version,
        "manifest_cid": issued.manifest_cid,
        "signer": issued.signer,
    } | receipt_fields(issued.receipt)


def _evidence(passports: PassportService, pid: uuid.UUID, files: list[Path]) -> list[DocumentRef]:
    """Seal each file under the ``legitimate_interest`` key; only its ciphertext is stored."""
    refs = []
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            die(f"cannot read evidence {path}: {exc.strerror or exc}")
        if len(data) > MAX_EVIDENCE_BYTES:
            die(f"evidence {path} exceeds {MAX_EVIDENCE_BYTES} bytes")
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        with reported():
            refs.append(
                store_evidence(
                    passports.store,
                    passports.keyring,
                    passport_id=passport_id_bytes32(pid),
                    title=path.name[:100],
                    media_type=media_type,
                    data=data,
                )
            )
    return refs


def _check(value: str) -> InspectionCheck:
    """``NAME=pass|fail[:VALUE]``."""
    name, sep, rest = value.partition("=")
    outcome, _, measured = rest.partition(":")
    if not sep or outcome not in ("pass", "fail") or not name:
        die(f"--check {value!r}: expected NAME=pass|fail[:VALUE]")
    try:
        return InspectionCheck(name=name, passed=outcome == "pass", value=measured or None)
    except ValidationError as exc:
        die(f"--check {value!r}: {exc.errors()[0]['msg']}")


# -- inspect --------------------------------------------------------------------------------------------


@inspect_app.command("record")
def inspect_record_command(
    ctx: typer.Context,
    passport_id: PassportArg,
    stage: Annotated[InspectionStage, typer.Option("--stage", help="What the inspection is for.")],
    result: Annotated[InspectionResult, typer.Option("--result", help="The outcome.")],
    method: Annotated[str, typer.Option("--method", help="The procedure or standard followed.")],
    checks: Annotated[list[str], typer.Option("--check", help="NAME=pass|fail[:VALUE]; repeat per check.")],
    valid_days: Annotated[
        int | None, typer.Option("--valid-days", min=1, max=366, help="Validity of a pass (required then).")
    ] = None,
    equipment: Annotated[
        list[str] | None, typer.Option("--equipment", help="Instrument used; repeatable.")
    ] = None,
    findings: Annotated[
        list[str] | None, typer.Option("--finding", help="What was found; repeatable.")
    ] = None,
    evidence: Annotated[
        list[Path] | None, typer.Option("--evidence", help="File stored in the content store; repeatable.")
    ] = None,
    inspector_name: Annotated[str | None, typer.Option("--inspector-name", help="Inspecting body.")] = None,
    participant: Annotated[str, as_option("an inspector; default inspector")] = "inspector",
    json_output: JsonOption = False,
) -> None:
    """Record a safety inspection as a new passport version (inspector role)."""
    pid = arguments.passport_id(passport_id)
    parsed = [_check(c) for c in checks]
    passed = result is InspectionResult.PASS
    if passed and valid_days is None:
        die("a passed inspection needs --valid-days")
    session = Session.of(ctx)
    passports = session.passports(participant)
    with reported():
        now = datetime.fromtimestamp(chain_now(passports.chain), UTC)
    try:
        inspection = SafetyInspection(
            stage=stage,
            inspected_at=now,
            inspector=Organisation(name=inspector_name or participant),
            result=result,
            findings=findings or [],
            method=method,
            equipment=equipment or [],
            checks=parsed,
            valid_until=now + timedelta(days=valid_days) if passed and valid_days else None,
            evidence=_evidence(passports, pid, evidence or []),
        )
    except ValidationError as exc:
        _invalid(exc)
    document = _current(session, pid)
    with reported():
        issued = SafetyRecords(passports).record_inspection(pid, document, inspection)
    emit({"stage": stage.value, "result": result.value} | _version_fields(issued), json_output)


@inspect_app.command("list")
def inspect_list_command(
    ctx: typer.Context, passport_id: PassportArg, json_output: JsonOption = False
) -> None:
    """The passport's safety inspections, oldest first (the service's key ring opens them)."""
    pid = arguments.passport_id(passport_id)
    inspections = _current(Session.of(ctx), pid).korea.safety_inspections
    if json_output:
        echo_json([i.model_dump(mode="json") for i in inspections])
        return
    shown = table("inspected", "stage", "result", "valid until", "inspector")
    for item in inspections:
        shown.add_row(
            item.inspected_at.isoformat(),
            item.stage.value,
            item.result.value,
            item.valid_until.isoformat() if item.valid_until else "",
            item.inspector.name or item.inspector.identifier or "",
        )
    console().print(shown)


@inspect_app.command("state")
def inspect_state_command(
    ctx: typer.Context, passport_id: PassportArg, json_output: JsonOption = False
) -> None:
    """The on-chain safety state: the incident flag and the distribution clearance's expiry."""
    pid = arguments.passport_id(passport_id)
    chain = Session.of(ctx).client(None)
    with reported():
        state = chain.get_safety_state(passport_id_bytes32(pid))
    emit(
        {
            "passport_id": str(pid),
            "flagged": state.flagged,
            "distribution_valid_until": state.distribution_valid_until or None,
        },
        json_output,
    )


@inspect_app.command("evidence")
def inspect_evidence_command(
    ctx: typer.Context,
    passport_id: PassportArg,
    sha256: Annotated[str, typer.Argument(help="The SHA-256 the inspection or incident records.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the opened file.")],
) -> None:
    """Write an inspection's or incident's evidence file, opened and checked against its SHA-256."""
    pid = arguments.passport_id(passport_id)
    session = Session.of(ctx)
    passports = session.passports(None)
    document = _current(session, pid)
    with reported():
        ref = find_evidence(document, sha256)
        evidence = read_evidence(
            passports.store, passports.keyring, passport_id=passport_id_bytes32(pid), ref=ref
        )
    try:
        output.write_bytes(evidence.data)
    except OSError as exc:
        die(f"cannot write {output}: {exc.strerror or exc}")
    typer.echo(f"wrote {output} ({len(evidence.data)} bytes, {evidence.media_type})", err=True)


# -- incident -------------------------------------------------------------------------------------------


@incident_app.command("report")
def incident_report_command(
    ctx: typer.Context,
    passport_id: PassportArg,
    kind: Annotated[NegativeEventKind, typer.Option("--kind", help="What happened.")],
    description: Annotated[str, typer.Option("--description", help="What happened, in words.")],
    serious: Annotated[bool, typer.Option("--serious", help="Flag the battery until a clearance.")] = False,
    occurred_at: Annotated[
        datetime | None, typer.Option("--occurred-at", help="When (ISO 8601, UTC); default now.")
    ] = None,
    reported_by: Annotated[str | None, typer.Option("--reported-by", help="Who reported it.")] = None,
    role: Annotated[
        ReporterRole, typer.Option("--role", help="The reporter's role.")
    ] = ReporterRole.CUSTODIAN,
    evidence: Annotated[list[Path] | None, typer.Option("--evidence", help="File; repeatable.")] = None,
    participant: Annotated[str, as_option("the custodian or an inspector; default issuer")] = "issuer",
    json_output: JsonOption = False,
) -> None:
    """Report an incident as a new passport version (custodian or inspector); --serious flags it."""
    pid = arguments.passport_id(passport_id)
    session = Session.of(ctx)
    passports = session.passports(participant)
    when = occurred_at.replace(tzinfo=occurred_at.tzinfo or UTC) if occurred_at else datetime.now(UTC)
    try:
        event = NegativeEvent(
            kind=kind,
            occurred_at=when,
            description=description,
            reported_by=reported_by or participant,
            reporter_role=role,
            serious=serious,
            documents=_evidence(passports, pid, evidence or []),
        )
    except ValidationError as exc:
        _invalid(exc)
    document = _current(session, pid)
    with reported():
        issued = SafetyRecords(passports).report_incident(pid, document, event)
    emit({"kind": kind.value, "serious": serious} | _version_fields(issued), json_output)


@incident_app.command("device-events")
def incident_device_events_command(
    ctx: typer.Context,
    passport_id: PassportArg,
    participant: Annotated[str, as_option("an inspector; default inspector")] = "inspector",
    json_output: JsonOption = False,
) -> None:
    """Record the battery's journaled device safety events above the threshold as negative events."""
    from oracle.incidents import device_negative_events

    pid = arguments.passport_id(passport_id)
    session = Session.of(ctx)
    document = _current(session, pid)
    journal = session.journal()
    try:
        with reported():
            events = device_negative_events(
                journal, document.battery_id, document.performance.dynamic.negative_events
            )
    finally:
        journal.close()
    result: dict[str, Any] = {"passport_id": str(pid), "added": len(events)}
    if events:
        with reported():
            issued = SafetyRecords(session.passports(participant)).report_incidents(pid, document, events)
        result |= {"serious": any(e.serious for e in events)} | _version_fields(issued)
    emit(result, json_output)


@incident_app.command("list")
def incident_list_command(
    ctx: typer.Context, passport_id: PassportArg, json_output: JsonOption = False
) -> None:
    """The passport's negative events, oldest first."""
    pid = arguments.passport_id(passport_id)
    events = _current(Session.of(ctx), pid).performance.dynamic.negative_events
    if json_output:
        echo_json([e.model_dump(mode="json") for e in events])
        return
    shown = table("occurred", "kind", "serious", "reported by", "description")
    for event in events:
        shown.add_row(
            event.occurred_at.isoformat(),
            event.kind.value,
            "yes" if event.serious else "no",
            event.reported_by or "",
            event.description,
        )
    console().print(shown)


@incident_app.command("alerts")
def incident_alerts_command(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """The directory of flagged batteries (serious incidents no clearance has lifted), newest first."""
    session = Session.of(ctx)
    chain = session.client(None)
    alerts: dict[str, dict[str, Any]] = {}
    with synced_index(session, chain) as index, reported():
        for event in index.iter_events(EventQuery(names=("IncidentRecorded",), order="desc")):
            key = event.passport_id
            if not event.args.get("serious") or key is None or key in alerts:
                continue
            pid32 = bytes.fromhex(key.removeprefix("0x"))
            record = chain.get_passport(pid32)
            if record is None or not chain.get_safety_state(pid32).flagged:
                continue
            alerts[key] = {
                "passport_id": str(parse_passport_id(pid32)),
                "custodian": record.custodian,
                "status": record.status.name,
                "flagged_in_block": event.block_number,
            }
    if json_output:
        echo_json(list(alerts.values()))
        return
    shown = table("passport", "status", "custodian", "block")
    for alert in alerts.values():
        shown.add_row(
            alert["passport_id"], alert["status"], alert["custodian"], str(alert["flagged_in_block"])
        )
    console().print(shown)


# -- ship -----------------------------------------------------------------------------------------------


def _read_record(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        die(f"cannot read {path}: {exc.strerror or exc}")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        die(f"{path} is not JSON: {exc}")
    if not isinstance(value, dict):
        die(f"{path} must hold a JSON object")
    return value


@ship_app.command("record")
def ship_record_command(
    ctx: typer.Context,
    passport_id: PassportArg,
    shipment_file: Annotated[
        Path, typer.Argument(help="The shipment (JSON, the API's ShipmentCreate fields).")
    ],
    offer: Annotated[
        bool, typer.Option("--offer", help="Also offer custody to the shipment's to_account.")
    ] = False,
    expires_in: Annotated[int, typer.Option("--expires-in", min=60, help="Seconds the offer stays open.")] = 7
    * 86_400,
    participant: Annotated[str, as_option("the custodian; default issuer")] = "issuer",
    json_output: JsonOption = False,
) -> None:
    """Record a shipment (custodian); refused (exit 2) above its packaging class's state-of-charge limit."""
    pid = arguments.passport_id(passport_id)
    raw = _read_record(shipment_file)
    session = Session.of(ctx)
    passports = session.passports(participant)
    with reported():
        now = chain_now(passports.chain)
    raw.setdefault("dispatched_at", datetime.fromtimestamp(now, UTC).isoformat())
    try:
        shipment = Shipment.model_validate(raw)
    except ValidationError as exc:
        _invalid(exc)
    if offer and shipment.to_account is None:
        die("--offer needs to_account in the shipment")
    document = _current(session, pid)
    with reported():
        issued = SafetyRecords(passports).record_shipment(pid, document, shipment)
    result = {"shipment_id": shipment.shipment_id} | _version_fields(issued)
    if offer and shipment.to_account is not None:
        with reported("the shipment is recorded but the custody offer failed"):
            passports.chain.offer_custody(passport_id_bytes32(pid), shipment.to_account, now + expires_in)
        result["custody_offered_to"] = shipment.to_account
    emit(result, json_output)


@ship_app.command("store")
def ship_store_command(
    ctx: typer.Context,
    passport_id: PassportArg,
    storage_file: Annotated[
        Path, typer.Argument(help="The storage record (JSON: site, operator, conditions…).")
    ],
    participant: Annotated[str, as_option("the custodian; default issuer")] = "issuer",
    json_output: JsonOption = False,
) -> None:
    """Record a storage stay and its conditions (custodian)."""
    pid = arguments.passport_id(passport_id)
    raw = _read_record(storage_file)
    try:
        storage = StorageRecord.model_validate(raw)
    except ValidationError as exc:
        _invalid(exc)
    session = Session.of(ctx)
    passports = session.passports(participant)
    document = _current(session, pid)
    with reported():
        issued = SafetyRecords(passports).record_storage(pid, document, storage)
    emit(_version_fields(issued), json_output)
