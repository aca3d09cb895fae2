"""An audit index edited in its SQLite file: the custody route and the audit routes serve the edit (they
read the index), but the verification route and the passport page cross-check the passport's custody
timeline against the chain and fail ``index.custody``; ``rebuild_index`` (with the server stopped, as
``passport audit rebuild`` asks) brings the true history back. On the in-process chain and on anvil."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from passport.audit import INDEX_CUSTODY_CHECK, FollowerConfig, SqliteAuditIndex, check_index, rebuild_index
from tests.api.api_stack import PARTICIPANTS, ApiStack, build_services, serve
from tests.chain_backends import ChainBackend, running_backend


@contextmanager
def served(backend: ChainBackend, data_dir: Path) -> Iterator[ApiStack]:
    """The API over ``backend`` with its files in ``data_dir`` (reopened as they are, if they exist)."""
    services = build_services(backend, data_dir)
    try:
        with serve(services) as base_url:
            stack = ApiStack(backend, services, base_url)
            stack.keys.update({name: services.api_keys.issue_key(name) for name in PARTICIPANTS})
            yield stack
            stack.http.close()
    finally:
        services.close()


@pytest.fixture(scope="module", params=["eth-tester", pytest.param("anvil", marks=pytest.mark.node)])
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ChainBackend]:
    with running_backend(request.param, tmp_path_factory.mktemp(request.param)) as running:
        yield running


def verification(stack: ApiStack, pid: str) -> dict[str, Any]:
    response = stack.call("GET", f"/passports/{pid}/verification")
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


def index_check(report: dict[str, Any]) -> dict[str, Any]:
    [found] = [c for c in report["checks"] if c["name"] == INDEX_CUSTODY_CHECK]
    return found


def page_failures(stack: ApiStack, pid: str) -> tuple[bool, list[str]]:
    """Whether the page's verdict says verified, and the checks it names as failed."""
    response = stack.http.get(f"/p/{pid}")
    assert response.status_code == 200, response.text
    match = re.search(r'<section class="verdict[^"]*".*?</section>', response.text, flags=re.S)
    assert match is not None
    verdict = match.group(0)
    return 'data-verified="true"' in verdict, re.findall(r'data-testid="failed-check">([^<]+)<', verdict)


def custody_to(stack: ApiStack, path: str, who: str | None = None, **params: Any) -> list[str]:
    response = stack.call("GET", path, who, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    events = body["events"] if "events" in body else body["items"]
    return [e["args"]["to"] for e in events if e["name"] == "CustodyTransferred"]


def settle(stack: ApiStack) -> Path:
    """Catch the index up with the chain and stop its follower thread, so an edit made now is not raced
    by a sync that was still on its way; the index file's path."""
    stack.services.sync_index()
    stack.services.stop()
    index_file = stack.services.audit.path
    assert index_file is not None
    return index_file


def forge_custodian(index_file: Path, pid: str, to: str) -> None:
    """Rewrite the ``to`` of the passport's CustodyTransferred row directly in the index file."""
    db = sqlite3.connect(index_file)
    try:
        with db:
            [(block, log_index, args)] = db.execute(
                "SELECT e.block_number, e.log_index, e.args FROM events e JOIN event_refs r "
                "ON r.block_number = e.block_number AND r.log_index = e.log_index "
                "WHERE r.kind = 'passport' AND r.value = ? AND e.name = 'CustodyTransferred'",
                ("0x" + "00" * 16 + pid.replace("-", ""),),
            )
            forged = json.dumps(json.loads(args) | {"to": to}, sort_keys=True, separators=(",", ":"))
            db.execute(
                "UPDATE events SET args = ? WHERE block_number = ? AND log_index = ?",
                (forged, block, log_index),
            )
    finally:
        db.close()


def test_an_edited_custody_row_fails_the_page_and_verification_until_rebuilt(
    backend: ChainBackend, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    with served(backend, data_dir) as stack:
        pid = str(stack.issue().passport_id)
        stack.transfer(pid, "issuer", "business")
        business, stranger = stack.address("business"), stack.address("issuer2")
        report = verification(stack, pid)
        assert report["ok"] is True, report["checks"]
        assert index_check(report)["status"] == "pass"
        assert page_failures(stack, pid) == (True, [])

        index_file = settle(stack)
        forge_custodian(index_file, pid, stranger)

        # What the index serves is the forgery...
        assert custody_to(stack, f"/passports/{pid}/custody") == [stranger]
        assert custody_to(stack, "/audit/events", "auditor", passport_id=pid) == [stranger]
        # ...and the checks that show it to a buyer now say so, by name.
        report = verification(stack, pid)
        assert report["ok"] is False
        assert [c["name"] for c in report["checks"] if c["status"] == "fail"] == [INDEX_CUSTODY_CHECK]
        assert "CustodyTransferred at block" in index_check(report)["reason"]
        assert "was altered (args)" in index_check(report)["reason"]
        assert page_failures(stack, pid) == (False, [INDEX_CUSTODY_CHECK])

    # `passport audit rebuild`, with the server stopped: the rebuilt index matches the chain again.
    start = FollowerConfig(start_block=backend.deploy_block)
    reader = backend.client(b"\x01" * 32)
    with SqliteAuditIndex(index_file) as tampered:
        assert not check_index(tampered, reader, start_block=backend.deploy_block).ok
    rebuilt = rebuild_index(reader, index_file, start)
    assert rebuilt.backup is not None
    with SqliteAuditIndex(index_file) as index:
        assert check_index(index, reader, start_block=backend.deploy_block).ok

    with served(backend, data_dir) as stack:
        assert custody_to(stack, f"/passports/{pid}/custody") == [business]
        assert custody_to(stack, "/audit/events", "auditor", passport_id=pid) == [business]
        report = verification(stack, pid)
        assert report["ok"] is True, report["checks"]
        assert index_check(report)["status"] == "pass"
        assert page_failures(stack, pid) == (True, [])


def test_a_deleted_custody_event_fails_the_page_by_name(backend: ChainBackend, tmp_path: Path) -> None:
    with served(backend, tmp_path / "data") as stack:
        pid = str(stack.issue().passport_id)
        stack.transfer(pid, "issuer", "business")
        index_file = settle(stack)
        db = sqlite3.connect(index_file)
        with db:
            db.execute("DELETE FROM events WHERE name = 'CustodyOffered'")
        db.close()
        assert [e["name"] for e in stack.call("GET", f"/passports/{pid}/custody").json()["events"]] == [
            "CustodyTransferred"
        ]
        report = verification(stack, pid)
        assert "CustodyOffered at block" in index_check(report)["reason"]
        assert "missing from the index" in index_check(report)["reason"]
        assert page_failures(stack, pid) == (False, [INDEX_CUSTODY_CHECK])
