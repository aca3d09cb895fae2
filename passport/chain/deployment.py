"""Deploy the ledger to any JSON-RPC chain, once, and record what was deployed in a manifest.

``deploy()`` deploys ``BatteryPassportRegistry`` from the deployer's key (the keystore's ``admin``),
grants each ledger role to its participants, and writes a ``DeploymentManifest`` (JSON at
``Settings.deployment_manifest``) that the rest of the system reads with ``load_deployment()``.

Running it again is a no-op while the manifest still describes the chain: same chain id, the deploy
block still canonical, the registry's runtime code unchanged at its address, and the packaged
artifacts unchanged. When the manifest no longer matches (a fresh ganache, another chain behind the
URL, recompiled contracts):

* in ``development`` the registry is deployed anew and a WARNING says why: a reset local chain is
  routine there, and the old registry is gone anyway;
* elsewhere ``DeploymentError`` is raised: on a shared chain a silent redeploy would leave every other
  party on the old registry with the ledger split in two, so a new registry takes an explicit
  ``force=True`` (``python -m scripts.deploy --force``).

``force=True`` always deploys a new registry (the manifest is replaced; the old contract stays on chain).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Final, Literal

from eth_utils.address import is_address, to_checksum_address
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
)

from passport.chain.artifacts import REGISTRY_CONTRACT, SERVICES_CONTRACT, ContractArtifact, load_artifact
from passport.chain.jsonrpc import json_rpc
from passport.chain.keystore import DEPLOYER, Keystore, refuse_dev_key
from passport.chain.material_ledger import MATERIAL_LEDGER_CONTRACT
from passport.chain.records import Role
from passport.errors import DeploymentError
from passport.settings import Environment, Settings

log = logging.getLogger(__name__)

MANIFEST_FORMAT: Final = 1

#: Which keystore participants hold which ledger role. The admin role goes to the deployer in the
#: constructor; remanufacturers issue successor passports, which the contract gates on REPURPOSER_ROLE.
DEFAULT_ROLES: Final[Mapping[str, tuple[Role, ...]]] = {
    "issuer": (Role.ISSUER,),
    "oracle": (Role.ORACLE,),
    "inspector": (Role.INSPECTOR,),
    "repurposer": (Role.REPURPOSER,),
    "remanufacturer": (Role.REPURPOSER,),
    "recycler": (Role.RECYCLER,),
    "auditor": (Role.AUDITOR,),
}

#: Which keystore participants hold which ``RecycledMaterialLedger`` role: the registry's recyclers record
#: lots; the certifier (the certification body) certifies lots and usage claims.
DEFAULT_MATERIAL_ROLES: Final[Mapping[str, Literal["RECYCLER", "CERTIFIER"]]] = {
    "recycler": "RECYCLER",
    "certifier": "CERTIFIER",
}

#: Which keystore participants hold ``BatteryServices``' OPERATOR role (bind any open pack, record swaps).
#: In a development stack the collector business runs the swap stations; elsewhere the admin grants
#: OPERATOR to the station operators it accredits.
DEFAULT_SERVICE_OPERATORS: Final[tuple[str, ...]] = ("collector",)

#: Seconds an admin hand-over must wait (OpenZeppelin ``AccessControlDefaultAdminRules``). Outside
#: development and test a stolen admin key cannot pass the ledger to its thief at once; three days
#: leave time to notice and cancel. Locally the delay would only get in the way of tests.
DEFAULT_ADMIN_DELAY: Final[Mapping[Environment, int]] = {
    "development": 0,
    "test": 0,
    "production": 3 * 86_400,
}


def _checksummed(value: str) -> str:
    if not is_address(value):
        raise ValueError(f"not an address: {value!r}")
    return to_checksum_address(value)


def _hash32(value: str) -> str:
    body = value.removeprefix("0x")
    if len(body) != 64 or not all(c in "0123456789abcdefABCDEF" for c in body):
        raise ValueError(f"not a 32-byte 0x-hex value: {value!r}")
    return "0x" + body.lower()


def _role(value: object) -> object:
    if isinstance(value, str) and value in Role.__members__:
        return Role[value]
    return value


Address = Annotated[str, AfterValidator(_checksummed)]
Hash32 = Annotated[str, AfterValidator(_hash32)]
#: A role by name in the JSON (``"ISSUER"``): readable, and independent of the enum's numbering.
RoleName = Annotated[Role, BeforeValidator(_role), PlainSerializer(lambda role: role.name, return_type=str)]


class ArtifactDigests(BaseModel):
    """sha256 digests of the packaged contract artifact the registry was deployed from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    contract: str
    bytecode_sha256: str
    deployed_bytecode_sha256: str
    abi_sha256: str

    @classmethod
    def of(cls, artifact: ContractArtifact) -> ArtifactDigests:
        # The ABI is hashed in a canonical JSON form, so key order in the file cannot change the digest.
        abi = json.dumps(list(artifact.abi), sort_keys=True, separators=(",", ":")).encode()
        return cls(
            contract=artifact.name,
            bytecode_sha256=hashlib.sha256(artifact.bytecode).hexdigest(),
            deployed_bytecode_sha256=hashlib.sha256(artifact.deployed_bytecode).hexdigest(),
            abi_sha256=hashlib.sha256(abi).hexdigest(),
        )


