"""The scripts' exceptions: one root (``ScriptError``), one class per script that can fail on its own.

``ScriptError`` subclasses ``passport.errors.PassportError``, like ``devtools.errors.DevToolsError``:
each script's ``main`` reports ledger, tool and script failures at one ``except PassportError`` and
exits non-zero with the message.
"""

from __future__ import annotations

from passport.errors import PassportError


class ScriptError(PassportError):
    """Raised when a script cannot finish its job; the root of every error in ``scripts``."""


class StackError(ScriptError):
    """Raised when a service of the stack cannot start (a busy port, an API that failed its startup)."""


class PilotError(ScriptError):
    """Raised when the pilot cannot go on: a reading refused, an anchor stuck, a check failing."""


class BenchmarkError(ScriptError):
    """Raised when a benchmark run does not reach the state it measures (records left unconfirmed)."""
