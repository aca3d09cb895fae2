"""Liveness (``/health``: the process answers) and readiness (``/ready``: what it depends on answers).

``/health`` says only that the API process serves requests. ``/ready`` probes each dependency a
request may need, the chain (its head block), the content store (a fixed probe written and read back)
and the oracle journal (one page read), and answers 503 with a problem document naming every one that
is unavailable, so a load balancer or a script waiting on the stack can tell "up" from "usable".

Self-contained on purpose: it reads ``app.state.services`` itself rather than through the shared
dependency, which would answer 503 before the route could say which dependency is missing.
"""

from __future__ import annotations

import logging
from typing import Any, Final, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.errors import PROBLEM_JSON, problem
from api.services import Services

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])

#: What the store probe writes: fixed bytes, so repeated probes store nothing new (content addressing).
STORE_PROBE: Final = b"battery-passport-ledger readiness probe\n"
COMPONENTS: Final = ("chain", "store", "journal")

ComponentState = Literal["ok", "unavailable", "not_configured"]


class HealthPublic(BaseModel):
    status: str


class ComponentStatus(BaseModel):
    """One dependency's state and what the probe saw."""

    status: ComponentState
    detail: str = Field(description="What the probe saw, or the class of the error that failed it.")


class ReadinessPublic(BaseModel):
    """Every dependency answered (a journal this server runs without is ``not_configured``)."""

    status: Literal["ready"]
    components: dict[str, ComponentStatus]


class ReadinessProblem(BaseModel):
    """The 503 problem document: RFC 9457 members plus each dependency's state."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    unavailable: list[str] = Field(description="The components whose status is unavailable.")
    components: dict[str, ComponentStatus]


def _problem_schema() -> dict[str, Any]:
    # FastAPI documents a `responses` model under application/json only; errors leave as
    # application/problem+json, so the schema is placed there, its references pointing at the
    # components FastAPI already emits (ComponentStatus, via ReadinessPublic).
    schema = ReadinessProblem.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    return schema


@router.get("/health", operation_id="get_health", summary="Liveness: the API process answers")
async def get_health() -> HealthPublic:
    return HealthPublic(status="ok")


def _probe_chain(services: Services) -> ComponentStatus:
    return ComponentStatus(status="ok", detail=f"head block {services.reader.block_number()}")


def _probe_store(services: Services) -> ComponentStatus:
    cid = services.store.put(STORE_PROBE)
    if services.store.get(cid) != STORE_PROBE:  # get() checks the bytes against the CID; belt and braces
        return ComponentStatus(status="unavailable", detail=f"probe {cid} read back different bytes")
    return ComponentStatus(status="ok", detail=f"probe {cid} written and read back")


def _probe_journal(services: Services) -> ComponentStatus:
    if services.journal is None:
        return ComponentStatus(status="not_configured", detail="this server runs without the oracle journal")
    services.journal.ping()
    return ComponentStatus(status="ok", detail="one page read")


_PROBES: Final = {"chain": _probe_chain, "store": _probe_store, "journal": _probe_journal}


def readiness(services: Services | None) -> dict[str, ComponentStatus]:
    """Each component's state; a probe that raises makes its component unavailable, never the route."""
    if services is None:
        down = ComponentStatus(status="unavailable", detail="this server is not connected to a ledger")
        return dict.fromkeys(COMPONENTS, down)
    states: dict[str, ComponentStatus] = {}
    for name, probe in _PROBES.items():
        try:
            states[name] = probe(services)
        except Exception as exc:  # whatever stops a dependency is what readiness reports
            # The class only: messages name internal URLs and paths, and the route is anonymous.
            log.warning("readiness: %s unavailable: %r", name, exc)
            states[name] = ComponentStatus(status="unavailable", detail=type(exc).__name__)
    return states


@router.get(
    "/ready",
    operation_id="get_readiness",
    summary="Readiness: the chain, the content store and the oracle journal answer",
    response_model=ReadinessPublic,
    responses={
        503: {
            "description": "A dependency is unavailable; the problem document names each one",
            "content": {PROBLEM_JSON: {"schema": _problem_schema()}},
        }
    },
)
def get_readiness(request: Request) -> ReadinessPublic | JSONResponse:
    # A plain def: the probes block (JSON-RPC, fsync, SQLite), so FastAPI runs them in its threadpool.
    services: Services | None = getattr(request.app.state, "services", None)
    states = readiness(services)
    unavailable = [name for name, state in states.items() if state.status == "unavailable"]
    if unavailable:
        return problem(
            503,
            "Service not ready",
            f"unavailable: {', '.join(unavailable)}",
            request,
            extra={
                "unavailable": unavailable,
                "components": {name: state.model_dump() for name, state in states.items()},
            },
        )
    return ReadinessPublic(status="ready", components=states)