class RoleGrant(BaseModel):
    """One role held by one account, and the transaction that granted it (None: set by the constructor)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: RoleName
    account: Address
    participant: str | None = None
    tx_hash: Hash32 | None = None


class MaterialRoleGrant(BaseModel):
    """One ``RecycledMaterialLedger`` role (``RECYCLER``, ``CERTIFIER``) held by one account."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Literal["RECYCLER", "CERTIFIER"]
    account: Address
    participant: str | None = None
    tx_hash: Hash32 | None = None


class DeploymentManifest(BaseModel):
    """What was deployed where: the document every other component reads to find the ledger."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal[1] = MANIFEST_FORMAT
    environment: Environment
    chain_id: int = Field(gt=0)
    rpc_url: str = Field(description="The URL deployed through; informational, readers use their own.")
    registry_address: Address
    deployer: Address
    admin_delay: int = Field(ge=0)
    deploy_tx_hash: Hash32
    deploy_block_number: int = Field(ge=0)
    deploy_block_hash: Hash32
    runtime_code_sha256: str = Field(description="sha256 of the code at the address after deployment.")
    artifacts: ArtifactDigests
    role_grants: tuple[RoleGrant, ...]
    deployed_at: datetime
    # The recycled-material ledger beside the registry (absent in manifests written before it existed;
    # ``deploy`` then adds it to the running registry instead of redeploying).
    material_ledger_address: Address | None = None
    material_ledger_tx_hash: Hash32 | None = None
    material_ledger_code_sha256: str | None = None
    material_ledger_artifacts: ArtifactDigests | None = None
    material_role_grants: tuple[MaterialRoleGrant, ...] = ()
    # The battery-services contract (issue #19) the registry asks for owner consent (absent in manifests
    # written before it existed; ``deploy`` then adds it beside the running registry).
    services_address: Address | None = None
    services_tx_hash: Hash32 | None = None
    services_code_sha256: str | None = None
    services_artifacts: ArtifactDigests | None = None
    services_operators: tuple[str, ...] = ()

    @property
    def role_holders(self) -> dict[Role, list[str]]:
        """Accounts holding each role, in grant order."""
        holders: dict[Role, list[str]] = {}
        for grant in self.role_grants:
            holders.setdefault(grant.role, []).append(grant.account)
        return holders

    @property
    def participants(self) -> dict[str, str]:
        """``{participant name: address}`` for every grant made to a named keystore participant."""
        return {g.participant: g.account for g in self.role_grants if g.participant is not None}

    @property
    def tx_hashes(self) -> list[str]:
        """The deployment's transactions: the contract creation, then each role grant."""
        return [self.deploy_tx_hash, *(g.tx_hash for g in self.role_grants if g.tx_hash is not None)]


