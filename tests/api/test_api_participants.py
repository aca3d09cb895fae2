"""Participants, roles, API keys and the business directory, over real HTTP on each backend.

Onboarding as the README shows it (a custodial business from its participant record, an inspector with
its on-chain role), then each new route's 401/403 per role and per object, key revocation, expiry,
rotation, scopes and read-only keys, the details document's verification (and a tampered one), the
directory's filters and the names on custody timelines and the business page.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from typing import Any

import pytest

from api.auth import ApiRole
from passport.chain.keystore import Keystore
from passport.chain.records import Role
from passport.directory import details_cid
from passport.ids import parse_bytes32
from passport.store import EmbeddedStore
from tests.api.api_stack import PARTICIPANTS, ApiStack, api_stack
from tests.chain_backends import _fund

_serial = count(1)


@dataclass
class World:
    stack: ApiStack
    business: str  # a custodial, registered business participant with a key of the same name
    business_account: str


def _name(prefix: str) -> str:
    return f"{prefix}-{next(_serial)}"


def _participant(stack: ApiStack, name: str, kind: str = "business", **extra: Any) -> dict[str, Any]:
    body = {
        "name": name,
        "kind": kind,
        "display_name": f"{name.title()} Co., Ltd.",
        "country": "KR",
        "registration_number": f"KR-{name}",
        "contact": f"ops@{name}.example",
        "custodial": True,
    } | extra
    response = stack.call("POST", "/participants", "admin", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _key(stack: ApiStack, name: str, **body: Any) -> dict[str, Any]:
    response = stack.call("POST", f"/participants/{name}/keys", "admin", json=body)
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


@pytest.fixture(scope="module", params=["eth-tester", pytest.param("anvil", marks=pytest.mark.node)])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    run_dir = tmp_path_factory.mktemp("api-participants")
    with api_stack(run_dir, request.param) as stack:
        services = stack.services
        services.keystore = Keystore(run_dir / "keystore", "test-password", environment="development")
        services.funder = lambda account: _fund(stack.backend.w3, [account]) is None
        name = _name("busan-recycling")
        created = _participant(stack, name)
        registered = stack.call(
            "POST", "/businesses", "admin", json={"participant": name, "kinds": ["COLLECTOR", "RECYCLER"]}
        )
        assert registered.status_code == 201, registered.text
        stack.keys[name] = _key(stack, name)["api_key"]
        yield World(stack, name, created["account"])


# -- onboarding ---------------------------------------------------------------------------------------------


def test_a_custodial_business_is_onboarded_from_its_participant_record(world: World) -> None:
    stack = world.stack
    shown = stack.call("GET", f"/participants/{world.business}", world.business)
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["custodial"] is True
    assert body["kind"] == "business"
    assert body["roles"] == ["business"]  # gained by the registration
    business = stack.call("GET", f"/businesses/{world.business_account}").json()
    assert business["name"] == f"{world.business.title()} Co., Ltd."
    assert business["participant"] == world.business
    assert business["details_status"] == "verified"
    assert business["kinds"] == ["COLLECTOR", "RECYCLER"]
    # The on-chain hash is the digest of the stored details document, which the route hands back.
    details = stack.call("GET", f"/businesses/{world.business_account}/details").json()
    assert details["verified"] is True
    assert details["registration_hash"] == business["registration_hash"]
    assert details["cid"] == details_cid(parse_bytes32(business["registration_hash"]))
    assert details["details"]["registration_number"] == f"KR-{world.business}"


def test_the_onboarded_business_takes_custody_and_timelines_show_its_name(world: World) -> None:
    stack = world.stack
    passport_id = str(stack.issue().passport_id)
    offer = stack.call(
        "POST", f"/passports/{passport_id}/custody/offer", "issuer", json={"to": world.business_account}
    )
    assert offer.status_code == 201, offer.text
    accepted = stack.call("POST", f"/passports/{passport_id}/custody/accept", world.business)
    assert accepted.status_code == 200, accepted.text
    history = stack.call("GET", f"/passports/{passport_id}/custody").json()
    assert history["custodian"] == world.business_account
    assert history["names"][world.business_account] == f"{world.business.title()} Co., Ltd."
    page = stack.http.get(f"/p/{passport_id}")
    assert page.status_code == 200
    assert f"{world.business.title()} Co., Ltd." in page.text


def test_an_inspector_role_is_granted_and_revoked_on_chain(world: World) -> None:
    stack = world.stack
    name = _name("kotsa-inspection")
    account = _participant(stack, name, kind="inspector")["account"]
    granted = stack.call("POST", f"/participants/{name}/roles", "admin", json={"role": "inspector"})
    assert granted.status_code == 200, granted.text
    assert granted.json()["on_chain_role"] == "INSPECTOR_ROLE"
    assert granted.json()["tx_hash"].startswith("0x")
    assert granted.json()["participant"]["roles"] == ["inspector"]
    assert stack.services.reader.has_role(Role.INSPECTOR, account)
    # An off-chain role changes only the API.
    authority = stack.call("POST", f"/participants/{name}/roles", "admin", json={"role": "authority"})
    assert authority.json()["tx_hash"] is None
    revoked = stack.call("DELETE", f"/participants/{name}/roles/inspector", "admin")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["participant"]["roles"] == ["authority"]
    assert not stack.services.reader.has_role(Role.INSPECTOR, account)


def test_a_role_needing_an_account_is_refused_for_a_participant_without_one(world: World) -> None:
    stack = world.stack
    name = _name("owner")
    _participant(stack, name, kind="owner", custodial=False)
    response = stack.call("POST", f"/participants/{name}/roles", "admin", json={"role": "issuer"})
    assert response.status_code == 409
    assert "has no account" in response.json()["detail"]


def test_duplicate_and_contradictory_participants_are_409(world: World) -> None:
    stack = world.stack
    body = {"name": world.business, "kind": "business", "display_name": "X", "country": "KR"}
    assert stack.call("POST", "/participants", "admin", json=body).status_code == 409
    both = body | {"name": _name("both"), "custodial": True, "account": stack.address("business")}
    assert stack.call("POST", "/participants", "admin", json=both).status_code == 409
    bad = body | {"name": "Not A Handle", "country": "Korea"}
    response = stack.call("POST", "/participants", "admin", json=bad)
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"body.name", "body.country"}


def test_the_admin_cannot_revoke_its_own_admin_role(world: World) -> None:
    response = world.stack.call("DELETE", "/participants/admin/roles/admin", "admin")
    assert response.status_code == 409


# -- the directory --------------------------------------------------------------------------------------


def test_the_directory_filters_by_kind_and_status_and_pages(world: World) -> None:
    stack = world.stack
    name = _name("jeju-reuse")
    account = _participant(stack, name)["account"]
    details = {"name": "Jeju Reuse", "country": "KR", "registration_number": "JJ-1"}
    registered = stack.call(
        "POST", "/businesses", "admin", json={"account": account, "kinds": ["REUSER"], "details": details}
    )
    assert registered.status_code == 201, registered.text
    assert registered.json()["name"] == "Jeju Reuse"
    suspended = stack.call("POST", f"/businesses/{account}/suspend", "admin")
    assert suspended.status_code == 200, suspended.text

    def accounts(**params: Any) -> list[str]:
        response = stack.http.get("/api/v1/businesses", params=params)
        assert response.status_code == 200, response.text
        return [b["account"] for b in response.json()["items"]]

    assert account in accounts(kind="REUSER")
    assert world.business_account not in accounts(kind="REUSER")
    assert world.business_account in accounts(kind="RECYCLER", status="active")
    assert account in accounts(status="suspended")
    assert account not in accounts(status="active")
    every = stack.http.get("/api/v1/businesses", params={"limit": 1}).json()
    assert len(every["items"]) == 1
    assert every["total"] >= 2
    second = stack.http.get("/api/v1/businesses", params={"limit": 1, "offset": 1}).json()
    assert second["items"] != every["items"]
    assert stack.http.get("/api/v1/businesses", params={"status": "gone"}).status_code == 422


def test_the_business_page_shows_the_name_and_the_check(world: World) -> None:
    page = world.stack.http.get(f"/businesses/{world.business_account}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert f"{world.business.title()} Co., Ltd." in page.text
    assert 'data-testid="details-status" class="verified"' in page.text
    assert world.stack.http.get("/businesses/0x1234").status_code == 400
    assert world.stack.call("GET", "/businesses/0x1234/details").status_code == 400
    assert world.stack.call("GET", "/businesses/0x" + "12" * 20 + "/details").status_code == 404
    assert world.stack.http.get("/businesses/0x" + "12" * 20).status_code == 404


def test_a_tampered_details_document_is_reported(world: World) -> None:
    stack = world.stack
    name = _name("tampered")
    account = _participant(stack, name)["account"]
    assert (
        stack.call(
            "POST", "/businesses", "admin", json={"participant": name, "kinds": ["COLLECTOR"]}
        ).status_code
        == 201
    )
    report = stack.call("GET", f"/businesses/{account}/details").json()
    assert report["status"] == "verified"
    store = stack.services.store
    assert isinstance(store, EmbeddedStore)
    path = store._path(report["cid"])
    path.chmod(0o644)
    path.write_bytes(path.read_bytes().replace(b"Co., Ltd.", b"Co., Lte."))
    report = stack.call("GET", f"/businesses/{account}/details").json()
    assert report["status"] == "tampered"
    assert report["verified"] is False
    assert report["details"] is None
    business = stack.call("GET", f"/businesses/{account}").json()
    assert business["name"] is None
    assert business["details_status"] == "tampered"
    page = stack.http.get(f"/businesses/{account}")
    assert 'class="tampered"' in page.text


def test_a_bare_registration_hash_has_no_details(world: World) -> None:
    stack = world.stack
    account = _participant(stack, _name("bare"))["account"]
    response = stack.call(
        "POST",
        "/businesses",
        "admin",
        json={"account": account, "kinds": ["COLLECTOR"], "registration_hash": "0x" + "ab" * 32},
    )
    assert response.status_code == 201, response.text
    assert response.json()["details_status"] == "missing"
    assert stack.call("GET", f"/businesses/{account}/details").json()["status"] == "missing"


# -- keys -------------------------------------------------------------------------------------------------


def _holder(stack: ApiStack) -> str:
    """A fresh participant with roles business and inspector (no account needed for these checks)."""
    name = _name("holder")
    _participant(stack, name, kind="business", custodial=False)
    stack.services.api_keys.set_roles(name, {ApiRole.BUSINESS, ApiRole.AUDITOR})
    return name


def _use(stack: ApiStack, key: str, method: str = "GET", path: str = "", **kwargs: Any) -> int:
    name = stack.services.api_keys.key_info(key.split("_")[1])
    assert name is not None
    headers = {"Authorization": f"Bearer {key}"}
    url = f"/api/v1/participants/{name.participant}/keys" if not path else "/api/v1" + path
    return stack.http.request(method, url, headers=headers, **kwargs).status_code


def test_a_revoked_key_fails_at_once(world: World) -> None:
    stack = world.stack
    name = _holder(stack)
    issued = _key(stack, name)
    assert _use(stack, issued["api_key"]) == 200
    revoked = stack.call("DELETE", f"/participants/{name}/keys/{issued['key_id']}", "admin")
    assert revoked.status_code == 200
    assert revoked.json()["state"] == "revoked"
    assert _use(stack, issued["api_key"]) == 401
    again = stack.call("DELETE", f"/participants/{name}/keys/{issued['key_id']}", "admin")
    assert again.status_code == 409


def test_an_expired_key_fails(world: World) -> None:
    stack = world.stack
    name = _holder(stack)
    key = stack.services.api_keys.issue_key(name, expires_at=int(time.time()) + 1)
    assert _use(stack, key) == 200
    time.sleep(1.1)
    response = stack.http.get(f"/api/v1/participants/{name}/keys", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]
    listed = stack.call("GET", f"/participants/{name}/keys", "admin").json()
    assert [k["state"] for k in listed] == ["expired"]


def test_rotation_gives_a_new_key_and_the_old_one_stops(world: World) -> None:
    stack = world.stack
    name = _holder(stack)
    old = _key(stack, name, roles=["auditor"], expires_in_days=30, label="ci")
    # The participant rotates its own key, with the key itself.
    rotated = stack.http.post(
        f"/api/v1/participants/{name}/keys/{old['key_id']}/rotate",
        headers={"Authorization": f"Bearer {old['api_key']}"},
        json={},
    )
    assert rotated.status_code == 201, rotated.text
    new = rotated.json()
    assert new["api_key"] != old["api_key"]
    assert (new["roles"], new["expires_at"], new["label"]) == (["auditor"], old["expires_at"], "ci")
    assert _use(stack, old["api_key"]) == 401
    assert _use(stack, new["api_key"]) == 200
    listed = {k["key_id"]: k for k in stack.call("GET", f"/participants/{name}/keys", "admin").json()}
    assert listed[old["key_id"]]["replaced_by"] == new["key_id"]
    assert listed[old["key_id"]]["state"] == "revoked"
    assert "api_key" not in listed[new["key_id"]]  # shown once
    assert listed[new["key_id"]]["last_used_at"] is not None


def test_a_key_carries_only_its_scope_and_read_only_keys_do_not_write(world: World) -> None:
    stack = world.stack
    name = _holder(stack)
    business_only = _key(stack, name, roles=["business"])["api_key"]
    full = _key(stack, name)["api_key"]
    # /audit/events needs auditor: the participant holds it, the scoped key does not carry it.
    assert _use(stack, full, path="/audit/events") == 200
    assert _use(stack, business_only, path="/audit/events") == 403
    read_only = _key(stack, name, read_only=True)
    assert _use(stack, read_only["api_key"]) == 200
    response = stack.http.delete(
        f"/api/v1/participants/{name}/keys/{read_only['key_id']}",
        headers={"Authorization": f"Bearer {read_only['api_key']}"},
    )
    assert response.status_code == 403
    assert "read-only" in response.json()["detail"]
    # A scope beyond the participant's roles is refused.
    assert (
        stack.call("POST", f"/participants/{name}/keys", "admin", json={"roles": ["issuer"]}).status_code
        == 409
    )


def test_a_revoked_role_leaves_the_keys_at_once(world: World) -> None:
    stack = world.stack
    name = _holder(stack)
    key = _key(stack, name)["api_key"]
    assert _use(stack, key, path="/audit/events") == 200
    assert stack.call("DELETE", f"/participants/{name}/roles/auditor", "admin").status_code == 200
    assert _use(stack, key, path="/audit/events") == 403


# -- 401 / 403 per route, per role and per object ----------------------------------------------------------

NON_ADMIN = [name for name, roles in PARTICIPANTS.items() if ApiRole.ADMIN not in roles]
BARE, ACCOUNT = "0x" + "ab" * 32, "0x" + "11" * 20
ROUTES: list[tuple[str, str, dict[str, Any] | None, bool]] = [
    # method, path ({n}: another participant's name, {k}: its key id), body, admin-or-self route
    ("POST", "/participants", {"name": "x-1", "kind": "owner", "display_name": "X", "country": "KR"}, False),
    ("GET", "/participants", None, False),
    ("GET", "/participants/{n}", None, True),
    ("POST", "/participants/{n}/roles", {"role": "authority"}, False),
    ("DELETE", "/participants/{n}/roles/authority", None, False),
    ("POST", "/participants/{n}/keys", {}, False),
    ("GET", "/participants/{n}/keys", None, True),
    ("POST", "/participants/{n}/keys/{k}/rotate", {}, True),
    ("DELETE", "/participants/{n}/keys/{k}", None, True),
    ("POST", "/businesses", {"account": ACCOUNT, "kinds": ["COLLECTOR"], "registration_hash": BARE}, False),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body", "self_allowed"), ROUTES)
def test_new_routes_answer_401_then_403_by_role_then_by_object(
    world: World, method: str, path: str, body: dict[str, Any] | None, self_allowed: bool
) -> None:
    stack = world.stack
    victim = _holder(stack)
    victim_key = _key(stack, victim)
    url = path.format(n=victim, k=victim_key["key_id"])
    kwargs: dict[str, Any] = {} if body is None else {"json": body}
    assert stack.call(method, url, None, **kwargs).status_code == 401
    # Every role but admin, held by a participant other than the object: 403 whatever the route.
    for role in NON_ADMIN:
        forbidden = stack.call(method, url, role, **kwargs)
        assert forbidden.status_code == 403, (role, forbidden.text)
    if self_allowed:
        # Another participant (the onboarded business) may manage its own, not the victim's.
        assert stack.call(method, url, world.business, **kwargs).status_code == 403
        own = path.format(n=world.business, k="0" * 32)
        assert stack.call(method, own, world.business, **kwargs).status_code in (200, 404)
    # Nothing was changed by the refused calls.
    assert [k["state"] for k in stack.call("GET", f"/participants/{victim}/keys", "admin").json()] == [
        "active"
    ]
    assert stack.services.api_keys.get_participant("x-1") is None


def test_the_openapi_document_names_each_new_routes_roles(world: World) -> None:
    paths = world.stack.http.get("/openapi.json").json()["paths"]
    assert paths["/api/v1/participants"]["post"]["x-roles"] == ["admin"]
    assert paths["/api/v1/participants/{name}/keys"]["get"]["x-roles"] == ["admin", "the participant itself"]
    assert "**Roles:** admin" in paths["/api/v1/participants/{name}/roles"]["post"]["description"]
    assert "x-roles" not in paths["/api/v1/businesses"]["get"]
    assert paths["/api/v1/businesses"]["post"]["x-roles"] == ["admin"]
