"""CSV and JSON exports of indexed events, as generators of text chunks (for streaming responses).

Each function takes any iterable of events (``AuditIndex.iter_events`` reads the index page by page), so
an export of the whole ledger runs in constant memory and can be handed straight to an HTTP response.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator

from passport.audit.records import AuditEvent

CSV_COLUMNS: tuple[str, ...] = (
    "block_number",
    "log_index",
    "block_timestamp",
    "block_hash",
    "tx_hash",
    "address",
    "name",
    "passport_id",
    "battery_id_hash",
    "root",
    "args",
)


def _json_args(event: AuditEvent) -> str:
    return json.dumps(event.args, sort_keys=True, separators=(",", ":"))


def to_csv(events: Iterable[AuditEvent], *, rows_per_chunk: int = 500) -> Iterator[str]:
    """A header line, then the events as CSV (RFC 4180, ``args`` as a JSON cell), a chunk at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    pending = 0
    for event in events:
        writer.writerow(
            [
                event.block_number,
                event.log_index,
                "" if event.block_timestamp is None else event.block_timestamp,
                event.block_hash,
                event.tx_hash,
                event.address,
                event.name,
                event.passport_id or "",
                event.battery_id_hash or "",
                event.root or "",
                _json_args(event),
            ]
        )
        pending += 1
        if pending >= rows_per_chunk:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue()


def to_json_lines(events: Iterable[AuditEvent]) -> Iterator[str]:
    """One JSON object per line (``application/x-ndjson``): the easiest format to stream and to append."""
    for event in events:
        yield event.model_dump_json() + "\n"


def to_json_array(events: Iterable[AuditEvent]) -> Iterator[str]:
    """A single JSON array of event objects, produced element by element."""
    yield "["
    first = True
    for event in events:
        yield ("" if first else ",") + event.model_dump_json()
        first = False
    yield "]"
