"""Reading a passport as it stood on a date (EN 18222 lists reads by product identifier and by date).

The ledger timestamps every version: the block that anchored it. The version in force at a moment is
the last one anchored at or before it, read from the audit index's version history (one event per
version, oldest first: ``PassportIssued`` is version 1, the later events carry their version).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from passport.audit import AuditEvent
from passport.errors import InvalidIdentifier


@dataclass(frozen=True, slots=True)
class VersionInForce:
    """A version and when it took effect (its anchoring block's time, Unix seconds)."""

    version: int
    since: int


def parse_moment(value: str) -> datetime:
    """An RFC 3339 time (naive means UTC) or a date, meaning the end of that day (UTC)."""
    text = value.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time.max, tzinfo=UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidIdentifier(f"{value!r} is not a date (YYYY-MM-DD) or an RFC 3339 time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def version_at(history: Sequence[AuditEvent], moment: datetime | None) -> VersionInForce | None:
    """The version in force at ``moment`` (None: the latest), or None before the passport existed.

    "Now" is the ledger's latest version, not the wall clock's: a chain's block times may run ahead.
    """
    limit = None if moment is None else moment.timestamp()
    found: VersionInForce | None = None
    for number, event in enumerate(history, start=1):
        if event.block_timestamp is None or (limit is not None and event.block_timestamp > limit):
            break
        version = event.args.get("version", number)
        found = VersionInForce(int(version) if isinstance(version, int) else number, event.block_timestamp)
    return found
