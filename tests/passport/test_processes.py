"""``passport.processes.pid_alive``: a reaped-or-zombie process is gone, a zombie leader with live
threads is not (a node still shutting down holds its port)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from passport.processes import pid_alive

# The main thread leaves through pthread_exit while another thread sleeps: /proc shows the leader "Z".
_LEADER_EXITS_EARLY = (
    "import ctypes, threading, time\n"
    "threading.Thread(target=time.sleep, args=(3,)).start()\n"
    "ctypes.CDLL(None).pthread_exit(None)\n"
)


def _state(pid: int) -> str:
    raw = Path(f"/proc/{pid}/stat").read_text()
    return raw[raw.rfind(")") + 2 :].split()[0]


def test_a_zombie_leader_with_a_running_thread_is_alive() -> None:
    child = subprocess.Popen([sys.executable, "-c", _LEADER_EXITS_EARLY])
    try:
        deadline = time.monotonic() + 10
        while _state(child.pid) != "Z" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _state(child.pid) == "Z"
        assert pid_alive(child.pid)
    finally:
        child.wait(timeout=10)


def test_an_exited_unreaped_child_is_dead() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while _state(child.pid) != "Z" and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        assert not pid_alive(child.pid)
    finally:
        child.wait(timeout=5)
    assert not pid_alive(child.pid)
