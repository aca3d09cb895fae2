"""``OwnershipStore`` on its own, on SQLite and PostgreSQL (``database_url``): claim codes, owner links,
sessions, sign-in links, shares and the access log; one-time secrets stay one-time across processes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.errors import Conflict, NotFound
from api.ownership import InvalidClaim, OwnershipStore
from passport.settings import Settings


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    return Settings(data_dir=tmp_path, database_url=database_url)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(settings: Settings, clock: Clock) -> Iterator[OwnershipStore]:
    opened = OwnershipStore.from_settings(settings)
    opened.clock = clock
    yield opened
    opened.close()


def test_the_backend_follows_the_settings(store: OwnershipStore, settings: Settings) -> None:
    assert settings.ownership_path.exists() is (settings.database_url is None)


def test_a_claim_code_links_once_and_a_newer_code_voids_the_older(
    store: OwnershipStore, clock: Clock
) -> None:
    first, _ = store.issue_claim("P1", "BAT-1", "issuer", ttl_s=3600)
    code, expires = store.issue_claim("P1", "BAT-1", "issuer", ttl_s=3600)
    assert expires == clock.now + 3600
    with pytest.raises(InvalidClaim):
        store.claim_target(first)
    # Typed from paper: lower case, no dashes, O for 0 and I/L for 1 are accepted.
    typed = code.lower().replace("-", "").replace("0", "o").replace("1", "l")
    assert store.claim_target(typed) == ("P1", "BAT-1")
    link = store.redeem_claim(code, "alice", "0xcustodian")
    assert (link.participant, link.passport_id, link.unlinked_at) == ("alice", "P1", None)
    with pytest.raises(InvalidClaim):
        store.redeem_claim(code, "mallory", "0xcustodian")

    # A new owner's code ends the earlier link.
    second, _ = store.issue_claim("P1", "BAT-1", "issuer", ttl_s=3600)
    clock.now += 10
    bob = store.redeem_claim(second, "bob", "0xcustodian")
    assert bob.id > link.id
    assert [x.participant for x in store.links(passport_id="P1")] == ["bob"]
    history = store.links(passport_id="P1", current=False)
    assert [(x.participant, x.reason) for x in history] == [
        ("alice", "claimed by a new owner"),
        ("bob", None),
    ]
    assert [x.passport_id for x in store.links(participant="bob", battery_id="BAT-1")] == ["P1"]
    assert [x.participant for x in store.unlink("P1", "sold", participant="bob")] == ["bob"]
    assert store.links(passport_id="P1") == []


def test_expired_claims_sessions_and_links_are_refused(store: OwnershipStore, clock: Clock) -> None:
    code, _ = store.issue_claim("P2", "BAT-2", "issuer", ttl_s=60)
    token, _ = store.start_session("alice", ttl_s=60)
    link, _ = store.issue_sign_in_link("alice", "P2", ttl_s=60)
    assert store.session_participant(token) == "alice"
    clock.now += 61
    with pytest.raises(InvalidClaim):
        store.redeem_claim(code, "alice", "0xc")
    assert store.session_participant(token) is None
    with pytest.raises(InvalidClaim):
        store.redeem_sign_in_link(link, "P2")


def test_sessions_end_and_sign_in_links_are_one_time(store: OwnershipStore) -> None:
    token, _ = store.start_session("alice", ttl_s=600)
    store.end_session(token)
    assert store.session_participant(token) is None
    link, _ = store.issue_sign_in_link("alice", "P3", ttl_s=600)
    with pytest.raises(InvalidClaim):
        store.redeem_sign_in_link(link, "P-other")
    assert store.redeem_sign_in_link(link, "P3") == "alice"
    with pytest.raises(InvalidClaim):
        store.redeem_sign_in_link(link, "P3")


def test_shares_to_a_participant_and_by_bearer_link(store: OwnershipStore, clock: Clock) -> None:
    named, token = store.grant(
        passport_id="P4",
        battery_id="BAT-4",
        grantor="alice",
        grantee="garage",
        tier="legitimate_interest",
        kinds=["health", "health", "telemetry"],
        purpose="repair quote",
        expires_at=clock.now + 100,
    )
    assert token is None
    assert named.kinds == ("health", "telemetry")
    bearer, token = store.grant(
        passport_id="P4",
        battery_id="BAT-4",
        grantor="alice",
        grantee=None,
        tier="legitimate_interest",
        kinds=["health"],
        purpose=None,
        expires_at=clock.now + 100,
    )
    assert token is not None
    assert bearer.id > named.id
    by_token = store.share_by_token(token)
    assert by_token is not None
    assert by_token.id == bearer.id
    assert store.share_by_token("nope") is None
    assert [s.id for s in store.grants_for("garage", "P4")] == [named.id]
    assert [s.id for s in store.shares("P4")] == [named.id, bearer.id]
    revoked = store.revoke(named.id, "alice")
    assert revoked.revoked_by == "alice"
    assert not revoked.active(clock.now)
    assert store.grants_for("garage", "P4") == []
    with pytest.raises(Conflict):
        store.revoke(named.id, "alice")
    with pytest.raises(NotFound):
        store.share(10_000)
    clock.now += 101
    assert not store.share(bearer.id).active(clock.now)


def test_the_access_log_pages_newest_first(store: OwnershipStore, clock: Clock) -> None:
    for n in range(5):
        clock.now += 1
        store.log_access("P5", f"reader-{n}", "owner", "health", {"n": n} if n % 2 else None)
    store.log_access("P-other", "x", "owner", "health")
    page = store.access_log("P5", limit=3)
    assert [e.reader for e in page] == ["reader-4", "reader-3", "reader-2"]
    assert page[0].detail is None
    assert page[1].detail == {"n": 3}
    rest = store.access_log("P5", limit=3, before=page[-1].id)
    assert [e.reader for e in rest] == ["reader-1", "reader-0"]


def test_one_claim_code_redeemed_at_once_through_two_processes_links_one_owner(
    store: OwnershipStore, settings: Settings, clock: Clock
) -> None:
    code, _ = store.issue_claim("P6", "BAT-6", "issuer", ttl_s=3600)
    stores = [OwnershipStore.from_settings(settings) for _ in range(4)]
    for other in stores:
        other.clock = clock
    barrier = threading.Barrier(len(stores))
    won: list[str] = []

    def redeem(other: OwnershipStore, who: str) -> None:
        barrier.wait()
        try:
            other.redeem_claim(code, who, "0xc")
            won.append(who)
        except InvalidClaim:
            pass

    threads = [threading.Thread(target=redeem, args=(s, f"owner-{n}")) for n, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for other in stores:
        other.close()
    assert len(won) == 1
    assert [link.participant for link in store.links(passport_id="P6", current=False)] == won
