"""``python -m scripts.run_stack``: services in order, stopped in reverse, and a real run end to end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from passport.chain.deployment import load_manifest
from passport.localchain import local_chain
from passport.localnodes import free_port, pid_alive
from passport.settings import Settings
from scripts import localchain as localchain_script
from scripts.run_stack import DeploymentService, LocalChainService, ShutdownSignal, Stack, services

ROOT = Path(__file__).resolve().parents[2]


class Recorder:
    """A service that records its calls into a shared log, optionally failing."""

    def __init__(
        self, name: str, log: list[str], *, fail_start: bool = False, fail_stop: bool = False
    ) -> None:
        self.name = name
        self.log = log
        self.fail_start = fail_start
        self.fail_stop = fail_stop

    def start(self) -> None:
        self.log.append(f"start {self.name}")
        if self.fail_start:
            raise RuntimeError(f"{self.name} failed")

    def stop(self) -> None:
        self.log.append(f"stop {self.name}")
        if self.fail_stop:
            raise RuntimeError(f"{self.name} failed to stop")

    def summary(self) -> list[str]:
        return [f"{self.name} up"]


def test_services_start_in_order_and_stop_in_reverse() -> None:
    log: list[str] = []
    stack = Stack([Recorder("a", log), Recorder("b", log), Recorder("c", log)])
    stack.start()
    assert stack.summary() == ["a up", "b up", "c up"]
    stack.stop()
    stack.stop()  # idempotent
    assert log == ["start a", "start b", "start c", "stop c", "stop b", "stop a"]


def test_a_failed_start_stops_what_had_started() -> None:
    log: list[str] = []
    stack = Stack(
        [Recorder("a", log), Recorder("b", log), Recorder("c", log, fail_start=True), Recorder("d", log)]
    )
    with pytest.raises(RuntimeError, match="c failed"):
        stack.start()
    assert log == ["start a", "start b", "start c", "stop b", "stop a"]


def test_a_failed_stop_does_not_keep_the_others_running(caplog: pytest.LogCaptureFixture) -> None:
    log: list[str] = []
    stack = Stack([Recorder("a", log), Recorder("b", log, fail_stop=True)])
    stack.start()
    stack.stop()
    assert log == ["start a", "start b", "stop b", "stop a"]
    assert "stopping b failed" in caplog.text


def test_the_stack_is_chain_then_deployment_unless_an_rpc_url_is_set(tmp_path: Path) -> None:
    local = services(Settings(data_dir=tmp_path, local_chain="anvil", local_chain_port=9545))
    assert [type(s) for s in local] == [LocalChainService, DeploymentService]
    assert isinstance(local[1], DeploymentService)
    assert local[1].rpc_url == "http://127.0.0.1:9545"
    remote = services(Settings(data_dir=tmp_path, rpc_url="http://chain.example:8545"))
    assert [type(s) for s in remote] == [DeploymentService]


def test_shutdown_signal_is_caught_while_entered_and_handlers_restored() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with ShutdownSignal() as shutdown:
        os.kill(os.getpid(), signal.SIGTERM)  # arrives before anyone waits: still not lost
        assert shutdown.wait() is signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) == before
    with ShutdownSignal() as shutdown:
        threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGINT)).start()
        assert shutdown.wait() is signal.SIGINT


def _run_stack(env: dict[str, str], stop: signal.Signals) -> tuple[int, str]:
    """Run the stack until it reports it is up, send ``stop``, return its exit code and output."""
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.run_stack"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        for line in process.stdout:
            lines.append(line)
            if "stack running" in line or time.monotonic() > deadline:
                break
        assert "stack running" in "".join(lines), "".join(lines)
        process.send_signal(stop)
        rest, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, "".join(lines) + rest


@pytest.mark.node
def test_run_stack_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PASSPORT_")},
        "PASSPORT_ENVIRONMENT": "development",
        "PASSPORT_DATA_DIR": str(tmp_path),
        "PASSPORT_LOCAL_CHAIN": "anvil",
        "PASSPORT_LOCAL_CHAIN_PORT": str(free_port()),
    }
    for name, value in env.items():
        if name.startswith("PASSPORT_"):
            monkeypatch.setenv(name, value)
    settings = Settings()
    node = local_chain(settings)
    try:
        code, out = _run_stack(env, signal.SIGTERM)
        assert code == 0, out
        manifest = load_manifest(settings)
        assert f"registry:  {manifest.registry_address}" in out
        assert f"manifest:  {settings.deployment_manifest}" in out
        assert "anvil at http://127.0.0.1:" in out
        assert not node.is_running()  # it started the node, so it stopped it

        # A node already running is adopted, reused, and left running; the deployment is a no-op.
        assert localchain_script.main(["start"]) == 0
        pid = node.pid
        code, out = _run_stack(env, signal.SIGINT)
        assert code == 0, out
        assert "nothing to do" in out
        assert "leaving anvil running" in out
        assert load_manifest(settings) == manifest
        assert pid is not None
        assert pid_alive(pid)
        assert node.pid == pid
    finally:
        node.stop()
