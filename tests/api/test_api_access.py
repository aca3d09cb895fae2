"""Every restricted route, over real HTTP against the ledger on each backend (eth-tester in process, and
anvil): no credentials → 401, the wrong role → 403, the wrong object (another party's battery, offer or
device) → 403, and nothing was written.

Routes gated by a role alone (issuing, business administration, audit) have no "wrong object": a role
holder may act on any object, so their row carries None there (see ``api.access``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from devtools.samples import sample_passport
from passport.interop import export_catenax
from tests.api.api_stack import ApiStack, api_stack, new_battery_id
from tests.builders import SigningDevice, parking


@dataclass
class World:
    """Objects the routes act on, made once for the module."""

    stack: ApiStack
    held: str  # passport in the issuer's custody, no offer
    offered: str  # passport in the issuer's custody, offered to "business"
    battery_id: str  # the battery of ``held``
    device: SigningDevice  # registered for ``battery_id``
    other_device: SigningDevice  # registered for another battery


@pytest.fixture(scope="module", params=["eth-tester", pytest.param("anvil", marks=pytest.mark.node)])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with api_stack(tmp_path_factory.mktemp("api-access"), request.param) as stack:
        battery_id = new_battery_id()
        held = str(stack.issue(battery_id).passport_id)
        offered = str(stack.issue().passport_id)
        response = stack.call(
            "POST", f"/passports/{offered}/custody/offer", "issuer", json={"to": stack.address("business")}
        )
        assert response.status_code == 201
        yield World(
            stack, held, offered, battery_id, stack.device(battery_id), stack.device(new_battery_id())
        )


def _doc(battery_id: str | None = None) -> dict[str, Any]:
    return sample_passport(battery_id or new_battery_id()).model_dump(mode="json")


@dataclass(frozen=True)
class Case:
    """A restricted route: its request, a caller with the wrong role, and one with the wrong object."""

    name: str
    method: str
    path: Callable[[World], str]
    body: Callable[[World], Any] | None
    wrong_role: str | Callable[[World], str] | None
    wrong_object: str | Callable[[World], str] | None


def _upload(w: World) -> dict[str, Any]:
    return w.device.upload_json([parking()])


CASES = [
    Case("issue_passport", "POST", lambda w: "/passports", lambda w: {"passport": _doc()}, "business", None),
    Case(
        "change_passport_status",
        "POST",
        lambda w: f"/passports/{w.held}/status",
        lambda w: {"status": "WASTE"},
        lambda w: w.stack.owner(w.battery_id),  # an owner holds no on-chain key
        "business",  # a registered business that is not the custodian
    ),
    Case(
        "issue_successor_passport",
        "POST",
        lambda w: f"/passports/{w.held}/successor",
        lambda w: {"status": "REPURPOSED", "passport": _doc()},
        "business",
        "repurposer",  # has the role, not the custody
    ),
    Case(
        "recycle_passport",
        "POST",
        lambda w: f"/passports/{w.held}/recycle",
        lambda w: {},
        "business",
        "recycler",
    ),
    Case(
        "record_evaluation",
        "POST",
        lambda w: f"/passports/{w.held}/evaluations",
        lambda w: {},
        "business",
        None,
    ),
    Case(
        "offer_custody",
        "POST",
        lambda w: f"/passports/{w.held}/custody/offer",
        lambda w: {"to": w.stack.address("recycler")},
        lambda w: w.stack.owner(w.battery_id),
        "business",
    ),
    Case(
        "accept_custody",
        "POST",
        lambda w: f"/passports/{w.offered}/custody/accept",
        None,
        lambda w: w.stack.owner(w.battery_id),
        "issuer2",  # a registered business the offer is not to
    ),
    Case(
        "cancel_custody_offer",
        "DELETE",
        lambda w: f"/passports/{w.offered}/custody/offer",
        None,
        lambda w: w.stack.owner(w.battery_id),
        "business",  # the offeree, not the custodian
    ),
    Case(
        "register_business",
        "POST",
        lambda w: "/businesses",
        lambda w: {
            "account": w.stack.address("stranger"),
            "kinds": ["COLLECTOR"],
            "registration_hash": "0x" + "cd" * 32,
        },
        "issuer",
        None,
    ),
    Case(
        "suspend_business",
        "POST",
        lambda w: f"/businesses/{w.stack.address('business')}/suspend",
        None,
        "issuer",
        None,
    ),
    Case(
        "reinstate_business",
        "POST",
        lambda w: f"/businesses/{w.stack.address('business')}/reinstate",
        None,
        "issuer",
        None,
    ),
    Case("query_audit_events", "GET", lambda w: "/audit/events", None, "business", None),
    Case("export_audit_events", "GET", lambda w: "/audit/events/export", None, "issuer", None),
    Case(
        "get_record_proof",
        "GET",
        lambda w: f"/audit/records/0x{'11' * 32}/proof",
        None,
        # Owners read their own battery's proofs (the wrong object: tests/api/test_api_owners.py).
        "business",
        None,
    ),
    Case(
        "ingest_telemetry_upload",
        "POST",
        lambda w: "/telemetry/uploads",
        _upload,
        lambda w: w.stack.owner(w.battery_id),
        lambda w: w.other_device.device_id,  # another device sending this device's upload
    ),
    Case(
        "ingest_telemetry_batch",
        "POST",
        lambda w: "/telemetry/batches",
        lambda w: {"uploads": [_upload(w)]},
        "business",
        lambda w: w.other_device.device_id,
    ),
    Case(
        "import_catenax",
        "POST",
        lambda w: "/interop/catenax",
        lambda w: export_catenax(sample_passport(new_battery_id())),
        "business",
        None,
    ),
    Case(
        "export_catenax",
        "GET",
        lambda w: f"/passports/{w.held}/catenax",
        None,
        "inspector",  # reads legitimate interest only; Catena-X carries every tier
        "issuer2",  # a business that does not hold this battery
    ),
    Case(
        "list_evaluations",
        "GET",
        lambda w: f"/passports/{w.held}/evaluations",
        None,
        None,  # a read route: any role may ask, the tier decides (test_evaluations_need_...)
        lambda w: w.stack.owner(new_battery_id()),  # an owner of another battery
    ),
    Case(
        "record_inspection",
        "POST",
        lambda w: f"/passports/{w.held}/inspections",
        lambda w: {
            "stage": "pre_distribution",
            "result": "pass",
            "method": "visual",
            "checks": [{"name": "casing", "passed": True}],
            "valid_for_days": 30,
        },
        "business",
        None,
    ),
    Case(
        "report_incident",
        "POST",
        lambda w: f"/passports/{w.held}/incidents",
        lambda w: {"kind": "accident", "occurred_at": "2026-01-01T00:00:00Z", "description": "kerb strike"},
        "auditor",  # neither inspector, custodian, owner nor a business
        lambda w: w.stack.owner(new_battery_id()),  # an owner of another battery
    ),
    Case(
        "list_incidents",
        "GET",
        lambda w: f"/passports/{w.held}/incidents",
        None,
        None,
        lambda w: w.stack.owner(new_battery_id()),
    ),
    Case(
        "record_shipment",
        "POST",
        lambda w: f"/passports/{w.held}/shipments",
        lambda w: {
            "shipment_id": "S-1",
            "from_party": {"name": "A"},
            "to_party": {"name": "B"},
            "carrier": {"name": "C"},
            "state_of_charge_percent": 20,
            "packaging_class": "road_sea_p903",
            "un38_3_test_summary": {"title": "UN 38.3", "content": "https://example.com/t.pdf"},
        },
        lambda w: w.stack.owner(w.battery_id),  # an owner holds no on-chain key
        "business",  # not the custodian
    ),
    Case(
        "record_storage",
        "POST",
        lambda w: f"/passports/{w.held}/storage",
        lambda w: {
            "site": {"name": "W"},
            "operator": {"name": "O"},
            "stored_from": "2026-01-01T00:00:00Z",
            "conditions": {},
        },
        lambda w: w.stack.owner(w.battery_id),
        "business",
    ),
]


def _who(world: World, spec: str | Callable[[World], str]) -> str:
    return spec(world) if callable(spec) else spec


def _send(world: World, case: Case, who: str | None) -> Any:
    kwargs: dict[str, Any] = {}
    if case.body is not None:
        kwargs["json"] = case.body(world)
    return world.stack.call(case.method, case.path(world), who, **kwargs)


def _ledger_state(world: World) -> tuple[Any, ...]:
    reader = world.stack.services.reader
    return (reader.block_number(),)


RESTRICTED = [c for c in CASES if c.wrong_role is not None]


@pytest.mark.parametrize("case", RESTRICTED, ids=lambda c: c.name)
def test_no_credentials_is_401(world: World, case: Case) -> None:
    before = _ledger_state(world)
    response = _send(world, case, None)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "WWW-Authenticate" in response.headers
    assert _ledger_state(world) == before


@pytest.mark.parametrize("case", RESTRICTED, ids=lambda c: c.name)
def test_bad_key_is_401(world: World, case: Case) -> None:
    kwargs: dict[str, Any] = {"headers": {"Authorization": "Bearer bpl_00_nope"}}
    if case.body is not None:
        kwargs["json"] = case.body(world)
    response = world.stack.http.request(case.method, "/api/v1" + case.path(world), **kwargs)
    assert response.status_code == 401, response.text


@pytest.mark.parametrize("case", RESTRICTED, ids=lambda c: c.name)
def test_wrong_role_is_403(world: World, case: Case) -> None:
    assert case.wrong_role is not None
    before = _ledger_state(world)
    response = _send(world, case, _who(world, case.wrong_role))
    assert response.status_code == 403, response.text
    assert response.json()["title"] == "Forbidden"
    assert _ledger_state(world) == before


@pytest.mark.parametrize("case", [c for c in CASES if c.wrong_object is not None], ids=lambda c: c.name)
def test_wrong_object_is_403(world: World, case: Case) -> None:
    assert case.wrong_object is not None
    before = _ledger_state(world)
    response = _send(world, case, _who(world, case.wrong_object))
    assert response.status_code == 403, response.text
    assert _ledger_state(world) == before


def test_evaluations_need_legitimate_interest(world: World) -> None:
    assert world.stack.call("GET", f"/passports/{world.held}/evaluations").status_code == 403
    owner = world.stack.owner(world.battery_id)
    assert world.stack.call("GET", f"/passports/{world.held}/evaluations", owner).status_code == 200


def test_device_may_not_write_for_another_battery(world: World) -> None:
    upload = world.device.upload_json([parking()], battery_id=new_battery_id())
    response = world.stack.call("POST", "/telemetry/uploads", world.device.device_id, json=upload)
    assert response.status_code == 403, response.text


def test_openapi_operation_ids(world: World) -> None:
    spec = world.stack.http.get("/openapi.json").json()
    ids = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    assert {c.name for c in CASES} <= ids
    assert {"get_passport", "list_passport_versions", "verify_passport", "download_passport_bundle"} <= ids
    assert {"get_custody_history", "get_business"} <= ids
