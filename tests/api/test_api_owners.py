"""Devices, owners, sharing and the access log over real HTTP against the ledger (eth-tester in process,
and anvil): each new route's 401 and 403 per role and per object; a suspended device refused while its
earlier readings stay provable; an owner reads their own battery's history and proofs, never another's;
a share works until it is revoked or expires, and every restricted read is logged; the page's sign-in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import count
from typing import Any

import pytest

from api.auth import ApiRole
from oracle.anchoring import Anchorer
from oracle.devices import DeviceKey
from tests.api.api_stack import ApiStack, api_stack, new_battery_id
from tests.builders import SigningDevice, charging, diagnostics, parking

_ids = count(1)
SAMPLE_PACK: dict[str, object] = {"capacity_ah": 104.0, "internal_resistance_mohm": 240.0}


@dataclass
class World:
    stack: ApiStack
    pid: str  # the owner's passport (issuer's custody)
    battery_id: str
    other_pid: str  # another owner's passport
    other_battery_id: str
    owner: str  # owns ``pid`` by a redeemed claim code
    other_owner: str  # owns ``other_pid``
    device: SigningDevice  # registered over HTTP, bound to ``battery_id``
    other_device: SigningDevice  # bound to ``other_battery_id``
    digest: str  # an anchored record of ``battery_id``
    other_digest: str  # an anchored record of ``other_battery_id``


def new_owner(stack: ApiStack) -> str:
    name = f"owner-t{next(_ids)}"
    stack.services.api_keys.upsert_participant(name, [ApiRole.OWNER])
    stack.keys[name] = stack.services.api_keys.issue_key(name)
    return name


def claim(stack: ApiStack, pid: str, owner: str) -> dict[str, Any]:
    code = stack.call("POST", f"/passports/{pid}/claim-codes", "issuer")
    assert code.status_code == 201, code.text
    redeemed = stack.call("POST", "/owners/claims", owner, json={"claim_code": code.json()["claim_code"]})
    assert redeemed.status_code == 201, redeemed.text
    result: dict[str, Any] = redeemed.json()
    return result


def register_device(stack: ApiStack, battery_id: str) -> SigningDevice:
    device = SigningDevice(f"hw-{next(_ids):05d}", battery_id, DeviceKey.generate())
    response = stack.call(
        "POST",
        "/devices",
        "admin",
        json={
            "device_id": device.device_id,
            "address": device.address,
            "model": "OBD-LTE 2",
            "firmware": "1.4.2",
            "battery_id": battery_id,
            "vehicle_id": "KMH-123",
        },
    )
    assert response.status_code == 201, response.text
    stack.keys[device.device_id] = response.json()["api_key"]
    return device


def upload(stack: ApiStack, device: SigningDevice, readings: list[dict[str, Any]], **kwargs: Any) -> Any:
    return stack.call(
        "POST", "/telemetry/uploads", device.device_id, json=device.upload_json(readings, **kwargs)
    )


def anchor(stack: ApiStack) -> None:
    journal, _, _ = stack.services.oracle()
    services = stack.services
    Anchorer(journal, services.store, services.client("oracle"), keyring=services.keyring).drain()


@pytest.fixture(scope="module", params=["eth-tester", pytest.param("anvil", marks=pytest.mark.node)])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with api_stack(tmp_path_factory.mktemp("api-owners"), request.param) as stack:
        battery_id, other_battery_id = new_battery_id(), new_battery_id()
        pid = str(stack.issue(battery_id).passport_id)
        other_pid = str(stack.issue(other_battery_id).passport_id)
        owner, other_owner = new_owner(stack), new_owner(stack)
        claim(stack, pid, owner)
        claim(stack, other_pid, other_owner)
        device = register_device(stack, battery_id)
        other_device = register_device(stack, other_battery_id)
        first = upload(stack, device, [charging(), parking(), diagnostics(**SAMPLE_PACK)])
        assert first.status_code == 200, first.text
        second = upload(stack, other_device, [charging()])
        assert second.status_code == 200, second.text
        anchor(stack)
        yield World(
            stack,
            pid,
            battery_id,
            other_pid,
            other_battery_id,
            owner,
            other_owner,
            device,
            other_device,
            first.json()["accepted"][0]["digest"],
            second.json()["accepted"][0]["digest"],
        )


# -- 401 / 403 per route, role and object -----------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: Callable[[World], str]
    wrong_role: str
    wrong_object: Callable[[World], str] | None  # a caller with the role but not this object
    body: Callable[[World], dict[str, Any]] | None = None


CASES = [
    Case("register_device", "POST", lambda w: "/devices", "inspector", None,
         lambda w: {"device_id": "x-never", "address": "0x" + "11" * 20, "model": "m", "firmware": "f",
                    "battery_id": new_battery_id()}),
    Case("list_devices", "GET", lambda w: "/devices", "business", None),
    Case("get_device", "GET", lambda w: f"/devices/{w.device.device_id}", "business", None),
    Case("get_device_history", "GET", lambda w: f"/devices/{w.device.device_id}/history", "business", None),
    Case("bind_device", "POST", lambda w: f"/devices/{w.device.device_id}/bind", "inspector", None,
         lambda w: {"battery_id": new_battery_id()}),
    Case("unbind_device", "POST", lambda w: f"/devices/{w.device.device_id}/unbind", "inspector", None,
         lambda w: {}),
    Case("suspend_device", "POST", lambda w: f"/devices/{w.device.device_id}/suspend", "inspector", None,
         lambda w: {"reason": "x"}),
    Case("reinstate_device", "POST", lambda w: f"/devices/{w.device.device_id}/reinstate", "inspector", None,
         lambda w: {}),
    Case("issue_claim_code", "POST", lambda w: f"/passports/{w.pid}/claim-codes", "inspector",
         lambda w: "issuer2"),
    Case("redeem_claim_code", "POST", lambda w: "/owners/claims", "inspector", None,
         lambda w: {"claim_code": "AAAA-BBBB-CCCC-DDDD"}),
    Case("list_my_batteries", "GET", lambda w: "/owners/me/batteries", "inspector", None),
    Case("unlink_owner", "POST", lambda w: f"/passports/{w.pid}/owner/unlink", "inspector",
         lambda w: w.other_owner),
    Case("issue_sign_in_link", "POST", lambda w: f"/passports/{w.pid}/owner/sign-in-links", "inspector",
         lambda w: w.other_owner),
    Case("get_device_history_of_passport", "GET", lambda w: f"/passports/{w.pid}/device-history", "inspector",
         lambda w: w.other_owner),
    Case("get_device_bindings", "GET", lambda w: f"/passports/{w.pid}/device-bindings", "inspector",
         lambda w: w.other_owner),
    Case("get_access_log", "GET", lambda w: f"/passports/{w.pid}/access-log", "inspector",
         lambda w: w.other_owner),
    Case("grant_share", "POST", lambda w: f"/passports/{w.pid}/shares", "inspector", lambda w: w.other_owner,
         lambda w: {"grantee": "business", "kinds": ["charging"]}),
    Case("list_shares", "GET", lambda w: f"/passports/{w.pid}/shares", "inspector", lambda w: w.other_owner),
    Case("revoke_share", "POST", lambda w: f"/passports/{w.pid}/shares/1/revoke", "inspector",
         lambda w: w.other_owner),
    Case("read_granted", "GET", lambda w: f"/passports/{w.pid}/shared-with-me", "inspector",
         lambda w: w.other_owner),
    Case("get_record_proof", "GET", lambda w: f"/audit/records/{w.digest}/proof", "inspector",
         lambda w: w.other_owner),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_401_without_a_key_and_403_for_the_wrong_role_or_object(world: World, case: Case) -> None:
    stack = world.stack
    body = case.body(world) if case.body else None
    kwargs = {"json": body} if body is not None else {}
    assert stack.call(case.method, case.path(world), None, **kwargs).status_code == 401
    wrong_role = stack.call(case.method, case.path(world), case.wrong_role, **kwargs)
    assert wrong_role.status_code == 403, wrong_role.text
    assert wrong_role.headers["content-type"] == "application/problem+json"
    if case.wrong_object is not None:
        wrong_object = stack.call(case.method, case.path(world), case.wrong_object(world), **kwargs)
        assert wrong_object.status_code == 403, wrong_object.text


def test_every_new_route_is_documented_with_its_statuses(world: World) -> None:
    spec = world.stack.http.get("/openapi.json").json()
    operations = {op["operationId"]: op for path in spec["paths"].values() for op in path.values()}
    for case in CASES:
        op = operations[case.name]
        assert {"401", "403"} <= set(op["responses"]), case.name
        assert op.get("security"), case.name


# -- devices ------------------------------------------------------------------------------------------


def test_suspended_device_is_refused_and_its_readings_stay_provable(world: World) -> None:
    stack = world.stack
    battery_id = new_battery_id()
    pid = str(stack.issue(battery_id).passport_id)
    owner = new_owner(stack)
    claim(stack, pid, owner)
    device = register_device(stack, battery_id)
    before = upload(stack, device, [charging()])
    assert before.status_code == 200
    digest = before.json()["accepted"][0]["digest"]

    suspended = stack.call(
        "POST", f"/devices/{device.device_id}/suspend", "admin", json={"reason": "key leaked"}
    )
    assert suspended.status_code == 200
    assert suspended.json()["status"] == "suspended"
    again = stack.call("POST", f"/devices/{device.device_id}/suspend", "admin", json={"reason": "twice"})
    assert again.status_code == 409

    refused = upload(stack, device, [charging()])
    assert refused.status_code == 422
    assert refused.json()["code"] == "device_suspended"
    assert "key leaked" in refused.json()["detail"]

    anchor(stack)
    for who in (owner, "auditor"):
        proof = stack.call("GET", f"/audit/records/{digest}/proof", who)
        assert proof.status_code == 200, proof.text
        assert proof.json()["verified_offline"] is True
        assert proof.json()["verified_on_chain"] is True

    reinstated = stack.call("POST", f"/devices/{device.device_id}/reinstate", "issuer", json={})
    assert reinstated.json()["status"] == "active"
    assert upload(stack, device, [charging()]).status_code == 200


def test_unbind_and_rebind_moves_the_device_and_keeps_each_batterys_history(world: World) -> None:
    stack = world.stack
    old_battery, new_battery = new_battery_id(), new_battery_id()
    old_pid = str(stack.issue(old_battery).passport_id)
    device = register_device(stack, old_battery)
    assert upload(stack, device, [parking()]).status_code == 200

    unbound = stack.call("POST", f"/devices/{device.device_id}/unbind", "admin", json={"reason": "pack swap"})
    assert unbound.json()["status"] == "unbound"
    assert unbound.json()["battery_id"] is None
    refused = upload(stack, device, [parking()])
    assert refused.status_code == 422
    assert refused.json()["code"] == "device_unbound"
    assert stack.call("POST", f"/devices/{device.device_id}/unbind", "admin", json={}).status_code == 409

    bound = stack.call("POST", f"/devices/{device.device_id}/bind", "admin", json={"battery_id": new_battery})
    assert bound.status_code == 200
    assert bound.json()["battery_id"] == new_battery
    device.battery_id = new_battery
    assert upload(stack, device, [parking()]).status_code == 200
    # Its API key now writes for the new battery only.
    assert upload(stack, device, [parking()], battery_id=old_battery).status_code == 403

    history = stack.call("GET", f"/passports/{old_pid}/device-bindings", "auditor")
    assert history.status_code == 200
    actions = [(e["action"], e["battery_id"]) for e in history.json()]
    assert actions == [("registered", old_battery), ("bound", old_battery), ("unbound", old_battery)]
    old_records = stack.call("GET", f"/passports/{old_pid}/device-history", "auditor").json()["records"]
    assert len(old_records) == 1  # the reading measured on the old pack stays with it

    listed = stack.call("GET", "/devices", "auditor").json()
    assert any(d["device_id"] == device.device_id and d["battery_id"] == new_battery for d in listed)
    assert stack.call("GET", "/devices/no-such-device", "admin").status_code == 404
    assert (
        stack.call("POST", "/devices/no-such-device/suspend", "admin", json={"reason": "r"}).status_code
        == 404
    )


def test_register_device_by_public_key_and_conflicts(world: World) -> None:
    stack = world.stack
    key = DeviceKey.generate()
    import coincurve

    public = "0x" + coincurve.PrivateKey(key.private_key).public_key.format(compressed=True).hex()
    body = {"device_id": f"pk-{next(_ids)}", "public_key": public, "model": "m", "firmware": "f",
            "battery_id": new_battery_id(), "issue_api_key": False}  # fmt: skip
    made = stack.call("POST", "/devices", "issuer", json=body)
    assert made.status_code == 201, made.text
    assert made.json()["address"] == key.address
    assert made.json()["api_key"] is None
    moved = stack.call("POST", "/devices", "issuer", json={**body, "battery_id": new_battery_id()})
    assert moved.status_code == 409
    mismatched = {**body, "device_id": f"pk-{next(_ids)}", "address": "0x" + "22" * 20}
    assert stack.call("POST", "/devices", "issuer", json=mismatched).status_code == 422
    not_a_point = {**body, "device_id": f"pk-{next(_ids)}", "public_key": "0x05" + "11" * 32}
    assert stack.call("POST", "/devices", "issuer", json=not_a_point).status_code == 422
    swapped = "0x" + key.address[2:].swapcase()  # same address, an EIP-55 checksum that fails
    bad_checksum = {**body, "device_id": f"pk-{next(_ids)}", "public_key": None, "address": swapped}
    assert stack.call("POST", "/devices", "issuer", json=bad_checksum).status_code == 422
    assert stack.call("POST", "/devices", "issuer", json={**body, "model": ""}).status_code == 422


# -- owners ------------------------------------------------------------------------------------------


def test_owner_reads_own_history_and_proofs_never_anothers(world: World) -> None:
    stack = world.stack
    history = stack.call("GET", f"/passports/{world.pid}/device-history", world.owner)
    assert history.status_code == 200, history.text
    body = history.json()
    assert body["basis"] == "owner"
    assert {r["kind"] for r in body["records"]} == {"charging", "parking", "diagnostics"}
    (month,) = body["months"]
    assert month["charging_sessions"] == 1
    assert month["diagnostics"] == 1
    assert month["parking_hours"] > 0
    only = stack.call("GET", f"/passports/{world.pid}/device-history?kind=charging", world.owner).json()
    assert [r["kind"] for r in only["records"]] == ["charging"]

    assert stack.call("GET", f"/passports/{world.other_pid}/device-history", world.owner).status_code == 403
    assert stack.call("GET", f"/audit/records/{world.digest}/proof", world.owner).status_code == 200
    assert stack.call("GET", f"/audit/records/{world.other_digest}/proof", world.owner).status_code == 403
    unknown = stack.call("GET", f"/audit/records/0x{'11' * 32}/proof", world.owner)
    assert unknown.status_code == 404

    passport = stack.call("GET", f"/passports/{world.pid}", world.owner).json()
    assert "legitimate_interest" in passport["tiers"]
    other = stack.call("GET", f"/passports/{world.other_pid}", world.owner).json()
    assert other["tiers"] == ["public"]
    mine = stack.call("GET", "/owners/me/batteries", world.owner).json()
    assert [link["passport_id"] for link in mine] == [world.pid]

    log = stack.call("GET", f"/passports/{world.pid}/access-log", world.owner)
    assert log.status_code == 200
    whats = {(e["reader"], e["basis"], e["what"]) for e in log.json()}
    assert (world.owner, "owner", "device-history") in whats
    assert (world.owner, "owner", "record-proof") in whats
    assert (world.owner, "owner", "passport") in whats
    assert stack.call("GET", f"/passports/{world.pid}/access-log", "auditor").status_code == 200


def test_claim_code_is_burned_and_a_new_owner_ends_the_old_link(world: World) -> None:
    stack = world.stack
    battery_id = new_battery_id()
    pid = str(stack.issue(battery_id).passport_id)
    first, second = new_owner(stack), new_owner(stack)
    seeded = stack.owner(battery_id)  # an owner given the battery with its key, before claims existed
    assert "legitimate_interest" in stack.call("GET", f"/passports/{pid}", seeded).json()["tiers"]
    code = stack.call("POST", f"/passports/{pid}/claim-codes", "admin").json()["claim_code"]
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", code)
    assert stack.call("POST", "/owners/claims", first, json={"claim_code": code.lower()}).status_code == 201
    assert stack.call("GET", f"/passports/{pid}", seeded).json()["tiers"] == ["public"]
    burned = stack.call("POST", "/owners/claims", second, json={"claim_code": code})
    assert burned.status_code == 403
    assert burned.json()["title"] == "Invalid claim code"
    # The vehicle is sold with a fresh code: its redeemer becomes the owner, the seller loses access.
    claim(stack, pid, second)
    assert stack.call("GET", f"/passports/{pid}/device-history", second).status_code == 200
    assert stack.call("GET", f"/passports/{pid}/device-history", first).status_code == 403
    # An owner unlinks themselves (sold privately).
    assert stack.call("POST", f"/passports/{pid}/owner/unlink", second).status_code == 200
    assert stack.call("GET", f"/passports/{pid}/device-history", second).status_code == 403


def test_custody_transfer_ends_the_owner_link(world: World) -> None:
    stack = world.stack
    battery_id = new_battery_id()
    pid = str(stack.issue(battery_id).passport_id)
    owner = new_owner(stack)
    claim(stack, pid, owner)
    assert stack.call("GET", f"/passports/{pid}/device-history", owner).status_code == 200
    stack.transfer(pid, "issuer", "business")
    assert stack.call("GET", f"/passports/{pid}/device-history", owner).status_code == 403
    (link,) = stack.call("GET", "/owners/me/batteries", owner).json()
    assert link["reason"] == "custody transferred"
    assert stack.call("GET", f"/passports/{pid}", owner).json()["tiers"] == ["public"]


def test_custody_transfer_ends_the_restricted_read_at_once(world: World) -> None:
    """The passport route itself, not only the owner routes, stops serving a sold battery's tiers."""
    stack = world.stack
    pid = str(stack.issue(new_battery_id()).passport_id)
    owner = new_owner(stack)
    claim(stack, pid, owner)
    assert "legitimate_interest" in stack.call("GET", f"/passports/{pid}", owner).json()["tiers"]
    stack.transfer(pid, "issuer", "business")
    assert stack.call("GET", f"/passports/{pid}", owner).json()["tiers"] == ["public"]


