"""Audit queries over a scripted ledger history: filters, keyset pagination, timelines and exports."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from passport.audit import (
    CSV_COLUMNS,
    AuditEvent,
    AuditIndex,
    EventQuery,
    IndexFollower,
    SqliteAuditIndex,
    to_csv,
    to_json_array,
    to_json_lines,
)
from passport.audit.records import Order, decode_page_token, encode_page_token, normalize_address
from passport.db import Database, open_url
from passport.errors import InvalidIdentifier, InvalidPageToken
from tests.conftest import fresh_database
from tests.passport.audit.audit_scripted_chain import GENESIS_TIME, ScriptedChain

ALICE = "0xA1A1a1a1A1A1A1A1A1a1a1a1a1a1A1A1a1A1a1a1"  # EIP-55 checksummed, as the chain reports it
BOB = "0x" + "b0" * 20
CAROL = "0x" + "c0" * 20
DAVE = "0x" + "d0" * 20
P1, P2, P3 = (uuid.UUID(int=n) for n in (1, 2, 3))
B1, B2 = b"\xb1" * 32, b"\xb2" * 32
R1 = b"\x77" * 32


def pid(p: uuid.UUID) -> bytes:
    return b"\0" * 16 + p.bytes


def hx(value: bytes) -> str:
    return "0x" + value.hex()


HISTORY: list[list[tuple[str, dict[str, Any]]]] = [
    [  # block 1
        ("PassportIssued", {"passportId": pid(P1), "batteryIdHash": B1, "issuer": ALICE, "status": 0}),
        ("PassportIssued", {"passportId": pid(P2), "batteryIdHash": B2, "issuer": ALICE, "status": 0}),
    ],
    [("CustodyOffered", {"passportId": pid(P1), "from": ALICE, "to": BOB, "expiresAt": 10**10})],  # 2
    [("CustodyTransferred", {"passportId": pid(P1), "from": ALICE, "to": BOB})],  # 3
    [  # block 4
        ("PassportUpdated", {"passportId": pid(P1), "version": 2, "manifestDigest": b"\x44" * 32}),
        ("BatchAnchored", {"root": R1, "oracle": CAROL, "recordCount": 3, "kind": 0}),
    ],
    [  # block 5
        ("CustodyOffered", {"passportId": pid(P2), "from": ALICE, "to": CAROL, "expiresAt": 10**10}),
        ("CustodyOfferCancelled", {"passportId": pid(P2), "by": ALICE}),
    ],
    [  # block 6: repurposing; the successor is a new passport for the same battery
        ("PassportSuperseded", {"predecessorId": pid(P1), "successorId": pid(P3)}),
        (
            "PassportIssued",
            {"passportId": pid(P3), "batteryIdHash": B1, "issuer": BOB, "predecessor": pid(P1)},
        ),
    ],
    [("RoleGranted", {"role": b"\x99" * 32, "account": DAVE, "sender": ALICE})],  # 7
    [("PassportStatusChanged", {"passportId": pid(P3), "status": 4, "version": 2})],  # 8
]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def index(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SqliteAuditIndex]:
    """The same history indexed on each backend: every query below runs on SQLite and PostgreSQL."""
    chain = ScriptedChain()
    for events in HISTORY:
        chain.mine(*events)
    with ExitStack() as stack:
        if request.param == "sqlite":
            store: Path | Database = tmp_path_factory.mktemp("q") / "audit.sqlite"
        else:
            url = stack.enter_context(fresh_database(request.getfixturevalue("postgres_server")))
            store = open_url(url, "audit")
        with SqliteAuditIndex(store) as built:
            IndexFollower(built).sync(chain)
            yield built


def keys(events: tuple[AuditEvent, ...] | list[AuditEvent]) -> list[tuple[int, int]]:
    return [e.key for e in events]


ALL = [(1, 0), (1, 1), (2, 0), (3, 0), (4, 0), (4, 1), (5, 0), (5, 1), (6, 0), (6, 1), (7, 0), (8, 0)]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        pytest.param({}, ALL, id="everything"),
        pytest.param(
            {"passport_id": P1}, [(1, 0), (2, 0), (3, 0), (4, 0), (6, 0), (6, 1)], id="passport-uuid"
        ),
        pytest.param({"passport_id": f"urn:uuid:{P2}"}, [(1, 1), (5, 0), (5, 1)], id="passport-urn"),
        pytest.param({"passport_id": hx(pid(P3))}, [(6, 0), (6, 1), (8, 0)], id="passport-bytes32-hex"),
        # Battery B1: P1's whole life (custody and updates name only the passport) and its successor P3.
        pytest.param(
            {"battery_id_hash": B1},
            [(1, 0), (2, 0), (3, 0), (4, 0), (6, 0), (6, 1), (8, 0)],
            id="battery-follows-its-passports",
        ),
        pytest.param(
            {"battery_id_hash": hx(B2).upper().replace("0X", "0x")},
            [(1, 1), (5, 0), (5, 1)],
            id="battery-hex-any-case",
        ),
        pytest.param({"actor": BOB}, [(2, 0), (3, 0), (6, 1)], id="actor"),
        pytest.param(
            {"actor": ALICE.lower()},
            [(1, 0), (1, 1), (2, 0), (3, 0), (5, 0), (5, 1), (7, 0)],
            id="actor-lowercase",
        ),
        pytest.param({"actor": DAVE}, [(7, 0)], id="actor-role-grant"),
        pytest.param({"root": R1}, [(4, 1)], id="root"),
        pytest.param({"names": ("PassportIssued",)}, [(1, 0), (1, 1), (6, 1)], id="one-kind"),
        pytest.param(
            {"names": ("CustodyOffered", "CustodyOfferCancelled")}, [(2, 0), (5, 0), (5, 1)], id="two-kinds"
        ),
        pytest.param({"from_block": 4, "to_block": 5}, [(4, 0), (4, 1), (5, 0), (5, 1)], id="block-range"),
        pytest.param({"from_block": 8}, [(8, 0)], id="from-block"),
        pytest.param({"to_block": 1}, [(1, 0), (1, 1)], id="to-block"),
        pytest.param(
            {"from_time": GENESIS_TIME + 12 * 3, "to_time": GENESIS_TIME + 12 * 4},
            [(3, 0), (4, 0), (4, 1)],
            id="time-range",
        ),
        pytest.param({"from_time": GENESIS_TIME + 12 * 8 + 1}, [], id="time-after-everything"),
        pytest.param({"passport_id": P1, "actor": BOB}, [(2, 0), (3, 0), (6, 1)], id="passport-and-actor"),
        pytest.param(
            {"battery_id_hash": B1, "names": ("PassportIssued",), "from_block": 2},
            [(6, 1)],
            id="battery-kind-range",
        ),
        pytest.param({"passport_id": P2, "actor": BOB}, [], id="no-overlap"),
        pytest.param({"actor": "0x" + "ee" * 20}, [], id="unknown-actor"),
    ],
)
def test_filters(index: SqliteAuditIndex, filters: dict[str, Any], expected: list[tuple[int, int]]) -> None:
    assert keys(index.query(EventQuery(**filters)).items) == expected
    descending = index.query(EventQuery(**filters, order="desc")).items
    assert keys(descending) == expected[::-1]


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 11, 12, 13, 1000])
@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize(
    "filters", [{}, {"battery_id_hash": B1}, {"names": ("CustodyOffered", "PassportIssued")}]
)
def test_keyset_pages_cover_everything_once(
    index: SqliteAuditIndex, limit: int, order: str, filters: dict[str, Any]
) -> None:
    expected = keys(index.query(EventQuery(**filters, limit=1000)).items)
    if order == "desc":
        expected.reverse()
    seen: list[tuple[int, int]] = []
    query = EventQuery(**filters, limit=limit, order=order)
    pages = 0
    while True:
        page = index.query(query)
        pages += 1
        assert len(page.items) <= limit
        seen += keys(page.items)
        if page.next_token is None:
            break
        query = query.model_copy(update={"after": page.next_token})
    assert seen == expected
    assert pages == max(1, -(-len(expected) // limit))
    assert keys(list(index.iter_events(EventQuery(**filters, limit=limit, order=order)))) == expected


def test_a_page_token_means_after_this_position(index: SqliteAuditIndex) -> None:
    token = encode_page_token((5, 0))
    assert token == "5.0"
    assert keys(index.query(EventQuery(after=token, limit=2)).items) == [(5, 1), (6, 0)]
    assert keys(index.query(EventQuery(after=token, order="desc", limit=2)).items) == [(4, 1), (4, 0)]


@pytest.mark.parametrize(
    ("token", "order"),
    [
        ("not-a-token!", "asc"),
        ("", "asc"),
        ("x.y", "asc"),
        ("-1.0", "desc"),
        ("1.0\n", "asc"),
        ("1" * 19 + ".0", "asc"),  # past what SQLite can store
        ("YXNjOjE6MA", "asc"),  # the old base64 form
    ],
)
def test_bad_page_tokens_are_refused(token: str, order: Order) -> None:
    with pytest.raises(InvalidPageToken):
        decode_page_token(token)
    # Building a query validates its token up front (pydantic reports it as a validation error).
    with pytest.raises(ValidationError, match="page token"):
        EventQuery(after=token, order=order)


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"passport_id": "not-a-uuid"}, "invalid passport id"),
        ({"battery_id_hash": "0x1234"}, "expected 32 bytes"),
        ({"root": "zz" * 32}, "expected 32 bytes"),
        ({"actor": "0x1234"}, "invalid address"),
        ({"actor": "0xA1a1a1A1a1A1a1a1A1A1a1a1A1a1a1A1a1a1A1a1"}, "checksum"),
        ({"limit": 0}, "greater than or equal to 1"),
        ({"limit": 1001}, "less than or equal to 1000"),
        ({"from_block": 5, "to_block": 4}, "from_block is after to_block"),
        ({"from_time": 5, "to_time": 4}, "from_time is after to_time"),
        ({"from_block": -1}, "greater than or equal to 0"),
        ({"order": "sideways"}, "order"),
        ({"names": ("NoSuchEvent",)}, "unknown event names"),
        ({"from_block": 2**63}, "less than or equal to 9223372036854775807"),
        ({"to_time": 2**63}, "less than or equal to 9223372036854775807"),
        ({"actor": "f" * 40}, "invalid address"),
    ],
)
def test_invalid_queries_are_refused(filters: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        EventQuery(**filters)


def test_identifier_errors_are_ours() -> None:
    with pytest.raises(InvalidIdentifier):
        normalize_address("0xA1a1a1A1a1A1a1a1A1A1a1a1A1a1a1A1a1a1A1a1")
    assert normalize_address(ALICE) == ALICE.lower() == normalize_address(ALICE.upper().replace("0X", "0x"))


def test_events_carry_json_ready_arguments(index: SqliteAuditIndex) -> None:
    (event,) = index.query(EventQuery(names=("BatchAnchored",))).items
    assert event.root == hx(R1)
    assert event.passport_id is None
    assert event.battery_id_hash is None
    assert event.args == {"root": hx(R1), "oracle": CAROL, "recordCount": 3, "kind": 0}
    assert event.block_timestamp == GENESIS_TIME + 12 * 4
    superseded = index.query(EventQuery(names=("PassportSuperseded",))).items[0]
    # The primary passport of a supersession is the first one it names; both are findable.
    assert superseded.passport_id == hx(pid(P1))
    assert superseded.key in keys(index.query(EventQuery(passport_id=P3)).items)


def test_custody_timeline(index: SqliteAuditIndex) -> None:
    assert [e.name for e in index.custody_timeline(hx(pid(P1)))] == ["CustodyOffered", "CustodyTransferred"]
    assert [e.name for e in index.custody_timeline(pid(P2))] == ["CustodyOffered", "CustodyOfferCancelled"]
    assert index.custody_timeline(pid(P3)) == []


def test_version_history(index: SqliteAuditIndex) -> None:
    assert [(e.block_number, e.name) for e in index.version_history(pid(P1))] == [
        (1, "PassportIssued"),
        (4, "PassportUpdated"),
        (6, "PassportSuperseded"),
        (6, "PassportIssued"),  # the successor names its predecessor
    ]
    assert [e.name for e in index.version_history(pid(P3))] == [
        "PassportSuperseded",
        "PassportIssued",
        "PassportStatusChanged",
    ]


def test_sqlite_index_is_an_audit_index(index: SqliteAuditIndex) -> None:
    assert isinstance(index, AuditIndex)


# -- exports ------------------------------------------------------------------------------------------


def test_csv_export_round_trips(index: SqliteAuditIndex) -> None:
    chunks = list(to_csv(index.iter_events(EventQuery(limit=5)), rows_per_chunk=4))
    assert len(chunks) == 4  # 12 rows in chunks of 4, then whatever remains (only the last flush)
    rows = list(csv.DictReader(io.StringIO("".join(chunks))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [(int(r["block_number"]), int(r["log_index"])) for r in rows] == ALL
    anchored = next(r for r in rows if r["name"] == "BatchAnchored")
    assert json.loads(anchored["args"])["root"] == hx(R1)
    assert anchored["passport_id"] == ""
    assert anchored["block_timestamp"] == str(GENESIS_TIME + 48)


def test_json_exports(index: SqliteAuditIndex) -> None:
    events = list(index.iter_events(EventQuery(passport_id=P2)))
    array = json.loads("".join(to_json_array(iter(events))))
    assert [AuditEvent.model_validate(item) for item in array] == events
    lines = "".join(to_json_lines(iter(events))).splitlines()
    assert [AuditEvent.model_validate_json(line) for line in lines] == events
    assert json.loads("".join(to_json_array(iter([])))) == []
    assert list(to_csv(iter([]))) == ["\r\n".join([",".join(CSV_COLUMNS), ""])]


def test_an_empty_index_answers_empty(tmp_path: Path) -> None:
    with SqliteAuditIndex(tmp_path / "empty.sqlite") as empty:
        assert empty.query(EventQuery()).items == ()
        assert empty.query(EventQuery()).next_token is None
        assert empty.cursor() is None
        assert empty.source() is None
        assert empty.custody_timeline(P1) == []
