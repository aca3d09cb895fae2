"""The anchoring worker on its own (``oracle.worker``, ``passport worker run``) against a real node.

Readings are journaled the way the API journals them; the worker, wired from ``Settings`` alone
(``open_ledger``, the keystore's ``oracle``, ``Settings.journal_path``, the settings' store), seals
and anchors them, and every record then has a proof the registry's ``verifyRecord`` accepts.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.output import EXIT_INVALID, EXIT_UNREADABLE
from cli.worker import app
from oracle.anchoring import AnchoringPolicy
from oracle.devices import sign_upload
from oracle.ingestion import Ingestor
from oracle.journal import Journal
from oracle.proofs import RecordProofs
from oracle.worker import AnchoringWorker
from passport.chain.deployment import RoleGrant, deploy
from passport.chain.keystore import Keystore
from passport.chain.records import Role
from passport.envelope import KeyRing
from passport.ledger import open_ledger
from passport.settings import Settings
from passport.store import open_store
from tests.builders import charging, device_key, diagnostics
from tests.chain_backends import ACTOR_KEYS, Actor, ChainBackend

runner = CliRunner()
on_anvil = pytest.mark.parametrize(
    "chain_backend", [pytest.param("anvil", marks=pytest.mark.node)], indirect=True
)
DEVICE, BATTERY = "dev-worker-0001", "KR-WORKER-BAT-0001"


def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str) -> Settings:
    for name, value in {
        "PASSPORT_ENVIRONMENT": "development",
        "PASSPORT_DATA_DIR": str(tmp_path / "data"),
        "PASSPORT_RPC_URL": url,
        "PASSPORT_POLL_LATENCY": "0.005",
    }.items():
        monkeypatch.setenv(name, value)
    return Settings.load()


@pytest.fixture
def settings(
    ledger: ChainBackend, oracle: Actor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """A fresh registry (ORACLE_ROLE granted to the keystore's ``oracle``) and a device in the journal."""
    assert ledger.url is not None
    settings = _env(monkeypatch, tmp_path, ledger.url)
    Keystore.from_settings(settings).import_key("oracle", oracle.key)
    deploy(
        settings,
        deployer_key=ACTOR_KEYS["admin"],
        role_grants=[RoleGrant(role=Role.ORACLE, account=oracle.address, participant="oracle")],
    )
    with Journal(settings.journal_path) as journal:
        journal.register_device(DEVICE, device_key(0).address, BATTERY)
    return settings


def _journal_readings(settings: Settings, first_seq: int = 1) -> list[int]:
    with Journal(settings.journal_path) as journal:
        ingestor = Ingestor(journal)
        ids: list[int] = []
        for seq in range(first_seq, first_seq + 3):
            readings = [charging(energy_kwh=seq + 0.5), diagnostics(cycle_count=600 + seq)]
            ack = ingestor.ingest(sign_upload(device_key(0), DEVICE, BATTERY, seq, readings))
            assert ack.status == "accepted", ack
            ids += [a.record_id for a in ack.accepted]
        return ids


def _assert_anchored(settings: Settings, ids: list[int]) -> None:
    reader = open_ledger(settings).reader
    with Journal(settings.journal_path) as journal:
        assert {b.state for b in journal.batches()} == {"confirmed"}
        proofs = RecordProofs(journal, open_store(settings), keyring=KeyRing.from_settings(settings))
        for record_id in ids:
            proof = proofs.proof_for(record_id)
            assert proof.verify_offline()
            assert proof.verify_on_chain(reader)
        # The worker sealed the documents under the settings' key ring: they open with it.
        history = proofs.battery_history(BATTERY, chain=reader)
        assert {h.record.digest for h in history} == {journal.record(i).digest for i in ids}


def _wait_until_anchored(settings: Settings, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    with Journal(settings.journal_path) as journal:
        while time.monotonic() < deadline:
            batches = journal.batches()
            anchored = sum(b.record_count for b in batches if b.state == "confirmed")
            if anchored == count and not journal.pending():
                return
            time.sleep(0.05)
    raise AssertionError(f"{count} records not anchored within {timeout} s")


@on_anvil
def test_the_worker_thread_anchors_journaled_readings(settings: Settings) -> None:
    ids = _journal_readings(settings)
    policy = AnchoringPolicy.from_settings(settings, max_batch_age_s=0.05)
    worker = AnchoringWorker.from_settings(settings, policy=policy, poll_s=0.05)
    assert worker.account == open_ledger(settings).client("oracle").account
    worker.start()
    try:
        assert worker.running
        _wait_until_anchored(settings, len(ids))
        # Readings journaled while it runs are anchored too.
        ids += _journal_readings(settings, first_seq=4)
        _wait_until_anchored(settings, len(ids))
    finally:
        worker.stop()
    assert not worker.running
    _assert_anchored(settings, ids)


@on_anvil
def test_worker_run_once_cli_anchors_everything_pending(settings: Settings) -> None:
    ids = _journal_readings(settings)
    result = runner.invoke(app, ["run", "--once"])
    assert result.exit_code == 0, result.output
    assert "confirmed" in result.stdout
    _assert_anchored(settings, ids)
    again = runner.invoke(app, ["run", "--once"])  # nothing left: still a success
    assert again.exit_code == 0, again.output


@on_anvil
def test_worker_cli_without_a_deployed_ledger_exits_1(
    ledger: ChainBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ledger.url is not None
    _env(monkeypatch, tmp_path, ledger.url)
    result = runner.invoke(app, ["run", "--once"])
    assert result.exit_code == EXIT_INVALID
    assert "cannot start the anchoring worker" in result.stderr


def test_worker_cli_with_invalid_settings_exits_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PASSPORT_ENVIRONMENT", "production")
    monkeypatch.delenv("PASSPORT_KEYSTORE_PASSWORD", raising=False)
    result = runner.invoke(app, ["run", "--once"])
    assert result.exit_code == EXIT_UNREADABLE
    assert "PASSPORT_KEYSTORE_PASSWORD" in result.stderr
