"""The compiled registry, shipped as package data: nothing needs a Solidity compiler at runtime."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from passport.errors import DeploymentError

REGISTRY_CONTRACT = "BatteryPassportRegistry"
# The services contract the registry asks for owner consent: its custom errors surface from registry calls.
SERVICES_CONTRACT = "BatteryServices"
# Where `scripts.compile_contracts` writes them (in a source checkout; the package reads via resources).
ARTIFACTS_DIR = Path(__file__).resolve().parent.parent / "_artifacts"


@dataclass(frozen=True, slots=True)
class ContractArtifact:
    """A contract's ABI and bytecode as built by ``scripts.compile_contracts``."""

    name: str
    abi: tuple[dict[str, Any], ...]
    bytecode: bytes
    deployed_bytecode: bytes
    metadata: str


def artifact_text(artifact: dict[str, Any]) -> str:
    """The committed form of an artifact: stable key order, so a rebuild compares byte for byte."""
    return json.dumps(artifact, indent=1, sort_keys=True) + "\n"


def registry_error_abi() -> list[dict[str, Any]]:
    """The registry's ABI plus the services contract's (a consent refusal reverts with its error)."""
    return [*load_artifact(REGISTRY_CONTRACT).abi, *load_artifact(SERVICES_CONTRACT).abi]


@cache
def load_artifact(name: str = REGISTRY_CONTRACT) -> ContractArtifact:
    """Load ``passport/_artifacts/<name>.json``; raises ``DeploymentError`` if it is missing or broken."""
    try:
        text = resources.files("passport").joinpath("_artifacts", f"{name}.json").read_text(encoding="utf-8")
        data = json.loads(text)
        return ContractArtifact(
            name=data["contractName"],
            abi=tuple(data["abi"]),
            bytecode=bytes.fromhex(data["bytecode"].removeprefix("0x")),
            deployed_bytecode=bytes.fromhex(data["deployedBytecode"].removeprefix("0x")),
            metadata=data["metadata"],
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DeploymentError(f"contract artifact {name!r} is missing or malformed: {exc}") from exc
