"""``IpfsRpcStore``: a ``ContentStore`` on an IPFS node's Kubo RPC API (Kubo, or js-ipfs), over httpx.

This is the one place httpx errors enter: transport failures and timeouts become ``StoreUnavailable``
(after bounded retries), a CID the node cannot find becomes ``ContentNotFound``, and bytes that do not
hash to the CID asked for become ``ContentIntegrityError``. The node is trusted for nothing: every
``cat`` is re-hashed, and every ``add`` must return the CID computed here.

A node asked for a CID it does not hold searches for it until the request's ``timeout`` (forever without
one), so every lookup carries a ``timeout=`` for the node *and* an httpx timeout for the client, and a
node-side timeout means "not found". ``lookup_timeout`` is that search budget: a local node holding what
was put answers at once, so a couple of seconds is plenty; raise it for a node fetching from a network.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, Self

import httpx

from passport.errors import (
    ConfigError,
    ContentIntegrityError,
    ContentNotFound,
    InvalidCid,
    StoreError,
    StoreUnavailable,
)
from passport.store.cid import parse_cid
from passport.store.unixfs import CHUNK_SIZE, cid_of, file_cid

log = logging.getLogger(__name__)

# Spelled out rather than left to the node's defaults, which differ between Kubo versions and configs:
# these are the parameters that make the node's CID equal to ``cid_of(data)``.
ADD_PARAMS: Final[dict[str, str]] = {
    "cid-version": "1",
    "raw-leaves": "true",
    "cid-base": "base32",  # js-ipfs answers in base58btc otherwise
    "chunker": f"size-{CHUNK_SIZE}",
    "hash": "sha2-256",
    "pin": "true",
}
# Gateway-style statuses a proxy or a restarting node returns; worth another try.
_RETRY_STATUSES: Final = frozenset({502, 503, 504})
# Phrases of Kubo and js-ipfs errors that mean the node does not have (or could not find) the CID.
_NOT_FOUND_PHRASES: Final = ("timed out", "not found", "no link named", "does not exist", "no such")


@dataclass(frozen=True, slots=True)
class NodeHealth:
    """What ``IpfsRpcStore.health()`` learned from the node."""

    peer_id: str
    version: str


def _duration(seconds: float) -> str:
    # Kubo parses Go durations and js-ipfs parse-duration; whole milliseconds suit both.
    return f"{max(1, round(seconds * 1000))}ms"


class IpfsRpcStore:
    """Content in an IPFS node, through its ``/api/v0`` RPC API. Thread-safe (one pooled client)."""

    def __init__(
        self,
        api_url: str,
        *,
        timeout: float = 10.0,
        lookup_timeout: float = 2.0,
        retries: int = 3,
        backoff: float = 0.2,
    ) -> None:
        """Talk to the node at ``api_url`` (e.g. ``http://127.0.0.1:5001``).

        ``timeout`` bounds each request (connect, each read, and the node's own work on a ``cat``);
        ``lookup_timeout`` bounds the node's search for a CID; a failed connection or a timeout is tried
        ``retries`` more times, waiting ``backoff`` seconds, doubled each time.
        """
        if timeout <= 0 or lookup_timeout <= 0 or retries < 0 or backoff < 0:
            raise ValueError("timeouts must be positive, retries and backoff non-negative")
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.lookup_timeout = lookup_timeout
        self.retries = retries
        self.backoff = backoff
        try:
            url = httpx.URL(self.api_url)
        except httpx.InvalidURL as exc:
            raise ConfigError(f"invalid IPFS API URL {api_url!r}: {exc}") from exc
        if url.scheme not in ("http", "https") or not url.host:
            raise ConfigError(f"invalid IPFS API URL {api_url!r}: need http(s)://host:port")
        self._client = httpx.Client(
            base_url=f"{self.api_url}/api/v0/",
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        )

    def __repr__(self) -> str:
        return f"IpfsRpcStore({self.api_url!r})"

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- ContentStore -------------------------------------------------------------------------------

    def put(self, data: bytes) -> str:
        expected = cid_of(data)
        # Adding is idempotent (content addressing), so a retried add after a lost answer is harmless.
        response = self._call("add", ADD_PARAMS, files={"file": ("blob", data, "application/octet-stream")})
        # One JSON object per line (progress lines first when the node sends them); the file's is last.
        lines = [line for line in response.text.splitlines() if line.strip()]
        try:
            added = json.loads(lines[-1])["Hash"]
        except (IndexError, KeyError, ValueError) as exc:
            answer = response.text[:200]
            raise StoreError(f"unexpected answer to add from {self.api_url}: {answer!r}") from exc
        if added != expected:
            raise ContentIntegrityError(
                f"{self.api_url} stored {len(data)} bytes as {added}, expected {expected}: "
                "the node does not build DAGs with cid-version=1, raw-leaves and 256 KiB chunks"
            )
        return expected

    def get(self, cid: str) -> bytes:
        parsed = parse_cid(cid)
        # The node's `timeout=` bounds the whole `cat`, transfer included. A raw CID is one block of at
        # most 256 KiB, so the lookup budget covers it; a file DAG may be large, so its root is looked
        # up first with that budget (a miss returns quickly) and the transfer gets the full timeout.
        budget = self.lookup_timeout
        if parsed.codec == "dag-pb":
            self._call("block/stat", {"arg": cid}, cid=cid, node_timeout=self.lookup_timeout)
            budget = self.timeout
        data = self._call("cat", {"arg": cid}, cid=cid, node_timeout=budget).content
        if file_cid(data) != parsed:
            raise ContentIntegrityError(
                f"{self.api_url} returned {len(data)} bytes for {cid} that do not hash to it"
            )
        return data

    def has(self, cid: str) -> bool:
        parse_cid(cid)
        try:
            self._call("block/stat", {"arg": cid}, cid=cid, node_timeout=self.lookup_timeout)
        except ContentNotFound:
            return False
        return True

    def pin(self, cid: str) -> None:
        parse_cid(cid)
        self._call("pin/add", {"arg": cid, "recursive": "true"}, cid=cid, node_timeout=self.lookup_timeout)

    def size(self, cid: str) -> int:
        parse_cid(cid)
        response = self._call(
            "files/stat", {"arg": f"/ipfs/{cid}"}, cid=cid, node_timeout=self.lookup_timeout
        )
        return int(self._json(response)["Size"])

    # -- beyond the protocol ------------------------------------------------------------------------

    def health(self) -> NodeHealth:
        """The node's peer id and version; raises ``StoreUnavailable`` when it cannot be reached."""
        peer = self._json(self._call("id", {}))
        version = self._json(self._call("version", {}))
        return NodeHealth(peer_id=str(peer["ID"]), version=str(version["Version"]))

    def import_car(self, car: bytes) -> list[str]:
        """Import a CARv1 (e.g. ``EmbeddedStore.export_car``) into the node, pinning its roots."""
        response = self._call(
            "dag/import",
            {"pin-roots": "true", "cid-base": "base32"},
            files={"file": ("export.car", car, "application/vnd.ipld.car")},
        )
        roots = []
        try:
            # One line per root: {"Root": {"Cid": {"/": "<cid>"}, "PinErrorMsg": ""}}.
            for line in filter(str.strip, response.text.splitlines()):
                root = json.loads(line)["Root"]
                if root.get("PinErrorMsg"):
                    raise StoreError(f"{self.api_url} imported but did not pin {root['Cid']['/']}: {root}")
                roots.append(str(root["Cid"]["/"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreError(f"unexpected answer to dag/import: {response.text[:200]!r}") from exc
        return roots

    # -- the boundary -------------------------------------------------------------------------------

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise StoreError(f"{self.api_url} answered {response.request.url.path} with no JSON object")
        return body

    def _call(
        self,
        command: str,
        params: dict[str, str],
        *,
        files: dict[str, tuple[str, bytes, str]] | None = None,
        cid: str | None = None,
        node_timeout: float | None = None,
    ) -> httpx.Response:
        """POST ``/api/v0/<command>``: retry transient failures, translate every error into ours.

        ``node_timeout`` is passed to the node as ``timeout=``; the client then waits a little longer,
        so the node's own timeout answer (which means "not found") arrives before ours ("unavailable").
        """
        timeout = self._client.timeout
        if node_timeout is not None:
            params = {**params, "timeout": _duration(node_timeout)}
            timeout = httpx.Timeout(node_timeout + min(2.0, node_timeout), connect=min(self.timeout, 5.0))
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                response = self._client.post(command, params=params, files=files, timeout=timeout)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                problem = f"{type(exc).__name__}: {exc}"
            except httpx.HTTPError as exc:
                raise StoreUnavailable(f"IPFS node at {self.api_url}: {exc}") from exc
            else:
                if response.status_code == 200:
                    return response
                if response.status_code not in _RETRY_STATUSES:
                    self._raise_for_answer(command, response, cid)
                problem = f"HTTP {response.status_code}"
            if attempt < self.retries:
                log.warning("IPFS %s failed (%s); retry %d in %.2fs", command, problem, attempt + 1, delay)
                time.sleep(delay)
                delay *= 2
        raise StoreUnavailable(
            f"IPFS node at {self.api_url}: {command} failed {self.retries + 1} times, last: {problem}"
        )

    def _raise_for_answer(self, command: str, response: httpx.Response, cid: str | None) -> None:
        try:
            body = response.json()
        except ValueError:
            body = None
        message = str(body.get("Message", "")) if isinstance(body, dict) else response.text[:200]
        lowered = message.lower()
        if cid is not None and any(phrase in lowered for phrase in _NOT_FOUND_PHRASES):
            raise ContentNotFound(f"{self.api_url} has no content for {cid} ({command}: {message})")
        if response.status_code == 400 and cid is not None:
            raise InvalidCid(f"{self.api_url} refused {cid!r}: {message}")
        raise StoreError(f"IPFS {command} failed with HTTP {response.status_code}: {message}")
