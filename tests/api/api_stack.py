"""The whole API over real HTTP against a deployed ledger: services, participants, API keys.

The ledger runs on anvil (a real node) or in process on eth-tester (no Node needed); see
``tests.chain_backends``. One stack per test module and backend (deploying costs ~1 s; every test makes
its own passports, so tests need no snapshots, which would also rewind the audit index under them).
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from api.app import create_app
from api.auth import ApiKeyStore, ApiRole
from api.services import Services
from devtools.samples import sample_passport
from oracle.journal import Journal
from passport.audit import SqliteAuditIndex
from passport.envelope import KeyRing
from passport.model import BatteryPassport
from passport.service import VersionLog
from passport.settings import Settings
from passport.store import EmbeddedStore
from tests.builders import SigningDevice
from tests.chain_backends import ACTOR_KEYS, ChainBackend, running_backend

# Participants with API keys: (roles, holds a custodial key of the same name in the fixture ledger).
PARTICIPANTS: dict[str, tuple[ApiRole, ...]] = {
    "admin": (ApiRole.ADMIN,),
    "issuer": (ApiRole.ISSUER,),
    "inspector": (ApiRole.INSPECTOR,),
    "repurposer": (ApiRole.REPURPOSER, ApiRole.BUSINESS),
    "recycler": (ApiRole.RECYCLER, ApiRole.BUSINESS),
    "oracle": (ApiRole.ORACLE,),
    "business": (ApiRole.BUSINESS,),
    "issuer2": (ApiRole.BUSINESS,),  # another registered business: the "wrong object" for custody
    "auditor": (ApiRole.AUDITOR,),
    "authority": (ApiRole.AUTHORITY,),
}
CUSTODIAL = ("admin", "issuer", "inspector", "repurposer", "recycler", "oracle", "business", "issuer2")

_serial = count(1)


def new_battery_id() -> str:
    # Unique per process run too: the journal and the ledger outlive no stack, but ids must not collide
    # within one.
    return f"HES-E77N-{secrets.randbelow(9000) + 1000}-{next(_serial):06d}"


@dataclass
class ApiStack:
    backend: ChainBackend
    services: Services
    base_url: str
    keys: dict[str, str] = field(default_factory=dict)
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base_url, timeout=60)

    def headers(self, who: str | None) -> dict[str, str]:
        return {} if who is None else {"Authorization": f"Bearer {self.keys[who]}"}

    def call(self, method: str, path: str, who: str | None = None, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, "/api/v1" + path, headers=self.headers(who), **kwargs)

    def address(self, who: str) -> str:
        return self.backend.actors[who].address

    def owner(self, battery_id: str) -> str:
        """A fresh EV owner participant owning ``battery_id``; returns its name."""
        name = f"owner-{next(_serial)}"
        self.services.api_keys.upsert_participant(name, [ApiRole.OWNER], battery_ids=[battery_id])
        self.keys[name] = self.services.api_keys.issue_key(name)
        return name

    def device(self, battery_id: str) -> SigningDevice:
        """A collection device registered (journal) for ``battery_id``, with an API key of its name."""
        journal = self.services.journal
        assert journal is not None
        device = SigningDevice(f"dev-{next(_serial):05d}", battery_id).register(journal)
        self.services.api_keys.upsert_participant(
            device.device_id, [ApiRole.DEVICE], device_id=device.device_id, battery_ids=[battery_id]
        )
        self.keys[device.device_id] = self.services.api_keys.issue_key(device.device_id)
        return device

    def issue(self, battery_id: str | None = None) -> BatteryPassport:
        """Issue a fresh sample passport as the issuer (over HTTP); returns the document."""
        passport = sample_passport(battery_id or new_battery_id())
        response = self.call(
            "POST", "/passports", "issuer", json={"passport": passport.model_dump(mode="json")}
        )
        assert response.status_code == 201, response.text
        return passport

    def transfer(self, passport_id: str, frm: str, to: str) -> None:
        """Custody from ``frm`` to ``to`` (offer + accept over HTTP)."""
        offer = self.call(
            "POST", f"/passports/{passport_id}/custody/offer", frm, json={"to": self.address(to)}
        )
        assert offer.status_code == 201, offer.text
        accept = self.call("POST", f"/passports/{passport_id}/custody/accept", to)
        assert accept.status_code == 200, accept.text


def build_services(backend: ChainBackend, data_dir: Path) -> Services:
    settings = Settings(environment="development", data_dir=data_dir, poll_latency=0.005, tx_timeout=30)
    keys = {name: ACTOR_KEYS[name] for name in CUSTODIAL}
    trusted = frozenset(backend.actors[n].address for n in ("issuer", "inspector", "repurposer", "recycler"))
    services = Services(
        settings=settings,
        reader=backend.client(secrets.token_bytes(32)),
        keys=keys,
        store=EmbeddedStore(data_dir / "store"),
        keyring=KeyRing(data_dir / "keys"),
        versions=VersionLog(data_dir / "versions.sqlite3"),
        audit=SqliteAuditIndex(data_dir / "audit.sqlite3"),
        api_keys=ApiKeyStore(data_dir / "api-keys.sqlite3"),
        journal=Journal(data_dir / "journal.sqlite3"),
        trusted_issuers=trusted,
        start_block=backend.deploy_block,
        index_interval=0.2,
    )
    for name, roles in PARTICIPANTS.items():
        account = backend.actors[name].address if name in backend.actors else None
        services.api_keys.upsert_participant(name, roles, account=account)
    return services


@contextmanager
def serve(services: Services) -> Iterator[str]:
    """The app with ``services`` under uvicorn on a free loopback port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = services.settings.model_copy(update={"public_base_url": base_url})
    app = create_app(settings, services=services)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start within 10 s")
            time.sleep(0.01)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
    assert not thread.is_alive(), "uvicorn did not stop"


@contextmanager
def api_stack(run_dir: Path, backend_name: str = "anvil") -> Iterator[ApiStack]:
    with running_backend(backend_name, run_dir / backend_name) as backend:
        services = build_services(backend, run_dir / "data")
        try:
            with serve(services) as base_url:
                stack = ApiStack(backend, services, base_url)
                for name in PARTICIPANTS:
                    stack.keys[name] = services.api_keys.issue_key(name)
                yield stack
                stack.http.close()
        finally:
            services.close()
