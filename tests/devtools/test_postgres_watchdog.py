"""The throwaway PostgreSQL server stops when the process that started it dies without cleaning up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

# No skip when the server binaries are missing: `make test` installs them (`make postgres`), and a
# missing server must fail here as it does for every other PostgreSQL test.
pytestmark = pytest.mark.postgres

OWNER = """
import sys, tempfile, time
from pathlib import Path
from devtools.postgres import PostgresServer
base = Path(tempfile.mkdtemp(prefix="passport-pg-watchdog-"))
server = PostgresServer(base, durable=False, stop_with={stop_with})
print(server.start(), base, flush=True)
time.sleep(600)
"""


def _owner(stop_with: str) -> tuple[subprocess.Popen[str], str, Path]:
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER.format(stop_with=stop_with)], stdout=subprocess.PIPE, text=True
    )
    assert owner.stdout is not None
    url, base = owner.stdout.readline().split()
    with psycopg.connect(url, connect_timeout=5) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    return owner, url, Path(base)


def _refused(url: str, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            psycopg.connect(url, connect_timeout=2).close()
        except psycopg.OperationalError:
            return True
        time.sleep(0.5)
    return False


def test_a_killed_owner_leaves_no_server_behind() -> None:
    owner, url, base = _owner("__import__('os').getpid()")
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    assert _refused(url, within=30), "the server outlived its killed owner"
    deadline = time.monotonic() + 10
    while base.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not base.exists()


def test_without_a_watchdog_the_server_outlives_its_owner() -> None:
    # The control: what the watchdog is for (and that the test above can fail).
    owner, url, base = _owner("None")
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    try:
        assert not _refused(url, within=3)
    finally:
        pid = int((base / "pgdata" / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGQUIT)
        assert _refused(url, within=30)
        subprocess.run(["rm", "-rf", str(base)], check=False)