# -- sharing -----------------------------------------------------------------------------------------


def test_named_share_works_until_revoked_and_is_logged(world: World) -> None:
    stack = world.stack
    path = f"/passports/{world.pid}/device-history?kind=charging"
    assert stack.call("GET", path, "business").status_code == 403
    grant = stack.call(
        "POST", f"/passports/{world.pid}/shares", world.owner,
        json={"grantee": "business", "kinds": ["charging", "passport"], "days": 7, "purpose": "insurance"},
    )  # fmt: skip
    assert grant.status_code == 201, grant.text
    share = grant.json()
    assert share["url"] is None
    read = stack.call("GET", path, "business")
    assert read.status_code == 200
    assert read.json()["basis"] == f"share:{share['id']}"
    assert (
        stack.call("GET", f"/passports/{world.pid}/device-history?kind=safety", "business").status_code == 403
    )
    granted = stack.call("GET", f"/passports/{world.pid}/shared-with-me", "business")
    assert granted.status_code == 200
    assert granted.json()[0]["passport"]["general"]["battery_id"] == world.battery_id

    listed = stack.call("GET", f"/passports/{world.pid}/shares", world.owner).json()
    assert any(s["id"] == share["id"] and s["active"] for s in listed)
    revoked = stack.call("POST", f"/passports/{world.pid}/shares/{share['id']}/revoke", world.owner)
    assert revoked.status_code == 200
    assert revoked.json()["active"] is False
    assert stack.call("GET", path, "business").status_code == 403
    assert (
        stack.call("POST", f"/passports/{world.pid}/shares/{share['id']}/revoke", world.owner).status_code
        == 409
    )
    assert stack.call("POST", f"/passports/{world.other_pid}/shares/{share['id']}/revoke", world.other_owner
                      ).status_code == 404  # fmt: skip

    log = stack.call("GET", f"/passports/{world.pid}/access-log", world.owner).json()
    reads = [e for e in log if e["reader"] == "business"]
    assert {e["basis"] for e in reads} == {f"share:{share['id']}"}
    assert {e["what"] for e in reads} == {"device-history", "shared-view"}


