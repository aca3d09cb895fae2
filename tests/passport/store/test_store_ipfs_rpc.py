"""The IPFS RPC boundary (errors, retries, health) and the js-ipfs node's life cycle."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.jsipfs import REPO_LOCK_STALE_SECONDS, JsIpfsNode
from devtools.localnodes import free_port, pid_alive
from passport.errors import ConfigError, StoreUnavailable
from passport.settings import Settings
from passport.store import EmbeddedStore, IpfsRpcStore, NodeHealth, cid_of, open_store


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A real socket that accepts connections and never answers: a hung node."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


def test_an_unreachable_node_is_unavailable_after_bounded_retries() -> None:
    store = IpfsRpcStore(f"http://127.0.0.1:{free_port()}", retries=2, backoff=0.1)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="failed 3 times"):
        store.put(b"doc")
    # Backoff 0.1 s then 0.2 s between the three attempts, and no more.
    assert 0.3 <= time.monotonic() - started < 3


@pytest.mark.parametrize("operation", ["get", "has", "size", "pin"])
def test_a_hung_node_times_out_as_unavailable(silent_server: str, operation: str) -> None:
    store = IpfsRpcStore(silent_server, timeout=0.3, lookup_timeout=0.3, retries=1, backoff=0.05)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="ReadTimeout"):
        getattr(store, operation)(cid_of(b"doc"))
    assert time.monotonic() - started < 10


def test_store_unavailable_is_a_connection_error() -> None:
    with pytest.raises(ConnectionError):
        IpfsRpcStore(f"http://127.0.0.1:{free_port()}", retries=0).health()


@pytest.mark.parametrize("kwargs", [{"timeout": 0}, {"lookup_timeout": -1}, {"retries": -1}])
def test_nonsense_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="positive"):
        IpfsRpcStore("http://127.0.0.1:5001", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("url", ["nonsense", "ftp://127.0.0.1:5001", "http://[::1", "http://"])
def test_a_malformed_api_url_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError, match="invalid IPFS API URL"):
        IpfsRpcStore(url)


def test_open_store_picks_the_backend_from_settings(tmp_path: Path) -> None:
    embedded = open_store(Settings(data_dir=tmp_path))
    assert isinstance(embedded, EmbeddedStore)
    assert embedded.root == tmp_path / "store"
    ipfs = open_store(Settings(store_backend="ipfs", ipfs_api_url="http://127.0.0.1:5999/", ipfs_timeout=3))
    assert isinstance(ipfs, IpfsRpcStore)
    assert (ipfs.api_url, ipfs.timeout) == ("http://127.0.0.1:5999", 3)


@pytest.mark.node
def test_health_names_the_node(ipfs_store: IpfsRpcStore) -> None:
    health = ipfs_store.health()
    assert isinstance(health, NodeHealth)
    assert health.version == "0.18.1"
    assert health.peer_id.startswith("12D3Koo")


@pytest.mark.node
def test_session_node_listens_on_loopback_only(jsipfs_node: JsIpfsNode) -> None:
    assert jsipfs_node.api_url.startswith("http://127.0.0.1:")
    assert jsipfs_node.pid is not None
    assert pid_alive(jsipfs_node.pid)


@pytest.mark.node
def test_node_life_cycle_adopt_stop_restart(tmp_path: Path) -> None:
    node = JsIpfsNode(tmp_path / "ipfs")
    url = node.start()
    try:
        pid = node.pid
        assert pid is not None
        with IpfsRpcStore(url) as store:
            cid = store.put(b"survives a restart")
        # A second handle on the same data dir adopts the running daemon instead of starting another.
        again = JsIpfsNode(tmp_path / "ipfs")
        assert (again.start(), again.pid) == (url, pid)
        node.stop()
        assert node.pid is None
        assert not pid_alive(pid)
        assert not (tmp_path / "ipfs" / "jsipfs.pid").exists()

        with IpfsRpcStore(node.start()) as store:
            assert store.get(cid) == b"survives a restart"
    finally:
        node.stop()


@pytest.mark.node
@pytest.mark.slow
def test_node_restarts_after_being_killed(tmp_path: Path) -> None:
    killed = JsIpfsNode(tmp_path / "ipfs")
    killed.start()
    pid = killed.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)  # no clean shutdown: the repo lock stays behind
    os.waitpid(pid, 0)  # reap it, as its parent would have; a zombie would still look alive
    restarted = JsIpfsNode(tmp_path / "ipfs")
    started = time.monotonic()
    try:
        with IpfsRpcStore(restarted.start()) as store:
            assert store.health().version == "0.18.1"
        assert time.monotonic() - started < REPO_LOCK_STALE_SECONDS + 30
    finally:
        restarted.stop()
