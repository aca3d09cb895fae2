"""Compile ``contracts/`` with solc 0.8.28: a native ``solc`` of that version if one is on PATH, else
solc-js through ``devtools/solc_adapter.js``. The compiler settings live here and nowhere else.

Sources are read and their imports resolved here (project root, then ``node_modules``), and every file
goes into the standard JSON with its content, so the native compiler and solc-js see the same input and
produce the same output. ``solcx`` is a dev dependency and is imported only when compiling.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from devtools.errors import CompilerError, ToolchainError
from devtools.localnodes import find_node_modules

log = logging.getLogger(__name__)

SOLC_VERSION = "0.8.28"
# ganache 7.9 runs at most shanghai; later forks add opcodes (MCOPY, TSTORE) it rejects.
EVM_VERSION = "shanghai"
# Tuned for runtime cost: anchors are sent every batch, the registry is deployed once.
OPTIMIZER_RUNS = 10000
# Contracts whose artifacts ship with the package (the ones anything deploys or talks to).
ARTIFACT_CONTRACTS: tuple[str, ...] = ("BatteryPassportRegistry", "RecycledMaterialLedger", "BatteryServices")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONTRACTS_DIR = PROJECT_ROOT / "contracts"
ADAPTER = Path(__file__).resolve().parent / "solc_adapter.js"

_IMPORT = re.compile(r"""^\s*import\s+(?:[^"';]*?\bfrom\s+)?["']([^"']+)["']""", re.MULTILINE)


def compiler_settings() -> dict[str, Any]:
    """The standard-JSON ``settings`` every build uses."""
    return {
        "evmVersion": EVM_VERSION,
        "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
        # No metadata hash in the bytecode: the committed metadata already pins the sources by keccak,
        # and bytecode then changes only when code does, not when a comment does.
        "metadata": {"bytecodeHash": "none"},
        "outputSelection": {
            "*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "metadata"]}
        },
    }


def _resolve(unit: str, imported: str) -> str:
    """The source unit name an import refers to (relative imports resolve against the importer)."""
    if imported.startswith(("./", "../")):
        parts: list[str] = []
        for part in (PurePosixPath(unit).parent / imported).parts:
            if part == "..":
                if not parts:
                    raise CompilerError(f"import {imported!r} in {unit} escapes the source tree")
                parts.pop()
            elif part != ".":
                parts.append(part)
        return "/".join(parts)
    return imported


def _read_unit(unit: str, roots: tuple[Path, ...]) -> str:
    for root in roots:
        if (path := root / unit).is_file():
            return path.read_text(encoding="utf-8")
    raise CompilerError(f"cannot find Solidity source {unit!r} in the project or node_modules")


def collect_sources(contracts_dir: Path = CONTRACTS_DIR) -> dict[str, str]:
    """Every source unit (the project's contracts and what they import), by source unit name."""
    roots: tuple[Path, ...] = (contracts_dir.parent,)
    try:
        roots += (find_node_modules(PROJECT_ROOT),)
    except ToolchainError:
        log.warning("node_modules not found: only the project's own sources can be resolved")
    pending = [p.relative_to(contracts_dir.parent).as_posix() for p in sorted(contracts_dir.rglob("*.sol"))]
    sources: dict[str, str] = {}
    while pending:
        unit = pending.pop()
        if unit in sources:
            continue
        sources[unit] = _read_unit(unit, roots)
        pending.extend(_resolve(unit, imported) for imported in _IMPORT.findall(sources[unit]))
    return dict(sorted(sources.items()))


def standard_input(sources: dict[str, str]) -> dict[str, Any]:
    return {
        "language": "Solidity",
        "sources": {unit: {"content": text} for unit, text in sources.items()},
        "settings": compiler_settings(),
    }