def test_bearer_link_works_until_expiry_and_as_qr(world: World) -> None:
    stack = world.stack
    grant = stack.call(
        "POST", f"/passports/{world.pid}/shares", world.owner,
        json={"kinds": ["parking", "safety", "devices", "evaluations"], "days": 1},
    )  # fmt: skip
    assert grant.status_code == 201, grant.text
    url = grant.json()["url"]
    assert url.startswith(stack.base_url + "/api/v1/shared/")
    assert grant.json()["qr_svg"].lstrip().startswith("<svg")
    read = stack.http.get(url)
    assert read.status_code == 200, read.text
    body = read.json()
    assert {r["kind"] for r in body["history"]["records"]} == {"parking"}
    assert body["passport"] is None
    assert body["bindings"][0]["action"] == "registered"
    assert stack.http.get(url + "x").status_code == 404

    ownership = stack.services.ownership
    real = ownership.clock
    ownership.clock = lambda: real() + 2 * 86400
    try:
        expired = stack.http.get(url)
    finally:
        ownership.clock = real
    assert expired.status_code == 403
    assert "expired" in expired.json()["detail"]

    log = stack.call("GET", f"/passports/{world.pid}/access-log", "auditor").json()
    assert any(e["basis"] == f"share:{grant.json()['id']}" and e["what"] == "shared-view" for e in log)


