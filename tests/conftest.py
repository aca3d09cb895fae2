"""Shared fixtures: the registry deployed on every chain backend, isolated per test by snapshots.

* ``chain_backend`` — session-scoped, parametrized over eth-tester, ganache and anvil (the node ones are
  marked ``node``); the registry is deployed once per backend with the actors in
  ``chain_backends.ACTOR_KEYS`` funded, granted their roles and registered as businesses.
* ``ledger`` — the same backend, with a snapshot taken before the test and reverted after it.
* ``registry_admin``, ``issuer``, ``inspector``, ``repurposer``, ``recycler``, ``oracle``, ``business``,
  ``stranger`` — the actors (``Actor``: ``.client`` is a ``Web3ChainClient``, ``.key``, ``.sign(...)``).
* ``eth_tester_backend`` — the in-process backend alone (for suites that only need one chain).
* ``postgres_server`` — one throwaway PostgreSQL 15 server per session (``devtools.postgres``);
  ``postgres_url`` — a fresh database on it per test; ``database_url`` — parametrised over ``sqlite``
  (None: the embedded files) and ``postgresql`` (marked ``postgres``), so a store's behaviour suite
  runs on both backends.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from devtools.postgres import PostgresServer
from tests.chain_backends import Actor, ChainBackend, running_backend


@pytest.fixture(scope="session")
def eth_tester_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainBackend]:
    with running_backend("eth-tester", tmp_path_factory.mktemp("eth-tester")) as backend:
        yield backend


@pytest.fixture(
    scope="session",
    params=[
        "eth-tester",
        pytest.param("ganache", marks=pytest.mark.node),
        pytest.param("anvil", marks=pytest.mark.node),
    ],
)
def chain_backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ChainBackend]:
    name: str = request.param
    if name == "eth-tester":
        yield request.getfixturevalue("eth_tester_backend")
        return
    with running_backend(name, tmp_path_factory.mktemp(name)) as backend:
        yield backend


@pytest.fixture
def ledger(chain_backend: ChainBackend) -> Iterator[ChainBackend]:
    with chain_backend.isolated():
        yield chain_backend


@pytest.fixture
def registry_admin(ledger: ChainBackend) -> Actor:
    return ledger.actors["admin"]


@pytest.fixture
def issuer(ledger: ChainBackend) -> Actor:
    return ledger.actors["issuer"]


@pytest.fixture
def inspector(ledger: ChainBackend) -> Actor:
    return ledger.actors["inspector"]


@pytest.fixture
def repurposer(ledger: ChainBackend) -> Actor:
    return ledger.actors["repurposer"]


@pytest.fixture
def recycler(ledger: ChainBackend) -> Actor:
    return ledger.actors["recycler"]


@pytest.fixture
def oracle(ledger: ChainBackend) -> Actor:
    return ledger.actors["oracle"]


@pytest.fixture
def business(ledger: ChainBackend) -> Actor:
    return ledger.actors["business"]


@pytest.fixture
def stranger(ledger: ChainBackend) -> Actor:
    return ledger.actors["stranger"]


@pytest.fixture(autouse=True)
def _no_event_loop_left_running(request: pytest.FixtureRequest) -> None:
    """Fail a test that starts while an earlier one left an event loop running in this thread.

    Playwright's sync API marks its loop as running while open (the browser package closes it after its
    tests); a leak would make every later ``asyncio.run()`` fail far from its cause.
    """
    if request.node.path.parent.name == "browser":
        return
    leaked = asyncio.events._get_running_loop()
    assert leaked is None, f"an earlier test left an event loop running in this thread: {leaked!r}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    # Not under tmp_path: pytest's base directory is private to root, and the server runs as postgres.
    base = Path(tempfile.mkdtemp(prefix="passport-pg-"))
    try:
        with PostgresServer(base, durable=False, stop_with=os.getpid()) as server:
            yield server
    finally:
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def fresh_database(server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database on ``server`` (dropped after, whoever is still connected); its URL."""
    name = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}".encode())
    try:
        yield server.url_of(name)
    finally:
        with psycopg.connect(server.url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database for one test."""
    with fresh_database(postgres_server) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """None (each store its own SQLite file) or a fresh PostgreSQL database's URL."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("postgres_url")
    return url