def _native_solc() -> str | None:
    """A ``solc`` on PATH that is exactly the pinned version, if any."""
    solc = shutil.which("solc")
    if solc is None:
        return None
    try:
        out = subprocess.run(
            [solc, "--version"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return solc if f"Version: {SOLC_VERSION}+" in out else None


def solc_binary() -> str:
    """The compiler executable: a native solc of the pinned version, else the solc-js adapter."""
    if native := _native_solc():
        return native
    if shutil.which("node") is None:
        raise CompilerError(f"no solc {SOLC_VERSION} on PATH and no `node` to run solc-js")
    return str(ADAPTER)


@dataclass(frozen=True, slots=True)
class CompiledContract:
    """One contract's build output, as committed under ``passport/_artifacts``."""

    name: str
    source: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    metadata: str

    def as_artifact(self) -> dict[str, Any]:
        return {
            "contractName": self.name,
            "sourceName": self.source,
            "compiler": {"version": SOLC_VERSION, "settings": compiler_settings()},
            "abi": self.abi,
            "bytecode": "0x" + self.bytecode,
            "deployedBytecode": "0x" + self.deployed_bytecode,
            "metadata": self.metadata,
        }


def _compile_standard(input_json: dict[str, Any]) -> dict[str, Any]:
    """Run the compiler on a standard-JSON input; raises ``CompilerError`` on any failure."""
    try:
        import solcx
        from solcx.exceptions import SolcError
    except ImportError as exc:
        raise CompilerError("py-solc-x is not installed (it is a dev dependency)") from exc
    binary = solc_binary()
    log.info("compiling %d source units with %s", len(input_json["sources"]), binary)
    try:
        output: dict[str, Any] = solcx.compile_standard(input_json, solc_binary=binary)
    except SolcError as exc:
        raise CompilerError(f"solc failed:\n{exc.stderr_data or exc.message}") from None
    except (OSError, ValueError) as exc:
        raise CompilerError(f"cannot run the Solidity compiler {binary}: {exc}") from exc
    return output


# What analysers (slither via crytic-compile) need beyond the artifacts: every source's AST and the
# source maps that tie bytecode back to lines.
_ANALYSIS_OUTPUT = {
    "": ["ast"],
    "*": [
        "abi",
        "evm.bytecode.object",
        "evm.bytecode.sourceMap",
        "evm.deployedBytecode.object",
        "evm.deployedBytecode.sourceMap",
        "evm.methodIdentifiers",
        "metadata",
    ],
}


def write_build_info(artifacts_dir: Path, contracts_dir: Path = CONTRACTS_DIR) -> Path:
    """Compile ``contracts_dir`` and write a Hardhat-format build-info under ``artifacts_dir/build-info``.

    The input is the one ``compile_contracts`` uses (same sources, compiler and settings) with the
    output widened to ASTs and source maps. crytic-compile (and so slither) reads this file with
    ``--compile-force-framework hardhat --hardhat-ignore-compile``, so analysis runs on exactly what
    the project's own compiler produced, without Hardhat installed. Returns the file written.
    """
    input_json = standard_input(collect_sources(contracts_dir))
    input_json["settings"]["outputSelection"] = {"*": _ANALYSIS_OUTPUT}
    output = _compile_standard(input_json)
    build_dir = artifacts_dir / "build-info"
    build_dir.mkdir(parents=True, exist_ok=True)
    for stale in build_dir.glob("*.json"):
        stale.unlink()  # crytic-compile reads every file there: only this build may be analysed
    # Hardhat names build-infos by a digest of their input; any stable id will do for readers.
    build_id = hashlib.sha256(json.dumps(input_json, sort_keys=True).encode()).hexdigest()[:32]
    path = build_dir / f"{build_id}.json"
    long_version = solc_long_version()
    build_info = {
        "_format": "hh-sol-build-info-1",
        "id": build_id,
        "solcVersion": SOLC_VERSION,
        "solcLongVersion": long_version,
        "input": input_json,
        "output": output,
    }
    path.write_text(json.dumps(build_info), encoding="utf-8")
    return path


def solc_long_version() -> str:
    """``0.8.28+commit.7893614a``: the pinned compiler's full version, as solc reports it."""
    binary = solc_binary()
    try:
        out = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise CompilerError(f"cannot run the Solidity compiler {binary}: {exc}") from exc
    match = re.search(r"Version: (\S+?)(?:\.Emscripten|\.Linux|\s|$)", out)
    if match is None:
        raise CompilerError(f"cannot read the version of {binary}: {out!r}")
    return match[1]


def compile_contracts(contracts_dir: Path = CONTRACTS_DIR) -> dict[str, CompiledContract]:
    """Compile every contract under ``contracts_dir``; raises ``CompilerError`` on any failure."""
    output = _compile_standard(standard_input(collect_sources(contracts_dir)))
    compiled: dict[str, CompiledContract] = {}
    for source, contracts in output.get("contracts", {}).items():
        if not source.startswith(contracts_dir.name + "/"):
            continue
        for name, out in contracts.items():
            compiled[name] = CompiledContract(
                name=name,
                source=source,
                abi=out["abi"],
                bytecode=out["evm"]["bytecode"]["object"],
                deployed_bytecode=out["evm"]["deployedBytecode"]["object"],
                metadata=out["metadata"],
            )
    return compiled
