"""did:web identifiers, Bitstring Status List encoding, the vendored VC 2.0 context, credential keys."""

from __future__ import annotations

import base64
import gzip
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc.jwk import ECKey

from passport.audit import AuditEvent
from passport.credentials import (
    CredentialKeys,
    StatusIndex,
    account_of,
    bit_at,
    did_document,
    did_web,
    document_url,
    encode_list,
    participant_did,
    validate_did_document,
    vc_v2_context,
    verify_credential,
)
from passport.credentials.credential import VC_CONTEXT, sign
from passport.credentials.did import assertion_key, key_fragment
from passport.credentials.reads import VersionInForce, parse_moment, version_at
from passport.credentials.status import LIST_BITS
from passport.credentials.vocabulary import document_loader
from passport.errors import CredentialInvalid, InvalidIdentifier
from passport.settings import Settings

ACCOUNT = "0x" + "ab" * 20


@pytest.mark.parametrize(
    ("base_url", "path", "did", "url"),
    [
        ("http://127.0.0.1:8000", (), "did:web:127.0.0.1%3A8000", "http://127.0.0.1:8000/.well-known/did.json"),
        ("https://ledger.example", ("a", "b"), "did:web:ledger.example:a:b", "https://ledger.example/a/b/did.json"),
        ("https://ledger.example:8443/base/", ("x",), "did:web:ledger.example%3A8443:base:x",
         "https://ledger.example:8443/base/x/did.json"),
        ("http://localhost:9000", ("p",), "did:web:localhost%3A9000:p", "http://localhost:9000/p/did.json"),
    ],
)  # fmt: skip
def test_did_web_and_its_document_url(base_url: str, path: tuple[str, ...], did: str, url: str) -> None:
    assert did_web(base_url, *path) == did
    assert document_url(did) == url


def test_only_loopback_hosts_resolve_over_plain_http() -> None:
    assert document_url("did:web:ledger.example%3A8000").startswith("https://")
    assert document_url("did:web:127.0.0.1%3A8000").startswith("http://")


@pytest.mark.parametrize("did", ["did:key:z6Mk", "did:web:", "did:web:evil.example%2Fpath", "web:x"])
def test_malformed_did_web_is_refused(did: str) -> None:
    with pytest.raises(CredentialInvalid):
        document_url(did)


def test_participant_did_names_its_account() -> None:
    did = participant_did("http://127.0.0.1:8000", ACCOUNT.upper().replace("0X", "0x"))
    assert did == f"did:web:127.0.0.1%3A8000:participants:{ACCOUNT}"
    assert account_of(did) == ACCOUNT
    assert account_of("did:web:127.0.0.1%3A8000:participants:nope") is None


def test_did_document_lists_keys_and_account(tmp_path: Path) -> None:
    keys = CredentialKeys(tmp_path / "keys")
    first = keys.current(ACCOUNT)
    assert keys.current(ACCOUNT).thumbprint() == first.thumbprint()
    second = keys.rotate(ACCOUNT)
    did = participant_did("http://127.0.0.1:8000", ACCOUNT)
    document = did_document(did, account=ACCOUNT, chain_id=31337, keys=keys.keys(ACCOUNT))
    validate_did_document(document)
    for key in (first, second):
        kid = f"{did}#{key_fragment(key)}"
        assert assertion_key(document, kid).thumbprint() == key.thumbprint()
    with pytest.raises(CredentialInvalid, match="does not belong"):
        assertion_key(document, f"did:web:other#{key_fragment(first)}")
    with pytest.raises(CredentialInvalid, match="assertions"):
        assertion_key(document, f"{did}#key-unknown")
    assert (tmp_path / "keys" / f"{ACCOUNT}.json").stat().st_mode & 0o777 == 0o600


def test_invalid_did_documents_are_refused() -> None:
    with pytest.raises(CredentialInvalid):
        validate_did_document({"id": "not a did"})
    with pytest.raises(CredentialInvalid):
        validate_did_document({"id": "did:web:x", "verificationMethod": [{"id": "did:web:x#k"}]})


# No deadline: each example gzips a 16 KiB list or signs a JWS, slow on a loaded shared machine.
@settings(deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=LIST_BITS - 1), max_size=40), st.integers(0, LIST_BITS - 1))
def test_status_list_round_trip(set_bits: set[int], probe: int) -> None:
    encoded = encode_list(set_bits)
    assert encoded.startswith("u")
    assert bit_at(encoded, probe) == (probe in set_bits)


def test_status_list_bit_order_is_most_significant_first() -> None:
    body = encode_list({0, 9})[1:]
    raw = gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert len(raw) == LIST_BITS // 8
    assert raw[:2] == bytes([0b1000_0000, 0b0100_0000])


@pytest.mark.parametrize("encoded", ["zabc", "u!!!", "u" + base64.urlsafe_b64encode(b"not gzip").decode()])
def test_unreadable_status_lists_are_refused(encoded: str) -> None:
    with pytest.raises(CredentialInvalid):
        bit_at(encoded, 0)


