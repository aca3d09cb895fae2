"""Facts about operating-system processes by PID (Linux ``/proc``), for locks and PID files."""

from __future__ import annotations

import os
from pathlib import Path


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of ``/proc/<pid>/stat`` after the command name, or None (no such process, or no /proc)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may itself contain spaces and parentheses.
    return raw[raw.rfind(")") + 2 :].split()


def process_start_time(pid: int) -> int | None:
    """When ``pid`` started, in clock ticks since boot (Linux), or None where /proc is unavailable.

    Recorded next to the PID so that a PID the kernel has since handed to an unrelated process (after
    a reboot, say) is not mistaken for our node and signalled.
    """
    fields = _proc_stat(pid)
    if fields is None or len(fields) < 20:
        return None
    return int(fields[19])  # field 22 (starttime) of proc(5); fields[0] here is field 3 (state)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie has exited; it only waits for its parent to reap it. Treating it as alive would make
    # `stop()` of a node started by another ManagedProcess in this same Python process wait, then
    # SIGKILL a corpse. But a leader whose main thread has returned also reads "Z" while its other
    # threads still run (anvil shutting down on SIGTERM, its port still bound): that one is alive.
    fields = _proc_stat(pid)
    if fields is None or fields[0] != "Z":
        return True
    return _live_threads(pid) > 0


def _live_threads(pid: int) -> int:
    """How many of ``pid``'s threads are not zombies (0 when /proc cannot tell)."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    live = 0
    for tid in tasks:
        try:
            raw = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except OSError:
            continue
        if raw[raw.rfind(")") + 2 :].split()[:1] != ["Z"]:
            live += 1
    return live
