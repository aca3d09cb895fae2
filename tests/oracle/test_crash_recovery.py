"""Real process kills: acknowledged readings survive SIGKILL; the pipeline resumes after SIGKILL anywhere.

The pipeline variant runs against the file-backed ledger/store doubles so it can kill the worker at
every single call; the same scenario against ``Web3ChainClient`` on a real node belongs with the chain
fixtures in ``tests/conftest.py``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from oracle.anchoring import Anchorer, AnchoringPolicy
from oracle.ingestion import Ingestor
from oracle.journal import Journal
from tests.builders import SigningDevice, charging
from tests.oracle.oracle_doubles import FakeChain, FakeStore
from tests.oracle.oracle_samples import Fleet, assert_fully_anchored, journal_keyring

HERE = Path(__file__).parent
ROOT = HERE.parents[1]


def _worker(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)])}
    return subprocess.Popen(
        [sys.executable, str(HERE / "oracle_worker.py"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )


@pytest.mark.slow  # three subprocess writers killed mid-stream: ~15 s
def test_acknowledged_readings_survive_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    with Journal(path) as journal:
        SigningDevice.numbered(0).register(journal)
    acknowledged: dict[int, list[str]] = {}
    for _round in range(3):  # kill, restart (the writer resumes after the last seq), kill again
        proc = _worker("write", str(path))
        assert proc.stdout is not None
        target = len(acknowledged) + 40
        while len(acknowledged) < target:
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else ""
            seq_text, *digests = line.split()
            acknowledged[int(seq_text)] = digests
        proc.send_signal(signal.SIGKILL)  # while it is mid-way through further uploads
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
    with Journal(path) as journal:
        for seq, digests in acknowledged.items():
            stored = journal.upload_at("dev-000", seq)
            assert stored is not None, f"acknowledged upload {seq} lost"
            for digest in digests:
                assert journal.record_by_digest(bytes.fromhex(digest[2:])).seq == seq
        # Whatever was committed after the last printed ack is complete, never half an upload.
        assert journal.record_count() % 5 == 0


def _prepared_journal(path: Path) -> list[int]:
    """Seven charging records from two devices: two batches (of 4 and 3) of one kind."""
    with Journal(path) as journal:
        fleet = Fleet(journal, Ingestor(journal))
        ids: list[int] = []
        for n in range(2):
            fleet.device(n).register(journal)
            readings = [charging(energy_kwh=1 + n + i) for i in range(3 + n)]
            ids += [a.record_id for a in fleet.ingestor.ingest(fleet.upload(n, readings)).accepted]
        return ids


@pytest.mark.slow
def test_sigkill_at_every_pipeline_step_then_restart(tmp_path: Path) -> None:
    template = tmp_path / "template.db"
    ids = _prepared_journal(template)

    def run(name: str, kill_at: int, when: str) -> tuple[Path, Path, Path, int]:
        directory = tmp_path / name
        directory.mkdir()
        journal, chain, store = directory / "journal.db", directory / "chain.json", directory / "store.json"
        shutil.copy(template, journal)
        proc = _worker("anchor", str(journal), str(chain), str(store), str(kill_at), when)
        out, err = proc.communicate(timeout=300)
        if not kill_at:
            assert proc.returncode == 0, err
            return journal, chain, store, int(out.split()[1])
        assert proc.returncode == -signal.SIGKILL, (out, err)
        # The restarted worker (in this process: only the killed one needs to be a real process).
        with Journal(journal) as reopened:
            worker = Anchorer(
                reopened,
                FakeStore(path=store),
                FakeChain(path=chain),
                AnchoringPolicy(batch_size=4),
                keyring=journal_keyring(reopened),
            )
            assert worker.drain().error is None
        return journal, chain, store, 0

    # Count the ledger/store calls a clean run makes on fresh state, then kill at each in turn.
    calls = run("probe", 0, "never")[3]
    assert calls >= 8

    # Each kill scenario has its own journal, ledger and store: run them side by side.
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 2)) as pool:
        futures = {
            (at, when): pool.submit(run, f"kill-{at}-{when}", at, when)
            for at in range(1, calls + 1)
            for when in ("before", "after")
        }
    for future in futures.values():
        journal_path, chain_path, store_path, _ = future.result()
        chain, store = FakeChain(path=chain_path), FakeStore(path=store_path)
        with Journal(journal_path) as journal:
            assert_fully_anchored(journal, store, chain, ids)
            # One anchoring transaction (one block) per batch: nothing was sent twice.
            assert chain.block_number() == len(journal.batches())
