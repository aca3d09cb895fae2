"""Roles and the business register, on every backend."""

from __future__ import annotations

import pytest
from eth_utils.crypto import keccak

from passport.chain import Role
from passport.chain.web3_client import role_id
from passport.model import BusinessKind
from tests.chain_backends import Actor, only_event, reverts

ADMIN_ROLE = b"\x00" * 32


def test_roles_are_keccak_of_their_names(registry_admin: Actor) -> None:
    for role in Role:
        if role is not Role.ADMIN:
            assert role_id(role) == keccak(text=role.role_name)
            assert registry_admin.client._call(role.role_name) == role_id(role)


def test_admin_grants_and_revokes_roles(registry_admin: Actor, stranger: Actor) -> None:
    receipt = registry_admin.client.grant_role(Role.AUDITOR, stranger.address)
    granted = only_event(receipt, "RoleGranted")
    assert granted == {
        "role": role_id(Role.AUDITOR),
        "account": stranger.address,
        "sender": registry_admin.address,
    }
    assert registry_admin.client.has_role(Role.AUDITOR, stranger.address)
    revoked = only_event(registry_admin.client.revoke_role(Role.AUDITOR, stranger.address), "RoleRevoked")
    assert revoked["account"] == stranger.address
    assert not registry_admin.client.has_role(Role.AUDITOR, stranger.address)


@pytest.mark.parametrize("method", ["grant_role", "revoke_role"])
def test_only_the_admin_manages_roles(stranger: Actor, issuer: Actor, method: str) -> None:
    with reverts("AccessControlUnauthorizedAccount", stranger.address, ADMIN_ROLE):
        getattr(stranger.client, method)(Role.ISSUER, issuer.address)


def test_default_admin_is_not_granted_directly(registry_admin: Actor, stranger: Actor) -> None:
    with reverts("AccessControlEnforcedDefaultAdminRules"):
        registry_admin.client.grant_role(Role.ADMIN, stranger.address)


def test_register_business(registry_admin: Actor, stranger: Actor) -> None:
    kinds = BusinessKind.COLLECTOR | BusinessKind.RECYCLER
    receipt = registry_admin.client.register_business(stranger.address, kinds, keccak(b"cert"))
    assert only_event(receipt, "BusinessRegistered") == {
        "account": stranger.address,
        "kinds": int(kinds),
        "registrationHash": keccak(b"cert"),
    }
    record = registry_admin.client.get_business(stranger.address)
    assert record is not None
    assert (record.account, record.kinds, record.registration_hash, record.active) == (
        stranger.address,
        kinds,
        keccak(b"cert"),
        True,
    )
    assert record.registered_at > 0


def test_unregistered_business_reads_as_none(registry_admin: Actor, stranger: Actor) -> None:
    assert registry_admin.client.get_business(stranger.address) is None


def test_register_business_rejects_duplicates_and_bad_input(registry_admin: Actor, business: Actor) -> None:
    client = registry_admin.client
    with reverts("BusinessRegistryAlreadyRegistered", business.address):
        client.register_business(business.address, BusinessKind.COLLECTOR, keccak(b"again"))
    fresh = "0x" + "11" * 20
    with reverts("BusinessRegistryInvalidKinds", 0):
        client.register_business(fresh, BusinessKind(0), keccak(b"x"))
    with reverts("BusinessRegistryInvalidKinds", 32):
        client.register_business(fresh, BusinessKind(32), keccak(b"x"))
    with reverts("BusinessRegistryInvalidBusiness"):
        client.register_business(fresh, BusinessKind.COLLECTOR, b"\x00" * 32)


def test_suspend_and_reinstate(registry_admin: Actor, business: Actor) -> None:
    client = registry_admin.client
    assert only_event(client.suspend_business(business.address), "BusinessSuspended") == {
        "account": business.address
    }
    record = client.get_business(business.address)
    assert record is not None
    assert not record.active
    with reverts("BusinessRegistrySuspendedBusiness", business.address):
        client.suspend_business(business.address)
    assert only_event(client.reinstate_business(business.address), "BusinessReinstated") == {
        "account": business.address
    }
    with reverts("BusinessRegistryNotSuspended", business.address):
        client.reinstate_business(business.address)


def test_suspend_or_reinstate_unknown_business(registry_admin: Actor, stranger: Actor) -> None:
    with reverts("BusinessRegistryUnknownBusiness", stranger.address):
        registry_admin.client.suspend_business(stranger.address)
    with reverts("BusinessRegistryUnknownBusiness", stranger.address):
        registry_admin.client.reinstate_business(stranger.address)


@pytest.mark.parametrize("method", ["register_business", "suspend_business", "reinstate_business"])
def test_only_the_admin_manages_businesses(stranger: Actor, business: Actor, method: str) -> None:
    args: tuple[object, ...] = (business.address,)
    if method == "register_business":
        args = ("0x" + "22" * 20, BusinessKind.COLLECTOR, keccak(b"c"))
    with reverts("AccessControlUnauthorizedAccount", stranger.address, ADMIN_ROLE):
        getattr(stranger.client, method)(*args)
