"""Reads served from the read model over real HTTP (anvil): caching headers, the block they reflect,
read-your-writes, chain writes made elsewhere, verification that still hashes the stored bytes, and
batched issuance."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest

from devtools.samples import sample_passport
from passport.chain import Web3ChainClient
from passport.ids import passport_id_bytes32
from passport.model import LifecycleStatus
from passport.service import SECTIONS_CHECK
from passport.signing import PassportDomain, PassportVersion, sign_passport_version
from tests.api.api_stack import ApiStack, api_stack, new_battery_id
from tests.chain_backends import ACTOR_KEYS, SETTINGS, digest

pytestmark = pytest.mark.node


def revalidate(stack: ApiStack, path: str, headers: dict[str, str]) -> httpx.Response:
    """An anonymous GET with extra headers (``If-None-Match``)."""
    return stack.http.get("/api/v1" + path, headers=headers)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiStack]:
    with api_stack(tmp_path_factory.mktemp("api-reads")) as running:
        yield running


def test_public_read_has_validators_and_the_block_it_reflects(stack: ApiStack) -> None:
    pid = str(stack.issue().passport_id)
    # Index the issue first: an entry read above the follower's confirmed block is read again after its
    # next tick, which on a busy machine could fall between the two requests below.
    stack.services.sync_index()
    first = stack.call("GET", f"/passports/{pid}")
    assert first.status_code == 200, first.text
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    assert int(first.headers["X-Ledger-Block"]) >= stack.backend.deploy_block
    misses = stack.services.read_model.misses
    again = revalidate(stack, f"/passports/{pid}", {"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == etag
    assert stack.services.read_model.misses == misses  # answered from the model, no chain read
    other = revalidate(stack, f"/passports/{pid}", {"If-None-Match": '"v1-not-this-one"'})
    assert other.status_code == 200
    assert other.json() == first.json()
    # An API key's read is private and its ETag names the tiers it shows.
    owned = stack.call("GET", f"/passports/{pid}", "authority")
    assert owned.headers["Cache-Control"] == "private, no-cache"
    assert owned.headers["ETag"] != etag


def test_a_write_through_the_api_is_read_back_at_once(stack: ApiStack) -> None:
    pid = str(stack.issue().passport_id)
    before = stack.call("GET", f"/passports/{pid}")
    changed = stack.call("POST", f"/passports/{pid}/status", "issuer", json={"status": "WASTE"})
    assert changed.status_code == 200, changed.text
    after = revalidate(stack, f"/passports/{pid}", {"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert (after.json()["ledger"]["version"], after.json()["ledger"]["status"]) == (2, "WASTE")
    assert int(after.headers["X-Ledger-Block"]) >= changed.json()["block_number"]
    assert after.headers["ETag"] != before.headers["ETag"]


def test_a_chain_write_made_elsewhere_shows_once_the_follower_sees_it(stack: ApiStack) -> None:
    pid = stack.issue().passport_id
    assert stack.call("GET", f"/passports/{pid}").json()["ledger"]["version"] == 1
    # The issuer's own client, outside this API process: no receipt reaches the read model.
    outside = Web3ChainClient.from_web3(
        stack.backend.w3, ACTOR_KEYS["issuer"], stack.backend.registry_address, settings=SETTINGS
    )
    pid32 = passport_id_bytes32(pid)
    current = outside.get_passport(pid32)
    assert current is not None
    domain = PassportDomain(outside.chain_id, outside.registry_address)
    statement = PassportVersion(
        pid32,
        current.battery_id_hash,
        2,
        LifecycleStatus.ORIGINAL,
        digest(f"outside-{pid}"),
        current.predecessor,
    )
    receipt = outside.update_passport(
        pid32, digest(f"outside-{pid}"), sign_passport_version(ACTOR_KEYS["issuer"], domain, statement)
    )
    stack.services.sync_index()  # what the follower thread does every tick
    seen = stack.call("GET", f"/passports/{pid}/versions").json()
    assert len(seen) == 2
    fetched = stack.services.read_model.lookup(pid32)
    assert fetched.record is not None
    assert fetched.record.version == 2
    assert stack.services.read_model.reflects(fetched) >= receipt.block_number


def test_verification_still_hashes_the_stored_documents(stack: ApiStack) -> None:
    pid = str(stack.issue().passport_id)
    first = stack.call("GET", f"/passports/{pid}/verification")
    assert first.status_code == 200, first.text
    assert first.json()["ok"] is True
    assert int(first.headers["X-Ledger-Block"]) > 0
    again = stack.call("GET", f"/passports/{pid}/verification")
    assert again.json()["checks"] == first.json()["checks"]
    # Rewrite the stored public section: the next answer fails at once, the memo notwithstanding.
    manifest_cid = stack.call("GET", f"/passports/{pid}").json()["manifest_cid"]
    manifest = stack.services.store.get(manifest_cid)
    public_cid = next(s["cid"] for s in json.loads(manifest)["sections"] if s["tier"] == "public")
    [path] = (stack.services.store.root / "content").rglob(public_cid)  # type: ignore[attr-defined]
    original = path.read_bytes()
    try:
        path.write_bytes(b"rewritten")
        tampered = stack.call("GET", f"/passports/{pid}/verification").json()
        assert tampered["ok"] is False
        assert [c["status"] for c in tampered["checks"] if c["name"] == SECTIONS_CHECK] == ["fail"]
    finally:
        path.write_bytes(original)
    assert stack.call("GET", f"/passports/{pid}/verification").json()["ok"] is True


def test_batched_issuance(stack: ApiStack) -> None:
    docs = [
        sample_passport(new_battery_id(), passport_id=uuid.uuid4()).model_dump(mode="json") for _ in range(3)
    ]
    issued = stack.call("POST", "/passport-batches", "issuer", json={"passports": docs})
    assert issued.status_code == 201, issued.text
    body = issued.json()
    assert [i["passport_id"] for i in body["issued"]] == [d["general"]["passport_id"] for d in docs]
    assert len(body["transactions"]) == 1
    for doc in docs:
        read = stack.call("GET", f"/passports/{doc['general']['passport_id']}")
        assert read.status_code == 200
        assert read.json()["ledger"]["version"] == 1
    again = stack.call("POST", "/passport-batches", "issuer", json={"passports": docs[:1]})
    assert again.status_code == 409
    repeated = stack.call("POST", "/passport-batches", "issuer", json={"passports": [docs[0], docs[0]]})
    assert repeated.status_code == 422
    assert (
        stack.call("POST", "/passport-batches", "business", json={"passports": docs[:1]}).status_code == 403
    )
