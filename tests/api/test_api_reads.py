"""Reads served from the read model over real HTTP (anvil): caching headers, the block they reflect,
read-your-writes, chain writes made elsewhere, verification that still hashes the stored bytes, and
batched issuance."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from devtools.samples import sample_passport
from passport.chain import Web3ChainClient
from passport.ids import passport_id_bytes32
from passport.model import LifecycleStatus
from passport.service import SECTIONS_CHECK, PassportService
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


# -- the public fast path (``api.reads.PublicReadFastPath``) ----------------------------------------------


def outside_client(stack: ApiStack, who: str) -> Web3ChainClient:
    """``who``'s own chain client, outside this API process: its receipts never reach the read model."""
    return Web3ChainClient.from_web3(
        stack.backend.w3, ACTOR_KEYS[who], stack.backend.registry_address, settings=SETTINGS
    )


def cached_public_read(stack: ApiStack, pid: str) -> httpx.Response:
    """An anonymous read served from the rendered answer: read twice (the first fills the model)."""
    stack.services.sync_index()  # index the issue: the entry is no longer provisional
    stack.call("GET", f"/passports/{pid}")
    second = stack.call("GET", f"/passports/{pid}")
    assert second.status_code == 200, second.text
    return second


@pytest.mark.parametrize("change", ["version", "status", "custody"])
def test_the_follower_drops_a_cached_public_answer_when_the_chain_changes(
    stack: ApiStack, change: str
) -> None:
    document = stack.issue()
    pid = document.passport_id
    before = cached_public_read(stack, str(pid))
    issuer = outside_client(stack, "issuer")
    # The service's own code over this stack's store, signing through a client outside the API
    # process: no receipt reaches the read model, only the follower can tell it.
    outside = PassportService(
        issuer,
        stack.services.store,
        stack.services.keyring,
        versions=stack.services.versions,
        trusted_issuers=sorted(stack.services.trusted_issuers),
        signer_key=ACTOR_KEYS["issuer"],
    )
    if change == "version":
        outside.update(pid, document)
    elif change == "status":
        outside.change_status(pid, LifecycleStatus.WASTE, document)
    else:
        pid32 = passport_id_bytes32(pid)
        issuer.offer_custody(pid32, stack.address("business"), int(time.time()) + 3600)
        outside_client(stack, "business").accept_custody(pid32)
    stack.services.sync_index()  # what the follower thread does every tick
    after = stack.call("GET", f"/passports/{pid}")
    assert after.status_code == 200, after.text
    assert after.headers["ETag"] != before.headers["ETag"]
    ledger, was = after.json()["ledger"], before.json()["ledger"]
    if change == "custody":
        assert (ledger["custodian"], was["custodian"]) == (stack.address("business"), stack.address("issuer"))
    else:
        assert ledger["version"] == was["version"] + 1
        assert ledger["status"] == ("WASTE" if change == "status" else was["status"])
    stale = revalidate(stack, f"/passports/{pid}", {"If-None-Match": before.headers["ETag"]})
    assert stale.status_code == 200  # the old validator no longer matches
    assert int(after.headers["X-Ledger-Block"]) >= int(before.headers["X-Ledger-Block"])


def test_a_restricted_read_never_gets_the_public_answer(stack: ApiStack) -> None:
    pid = str(stack.issue().passport_id)
    public = cached_public_read(stack, pid)
    assert public.json()["tiers"] == ["public"]
    logged = len(stack.call("GET", f"/passports/{pid}/access-log", "authority").json())
    # The same ETag from a key holder is not a 304 of the public answer: its validator names its tiers.
    owned = stack.http.get(
        f"/api/v1/passports/{pid}",
        headers={**stack.headers("authority"), "If-None-Match": public.headers["ETag"]},
    )
    assert owned.status_code == 200
    assert owned.headers["Cache-Control"] == "private, no-cache"
    assert set(owned.json()["tiers"]) > {"public"}
    assert owned.headers["ETag"] != public.headers["ETag"]
    # The restricted read went to the access log, as every one does.
    assert len(stack.call("GET", f"/passports/{pid}/access-log", "authority").json()) == logged + 1
    # A wrong or malformed key is refused, never answered from the public memo.
    for header in ("Bearer bpl_nope_nope", "Basic abc", ""):
        refused = stack.http.get(f"/api/v1/passports/{pid}", headers={"Authorization": header})
        assert refused.status_code == 401, (header, refused.status_code)


def test_fast_path_answers_like_the_route(stack: ApiStack) -> None:
    pid = str(stack.issue().passport_id)
    stack.services.sync_index()
    first = stack.call("GET", f"/passports/{pid}")  # the route renders and memoises
    second = stack.call("GET", f"/passports/{pid}")  # the fast path answers
    assert second.content == first.content
    for name in ("ETag", "Cache-Control", "Vary", "Content-Type", "X-Ledger-Block"):
        assert second.headers[name] == first.headers[name], name
    assert (
        revalidate(stack, f"/passports/{pid}", {"If-None-Match": f"W/{first.headers['ETag']}"}).status_code
        == 304
    )
    assert revalidate(stack, f"/passports/{pid}", {"If-None-Match": "*"}).status_code == 304
    checked = [stack.call("GET", f"/passports/{pid}/verification") for _ in range(2)]  # route, fast path
    assert [c.json()["ok"] for c in checked] == [True, True]
    assert checked[1].json()["checks"] == checked[0].json()["checks"]
    for name in ("Cache-Control", "Vary", "Content-Type", "X-Ledger-Block"):
        assert checked[1].headers[name] == checked[0].headers[name], name
    # What the fast path leaves to the routes: bad ids, unknown passports, other methods and paths.
    assert stack.call("GET", "/passports/not-a-uuid").status_code == 400
    assert stack.call("GET", f"/passports/{uuid.uuid4()}").status_code == 404
    assert stack.call("HEAD", f"/passports/{pid}").status_code == 405
    assert stack.call("GET", f"/passports/{pid}/versions").status_code == 200
    assert stack.call("GET", "/passports/not-a-uuid/verification").status_code == 400
    assert stack.call("GET", f"/passports/{uuid.uuid4()}/verification").status_code == 404
