"""Local development nodes (ganache, anvil, js-ipfs) run as child processes we track by PID.

Each node listens on 127.0.0.1 only, writes its PID to ``<run_dir>/<name>.pid`` and its output to
``<run_dir>/<name>.log``, is readiness-checked before ``start()`` returns, and is stopped by that PID.
The Node tools come from the project's pinned ``node_modules`` (``package-lock.json``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from devtools.errors import NodeProcessError, ToolchainError
from passport.processes import pid_alive, process_start_time

log = logging.getLogger(__name__)


def find_node_modules(start: Path | None = None) -> Path:
    """The project's ``node_modules``: ``$PASSPORT_NODE_MODULES``, else the nearest one upwards."""
    if env := os.environ.get("PASSPORT_NODE_MODULES"):
        return Path(env)
    for directory in [Path(start or Path.cwd()).resolve(), *Path(__file__).resolve().parents]:
        for candidate in (directory, *directory.parents):
            if (candidate / "node_modules").is_dir():
                return candidate / "node_modules"
    raise ToolchainError("node_modules not found: run `make install` (npm ci) in the project root")


def node_tool(relative: str, start: Path | None = None) -> Path:
    """Absolute path of a pinned Node tool inside ``node_modules`` (e.g. ``.bin/ganache``)."""
    path = find_node_modules(start) / relative
    if not path.exists():
        raise ToolchainError(f"{path} is missing: run `make install` (npm ci) in the project root")
    return path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def write_pid_file(path: Path, pid: int) -> None:
    """Record ``pid`` and, where /proc exists, its start time (see ``read_pid_file``)."""
    started = process_start_time(pid)
    path.write_text(f"{pid} {started}\n" if started is not None else f"{pid}\n")


def read_pid_file(path: Path) -> int | None:
    """The PID ``path`` records if that process is still alive, else None (a stale file is removed).

    A live PID whose start time differs from the recorded one belongs to some other process now (the
    kernel reuses PIDs), so the file is stale.
    """
    try:
        fields = path.read_text().split()
        pid = int(fields[0])
        started = int(fields[1]) if len(fields) > 1 else None
    except (FileNotFoundError, IndexError, ValueError):
        return None
    if pid_alive(pid) and (started is None or process_start_time(pid) in (None, started)):
        return pid
    path.unlink(missing_ok=True)
    return None


class ManagedProcess:
    """One long-running child process with a PID file, a log file and a readiness probe."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        run_dir: Path,
        ready: Callable[[], bool],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        ready_timeout: float = 30.0,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.run_dir = run_dir
        self.ready = ready
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.ready_timeout = ready_timeout
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid_file(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.run_dir / f"{self.name}.log"

    def recorded_pid(self) -> int | None:
        """The PID in the PID file if that process is still alive, else None (stale files removed)."""
        return read_pid_file(self.pid_file)

    def is_running(self) -> bool:
        return self.recorded_pid() is not None

    def start(self) -> int:
        """Start the process (or adopt the one already running) and wait until it is ready.

        Also after the process died: a supervisor restarts it with the same argv (data, port).
        """
        if self._proc is not None and self._proc.poll() is not None:
            self._proc = None  # our child exited (poll() reaped it): start afresh
        if (pid := self.recorded_pid()) is not None:
            if self._wait_ready(pid):
                log.info("%s already running (pid %d)", self.name, pid)
                return pid
            raise NodeProcessError(f"{self.name} (pid {pid}) is running but not ready")
        if shutil.which(self.argv[0]) is None and not Path(self.argv[0]).exists():
            raise ToolchainError(f"cannot start {self.name}: {self.argv[0]} not found")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log_out:
            # A new session: Ctrl-C in the terminal reaches us, not the node; we stop it by PID.
            self._proc = subprocess.Popen(
                self.argv,
                stdout=log_out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
            )
        pid = self._proc.pid
        write_pid_file(self.pid_file, pid)
        if not self._wait_ready(pid):
            self.stop()
            tail = self.log_file.read_text(errors="replace")[-2000:]
            raise NodeProcessError(f"{self.name} did not become ready in {self.ready_timeout}s:\n{tail}")
        log.info("%s ready (pid %d)", self.name, pid)
        return pid

    def _wait_ready(self, pid: int) -> bool:
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if not pid_alive(pid) or (self._proc is not None and self._proc.poll() is not None):
                return False
            with contextlib.suppress(Exception):
                if self.ready():
                    return True
            time.sleep(0.05)
        return False

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the process by its recorded PID: SIGTERM, then SIGKILL after ``timeout``."""
        pid = self._proc.pid if self._proc is not None else self.recorded_pid()
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None:
                if self._proc.poll() is not None:
                    break
            elif not pid_alive(pid):
                break
            time.sleep(0.05)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            if self._proc is not None:
                self._proc.wait(timeout=5)
        self._proc = None
        self.pid_file.unlink(missing_ok=True)
        log.info("%s stopped (pid %d)", self.name, pid)


def stop_recorded(pid_file: Path, timeout: float = 10.0) -> int | None:
    """Stop the live process a ``ManagedProcess``-format PID file names, by that PID; its PID, or None.

    For processes an earlier run left behind (``make stop``): the file's start time guards against a
    PID the kernel has since given to someone else, and a stale file is removed.
    """
    process = ManagedProcess(pid_file.stem, [], pid_file.parent, ready=lambda: False)
    pid = process.recorded_pid()
    if pid is not None:
        process.stop(timeout=timeout)
    return pid
