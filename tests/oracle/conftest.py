"""Fixtures for the oracle tests: a journal, registered devices, and the ledger/store doubles."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from oracle.ingestion import Ingestor
from oracle.journal import Journal
from passport.settings import Settings
from passport.store import EmbeddedStore
from passport.store.protocol import ContentStore
from tests.oracle.oracle_doubles import FakeChain, FakeStore
from tests.oracle.oracle_samples import Fleet


@pytest.fixture
def journal(tmp_path: Path, database_url: str | None) -> Iterator[Journal]:
    """The journal on each backend: an SQLite file, and PostgreSQL's ``journal`` schema."""
    settings = Settings.load(data_dir=tmp_path, database_url=database_url)
    with Journal.open(settings) as j:
        yield j


@pytest.fixture
def fleet(journal: Journal) -> Fleet:
    fleet = Fleet(journal, Ingestor(journal))
    for n in range(4):
        fleet.device(n).register(journal)
    return fleet


@pytest.fixture
def chain() -> FakeChain:
    return FakeChain()


@pytest.fixture(params=["dict", "embedded"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ContentStore:
    """Each pipeline test runs on the dict double and on the real embedded store."""
    if request.param == "dict":
        return FakeStore()
    return EmbeddedStore(tmp_path / "store", durable=False)
