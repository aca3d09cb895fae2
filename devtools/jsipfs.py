"""``JsIpfsNode``: a local, offline js-ipfs daemon serving the Kubo RPC API on 127.0.0.1.

No Kubo binary can be installed here, so development and the store tests use js-ipfs (npm ``ipfs``
0.66.1, pinned in ``package-lock.json``), which serves the same ``/api/v0`` API. What it needs, measured
(see ``shared/TOOLCHAIN.md``):

- Node 20 lacks ``Promise.withResolvers``, which its dependencies call: a polyfill is loaded with
  ``NODE_OPTIONS=--require devtools/node/promise-with-resolvers.cjs``;
- ``init --profile=test`` (no bootstrap peers, no MDNS); API, Gateway and RPC on 127.0.0.1 ports; and
  ``Addresses.Swarm = []``, without which the offline daemon hangs ("no valid addresses were provided for
  transports");
- ``daemon --offline``, ready in ~5 s.

The repo's ``config`` is a JSON file, edited here directly: ``jsipfs config`` would start Node (~1 s)
for each key.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

import httpx

from devtools.errors import NodeProcessError, ToolchainError
from devtools.localnodes import ManagedProcess, find_node_modules, free_port, node_tool

JSIPFS: Final = ".bin/jsipfs"
# ipfs-repo's lock (proper-lockfile): the holder touches it every 10 s; untouched for 20 s, it is stale.
REPO_LOCK_STALE_SECONDS: Final = 20.0
POLYFILL: Final = Path("devtools/node/promise-with-resolvers.cjs")
HOST: Final = "127.0.0.1"

log = logging.getLogger(__name__)


def _polyfill_path(node_modules: Path) -> Path:
    # The polyfill lives in the project's scripts/, beside the node_modules it patches.
    path = node_modules.parent / POLYFILL
    if not path.is_file():
        raise ToolchainError(f"{path} is missing: it ships with the project (needed by js-ipfs on Node 20)")
    return path


class JsIpfsNode:
    """One js-ipfs daemon with its repo under ``data_dir``; started, probed and stopped by PID."""

    def __init__(
        self,
        data_dir: Path,
        *,
        api_port: int | None = None,
        gateway_port: int | None = None,
        rpc_port: int | None = None,
        ready_timeout: float = 60.0,
        node_modules: Path | None = None,
    ) -> None:
        """A node whose repo is ``data_dir/repo`` and whose PID and log files are in ``data_dir``.

        Ports left as None are picked free when the node starts (a running node keeps its own).
        """
        self.data_dir = Path(data_dir)
        self.repo = self.data_dir / "repo"
        self._ports = {"API": api_port, "Gateway": gateway_port, "RPC": rpc_port}
        self._node_modules = node_modules or find_node_modules()
        self._jsipfs = node_tool(JSIPFS, self._node_modules)
        polyfill = _polyfill_path(self._node_modules)
        self._env = {
            **os.environ,
            "IPFS_PATH": str(self.repo),
            # Quoted: NODE_OPTIONS is split on spaces, and the project path may contain one.
            "NODE_OPTIONS": f'{os.environ.get("NODE_OPTIONS", "")} --require "{polyfill}"'.strip(),
            "NO_UPDATE_NOTIFIER": "1",  # it would try to reach the npm registry on every start
        }
        self._process = ManagedProcess(
            "jsipfs",
            ["node", str(self._jsipfs), "daemon", "--offline"],
            self.data_dir,
            self._ready,
            env=self._env,
            ready_timeout=ready_timeout,
        )

    def __repr__(self) -> str:
        return f"JsIpfsNode({str(self.data_dir)!r})"

    @property
    def pid(self) -> int | None:
        return self._process.recorded_pid()

    @property
    def log_file(self) -> Path:
        return self._process.log_file

    @property
    def api_url(self) -> str:
        """The RPC API's base URL, as configured in the repo (``http://127.0.0.1:<port>``)."""
        address = self._read_config()["Addresses"]["API"]  # /ip4/127.0.0.1/tcp/<port>
        parts = str(address).split("/")
        if len(parts) != 5 or parts[1] != "ip4" or parts[3] != "tcp":
            raise NodeProcessError(f"unexpected Addresses.API {address!r} in {self.repo / 'config'}")
        return f"http://{parts[2]}:{parts[4]}"

    def init(self) -> None:
        """Create the repo if there is none (``jsipfs init --profile=test``)."""
        if (self.repo / "config").is_file():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            result = subprocess.run(
                ["node", str(self._jsipfs), "init", "--profile=test"],
                env=self._env,
                capture_output=True,
                timeout=120,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise NodeProcessError(f"jsipfs init in {self.repo} failed: {exc}") from exc
        if result.returncode != 0:
            output = (result.stdout + result.stderr).decode(errors="replace")[-2000:]
            raise NodeProcessError(f"jsipfs init in {self.repo} exited {result.returncode}:\n{output}")

    def configure(self) -> None:
        """Bind API, Gateway and RPC to 127.0.0.1 (free ports unless given) and turn off the swarm."""
        config = self._read_config()
        addresses = config.setdefault("Addresses", {})
        for key, port in self._ports.items():
            addresses[key] = f"/ip4/{HOST}/tcp/{port or free_port(HOST)}"
        addresses["Swarm"] = []
        path = self.repo / "config"
        tmp = path.with_name("config.tmp")
        tmp.write_text(json.dumps(config, indent=2))
        os.replace(tmp, path)

    def start(self) -> str:
        """Start the daemon (or adopt the one already running on this repo); return the API URL."""
        if not self._process.is_running():
            self.init()
            self._wait_for_stale_lock()
            self.configure()
        self._process.start()
        return self.api_url

    def stop(self) -> None:
        """Stop the daemon by its PID (SIGTERM, then SIGKILL)."""
        self._process.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _wait_for_stale_lock(self) -> None:
        """Wait out the repo lock of a daemon that died (SIGKILL, crash) until js-ipfs may take it over.

        A live holder keeps the lock fresh, so a lock that stays fresh past the stale time belongs to a
        daemon this object does not track (started by hand?): refuse rather than share the repo.
        """
        lock = self.repo / "repo.lock"
        deadline = time.monotonic() + REPO_LOCK_STALE_SECONDS + 5
        while True:
            try:
                age = time.time() - lock.stat().st_mtime
            except FileNotFoundError:
                return
            if age > REPO_LOCK_STALE_SECONDS:
                return
            if time.monotonic() > deadline:
                raise NodeProcessError(
                    f"{lock} is held by a js-ipfs process not started from {self.data_dir}"
                )
            log.info("waiting for the lock of a stopped js-ipfs daemon to go stale (%.0fs old)", age)
            time.sleep(1.0)

    def _ready(self) -> bool:
        return httpx.post(f"{self.api_url}/api/v0/id", timeout=2.0).status_code == 200

    def _read_config(self) -> dict[str, Any]:
        path = self.repo / "config"
        try:
            config = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise NodeProcessError(f"cannot read the js-ipfs config {path}: {exc}") from exc
        if not isinstance(config, dict):
            raise NodeProcessError(f"{path} is not a JSON object")
        return config
