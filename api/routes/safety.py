"""Safety: inspections, incidents (negative events), shipments, storage and the directory of alerts.

Every write is a new signed passport version (see ``passport.service.safety``), and the registry enforces
what follows from it, so nothing here can be bypassed by writing to the chain directly:

* ``POST …/inspections`` (inspector role): a passed pre-distribution inspection clears a used battery for
  distribution until ``valid_until``; a failed one withdraws the clearance; a passed clearance inspection
  lifts an incident flag. Evidence files sent inline are sealed under the ``legitimate_interest`` key
  (``passport.evidence``): only ciphertext goes to the content store, linked by its CID and the
  plaintext's SHA-256. ``GET …/evidence/{sha256}`` (legitimate-interest readers) returns a file opened.
* ``POST …/incidents``: an inspector or the custodian writes as itself; an owner of the battery, or a
  registered business that is not its custodian (a workshop), reports through the server's incident
  relay participant (``Settings.incident_relay``, an inspector), and the event records who reported it
  and in which role (set here, never taken from the body). A ``serious`` incident flags the battery.
* ``POST …/shipments`` and ``…/storage`` (custodian): transport and storage records; a shipment above its
  packaging class's state-of-charge limit is refused (422), and a shipment to a business can make the
  custody offer in the same request (the registry then requires the pre-distribution inspection).
* ``GET /alerts``: flagged batteries (public: the flag is an on-chain fact), found through the audit
  index's ``IncidentRecorded`` events and confirmed against the registry.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from api.access import owns_battery
from api.auth import ApiRole, Caller
from api.deps import (
    AuthCaller,
    ExistingRecord,
    HeldOpenRecord,
    InspectorCaller,
    OpenRecord,
    PassportId,
    ReadableTiers,
    ServicesDep,
)
from api.errors import ApiError, Forbidden
from api.openapi import raises
from api.schemas import Address, PassportVersionPublic
from api.services import Services
from oracle.incidents import device_negative_events
from passport.audit import EventQuery
from passport.chain.clock import chain_now
from passport.chain.records import PassportRecord, SafetyState
from passport.evidence import find_evidence, read_evidence, store_evidence
from passport.ids import parse_passport_id, passport_id_bytes32
from passport.model import (
    AccessTier,
    DocumentRef,
    InspectionCheck,
    Organisation,
    PackagingClass,
    ReporterRole,
    SafetyInspection,
    Shipment,
    StorageConditions,
    StorageRecord,
)
from passport.model.korea import InspectionResult, InspectionStage
from passport.model.parties import Facility
from passport.model.performance import NegativeEvent, NegativeEventKind
from passport.service import SafetyRecords
from passport.service.passport_service import PassportIdLike

router = APIRouter(tags=["safety"])

Name = Annotated[str, Field(min_length=1, max_length=200)]
Note = Annotated[str, Field(min_length=1, max_length=2000)]
#: Inline evidence is for photos and short reports; larger files belong in the store beforehand.
MAX_EVIDENCE_BYTES = 256 * 1024
MAX_EVIDENCE_FILES = 8
MAX_VALIDITY_DAYS = 366


class EvidenceFile(BaseModel):
    """A document sent inline (base64); it is stored in the content store and linked by CID."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, Field(min_length=1, max_length=100)]
    content_type: Annotated[str, Field(min_length=1, max_length=100)] = "application/octet-stream"
    data_base64: Annotated[str, Field(min_length=1, max_length=(MAX_EVIDENCE_BYTES * 4) // 3 + 4)]


class Unprocessable(ApiError):
    """Raised when a well-formed request breaks a safety rule (the refusal names the rule)."""

    status = 422
    title = "Refused by a safety rule"


def _store_evidence(services: Services, pid: PassportIdLike, files: list[EvidenceFile]) -> list[DocumentRef]:
    """Seal each inline file under the ``legitimate_interest`` key and store only its ciphertext."""
    refs = []
    for index, item in enumerate(files):
        try:
            data = base64.b64decode(item.data_base64, validate=True)
        except (binascii.Error, ValueError):
            raise Unprocessable(
                "evidence is not valid base64",
                errors=[{"field": f"body.evidence_files.{index}", "reason": "not base64"}],
            ) from None
        if len(data) > MAX_EVIDENCE_BYTES:
            raise Unprocessable(f"evidence file {index} exceeds {MAX_EVIDENCE_BYTES} bytes")
        refs.append(
            store_evidence(
                services.store,
                services.keyring,
                passport_id=passport_id_bytes32(pid),
                title=item.title,
                media_type=item.content_type,
                data=data,
            )
        )
    return refs


class SafetyStatePublic(BaseModel):
    """The on-chain safety facts of a passport."""

    passport_id: str
    flagged: bool = Field(
        description="A serious incident is open: no reuse or distribution but to a recycler."
    )
    distribution_valid_until: int | None = Field(
        description="Unix time a passed pre-distribution inspection holds until; None when none does."
    )

    @classmethod
    def of(cls, passport_id: str, state: SafetyState) -> SafetyStatePublic:
        return cls(
            passport_id=passport_id,
            flagged=state.flagged,
            distribution_valid_until=state.distribution_valid_until or None,
        )


# -- inspections ------------------------------------------------------------------------------------


class InspectionCreate(BaseModel):
    """A safety inspection; the inspector is the caller unless named."""

    model_config = ConfigDict(extra="forbid")

    stage: InspectionStage
    result: InspectionResult
    inspected_at: AwareDatetime | None = Field(default=None, description="Defaults to now.")
    method: Name
    equipment: list[Name] = Field(default_factory=list, max_length=50)
    checks: list[InspectionCheck] = Field(min_length=1, max_length=200)
    findings: list[Note] = Field(default_factory=list, max_length=100)
    valid_for_days: int | None = Field(
        default=None, ge=1, le=MAX_VALIDITY_DAYS, description="Required for a passed inspection."
    )
    certificate_number: Name | None = None
    inspector_name: Name | None = None
    inspector_id: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    evidence: list[DocumentRef] = Field(default_factory=list, max_length=20)
    evidence_files: list[EvidenceFile] = Field(default_factory=list, max_length=MAX_EVIDENCE_FILES)


class InspectionPublic(BaseModel):
    inspection: SafetyInspection
    version: PassportVersionPublic
    safety: SafetyStatePublic


def _document_problem(exc: ValueError) -> Unprocessable:
    if isinstance(exc, ValidationError):
        return Unprocessable(
            "the record breaks a rule of the passport model",
            errors=[
                {"field": ".".join(str(p) for p in e["loc"]) or "body", "reason": e["msg"]}
                for e in exc.errors()
            ],
        )
    return Unprocessable(str(exc))


@router.post("/passports/{passport_id}/inspections", status_code=201, operation_id="record_inspection")
@raises(409, 422, 502)
def record_inspection(
    caller: InspectorCaller,
    pid: PassportId,
    record: OpenRecord,
    body: InspectionCreate,
    services: ServicesDep,
) -> InspectionPublic:
    """Record a safety inspection as a new passport version (inspector role)."""
    passed = body.result is InspectionResult.PASS
    if passed and body.valid_for_days is None:
        raise Unprocessable(
            "a passed inspection needs valid_for_days",
            errors=[{"field": "body.valid_for_days", "reason": "required when result is pass"}],
        )
    now = datetime.fromtimestamp(chain_now(services.reader), UTC)
    inspected_at = body.inspected_at or now
    try:
        inspection = SafetyInspection(
            stage=body.stage,
            inspected_at=inspected_at,
            inspector=Organisation(name=body.inspector_name or caller.name, identifier=body.inspector_id),
            result=body.result,
            findings=body.findings,
            certificate_number=body.certificate_number,
            method=body.method,
            equipment=body.equipment,
            checks=body.checks,
            valid_until=now + timedelta(days=body.valid_for_days) if passed and body.valid_for_days else None,
            evidence=[*body.evidence, *_store_evidence(services, pid, body.evidence_files)],
        )
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise _document_problem(exc) from None
    safety = SafetyRecords(services.passports_for(caller))
    issued = safety.record_inspection(pid, services.current_document(pid), inspection)
    return InspectionPublic(
        inspection=inspection,
        version=PassportVersionPublic.of(issued),
        safety=SafetyStatePublic.of(str(pid), safety.state(pid)),
    )


def _legitimate(tiers: frozenset[AccessTier], what: str) -> None:
    if AccessTier.LEGITIMATE_INTEREST not in tiers:
        raise Forbidden(
            f"{what} are legitimate-interest data; this caller may not read them for this battery"
        )


@router.get("/passports/{passport_id}/inspections", operation_id="list_inspections")
@raises(403, 502)
def list_inspections(pid: PassportId, tiers: ReadableTiers, services: ServicesDep) -> list[SafetyInspection]:
    """The recorded safety inspections, oldest first (``legitimate_interest`` tier)."""
    _legitimate(tiers, "inspections")
    return services.current_document(pid).korea.safety_inspections


@router.get("/passports/{passport_id}/safety", operation_id="get_safety_state")
def get_safety_state(pid: PassportId, record: ExistingRecord, services: ServicesDep) -> SafetyStatePublic:
    """The passport's on-chain safety state (public: the flag and the clearance are ledger facts)."""
    return SafetyStatePublic.of(str(pid), services.reader.get_safety_state(record.passport_id))


@router.get(
    "/passports/{passport_id}/evidence/{sha256}",
    operation_id="get_evidence",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
@raises(403, 404, 422, 502)
def get_evidence(
    pid: PassportId,
    sha256: Annotated[str, Path(pattern=r"^[0-9a-fA-F]{64}$", description="The file's SHA-256.")],
    tiers: ReadableTiers,
    services: ServicesDep,
) -> Response:
    """An inspection's or incident's evidence file, opened (``legitimate_interest`` tier).

    The file is found by the SHA-256 its inspection or negative event records, decrypted, and served only
    if its plaintext hashes to that digest; a stored file that fails to authenticate is a problem, never
    served. It is sent as an attachment in a sandbox, so a file cannot run as a page of this origin.
    """
    _legitimate(tiers, "evidence files")
    ref = find_evidence(services.current_document(pid), sha256)
    evidence = read_evidence(services.store, services.keyring, passport_id=passport_id_bytes32(pid), ref=ref)
    return Response(
        content=evidence.data,
        media_type=evidence.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{ref.sha256}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        },
    )


# -- incidents --------------------------------------------------------------------------------------


class IncidentCreate(BaseModel):
    """A negative event (Annex XIII): an accident, thermal event, water ingress, deep discharge, …"""

    model_config = ConfigDict(extra="forbid")

    kind: NegativeEventKind
    occurred_at: AwareDatetime
    description: Note
    serious: bool = Field(
        default=False, description="Flags the battery: no reuse or distribution until a passed clearance."
    )
    documents: list[DocumentRef] = Field(default_factory=list, max_length=20)
    evidence_files: list[EvidenceFile] = Field(default_factory=list, max_length=MAX_EVIDENCE_FILES)


class IncidentPublic(BaseModel):
    event: NegativeEvent
    written_by: str = Field(description="The participant whose key signed the version.")
    version: PassportVersionPublic
    safety: SafetyStatePublic


def _incident_writer(
    services: Services, caller: Caller, record: PassportRecord
) -> tuple[Caller, ReporterRole]:
    """Who signs the incident version and in which role the caller reports it."""
    holds_key = caller.name in services.keys
    if holds_key and caller.has(ApiRole.INSPECTOR):
        return caller, ReporterRole.INSPECTOR
    if holds_key and services.client(caller.name).account.lower() == record.custodian.lower():
        return caller, ReporterRole.CUSTODIAN
    if owns_battery(caller, record):
        role = ReporterRole.OWNER
    elif caller.has(ApiRole.BUSINESS):
        role = ReporterRole.WORKSHOP
    else:
        raise Forbidden(
            f"{caller.name!r} may not report incidents for this battery "
            "(inspectors, the custodian, its owners and registered businesses may)"
        )
    relay = services.settings.incident_relay
    if relay not in services.keys:
        raise Forbidden(f"this server holds no key for its incident relay {relay!r}")
    return Caller(name=relay, roles=frozenset({ApiRole.INSPECTOR})), role


@router.post("/passports/{passport_id}/incidents", status_code=201, operation_id="report_incident")
@raises(409, 422, 502)
def report_incident(
    caller: AuthCaller,
    pid: PassportId,
    record: OpenRecord,
    body: IncidentCreate,
    services: ServicesDep,
) -> IncidentPublic:
    """Report an incident; it becomes a negative event in a new passport version (see module doc)."""
    writer, role = _incident_writer(services, caller, record)
    event = NegativeEvent(
        kind=body.kind,
        occurred_at=body.occurred_at,
        description=body.description,
        reported_by=caller.name,
        reporter_role=role,
        serious=body.serious,
        documents=[*body.documents, *_store_evidence(services, pid, body.evidence_files)],
    )
    safety = SafetyRecords(services.passports_for(writer))
    issued = safety.report_incident(pid, services.current_document(pid), event)
    return IncidentPublic(
        event=event,
        written_by=writer.name,
        version=PassportVersionPublic.of(issued),
        safety=SafetyStatePublic.of(str(pid), safety.state(pid)),
    )


class DeviceEventsPublic(BaseModel):
    events: list[NegativeEvent] = Field(description="The negative events added (none: nothing new).")
    version: PassportVersionPublic | None
    safety: SafetyStatePublic


@router.post(
    "/passports/{passport_id}/incidents/device-events", status_code=201, operation_id="record_device_events"
)
@raises(409, 502, 503)
def record_device_events(
    caller: InspectorCaller, pid: PassportId, record: OpenRecord, services: ServicesDep
) -> DeviceEventsPublic:
    """Turn the battery's journaled device safety events above the server's threshold into negative
    events (one new version; serious when any is critical). Events already linked are skipped."""
    journal, _, _ = services.oracle()
    document = services.current_document(pid)
    events = device_negative_events(
        journal, document.battery_id, document.performance.dynamic.negative_events
    )
    safety = SafetyRecords(services.passports_for(caller))
    if not events:
        return DeviceEventsPublic(
            events=[], version=None, safety=SafetyStatePublic.of(str(pid), safety.state(pid))
        )
    issued = safety.report_incidents(pid, document, events)
    return DeviceEventsPublic(
        events=events,
        version=PassportVersionPublic.of(issued),
        safety=SafetyStatePublic.of(str(pid), safety.state(pid)),
    )


@router.get("/passports/{passport_id}/incidents", operation_id="list_incidents")
@raises(403, 502)
def list_incidents(pid: PassportId, tiers: ReadableTiers, services: ServicesDep) -> list[NegativeEvent]:
    """The battery's negative events, oldest first (``legitimate_interest`` tier)."""
    _legitimate(tiers, "negative events")
    return services.current_document(pid).performance.dynamic.negative_events


# -- alerts ------------------------------------------------------------------------------------------


class AlertPublic(BaseModel):
    """A battery flagged by a serious incident that no clearance inspection has lifted yet."""

    passport_id: str
    custodian: str
    status: str
    flagged_in_block: int
    flagged_at: int | None
    tx_hash: str


@router.get("/alerts", operation_id="list_alerts")
def list_alerts(services: ServicesDep) -> list[AlertPublic]:
    """The directory of flagged batteries, most recently flagged first."""
    services.sync_index()
    latest: dict[str, AlertPublic] = {}
    query = EventQuery(names=("IncidentRecorded",), order="desc")
    for event in services.audit.iter_events(query):
        if not event.args.get("serious") or event.passport_id is None or event.passport_id in latest:
            continue
        pid32 = bytes.fromhex(event.passport_id.removeprefix("0x"))
        record = services.reader.get_passport(pid32)
        if record is None or not services.reader.get_safety_state(pid32).flagged:
            continue
        latest[event.passport_id] = AlertPublic(
            passport_id=str(parse_passport_id(pid32)),
            custodian=record.custodian,
            status=record.status.name,
            flagged_in_block=event.block_number,
            flagged_at=event.block_timestamp,
            tx_hash=event.tx_hash,
        )
    return list(latest.values())


# -- transport and storage -----------------------------------------------------------------------------


class ShipmentCreate(BaseModel):
    """A shipment of the battery, recorded by its custodian at dispatch."""

    model_config = ConfigDict(extra="forbid")

    shipment_id: Name
    from_party: Organisation
    to_party: Organisation
    to_account: Address | None = Field(default=None, description="The registered business it goes to.")
    carrier: Organisation
    dispatched_at: AwareDatetime | None = Field(default=None, description="Defaults to now.")
    state_of_charge_percent: Annotated[float, Field(ge=0, le=100)]
    packaging_class: PackagingClass
    un38_3_test_summary: DocumentRef
    labels: list[Name] = Field(default_factory=list, max_length=20)
    documents: list[DocumentRef] = Field(default_factory=list, max_length=20)
    offer_custody: bool = Field(
        default=False,
        description="Also offer custody to to_account (the registry's distribution rules apply).",
    )
    offer_expires_in_seconds: int = Field(default=7 * 86_400, ge=60, le=30 * 86_400)


class ShipmentPublic(BaseModel):
    shipment: Shipment
    version: PassportVersionPublic
    custody_offered_to: str | None


@router.post("/passports/{passport_id}/shipments", status_code=201, operation_id="record_shipment")
@raises(409, 422, 502)
def record_shipment(
    caller: AuthCaller,
    pid: PassportId,
    record: HeldOpenRecord,
    body: ShipmentCreate,
    services: ServicesDep,
) -> ShipmentPublic:
    """Record a shipment (custodian); refused above its class's state-of-charge limit."""
    if body.offer_custody and body.to_account is None:
        raise Unprocessable(
            "offer_custody needs to_account",
            errors=[{"field": "body.to_account", "reason": "required with offer_custody"}],
        )
    now = chain_now(services.reader)
    try:
        shipment = Shipment.model_validate(
            {
                **body.model_dump(exclude={"offer_custody", "offer_expires_in_seconds"}),
                "dispatched_at": body.dispatched_at or datetime.fromtimestamp(now, UTC),
            }
        )
    except ValueError as exc:
        raise _document_problem(exc) from None
    passports = services.passports_for(caller)
    issued = SafetyRecords(passports).record_shipment(pid, services.current_document(pid), shipment)
    offered = None
    if body.offer_custody and body.to_account is not None:
        passports.chain.offer_custody(
            passport_id_bytes32(pid), body.to_account, now + body.offer_expires_in_seconds
        )
        offered = body.to_account
    return ShipmentPublic(
        shipment=shipment, version=PassportVersionPublic.of(issued), custody_offered_to=offered
    )


class StorageCreate(BaseModel):
    """A stay at a storage site and its conditions, recorded by the custodian."""

    model_config = ConfigDict(extra="forbid")

    site: Facility
    operator: Organisation
    stored_from: AwareDatetime
    stored_until: AwareDatetime | None = None
    conditions: StorageConditions
    documents: list[DocumentRef] = Field(default_factory=list, max_length=20)


class StoragePublic(BaseModel):
    storage: StorageRecord
    version: PassportVersionPublic


@router.post("/passports/{passport_id}/storage", status_code=201, operation_id="record_storage")
@raises(409, 422, 502)
def record_storage(
    caller: AuthCaller,
    pid: PassportId,
    record: HeldOpenRecord,
    body: StorageCreate,
    services: ServicesDep,
) -> StoragePublic:
    """Record a storage stay (custodian)."""
    try:
        storage = StorageRecord.model_validate(body.model_dump())
    except ValueError as exc:
        raise _document_problem(exc) from None
    issued = SafetyRecords(services.passports_for(caller)).record_storage(
        pid, services.current_document(pid), storage
    )
    return StoragePublic(storage=storage, version=PassportVersionPublic.of(issued))