def test_share_requests_are_validated(world: World) -> None:
    stack = world.stack
    path = f"/passports/{world.pid}/shares"
    assert stack.call("POST", path, world.owner, json={"kinds": []}).status_code == 422
    assert stack.call("POST", path, world.owner, json={"kinds": ["x"]}).status_code == 422
    assert stack.call("POST", path, world.owner, json={"kinds": ["charging"], "days": 0}).status_code == 422
    nobody = {"grantee": "no-such-participant", "kinds": ["charging"]}
    assert stack.call("POST", path, world.owner, json=nobody).status_code == 404
    # The custodian (the issuer holds it) manages shares too.
    assert stack.call("POST", path, "issuer", json={"kinds": ["charging"]}).status_code == 201


# -- the page's sign-in --------------------------------------------------------------------------------


def test_page_sign_in_with_claim_code_sets_a_strict_session_cookie(world: World) -> None:
    stack = world.stack
    battery_id = new_battery_id()
    pid = str(stack.issue(battery_id).passport_id)
    code = stack.call("POST", f"/passports/{pid}/claim-codes", "issuer").json()["claim_code"]
    anonymous = stack.http.get(f"/p/{pid}")
    assert 'data-testid="owner-sign-in"' in anonymous.text
    # Cross-site (no or foreign Origin) posts are refused: login CSRF.
    assert stack.http.post(f"/p/{pid}/sign-in", data={"claim_code": code}).status_code == 403
    foreign = {"Origin": "https://evil.example"}
    assert stack.http.post(f"/p/{pid}/sign-in", data={"claim_code": code}, headers=foreign).status_code == 403
    origin = {"Origin": stack.base_url}
    wrong = stack.http.post(f"/p/{pid}/sign-in", data={"claim_code": "AAAA-AAAA-AAAA-AAAA"}, headers=origin)
    assert wrong.status_code == 403
    signed = stack.http.post(f"/p/{pid}/sign-in", data={"claim_code": code}, headers=origin)
    assert signed.status_code == 303
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # plain http on loopback
    token = signed.cookies["bpl_owner_session"]
    stack.http.cookies.clear()  # the client's jar kept it; each request below names its cookie
    session = {"Cookie": f"bpl_owner_session={token}"}
    page = stack.http.get(f"/p/{pid}", headers=session)
    assert 'data-testid="owner-signed-in"' in page.text
    assert 'data-testid="health-restricted"' not in page.text
    # The code is burned; signing out ends the session.
    assert stack.http.post(f"/p/{pid}/sign-in", data={"claim_code": code}, headers=origin).status_code == 403
    out = stack.http.post(f"/p/{pid}/sign-out", headers={**origin, **session})
    assert out.status_code == 303
    after = stack.http.get(f"/p/{pid}", headers=session)
    assert 'data-testid="owner-sign-in"' in after.text


def test_one_time_sign_in_link(world: World) -> None:
    stack = world.stack
    link = stack.call("POST", f"/passports/{world.pid}/owner/sign-in-links", world.owner)
    assert link.status_code == 201, link.text
    url = link.json()["url"]
    landing = stack.http.get(url)
    assert landing.status_code == 200
    token = url.split("token=")[1]
    origin = {"Origin": stack.base_url}
    signed = stack.http.post(f"/p/{world.pid}/sign-in", data={"token": token}, headers=origin)
    assert signed.status_code == 303
    assert (
        stack.http.post(f"/p/{world.pid}/sign-in", data={"token": token}, headers=origin).status_code == 403
    )
    session = signed.cookies["bpl_owner_session"]
    stack.http.cookies.clear()
    page = stack.http.get(f"/p/{world.pid}", headers={"Cookie": f"bpl_owner_session={session}"})
    assert 'data-testid="owner-history"' in page.text
    assert world.device.device_id in page.text  # the binding history is shown to the owner
