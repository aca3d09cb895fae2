"""``PassportService.issue_many``: batched issuance through ``issuePassports``, on every chain backend."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from devtools.samples import sample_passport
from passport.envelope import KeyRing
from passport.errors import ContractRevert, DocumentValidationError
from passport.ids import passport_id_bytes32
from passport.model import AccessTier, BatteryPassport
from passport.model import LifecycleStatus as S
from passport.service import PassportService, VersionLog
from passport.store import EmbeddedStore
from passport.verify import CheckStatus
from tests.chain_backends import Actor, ChainBackend


def documents(n: int, tag: str) -> list[BatteryPassport]:
    return [
        sample_passport(f"HES-BATCH-{tag}-{i:04d}", passport_id=uuid.uuid5(uuid.NAMESPACE_URL, f"{tag}/{i}"))
        for i in range(n)
    ]


@pytest.fixture
def service(ledger: ChainBackend, tmp_path: Path, issuer: Actor) -> PassportService:
    return PassportService(
        issuer.client,
        EmbeddedStore(tmp_path / "store", durable=False),
        KeyRing(tmp_path / "keys"),
        versions=VersionLog(tmp_path / "versions.sqlite3"),
        trusted_issuers=[issuer.address],
        signer_key=issuer.key,
    )


def test_issue_many_issues_each_passport_in_chunks(service: PassportService, issuer: Actor) -> None:
    docs = documents(5, "ok")
    issued = service.issue_many(docs, per_transaction=2)

    assert [i.passport_id for i in issued] == [d.passport_id for d in docs]
    assert len({i.tx_hash for i in issued}) == 3  # 2 + 2 + 1
    for one in issued:
        events = [e.args for e in one.receipt.events if e.name == "PassportIssued"]
        assert {
            "passportId": passport_id_bytes32(one.passport_id),
            "manifestDigest": one.manifest_digest,
        } in [{"passportId": e["passportId"], "manifestDigest": e["manifestDigest"]} for e in events]
        assert (one.version, one.status, one.signer) == (1, S.ORIGINAL, issuer.address)
        record = issuer.client.get_passport(passport_id_bytes32(one.passport_id))
        assert record is not None
        assert record.manifest_digest == one.manifest_digest
        fetched = service.fetch(one.passport_id, frozenset(AccessTier))
        assert fetched.passport() == one.document
    # A batched version verifies like a single one: signature, inclusion proof, stored sections.
    report = service.verify(issued[-1].passport_id)
    failed = [c.name for c in report.checks if c.status is CheckStatus.FAIL]
    assert failed == []
    entry = service.version_log.get(
        issuer.client.chain_id, issuer.client.registry_address, issued[0].passport_id_bytes32, 1,
        issued[0].manifest_digest,
    )  # fmt: skip
    assert entry is not None
    assert entry.tx_hash == issued[0].tx_hash


def test_repeated_ids_are_refused_before_anything_is_written(service: PassportService, issuer: Actor) -> None:
    docs = documents(2, "dup")
    with pytest.raises(DocumentValidationError, match="more than once"):
        service.issue_many([docs[0], docs[1], docs[0]])
    assert issuer.client.get_passport(passport_id_bytes32(docs[0].passport_id)) is None


def test_a_refused_chunk_raises_and_leaves_no_pending_rows(service: PassportService, issuer: Actor) -> None:
    docs = documents(3, "refused")
    service.issue(docs[2])  # already on the ledger: the second chunk reverts
    with pytest.raises(ContractRevert) as info:
        service.issue_many(docs, per_transaction=2)
    assert info.value.error == "BatteryPassportRegistryPassportExists"
    # The first chunk stays issued; the refused chunk's new passport is not, and left no log row.
    assert issuer.client.get_passport(passport_id_bytes32(docs[0].passport_id)) is not None
    refused = passport_id_bytes32(docs[2].passport_id)
    rows = service.version_log.for_passport(issuer.client.chain_id, issuer.client.registry_address, refused)
    assert all(row.tx_hash is not None for row in rows)
    assert len(rows) == 1  # the single issue's row only


def test_a_refused_chunk_stops_the_chunk_prepared_behind_it(service: PassportService, issuer: Actor) -> None:
    # The second chunk is prepared while the first is in the node, but sent only once the first is
    # mined: the first's refusal leaves it unsent, with no log rows and nothing on the ledger.
    docs = documents(4, "stops")
    service.issue(docs[1])
    with pytest.raises(ContractRevert) as info:
        service.issue_many(docs, per_transaction=2)
    assert info.value.error == "BatteryPassportRegistryPassportExists"
    for doc in (docs[0], docs[2], docs[3]):
        pid = passport_id_bytes32(doc.passport_id)
        assert issuer.client.get_passport(pid) is None
        assert (
            service.version_log.for_passport(issuer.client.chain_id, issuer.client.registry_address, pid)
            == []
        )


def test_per_transaction_must_be_positive(service: PassportService) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        service.issue_many(documents(1, "zero"), per_transaction=0)


def test_update_many_writes_each_next_version_with_transactions_in_flight(
    service: PassportService, issuer: Actor
) -> None:
    docs = documents(5, "upd")
    service.issue_many(docs)
    changed = [d.model_copy(update={"battery_id": d.battery_id}) for d in docs]
    updated = service.update_many([(d.passport_id, d) for d in changed], in_flight=2)

    assert [u.passport_id for u in updated] == [d.passport_id for d in docs]
    assert all(u.version == 2 and u.status is S.ORIGINAL for u in updated)
    for one in updated:
        events = [e for e in one.receipt.events if e.name == "PassportUpdated"]
        assert [(e.args["passportId"], e.args["version"]) for e in events] == [(one.passport_id_bytes32, 2)]
        record = issuer.client.get_passport(one.passport_id_bytes32)
        assert record is not None
        assert (record.version, record.manifest_digest) == (2, one.manifest_digest)
        entry = service.version_log.get(
            issuer.client.chain_id, issuer.client.registry_address, one.passport_id_bytes32, 2,
            one.manifest_digest,
        )  # fmt: skip
        assert entry is not None
        assert entry.tx_hash == one.tx_hash  # anchored in the log, not left pending
    report = service.verify(updated[3].passport_id)
    assert [c.name for c in report.checks if c.status is CheckStatus.FAIL] == []


def test_update_many_refusals_raise_and_leave_no_pending_rows(
    service: PassportService, issuer: Actor, stranger: Actor
) -> None:
    docs = documents(3, "upd-refused")
    service.issue_many(docs)
    outsider = service.acting_as(stranger.key)  # neither issuer, custodian nor inspector
    with pytest.raises(ContractRevert):
        outsider.update_many([(d.passport_id, d) for d in docs], in_flight=2)
    for d in docs:
        pid = passport_id_bytes32(d.passport_id)
        record = issuer.client.get_passport(pid)
        assert record is not None
        assert record.version == 1
        rows = service.version_log.for_passport(issuer.client.chain_id, issuer.client.registry_address, pid)
        assert [row.version for row in rows] == [1]
    with pytest.raises(DocumentValidationError, match="more than once"):
        service.update_many([(docs[0].passport_id, docs[0]), (docs[0].passport_id, docs[0])])