# -- reading and writing ---------------------------------------------------------------------------


def load_deployment(source: Settings | Path) -> DeploymentManifest:
    """The manifest at ``Settings.deployment_manifest`` (or a path); ``DeploymentError`` if it is unusable."""
    path = source.deployment_manifest if isinstance(source, Settings) else source
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DeploymentError(
            f"no deployment manifest at {path}: deploy the ledger first (`python -m scripts.deploy`)"
        ) from None
    except OSError as exc:
        raise DeploymentError(f"cannot read deployment manifest {path}: {exc}") from exc
    try:
        return DeploymentManifest.model_validate_json(text)
    except ValidationError as exc:
        raise DeploymentError(f"deployment manifest {path} is malformed: {exc}") from exc


def write_deployment(manifest: DeploymentManifest, path: Path) -> None:
    """Write the manifest atomically: readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        raise DeploymentError(f"cannot write deployment manifest {path}: {exc}") from exc
    finally:
        temporary.unlink(missing_ok=True)


@contextlib.contextmanager
def _manifest_lock(path: Path) -> Iterator[None]:
    """Serialise deployments sharing a manifest, so two starting together deploy only once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.with_name(path.name + ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# -- checking a manifest against a chain -------------------------------------------------------------


def _code(rpc_url: str, address: str) -> bytes:
    return bytes.fromhex(str(json_rpc(rpc_url, "eth_getCode", [address, "latest"])).removeprefix("0x"))


def stale_reason(
    manifest: DeploymentManifest, rpc_url: str, artifact: ContractArtifact | None = None
) -> str | None:
    """Why ``manifest`` does not describe the chain at ``rpc_url`` (None: it does). ``ChainUnavailable``
    if the node cannot be reached."""
    chain_id = int(json_rpc(rpc_url, "eth_chainId"), 16)
    if chain_id != manifest.chain_id:
        return f"the chain at {rpc_url} has chain id {chain_id}, the manifest {manifest.chain_id}"
    block = json_rpc(rpc_url, "eth_getBlockByNumber", [hex(manifest.deploy_block_number), False])
    if not isinstance(block, dict) or str(block.get("hash", "")).lower() != manifest.deploy_block_hash:
        # A reset or different chain that happens to share the chain id (every fresh local node).
        return f"block {manifest.deploy_block_number} is not the deploy block {manifest.deploy_block_hash}"
    code = _code(rpc_url, manifest.registry_address)
    if not code:
        return f"there is no contract at {manifest.registry_address}"
    if hashlib.sha256(code).hexdigest() != manifest.runtime_code_sha256:
        return f"the code at {manifest.registry_address} is not the code deployed there"
    current = ArtifactDigests.of(artifact or load_artifact(REGISTRY_CONTRACT))
    if current != manifest.artifacts:
        return "the packaged contract artifacts changed since the deployment (recompiled contracts)"
    if manifest.material_ledger_address is not None:
        code = _code(rpc_url, manifest.material_ledger_address)
        if hashlib.sha256(code).hexdigest() != manifest.material_ledger_code_sha256:
            return f"the code at {manifest.material_ledger_address} is not the material ledger deployed there"
        if manifest.material_ledger_artifacts != ArtifactDigests.of(load_artifact(MATERIAL_LEDGER_CONTRACT)):
            return "the packaged material-ledger artifact changed since the deployment (recompiled contracts)"
    if manifest.services_address is not None:
        code = _code(rpc_url, manifest.services_address)
        if hashlib.sha256(code).hexdigest() != manifest.services_code_sha256:
            return f"the code at {manifest.services_address} is not the services contract deployed there"
        if manifest.services_artifacts != ArtifactDigests.of(load_artifact(SERVICES_CONTRACT)):
            return "the packaged services artifact changed since the deployment (recompiled contracts)"
    return None


# -- deploying -------------------------------------------------------------------------------------


def default_role_holders(keystore: Keystore) -> list[RoleGrant]:
    """Role grants for the keystore's participants under ``DEFAULT_ROLES`` (those present only)."""
    present = set(keystore.names())
    return [
        RoleGrant(role=role, account=keystore.address(name), participant=name)
        for name, roles in DEFAULT_ROLES.items()
        if name in present
        for role in roles
    ]


def default_material_grants(keystore: Keystore) -> list[MaterialRoleGrant]:
    """Material-ledger role grants for the keystore's participants under ``DEFAULT_MATERIAL_ROLES``."""
    present = set(keystore.names())
    return [
        MaterialRoleGrant(role=role, account=keystore.address(name), participant=name)
        for name, role in DEFAULT_MATERIAL_ROLES.items()
        if name in present
    ]


def _with_material_ledger(
    settings: Settings,
    url: str,
    manifest: DeploymentManifest,
    deployer_key: bytes,
    grants: Sequence[MaterialRoleGrant],
) -> DeploymentManifest:
    """Deploy ``RecycledMaterialLedger`` against the manifest's registry, grant its roles, record it."""
    from passport.chain.material_ledger import MaterialRole
    from passport.chain.material_web3 import Web3MaterialLedger, deploy_material_ledger
    from passport.chain.web3_client import _Nonces, connect

    w3 = connect(url, settings)
    nonces = _Nonces()
    delay = manifest.admin_delay
    address, receipt = deploy_material_ledger(
        w3, deployer_key, manifest.registry_address, admin_delay=delay, settings=settings, nonces=nonces
    )
    client = Web3MaterialLedger(w3, address, deployer_key, settings=settings, _nonces=nonces)
    granted = []
    for grant in grants:
        tx = client.grant_role(MaterialRole[grant.role], grant.account)
        granted.append(grant.model_copy(update={"tx_hash": "0x" + tx.tx_hash.hex()}))
    for grant in granted:
        if not client.has_role(MaterialRole[grant.role], grant.account):
            raise DeploymentError(f"{grant.account} does not hold material {grant.role} after the grant")
    log.info("material ledger deployed at %s, %d role grant(s)", address, len(granted))
    return manifest.model_copy(
        update={
            "material_ledger_address": address,
            "material_ledger_tx_hash": "0x" + receipt.tx_hash.hex(),
            "material_ledger_code_sha256": hashlib.sha256(_code(url, address)).hexdigest(),
            "material_ledger_artifacts": ArtifactDigests.of(load_artifact(MATERIAL_LEDGER_CONTRACT)),
            "material_role_grants": tuple(granted),
        }
    )


def default_service_operators(keystore: Keystore) -> list[str]:
    """Addresses of the keystore's participants named in ``DEFAULT_SERVICE_OPERATORS``."""
    present = set(keystore.names())
    return [keystore.address(name) for name in DEFAULT_SERVICE_OPERATORS if name in present]


def _with_services(
    settings: Settings,
    url: str,
    manifest: DeploymentManifest,
    deployer_key: bytes,
    operators: Sequence[str],
) -> DeploymentManifest:
    """Deploy ``BatteryServices`` against the manifest's registry, grant OPERATOR, point the registry at
    it (so owner consent is enforced from now on) and record it."""
    from passport.chain.services import ServicesRole
    from passport.chain.services_web3 import Web3BatteryServices, deploy_services
    from passport.chain.web3_client import Web3ChainClient, _Nonces, connect

    w3 = connect(url, settings)
    nonces = _Nonces()
    address, receipt = deploy_services(
        w3,
        deployer_key,
        manifest.registry_address,
        admin_delay=manifest.admin_delay,
        settings=settings,
        nonces=nonces,
    )
    services = Web3BatteryServices(w3, address, deployer_key, settings=settings, _nonces=nonces)
    for operator in operators:
        services.grant_role(ServicesRole.OPERATOR, operator)
    registry = Web3ChainClient(w3, manifest.registry_address, deployer_key, settings=settings, _nonces=nonces)
    registry.set_services(address)
    if registry.services_address() != address:
        raise DeploymentError(f"the registry does not ask {address} for consent after setServices")
    log.info("battery services deployed at %s, %d operator(s)", address, len(operators))
    return manifest.model_copy(
        update={
            "services_address": address,
            "services_tx_hash": "0x" + receipt.tx_hash.hex(),
            "services_code_sha256": hashlib.sha256(_code(url, address)).hexdigest(),
            "services_artifacts": ArtifactDigests.of(load_artifact(SERVICES_CONTRACT)),
            "services_operators": tuple(to_checksum_address(o) for o in operators),
        }
    )


def deploy(
    settings: Settings,
    *,
    rpc_url: str | None = None,
    deployer_key: bytes | None = None,
    role_grants: Sequence[RoleGrant] | None = None,
    admin_delay: int | None = None,
    force: bool = False,
) -> DeploymentManifest:
    """Deploy the registry and grant its roles, or return the manifest of the deployment already there.

    ``rpc_url`` defaults to ``Settings.effective_rpc_url``; ``deployer_key`` to the keystore's
    ``admin``; ``role_grants`` (``tx_hash`` left empty) to ``default_role_holders(keystore)``;
    ``admin_delay`` to ``DEFAULT_ADMIN_DELAY[environment]``. See the module docstring for when an
    existing manifest is kept, replaced, or refused.
    """
    url = rpc_url or settings.effective_rpc_url
    path = settings.deployment_manifest
    with _manifest_lock(path):
        if force:
            log.warning("deploying a new registry to %s (forced)", url)
        elif path.exists() and (existing := _existing(settings, url)) is not None:
            if existing.material_ledger_address is not None and existing.services_address is not None:
                return existing
            # A manifest from before the material ledger or the services: add them beside the registry.
            keys = Keystore.from_settings(settings)
            upgraded = existing
            if upgraded.material_ledger_address is None:
                upgraded = _with_material_ledger(
                    settings, url, upgraded, keys.private_key(DEPLOYER), default_material_grants(keys)
                )
            if upgraded.services_address is None:
                upgraded = _with_services(
                    settings, url, upgraded, keys.private_key(DEPLOYER), default_service_operators(keys)
                )
            write_deployment(upgraded, path)
            return upgraded
        # Keys are unlocked only now: a no-op run never decrypts them.
        keystore = Keystore.from_settings(settings) if deployer_key is None or role_grants is None else None
        deployer_name = None
        if keystore is not None and deployer_key is None:
            deployer_key, deployer_name = keystore.private_key(DEPLOYER), DEPLOYER
        if keystore is not None and role_grants is None:
            role_grants = default_role_holders(keystore)
        if deployer_key is None or role_grants is None:  # unreachable: both resolved above
            raise DeploymentError("no deployer key or role grants")
        delay = DEFAULT_ADMIN_DELAY[settings.environment] if admin_delay is None else admin_delay
        manifest = _deploy(settings, url, deployer_key, deployer_name, role_grants, delay)
        if keystore is not None:
            material_grants = default_material_grants(keystore)
        else:  # explicit registry grants: their recyclers record lots; certifiers are granted later
            material_grants = [
                MaterialRoleGrant(role="RECYCLER", account=g.account, participant=g.participant)
                for g in role_grants
                if g.role is Role.RECYCLER
            ]
        manifest = _with_material_ledger(settings, url, manifest, deployer_key, material_grants)
        operators = default_service_operators(keystore) if keystore is not None else []
        manifest = _with_services(settings, url, manifest, deployer_key, operators)
        write_deployment(manifest, path)
        log.info("deployment manifest written to %s", path)
        return manifest


def _existing(settings: Settings, url: str) -> DeploymentManifest | None:
    """The manifest if it still describes the chain; None to redeploy (development); else raise."""
    path = settings.deployment_manifest
    manifest: DeploymentManifest | None = None
    try:
        manifest = load_deployment(path)
        reason = stale_reason(manifest, url)
    except DeploymentError as exc:  # unreadable manifest; an unreachable chain (ChainError) propagates
        reason = str(exc)
    if manifest is not None and reason is None:
        log.info(
            "registry already deployed at %s on chain %d; nothing to do",
            manifest.registry_address,
            manifest.chain_id,
        )
        return manifest
    if not settings.is_development:
        raise DeploymentError(
            f"the deployment manifest {path} does not match the chain at {url}: {reason}. "
            "Deploy a new registry only on purpose: `python -m scripts.deploy --force`"
        )
    log.warning("redeploying the registry: %s", reason)
    return None


def _deploy(
    settings: Settings,
    url: str,
    deployer_key: bytes,
    deployer_name: str | None,
    role_grants: Sequence[RoleGrant],
    admin_delay: int,
) -> DeploymentManifest:
    # Imported here: web3 loads in ~0.5 s, and reading a manifest should not pay for it.
    from passport.chain.deploy import deploy_registry
    from passport.chain.web3_client import Web3ChainClient, connect

    refuse_dev_key(deployer_key, settings.environment)
    artifact = load_artifact(REGISTRY_CONTRACT)
    w3 = connect(url, settings)
    address, receipt = deploy_registry(w3, deployer_key, admin_delay=admin_delay, settings=settings)
    client = Web3ChainClient(w3, address, deployer_key, settings=settings)
    grants = [RoleGrant(role=Role.ADMIN, account=client.account, participant=deployer_name)]
    for grant in role_grants:
        if grant.role is Role.ADMIN:
            raise DeploymentError(
                "the admin role is the deployer's; hand it over later with the 2-step transfer"
            )
        tx = client.grant_role(grant.role, grant.account)
        grants.append(grant.model_copy(update={"tx_hash": "0x" + tx.tx_hash.hex()}))
    for grant in grants:
        if not client.has_role(grant.role, grant.account):  # a node that lied about a receipt, say
            raise DeploymentError(f"{grant.account} does not hold {grant.role.role_name} after the grant")
    code = _code(url, address)
    if len(code) != len(artifact.deployed_bytecode):
        # Immutables differ byte-wise, never in length: another length means another contract.
        raise DeploymentError(f"the code at {address} is not {artifact.name} ({len(code)} bytes)")
    manifest = DeploymentManifest(
        environment=settings.environment,
        chain_id=client.chain_id,
        rpc_url=url,
        registry_address=address,
        deployer=client.account,
        admin_delay=admin_delay,
        deploy_tx_hash="0x" + receipt.tx_hash.hex(),
        deploy_block_number=receipt.block_number,
        deploy_block_hash="0x" + receipt.block_hash.hex(),
        runtime_code_sha256=hashlib.sha256(code).hexdigest(),
        artifacts=ArtifactDigests.of(artifact),
        role_grants=tuple(grants),
        deployed_at=datetime.now(UTC),
    )
    log.info(
        "registry deployed at %s on chain %d (block %d), %d role grant(s)",
        address,
        manifest.chain_id,
        manifest.deploy_block_number,
        len(grants) - 1,
    )
    return manifest


__all__ = [
    "DEFAULT_ADMIN_DELAY",
    "DEFAULT_MATERIAL_ROLES",
    "DEFAULT_ROLES",
    "DEFAULT_SERVICE_OPERATORS",
    "ArtifactDigests",
    "DeploymentManifest",
    "MaterialRoleGrant",
    "RoleGrant",
    "default_material_grants",
    "default_role_holders",
    "default_service_operators",
    "deploy",
    "load_deployment",
    "stale_reason",
    "write_deployment",
]
