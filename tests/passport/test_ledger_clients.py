"""``ParticipantClients``: one chain client per participant, built once, sharing the reader's nonces."""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor

import pytest
from eth_account import Account

from passport.ledger import ParticipantClients
from tests.chain_backends import ACTOR_KEYS, ChainBackend


def test_each_participant_gets_one_client_acting_as_it(eth_tester_backend: ChainBackend) -> None:
    asked: list[str] = []

    def key(name: str) -> bytes:
        asked.append(name)
        return ACTOR_KEYS[name]

    reader = eth_tester_backend.client(secrets.token_bytes(32))
    clients = ParticipantClients(reader, key)
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(clients.get, ["issuer"] * 8))
    assert all(client is got[0] for client in got)
    assert got[0].account == Account.from_key(ACTOR_KEYS["issuer"]).address
    assert clients.get("inspector").account == Account.from_key(ACTOR_KEYS["inspector"]).address
    assert asked == ["issuer", "inspector"]  # a key is read (decrypted) once per participant


def test_unknown_participant_raises_and_caches_nothing(eth_tester_backend: ChainBackend) -> None:
    clients = ParticipantClients(eth_tester_backend.client(secrets.token_bytes(32)), {}.__getitem__)
    for _ in range(2):
        with pytest.raises(KeyError):
            clients.get("nobody")
