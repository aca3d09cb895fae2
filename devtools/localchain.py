"""Managed local chains: ganache (the default) and anvil, each a ``ManagedProcess`` on 127.0.0.1.

Both keep their state under ``Settings.chain_dir`` so a stopped chain starts again where it left off:
ganache in a LevelDB directory (``--database.dbPath``, written as blocks are mined), anvil in a JSON
snapshot (``--state``, written on a clean exit and every few seconds, so SIGKILL loses at most that
much). Both run a fixed chain id and the ``shanghai`` hardfork: ganache 7 cannot execute cancun
opcodes, and one EVM version for both keeps their behaviour and gas figures comparable.

Neither node creates accounts of its own (``--wallet.totalAccounts 0``, ``--accounts 0``): no
well-known mnemonic is involved at all. The keystore's generated accounts are funded over JSON-RPC
(``evm_setAccountBalance`` / ``anvil_setBalance``) once the node is ready. Passing them on the command
line instead (ganache ``--wallet.accounts <key>,<balance>``) would put every private key in
``/proc/<pid>/cmdline``, readable by any local user, and ganache would also print them to its log.

A node already running from an earlier ``start()`` (its PID file names a live process answering with
the expected chain id) is adopted rather than started twice; ``stop()`` signals that recorded PID.
``NodeSupervisor`` restarts a node that dies (same data, same port) while a stack runs on it.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Final, Literal

from devtools.errors import NodeProcessError, UnsafeBinding
from devtools.localnodes import ManagedProcess, node_tool
from passport.chain.jsonrpc import json_rpc
from passport.errors import ChainError, ChainUnavailable, PassportError
from passport.settings import Settings

log = logging.getLogger(__name__)

ChainKind = Literal["ganache", "anvil"]

DEFAULT_CHAIN_ID: Final = 1337
DEFAULT_HARDFORK: Final = "shanghai"
#: Balance given to each funded account, and the level below which it is topped up again (wei).
FUNDING_WEI: Final = 1_000 * 10**18
MINIMUM_WEI: Final = 100 * 10**18
_LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1"})


def _port_in_use(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # SO_REUSEADDR: a port whose last listener just exited (TIME_WAIT) is free for the next node.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """What ``status()`` reports about a managed node."""

    kind: ChainKind
    url: str
    running: bool
    pid: int | None
    chain_id: int | None
    block_number: int | None
    data_path: Path
    log_file: Path


class LocalChainNode(ABC):
    """A local development chain run as a child process and tracked by its PID file."""

    kind: ClassVar[ChainKind]
    #: The node's JSON-RPC method that sets an account's balance.
    _set_balance_method: ClassVar[str]

    def __init__(
        self,
        chain_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 8545,
        chain_id: int = DEFAULT_CHAIN_ID,
        hardfork: str = DEFAULT_HARDFORK,
        ready_timeout: float = 30.0,
    ) -> None:
        if host not in _LOOPBACK:
            # The node's RPC can set any balance and is unauthenticated: it must never listen publicly.
            raise UnsafeBinding(f"a managed local chain binds to loopback only, not {host!r}")
        self.chain_dir = chain_dir
        self.host = host
        self.port = port
        self.chain_id = chain_id
        self.hardfork = hardfork
        self.adopted = False
        # argv is filled in by start(): status() and stop() need only the PID file, not node_modules.
        self._process = ManagedProcess(self.kind, [], chain_dir, self._ready, ready_timeout=ready_timeout)

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> LocalChainNode:
        """A node of this kind at the settings' host, port and chain directory."""
        return cls(
            settings.chain_dir, host=settings.local_chain_host, port=settings.local_chain_port, **kwargs
        )

    # -- what differs per tool ---------------------------------------------------------------------
    @property
    @abstractmethod
    def data_path(self) -> Path:
        """Where the chain's state is persisted between runs."""

    @abstractmethod
    def _argv(self) -> list[str]: ...

    # -- lifecycle ---------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self._process.pid_file

    @property
    def log_file(self) -> Path:
        return self._process.log_file

    @property
    def pid(self) -> int | None:
        return self._process.recorded_pid()

    def is_running(self) -> bool:
        return self._process.is_running()

    def start(self) -> int:
        """Start the node, or adopt the one its PID file names; its PID once it answers ``eth_chainId``.

        ``adopted`` tells which happened, so a caller stops only what it started.
        """
        if self._process.recorded_pid() is not None:
            # Fail at once, rather than after the readiness timeout, if the adopted node is another chain.
            with contextlib.suppress(ChainUnavailable):
                found = int(json_rpc(self.url, "eth_chainId", timeout=2.0), 16)
                if found != self.chain_id:
                    raise NodeProcessError(
                        f"{self.kind} (PID file {self.pid_file}) answers at {self.url} with chain id "
                        f"{found}, expected {self.chain_id}"
                    )
            self.adopted = True
            return self._process.start()
        if _port_in_use(self.host, self.port):
            raise NodeProcessError(
                f"cannot start {self.kind}: {self.host}:{self.port} is in use by a process this data "
                f"directory ({self.chain_dir}) did not start"
            )
        self.chain_dir.mkdir(parents=True, exist_ok=True)
        self.adopted = False
        self._process.argv = self._argv()
        pid = self._process.start()
        log.info(
            "%s listening on %s (chain id %d, state in %s)",
            self.kind,
            self.url,
            self.chain_id,
            self.data_path,
        )
        return pid

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the node by its recorded PID (state is persisted on the way down)."""
        self._process.stop(timeout=timeout)
        self.adopted = False

    def _ready(self) -> bool:
        return int(json_rpc(self.url, "eth_chainId", timeout=1.0), 16) == self.chain_id

    # -- use ---------------------------------------------------------------------------------------
    def rpc(self, method: str, *params: Any) -> Any:
        """A JSON-RPC call to this node."""
        return json_rpc(self.url, method, params)

    def fund(
        self, addresses: Iterable[str], *, minimum: int = MINIMUM_WEI, amount: int = FUNDING_WEI
    ) -> list[str]:
        """Give each account below ``minimum`` wei a balance of ``amount``; the addresses topped up.

        Topping up only when low leaves balances (and so the chain) untouched on ordinary restarts.
        """
        funded = []
        for address in addresses:
            if int(self.rpc("eth_getBalance", address, "latest"), 16) < minimum:
                self.rpc(self._set_balance_method, address, hex(amount))
                funded.append(address)
        if funded:
            log.info("%s: funded %d account(s) with %d wei each", self.kind, len(funded), amount)
        return funded

    def status(self) -> NodeStatus:
        """Whether the node runs, and if it answers, its chain id and head block."""
        pid = self.pid
        chain_id = block_number = None
        if pid is not None:
            with contextlib.suppress(ChainError):
                chain_id = int(self.rpc("eth_chainId"), 16)
                block_number = int(self.rpc("eth_blockNumber"), 16)
        return NodeStatus(
            kind=self.kind,
            url=self.url,
            running=pid is not None,
            pid=pid,
            chain_id=chain_id,
            block_number=block_number,
            data_path=self.data_path,
            log_file=self.log_file,
        )


class GanacheNode(LocalChainNode):
    """ganache 7 (the default local chain): instamine, state in a LevelDB directory."""

    kind = "ganache"
    _set_balance_method = "evm_setAccountBalance"

    @property
    def data_path(self) -> Path:
        return self.chain_dir / "ganache-db"

    def _argv(self) -> list[str]:
        return [
            # The bin itself, not `npx ganache`: npx stays as a parent whose PID is not the node's.
            str(node_tool(".bin/ganache")),
            "--host", self.host,
            "--port", str(self.port),
            "--chain.chainId", str(self.chain_id),
            "--chain.networkId", str(self.chain_id),
            "--chain.hardfork", self.hardfork,
            "--database.dbPath", str(self.data_path),
            "--wallet.totalAccounts", "0",
            "--miner.instamine", "eager",
        ]  # fmt: skip


class AnvilNode(LocalChainNode):
    """anvil (foundry): automine, state in a JSON snapshot; ~10x faster to start than ganache."""

    kind = "anvil"
    _set_balance_method = "anvil_setBalance"
    #: Seconds between state snapshots while running, bounding what a SIGKILL loses.
    state_interval: ClassVar[int] = 5

    @property
    def data_path(self) -> Path:
        return self.chain_dir / "anvil-state.json"

    def _argv(self) -> list[str]:
        return [
            str(node_tool("@foundry-rs/anvil-linux-amd64/bin/anvil")),
            "--host", self.host,
            "--port", str(self.port),
            "--chain-id", str(self.chain_id),
            "--hardfork", self.hardfork,
            "--accounts", "0",
            "--state", str(self.data_path),
            "--state-interval", str(self.state_interval),
        ]  # fmt: skip


NODE_KINDS: Final[dict[ChainKind, type[LocalChainNode]]] = {"ganache": GanacheNode, "anvil": AnvilNode}


def local_chain(settings: Settings, kind: ChainKind | None = None, **kwargs: Any) -> LocalChainNode:
    """The managed node the settings select (``Settings.local_chain``), or ``kind`` if given."""
    return NODE_KINDS[kind or settings.local_chain].from_settings(settings, **kwargs)


class NodeSupervisor:
    """Restarts a managed node whose process has died, with the same data directory and port.

    A thread polls the node's PID every ``interval`` seconds; when the process is gone (crashed, OOM-
    killed, ``kill -9``) it starts the node again, which reopens the persisted state (ganache's LevelDB
    in full; anvil's snapshot, so up to ``AnvilNode.state_interval`` seconds of blocks are lost). A
    failed restart (the port taken meanwhile, say) is logged and retried on the next poll.
    """

    def __init__(self, node: LocalChainNode, *, interval: float = 0.5) -> None:
        self.node = node
        self.interval = interval
        self.restarts = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, name=f"{self.node.kind}-supervisor", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 60.0) -> None:
        """Stop watching (a restart under way finishes first); the node itself is left as it is."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=timeout)

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            if self.node.is_running():
                continue
            log.warning(
                "%s is not running: restarting it on %s with its state in %s",
                self.node.kind,
                self.node.url,
                self.node.data_path,
            )
            try:
                pid = self.node.start()
            except PassportError as exc:
                log.error("restarting %s failed (retrying in %.1f s): %s", self.node.kind, self.interval, exc)
                continue
            self.restarts += 1
            log.warning("%s restarted (pid %d, restart %d)", self.node.kind, pid, self.restarts)
