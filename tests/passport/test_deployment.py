"""Deploying the ledger: manifest content, idempotency, forced and stale redeploys, manifest errors."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from eth_utils.address import to_checksum_address

from devtools.localchain import AnvilNode, GanacheNode, LocalChainNode
from devtools.localnodes import free_port
from passport.chain.artifacts import load_artifact
from passport.chain.deployment import (
    DEFAULT_ROLES,
    ArtifactDigests,
    DeploymentManifest,
    RoleGrant,
    deploy,
    load_deployment,
    stale_reason,
    write_deployment,
)
from passport.chain.jsonrpc import json_rpc
from passport.chain.keystore import DEPLOYER, Keystore
from passport.chain.records import Role
from passport.chain.web3_client import Web3ChainClient, connect
from passport.errors import ChainUnavailable, DeploymentError, DevKeyRefused
from passport.settings import Environment, Settings

HARDHAT_KEY_0 = bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")


def _settings(data_dir: Path, environment: Environment, port: int) -> Settings:
    return Settings(
        environment=environment,
        data_dir=data_dir,
        keystore_password="test password",
        local_chain="anvil",
        local_chain_port=port,
        poll_latency=0.005,
    )


class Chain:
    """A funded local node plus the settings and keystore that deploy to it."""

    def __init__(self, node: LocalChainNode, settings: Settings) -> None:
        self.node = node
        self.settings = settings
        self.keystore = Keystore.from_settings(settings)

    def start(self) -> Chain:
        self.node.start()
        self.node.fund(self.keystore.ensure().values())
        return self

    def head(self) -> int:
        return int(self.node.rpc("eth_blockNumber"), 16)


ChainFactory = Callable[..., Chain]


@pytest.fixture
def make_chain(tmp_path: Path) -> Iterator[ChainFactory]:
    """Fresh chains (anvil unless asked) in their own data dirs; all stopped by PID afterwards."""
    chains: list[Chain] = []

    def make(
        environment: Environment = "test",
        *,
        kind: type[LocalChainNode] = AnvilNode,
        data_dir: Path | None = None,
        chain_id: int = 1337,
    ) -> Chain:
        settings = _settings(data_dir or tmp_path / f"data{len(chains)}", environment, free_port())
        node = kind(settings.chain_dir, port=settings.local_chain_port, chain_id=chain_id)
        chains.append(chain := Chain(node, settings))
        return chain.start()

    yield make
    for chain in reversed(chains):
        chain.node.stop()


# -- deploying ---------------------------------------------------------------------------------------


@pytest.mark.node
def test_deploy_writes_a_manifest_that_matches_the_chain(make_chain: ChainFactory) -> None:
    chain = make_chain()
    manifest = deploy(chain.settings)

    assert load_deployment(chain.settings) == manifest
    assert manifest.environment == "test"
    assert manifest.chain_id == 1337
    assert manifest.rpc_url == chain.node.url
    assert manifest.deployer == chain.keystore.address(DEPLOYER)
    assert manifest.admin_delay == 0
    assert manifest.artifacts == ArtifactDigests.of(load_artifact())
    block = chain.node.rpc("eth_getBlockByNumber", hex(manifest.deploy_block_number), False)
    assert block["hash"] == manifest.deploy_block_hash
    assert manifest.deploy_tx_hash in block["transactions"]
    for tx_hash in manifest.tx_hashes:
        assert int(chain.node.rpc("eth_getTransactionReceipt", tx_hash)["status"], 16) == 1
    assert len(manifest.tx_hashes) == 1 + sum(len(roles) for roles in DEFAULT_ROLES.values())

    expected = {Role.ADMIN: [manifest.deployer]}
    for name, roles in DEFAULT_ROLES.items():
        for role in roles:
            expected.setdefault(role, []).append(chain.keystore.address(name))
    assert manifest.role_holders == expected
    assert manifest.participants[DEPLOYER] == manifest.deployer
    client = Web3ChainClient(
        connect(chain.node.url, chain.settings),
        manifest.registry_address,
        chain.keystore.private_key("auditor"),
        settings=chain.settings,
    )
    for role, holders in expected.items():
        assert all(client.has_role(role, holder) for holder in holders)
    assert not client.has_role(Role.ISSUER, chain.keystore.address("collector"))

    # Roles are written by name: the file is for people as well as programs.
    document = json.loads(chain.settings.deployment_manifest.read_text())
    assert {g["role"] for g in document["role_grants"]} == {r.name for r in expected}


@pytest.mark.node
def test_second_deploy_is_a_no_op(make_chain: ChainFactory) -> None:
    chain = make_chain()
    first = deploy(chain.settings)
    head = chain.head()
    text = chain.settings.deployment_manifest.read_text()

    assert deploy(chain.settings) == first
    assert chain.head() == head  # no transaction sent
    assert chain.settings.deployment_manifest.read_text() == text
    assert stale_reason(first, chain.node.url) is None


@pytest.mark.node
def test_force_deploys_a_new_registry(make_chain: ChainFactory) -> None:
    chain = make_chain()
    first = deploy(chain.settings)
    second = deploy(chain.settings, force=True)

    assert second.registry_address != first.registry_address
    assert second.deploy_block_number > first.deploy_block_number
    assert load_deployment(chain.settings) == second
    assert chain.node.rpc("eth_getCode", first.registry_address, "latest") != "0x"  # the old one stays
    assert deploy(chain.settings) == second


@pytest.mark.node
def test_explicit_deployer_and_grants(make_chain: ChainFactory) -> None:
    chain = make_chain()
    issuer = chain.keystore.address("issuer")
    manifest = deploy(
        chain.settings,
        deployer_key=chain.keystore.private_key("oracle"),
        role_grants=[RoleGrant(role=Role.ISSUER, account=issuer.lower())],
        admin_delay=3600,
    )
    assert manifest.deployer == chain.keystore.address("oracle")
    assert manifest.admin_delay == 3600
    assert manifest.role_holders == {Role.ADMIN: [manifest.deployer], Role.ISSUER: [issuer]}
    assert manifest.participants == {}  # neither came from a named keystore participant
    with pytest.raises(DeploymentError, match="admin role"):
        deploy(chain.settings, force=True, role_grants=[RoleGrant(role=Role.ADMIN, account=issuer)])


@pytest.mark.node
@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ({"artifacts": {"abi_sha256": "00" * 32}}, "artifacts changed"),
        ({"runtime_code_sha256": "00" * 32}, "not the code deployed"),
        ({"registry_address": "0x" + "11" * 20}, "no contract at"),
        ({"deploy_block_hash": "0x" + "22" * 32}, "is not the deploy block"),
        ({"chain_id": 5}, "chain id 1337, the manifest 5"),
    ],
    ids=["artifacts", "code", "address", "block", "chain-id"],
)
def test_stale_manifest_is_refused_outside_development(
    make_chain: ChainFactory, tamper: dict[str, Any], reason: str
) -> None:
    chain = make_chain("test")
    deployed = deploy(chain.settings)
    stale = _tampered(deployed, tamper)
    write_deployment(stale, chain.settings.deployment_manifest)

    assert reason in (stale_reason(stale, chain.node.url) or "")
    with pytest.raises(DeploymentError, match=f"{reason}.*--force"):
        deploy(chain.settings)
    assert load_deployment(chain.settings) == stale  # left alone for a person to look at
    assert deploy(chain.settings, force=True).registry_address != deployed.registry_address


@pytest.mark.node
def test_stale_manifest_is_redeployed_in_development(
    make_chain: ChainFactory, caplog: pytest.LogCaptureFixture
) -> None:
    chain = make_chain("development")
    deployed = deploy(chain.settings)
    write_deployment(
        _tampered(deployed, {"artifacts": {"bytecode_sha256": "00" * 32}}), chain.settings.deployment_manifest
    )
    with caplog.at_level(logging.WARNING, logger="passport.chain.deployment"):
        redeployed = deploy(chain.settings)
    assert "redeploying the registry: the packaged contract artifacts changed" in caplog.text
    assert redeployed.registry_address != deployed.registry_address
    assert load_deployment(chain.settings) == redeployed


@pytest.mark.node
def test_manifest_of_a_reset_chain_is_redeployed_in_development(
    make_chain: ChainFactory, caplog: pytest.LogCaptureFixture
) -> None:
    # The same keys on a fresh chain put the registry at the same address: the deploy block tells them apart.
    first = make_chain("development")
    deployed = deploy(first.settings)
    first.node.stop()
    fresh = make_chain("development", data_dir=first.settings.data_dir.parent / "fresh")
    fresh.settings.data_dir.mkdir(exist_ok=True)
    write_deployment(deployed, fresh.settings.deployment_manifest)
    with caplog.at_level(logging.WARNING, logger="passport.chain.deployment"):
        redeployed = deploy(fresh.settings)
    assert "redeploying the registry" in caplog.text
    assert redeployed.deploy_block_hash != deployed.deploy_block_hash


@pytest.mark.node
def test_corrupt_manifest_is_refused_outside_development(make_chain: ChainFactory) -> None:
    chain = make_chain("test")
    chain.settings.deployment_manifest.write_text("{")
    with pytest.raises(DeploymentError, match="malformed"):
        deploy(chain.settings)
    assert deploy(chain.settings, force=True).chain_id == 1337


@pytest.mark.node
def test_deployment_survives_a_ganache_restart(make_chain: ChainFactory) -> None:
    chain = make_chain("test", kind=GanacheNode)
    deployed = deploy(chain.settings)
    chain.node.stop()
    restarted = make_chain("test", kind=GanacheNode, data_dir=chain.settings.data_dir)
    assert restarted.node.data_path == chain.node.data_path
    assert deploy(restarted.settings) == deployed
    assert stale_reason(deployed, restarted.node.url) is None


def test_unreachable_chain_is_chain_unavailable(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "test", free_port())
    Keystore.from_settings(settings).ensure()
    with pytest.raises(ChainUnavailable):
        deploy(settings)
    write_deployment(_sample_manifest(), settings.deployment_manifest)
    with pytest.raises(ChainUnavailable):
        deploy(settings)


def test_well_known_deployer_key_is_refused_outside_development(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "test", free_port())
    with pytest.raises(DevKeyRefused):
        deploy(settings, deployer_key=HARDHAT_KEY_0, role_grants=[])


# -- reading manifests ------------------------------------------------------------------------------


def _sample_manifest() -> DeploymentManifest:
    account = "0x" + "ab" * 20
    return DeploymentManifest(
        environment="test",
        chain_id=1337,
        rpc_url="http://127.0.0.1:8545",
        registry_address="0x" + "cd" * 20,
        deployer=account,
        admin_delay=0,
        deploy_tx_hash="0x" + "01" * 32,
        deploy_block_number=1,
        deploy_block_hash="0x" + "02" * 32,
        runtime_code_sha256="03" * 32,
        artifacts=ArtifactDigests.of(load_artifact()),
        role_grants=(
            RoleGrant(role=Role.ADMIN, account=account, participant="admin"),
            RoleGrant(role=Role.ISSUER, account=account, participant="issuer", tx_hash="0x" + "04" * 32),
        ),
        deployed_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )


def _tampered(manifest: DeploymentManifest, changes: dict[str, Any]) -> DeploymentManifest:
    document = manifest.model_dump(mode="json")
    for key, value in changes.items():
        if isinstance(value, dict):
            document[key] = {**document[key], **value}
        else:
            document[key] = value
    return DeploymentManifest.model_validate(document)


def test_manifest_round_trips_and_normalises(tmp_path: Path) -> None:
    manifest = _sample_manifest()
    path = tmp_path / "nested" / "deployment.json"
    write_deployment(manifest, path)
    loaded = load_deployment(path)
    assert loaded == manifest
    assert loaded.registry_address == to_checksum_address("0x" + "cd" * 20)  # checksummed on the way in
    assert loaded.tx_hashes == ["0x" + "01" * 32, "0x" + "04" * 32]
    assert loaded.participants == {"admin": to_checksum_address("0x" + "ab" * 20), "issuer": loaded.deployer}
    assert not list(path.parent.glob(".*.tmp"))


def test_load_deployment_reads_the_settings_path(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "test", 8545)
    write_deployment(_sample_manifest(), settings.deployment_manifest)
    assert load_deployment(settings) == _sample_manifest()


def _edit(change: Callable[[dict[str, Any]], object]) -> str:
    document = _sample_manifest().model_dump(mode="json")
    change(document)
    return json.dumps(document)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (None, "no deployment manifest"),
        ("", "malformed"),
        ("{not json", "malformed"),
        ("[]", "malformed"),
        (_edit(lambda d: d.update(format=2)), "malformed"),
        (_edit(lambda d: d.update(registry_address="0x1234")), "not an address"),
        (_edit(lambda d: d.update(deploy_block_hash="0x12")), "not a 32-byte"),
        (_edit(lambda d: d.update(chain_id=0)), "malformed"),
        (_edit(lambda d: d.update(environment="staging")), "malformed"),
        (_edit(lambda d: d.update(surprise=True)), "malformed"),
        (_edit(lambda d: d.pop("artifacts")), "malformed"),
        (_edit(lambda d: d["role_grants"][1].update(role="OWNER")), "malformed"),
    ],
    ids=[
        "missing",
        "empty",
        "not-json",
        "not-object",
        "format",
        "address",
        "hash",
        "chain-id",
        "environment",
        "extra-field",
        "missing-field",
        "role",
    ],
)
def test_unusable_manifests_are_deployment_errors(tmp_path: Path, text: str | None, match: str) -> None:
    path = tmp_path / "deployment.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(DeploymentError, match=match):
        load_deployment(path)


def test_unreadable_manifest_is_a_deployment_error(tmp_path: Path) -> None:
    (tmp_path / "deployment.json").mkdir()
    with pytest.raises(DeploymentError, match="cannot read"):
        load_deployment(tmp_path / "deployment.json")


def test_role_names_and_numbers_are_both_read() -> None:
    assert RoleGrant.model_validate({"role": "AUDITOR", "account": "0x" + "ab" * 20}).role is Role.AUDITOR
    assert RoleGrant.model_validate({"role": 6, "account": "0x" + "ab" * 20}).role is Role.AUDITOR
    assert RoleGrant(role=Role.ORACLE, account="0x" + "ab" * 20).model_dump(mode="json")["role"] == "ORACLE"


def test_json_rpc_to_a_closed_port_is_chain_unavailable() -> None:
    with pytest.raises(ChainUnavailable):
        json_rpc(f"http://127.0.0.1:{free_port()}", "eth_chainId", timeout=0.5)
