"""The development tools' exceptions: one root (``DevToolsError``), one branch per tool.

``DevToolsError`` subclasses ``passport.errors.PassportError`` on purpose: the tools build, run and
seed the passport ledger, and the edges that drive them (the CLI, ``scripts/``) report every ledger
failure at one ``except PassportError``. Errors from subprocesses, solc and the nodes' JSON-RPC are
translated into these where they enter.
"""

from __future__ import annotations

from passport.errors import PassportError


class DevToolsError(PassportError):
    """Raised when a development tool fails; the root of every error in ``devtools``."""


# -- toolchain -----------------------------------------------------------------------------------


class ToolchainError(DevToolsError):
    """Raised when a build or local-node tool (solc, ganache, anvil, js-ipfs) is missing or fails."""


class CompilerError(ToolchainError):
    """Raised when the Solidity compiler is unavailable or reports errors."""


class NodeProcessError(ToolchainError):
    """Raised when a managed local node cannot be started, becomes unready, or cannot be stopped."""


class UnsafeBinding(DevToolsError, ValueError):
    """Raised when a managed local node is asked to listen on an address other than loopback."""


# -- samples -------------------------------------------------------------------------------------


class NoSamplePack(DevToolsError, ValueError):
    """Raised when a sample passport is asked for a chemistry that has no sample pack."""
