"""``passport store repair`` on a mirrored store (js-ipfs): a wiped data directory is restored from the
node, and content only the directory holds goes to the node; refused for other backends."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from devtools.jsipfs import JsIpfsNode
from passport.settings import Settings
from passport.store import EmbeddedStore, IpfsRpcStore, MirroredStore


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JsIpfsNode]:
    with JsIpfsNode(tmp_path_factory.mktemp("jsipfs")) as started:
        yield started


@pytest.mark.node
def test_repair_restores_a_wiped_directory_and_fills_the_node(
    node: JsIpfsNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PASSPORT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PASSPORT_STORE_BACKEND", "mirrored")
    monkeypatch.setenv("PASSPORT_IPFS_API_URL", node.api_url)
    settings = Settings(data_dir=tmp_path)
    with IpfsRpcStore(node.api_url, timeout=30) as ipfs:
        mirrored = MirroredStore(EmbeddedStore(settings.store_dir), ipfs)
        kept = mirrored.put(os.urandom(1500))
        shutil.rmtree(settings.store_dir)  # the data directory is lost
        local_only = EmbeddedStore(settings.store_dir).put(os.urandom(800))

        result = CliRunner().invoke(app, ["store", "repair", "--cid", kept])
        assert result.exit_code == 0, result.output
        assert "checked 2 CID(s): 1 copied to the node, 1 restored to the directory" in result.output
        assert EmbeddedStore(settings.store_dir).has(kept)
        assert ipfs.has(local_only)


def test_repair_needs_the_mirrored_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSPORT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PASSPORT_STORE_BACKEND", "embedded")
    result = CliRunner().invoke(app, ["store", "repair"])
    assert result.exit_code == 1
    assert "needs PASSPORT_STORE_BACKEND=mirrored" in result.output
