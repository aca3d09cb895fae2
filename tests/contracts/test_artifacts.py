"""The committed artifacts are what the sources compile to, and the compiler wrapper reports failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devtools.compiler import (
    ARTIFACT_CONTRACTS,
    EVM_VERSION,
    SOLC_VERSION,
    collect_sources,
    compile_contracts,
)
from devtools.errors import CompilerError
from passport.chain.artifacts import ARTIFACTS_DIR, artifact_text, load_artifact


@pytest.mark.node
@pytest.mark.slow
def test_committed_artifacts_match_a_fresh_build() -> None:
    compiled = compile_contracts()
    for name in ARTIFACT_CONTRACTS:
        committed = (ARTIFACTS_DIR / f"{name}.json").read_text(encoding="utf-8")
        assert committed == artifact_text(compiled[name].as_artifact()), (
            f"passport/_artifacts/{name}.json is stale: run `make artifacts`"
        )


@pytest.mark.node
def test_compile_errors_become_compiler_error(tmp_path: Path) -> None:
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    (contracts / "Broken.sol").write_text("pragma solidity 0.8.28;\ncontract Broken { function f( }\n")
    with pytest.raises(CompilerError, match="ParserError"):
        compile_contracts(contracts)


def test_packaged_artifact_loads_without_a_compiler() -> None:
    artifact = load_artifact()
    assert artifact.name == "BatteryPassportRegistry"
    metadata = json.loads(artifact.metadata)
    assert metadata["compiler"]["version"].startswith(SOLC_VERSION + "+")
    assert metadata["settings"]["evmVersion"] == EVM_VERSION
    names = {item.get("name") for item in artifact.abi}
    assert {"issuePassport", "anchorBatch", "verifyRecord", "BatteryPassportRegistryPassportClosed"} <= names
    # shanghai has PUSH0 (0x5f) but not cancun's MCOPY (0x5e) / TSTORE (0x5d), which ganache rejects.
    assert artifact.deployed_bytecode


def test_sources_resolve_openzeppelin_imports() -> None:
    sources = collect_sources()
    assert "contracts/BatteryPassportRegistry.sol" in sources
    assert "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol" in sources
    assert all(not unit.startswith(("/", ".")) for unit in sources)
