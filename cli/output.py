"""Exit codes, output and error reporting shared by every ``passport`` command.

Exit codes are uniform: 0 success; 1 the thing checked is not valid (a failed check, a rejected upload)
or the ledger, store, keystore or journal failed (a revert is named by its custom error); 2 the input
could not be read or the options or settings are wrong (Typer's own usage errors also exit 2). Messages
go to stderr as ``error: …``; results go to stdout, as ``key value`` lines or tables, or as one JSON
document with ``--json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Final, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from oracle.errors import OracleError
from passport.chain.records import TxReceipt
from passport.errors import PassportError, VerificationError

EXIT_OK: Final = 0
EXIT_INVALID: Final = 1
EXIT_UNREADABLE: Final = 2

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def die(message: str, code: int = EXIT_UNREADABLE) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code`` (default: unreadable input)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def exit_code(exc: PassportError | OracleError) -> int:
    """Input the caller must fix exits 2, every other failure 1.

    Our exceptions subclass ``ValueError`` exactly when the input was malformed (settings, ids, documents,
    uploads); ``VerificationError`` means a bundle could not even be read (failed checks are reported,
    not raised). Reverts, unreachable nodes or stores, missing records and tampered content are failures
    of the thing acted on.
    """
    return EXIT_UNREADABLE if isinstance(exc, ValueError | VerificationError) else EXIT_INVALID


def fail(exc: PassportError | OracleError, context: str | None = None) -> NoReturn:
    """Report a project error on stderr and exit with its code.

    A failure is named by its class (``PassportNotFound``, ``RecordNotFound``; a revert's message names
    the custom error); malformed input is described by its message alone, which says what was wrong.
    """
    code = exit_code(exc)
    message = str(exc) if code == EXIT_UNREADABLE else f"{type(exc).__name__}: {exc}"
    die(message if context is None else f"{context}: {message}", code)


@contextmanager
def reported(context: str | None = None) -> Iterator[None]:
    """Turn a ``PassportError`` or ``OracleError`` raised inside the block into message + exit code."""
    try:
        yield
    except (PassportError, OracleError) as exc:
        fail(exc, context)


def plain(value: object) -> object:
    """A JSON-ready copy of chain values: bytes as 0x-hex, containers recursively."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def echo_json(value: object) -> None:
    """One indented JSON document on stdout."""
    typer.echo(json.dumps(plain(value), indent=2, default=str))


def emit(result: dict[str, Any], json_output: bool) -> None:
    """``result`` as JSON, or as ``key value`` lines (nested values as compact JSON)."""
    if json_output:
        echo_json(result)
        return
    for key, value in result.items():
        shown = json.dumps(plain(value), default=str) if isinstance(value, dict | list) else plain(value)
        typer.echo(f"{key:<16} {shown}")


def receipt_fields(receipt: TxReceipt) -> dict[str, Any]:
    """What a write's output says about its transaction: hash, block and the events it emitted."""
    return {
        "tx_hash": receipt.tx_hash,
        "block_number": receipt.block_number,
        "events": [{"name": event.name, "args": event.args} for event in receipt.events],
    }


_SHORT_COLUMNS = frozenset({"block", "log", "event", "version", "status", "check", "result"})


def table(*columns: str, title: str | None = None) -> Table:
    """A table whose cells fold rather than truncate: ids and hashes are useless cut short."""
    made = Table(title=title, title_justify="left")
    for column in columns:
        made.add_column(column, overflow="fold", no_wrap=column in _SHORT_COLUMNS)
    return made


def console(*, stderr: bool = False) -> Console:
    """Rich output without guessing highlights into ids and numbers."""
    return Console(highlight=False, stderr=stderr)