def test_status_index_allocates_once_per_passport(tmp_path: Path, database_url: str | None) -> None:
    index = StatusIndex.from_settings(Settings(data_dir=tmp_path, database_url=database_url))
    assert index.index_for(ACCOUNT, "a") == 0
    assert index.index_for(ACCOUNT, "b") == 1
    assert index.index_for(ACCOUNT.upper().replace("0X", "0x"), "a") == 0
    assert index.index_for("0x" + "cd" * 20, "a") == 0
    assert index.revoke(ACCOUNT, "b") == 1
    assert index.revoke(ACCOUNT, "c") == 2
    assert index.entries(ACCOUNT) == [("a", 0, False), ("b", 1, True), ("c", 2, True)]
    index.close()


def test_concurrent_allocations_never_share_an_index(tmp_path: Path, database_url: str | None) -> None:
    """Several API processes export credentials at once: each passport one index, each index one passport."""
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    indexes = [StatusIndex.from_settings(settings) for _ in range(4)]
    barrier = threading.Barrier(len(indexes))
    got: dict[str, set[int]] = {}
    lock = threading.Lock()

    def allocate(index: StatusIndex, worker: int) -> None:
        barrier.wait()
        for n in range(10):
            pid = f"p{(n * 3 + worker) % 12}"  # workers overlap on the same passports
            found = index.index_for(ACCOUNT, pid)
            with lock:
                got.setdefault(pid, set()).add(found)

    threads = [threading.Thread(target=allocate, args=(ix, w)) for w, ix in enumerate(indexes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    entries = indexes[0].entries(ACCOUNT)
    for index in indexes:
        index.close()
    assert all(len(values) == 1 for values in got.values()), got
    assert sorted(idx for _, idx, _ in entries) == list(range(len(entries)))
    assert {pid: {idx} for pid, idx, _ in entries} == got


def test_vendored_vc_context_defines_the_terms_we_use() -> None:
    context = vc_v2_context()["@context"]
    for term in ("VerifiableCredential", "BitstringStatusListCredential", "BitstringStatusListEntry",
                 "validFrom", "credentialStatus", "relatedResource", "digestSRI", "issuer"):  # fmt: skip
        assert term in context or term in str(context), term
    assert document_loader("https://www.w3.org/ns/credentials/v2")["document"]["@context"] is context
    with pytest.raises(LookupError):
        document_loader("https://example.org/other")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-06-30", datetime(2025, 6, 30, 23, 59, 59, 999999, tzinfo=UTC)),
        ("2025-06-30T12:00:00Z", datetime(2025, 6, 30, 12, tzinfo=UTC)),
        ("2025-06-30T12:00:00+02:00", datetime(2025, 6, 30, 10, tzinfo=UTC)),
        ("2025-06-30T12:00:00", datetime(2025, 6, 30, 12, tzinfo=UTC)),
    ],
)
def test_parse_moment(text: str, expected: datetime) -> None:
    assert parse_moment(text) == expected


@pytest.mark.parametrize("text", ["yesterday", "2025-13-01", "", "30/06/2025"])
def test_parse_moment_refuses_junk(text: str) -> None:
    with pytest.raises(InvalidIdentifier):
        parse_moment(text)


def _event(name: str, timestamp: int, **args: object) -> AuditEvent:
    return AuditEvent(
        block_number=timestamp, log_index=0, block_hash="0x" + "00" * 32, block_timestamp=timestamp,
        tx_hash="0x" + "00" * 32, address="0x" + "00" * 20, name=name, args=dict(args),
    )  # fmt: skip


def test_version_at_picks_the_last_version_anchored_by_then() -> None:
    history = [_event("PassportIssued", 100), _event("PassportUpdated", 200, version=2),
               _event("PassportStatusChanged", 300, version=3)]  # fmt: skip
    at = datetime.fromtimestamp
    assert version_at(history, at(99, UTC)) is None
    assert version_at(history, at(100, UTC)) == VersionInForce(1, 100)
    assert version_at(history, at(299, UTC)) == VersionInForce(2, 200)
    assert version_at(history, None) == VersionInForce(3, 300)


# -- verification never fails with anything but CredentialInvalid -------------------------------------

_DID = participant_did("https://passports.example", ACCOUNT)
_KEY = ECKey.generate_key("P-256", private=True)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)


class _Documents:
    """Serves one DID document; any status list is junk (a port stand-in: HTTP is tested in tests/api)."""

    def did_document(self, did: str) -> dict[str, Any]:
        return did_document(_DID, account=ACCOUNT, chain_id=1, keys=[_KEY])

    def status_list(self, url: str) -> str:
        return "not a jws"


@settings(deadline=None)
@given(
    st.fixed_dictionaries(
        {"@context": st.just([VC_CONTEXT]), "type": st.just(["VerifiableCredential"]),
         "issuer": st.just(_DID) | _JSON},
        optional={"credentialSubject": _JSON, "credentialStatus": _JSON, "validFrom": _JSON,
                  "validUntil": _JSON},
    )
)  # fmt: skip
def test_verification_of_arbitrary_credentials_reports_or_refuses(credential: dict[str, Any]) -> None:
    token = sign(credential, _KEY, _DID)
    try:
        report = verify_credential(token, _Documents())
    except CredentialInvalid:
        return
    assert report.checks[0].name == "credential.proof"


@settings(deadline=None)
@given(st.text(max_size=200))
def test_junk_tokens_are_refused(token: str) -> None:
    with pytest.raises(CredentialInvalid):
        verify_credential(token, _Documents())
