"""A throwaway PostgreSQL 15 server for tests, the scale benchmark and local multi-process runs.

Debian's server binaries (``postgresql-15``; ``scripts/install_postgres.sh``) are run straight from
``/usr/lib/postgresql/15/bin``: ``initdb`` into a fresh directory, ``pg_ctl start`` on 127.0.0.1 and a
free port, trust authentication for one user. PostgreSQL refuses to run as root, so under root (CI
containers) every server command runs as the ``postgres`` system user the package creates.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import socket
import subprocess
from pathlib import Path
from types import TracebackType
from typing import Self

from devtools.errors import NodeProcessError, ToolchainError

PG_BIN = Path(os.environ.get("PASSPORT_PG_BIN", "/usr/lib/postgresql/15/bin"))
USER = "passport"


def postgres_available() -> bool:
    """Whether the server binaries are installed (``make test`` installs them when missing)."""
    return (PG_BIN / "pg_ctl").is_file() and (PG_BIN / "initdb").is_file()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One PostgreSQL cluster in ``base_dir``; ``url`` names its ``postgres`` database.

    ``durable=False`` (tests) turns off fsync: the server's data need not survive a power loss of the
    test machine, and a killed *client* (what the crash tests do) loses nothing either way. The
    benchmark keeps the defaults (fsync on, ``synchronous_commit=on``).

    ``stop_with=PID`` starts a watchdog that stops the server and removes ``base_dir`` once that
    process has ended, however it ended: a killed pytest session or benchmark runs no finalizer, and
    would otherwise leave a server running on deleted or orphaned files.
    """

    def __init__(
        self,
        base_dir: Path,
        *,
        durable: bool = True,
        max_connections: int = 200,
        stop_with: int | None = None,
    ) -> None:
        if not postgres_available():
            raise ToolchainError(f"PostgreSQL server binaries not found in {PG_BIN} (run make test-deps)")
        self.base_dir = base_dir
        self.data_dir = base_dir / "pgdata"
        self.socket_dir = base_dir / "sockets"
        self.log_file = base_dir / "postgres.log"
        self.port = _free_port()
        self._durable = durable
        self._max_connections = max_connections
        self._stop_with = stop_with
        self._started = False

    @property
    def url(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/postgres"

    def url_of(self, dbname: str) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{dbname}"

    def _as_server_user(self, argv: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return argv
        runuser = shutil.which("runuser")
        if runuser is None:
            raise ToolchainError("running as root needs runuser to start PostgreSQL as the postgres user")
        return [runuser, "-u", "postgres", "--", *argv]

    def _run(self, argv: list[str]) -> None:
        result = subprocess.run(self._as_server_user(argv), capture_output=True, text=True, check=False)
        if result.returncode != 0:
            log = self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""
            raise NodeProcessError(f"{Path(argv[0]).name} failed: {result.stderr.strip()[-2000:]}\n{log}")

    def start(self) -> str:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            server = pwd.getpwnam("postgres")
            for path in (self.base_dir, self.socket_dir):
                os.chown(path, server.pw_uid, server.pw_gid)
        self._run(
            [str(PG_BIN / "initdb"), "-D", str(self.data_dir), "-U", USER, "--auth=trust", "-E", "UTF8",
             "--no-sync", "--no-instructions"]
        )  # fmt: skip
        options = [
            f"-p {self.port}",
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={self.socket_dir}",
            f"-c max_connections={self._max_connections}",
        ]
        if not self._durable:
            options += ["-c fsync=off", "-c full_page_writes=off"]
        self._run(
            [str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "60",
             "-o", " ".join(options), "start"]
        )  # fmt: skip
        self._started = True
        if self._stop_with is not None:
            self._watch(self._stop_with)
        return self.url

    def _watch(self, owner: int) -> None:
        # A shell loop in its own session: it outlives a SIGKILLed owner (and its process group).
        stop = shlex.join(
            self._as_server_user(
                [str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "stop"]
            ),
        )
        script = (
            f"while kill -0 {owner} 2>/dev/null; do sleep 1; done; "
            f"if [ -f {shlex.quote(str(self.data_dir / 'postmaster.pid'))} ]; then {stop}; fi; "
            f"rm -rf {shlex.quote(str(self.base_dir))}"
        )
        subprocess.Popen(
            ["/bin/sh", "-c", script],
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if self._started:
            self._started = False
            self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
