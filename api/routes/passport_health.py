"""Device-driven health and early warnings of a passport.

``POST /passports/{id}/health`` (inspector role: the registry lets inspectors write any open passport)
is the admin trigger of a health refresh (``oracle.health_refresh``): the battery's anchored readings
become the passport's dynamic figures under the server's device-health policy, written as a new signed
version, and the early-warning rules scan the same readings. The body carries nothing that changes the
computation: a policy, thresholds or any unknown field is refused (422).

``GET /passports/{id}/health`` shows the figures and their provenance on the current version,
``GET /passports/{id}/health/evidence`` the offline-verifiable evidence bundle
(``oracle.device_health.verify_health_evidence``; ``passport health verify``), and
``GET /passports/{id}/warnings`` the battery's alerts. All three are legitimate-interest data: the
owner, the custodian, inspectors and the other roles ``api.access`` grants that tier.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from api.deps import InspectorCaller, OpenRecord, PassportId, ReadableTiers, ServicesDep
from api.errors import Forbidden, NotFound
from api.openapi import raises
from api.schemas import PassportVersionPublic
from oracle.device_health import HealthEvidence
from oracle.early_warnings import Alert, StoredAlert
from oracle.errors import InsufficientData
from passport.model import AccessTier, DeviceHealth

router = APIRouter(tags=["health"])


class HealthRefreshCreate(BaseModel):
    """Nothing to choose: the figures come from the anchored readings and the policy from the server."""

    model_config = ConfigDict(extra="forbid")


class HealthRefreshPublic(BaseModel):
    health: DeviceHealth
    version: PassportVersionPublic
    alerts: list[Alert]


def _legitimate_interest(tiers: frozenset[AccessTier], what: str) -> None:
    if AccessTier.LEGITIMATE_INTEREST not in tiers:
        raise Forbidden(f"{what} is legitimate-interest data; this caller may not read it for this battery")


@router.post("/passports/{passport_id}/health", status_code=201, operation_id="refresh_passport_health")
@raises(409, 422, 502, 503)
def refresh_health(
    caller: InspectorCaller,
    pid: PassportId,
    record: OpenRecord,
    body: HealthRefreshCreate,
    services: ServicesDep,
) -> HealthRefreshPublic:
    """Refresh the battery's device-driven health (a new passport version) and scan for early warnings."""
    writer = services.passports_for(caller)
    result = services.health().refresh(pid, writer)
    return HealthRefreshPublic(
        health=result.health, version=PassportVersionPublic.of(result.issued), alerts=result.alerts
    )


@router.get("/passports/{passport_id}/health", operation_id="get_passport_health")
@raises(403, 404, 502)
def get_health(pid: PassportId, tiers: ReadableTiers, services: ServicesDep) -> DeviceHealth:
    """The device-driven health figures on the current version, with their policy and anchors."""
    _legitimate_interest(tiers, "device-driven health")
    fetched = services.passports_for(None).fetch(pid, tiers)
    raw = fetched.view.get("performance.dynamic.device_health")
    if raw is None:
        raise NotFound(f"passport {pid} carries no device-driven health figures yet")
    return DeviceHealth.model_validate(raw)


@router.get("/passports/{passport_id}/health/evidence", operation_id="get_passport_health_evidence")
@raises(403, 404, 502, 503)
def get_health_evidence(pid: PassportId, tiers: ReadableTiers, services: ServicesDep) -> HealthEvidence:
    """The evidence bundle: the readings used, their proofs and roots, the policy; verifiable offline."""
    _legitimate_interest(tiers, "the health evidence")
    try:
        return services.health().evidence(pid, services.passports_for(None))
    except InsufficientData as exc:
        # Nothing to prove yet (no refresh has run): the bundle does not exist, as on GET …/health.
        raise NotFound(str(exc)) from None


@router.get("/passports/{passport_id}/warnings", operation_id="list_passport_warnings")
@raises(403, 502, 503)
def list_warnings(pid: PassportId, tiers: ReadableTiers, services: ServicesDep) -> list[StoredAlert]:
    """The battery's early-warning alerts, oldest first, each citing its readings' digests and roots."""
    _legitimate_interest(tiers, "early warnings")
    if services.alerts is None:
        services.oracle()  # 503: this server runs without the oracle
    assert services.alerts is not None
    battery_id = services.current_document(pid).battery_id
    return services.alerts.of_battery(battery_id)
