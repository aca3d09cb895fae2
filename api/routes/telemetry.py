"""Telemetry: signed device uploads into the oracle's journal, one at a time or in batches.

A device authenticates with its API key and may send uploads only as itself, for its own battery
(403 otherwise); a collection gateway holding the ``oracle`` role may relay uploads of any device.
Either way every upload still carries the device's own signature, which the oracle checks against
the key registered for that device: the API key says who may send, the signature who measured.

The acknowledgement is the oracle's: returned only after the journal committed, it lists each accepted
reading with its record digest (what a proof is later asked for) and each rejected one with every
``(path, reason)``. A wholly rejected single upload is a 422 problem carrying the acknowledgement.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.access import require_device_for, require_role
from api.auth import ApiRole, Caller
from api.deps import AuthCaller, IngestDep, ServicesDep
from api.errors import ApiError
from api.openapi import raises
from oracle.devices import SignedUpload
from oracle.ingestion import Acknowledgement

router = APIRouter(prefix="/telemetry", tags=["telemetry"])

# One request of uploads; devices that buffered more send several (the body limit caps bytes anyway).
MAX_BATCH_UPLOADS = 1000


class TelemetryBatchCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    uploads: list[SignedUpload] = Field(min_length=1, max_length=MAX_BATCH_UPLOADS)


class TelemetryBatchPublic(BaseModel):
    """One acknowledgement per upload, in the order sent."""

    acknowledgements: list[Acknowledgement]
    accepted: int = Field(description="Uploads accepted (or already accepted: duplicates).")
    rejected: int


def _authorise(caller: Caller, upload: SignedUpload) -> None:
    require_role(caller, ApiRole.DEVICE, ApiRole.ORACLE)
    if not caller.has(ApiRole.ORACLE):
        require_device_for(caller, upload.device_id, upload.battery_id)


@router.post("/uploads", operation_id="ingest_telemetry_upload", response_model=Acknowledgement)
@raises(403, 409)
async def ingest_telemetry_upload(
    request: Request, upload: SignedUpload, caller: AuthCaller, services: ServicesDep, ingest: IngestDep
) -> Response | Acknowledgement:
    """Journal one signed upload; the acknowledgement lists accepted and rejected readings."""
    _authorise(caller, upload)
    _, ingestor, _ = services.oracle()
    if ingest is not None:
        # The server's ingestion process (its own GIL): the raw body goes over, the ack JSON comes back
        # after its group commit, and is passed through as it is unless the upload was refused.
        reply = await asyncio.wrap_future(ingest.submit(await request.body()))
        if not reply.rejected:
            return Response(reply.ack_json, media_type="application/json")
        ack = Acknowledgement.model_validate_json(reply.ack_json)
    else:
        # In process, through the group committer: concurrent requests share one fsync.
        committer = services.uploads
        ack = await run_in_threadpool(committer.ingest if committer is not None else ingestor.ingest, upload)
    if ack.status == "rejected":
        raise ApiError(
            ack.reason or "upload rejected",
            status=422,
            title="Upload rejected",
            errors=[{"field": "body", "reason": f"{ack.code}: {ack.reason}"}],
            extra={"code": ack.code, "acknowledgement": ack.model_dump(mode="json")},
        )
    return ack


@router.post("/batches", operation_id="ingest_telemetry_batch")
@raises(403, 409)
def ingest_telemetry_batch(
    body: TelemetryBatchCreate, caller: AuthCaller, services: ServicesDep
) -> TelemetryBatchPublic:
    """Journal several uploads in one group commit; each gets its own acknowledgement."""
    for upload in body.uploads:
        _authorise(caller, upload)
    _, ingestor, _ = services.oracle()
    acks = ingestor.ingest_many(body.uploads)
    rejected = sum(1 for ack in acks if ack.status == "rejected")
    return TelemetryBatchPublic(acknowledgements=acks, accepted=len(acks) - rejected, rejected=rejected)
