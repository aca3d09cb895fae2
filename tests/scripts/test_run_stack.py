"""``python -m scripts.run_stack``: services in order, stopped in reverse, and real runs end to end.

The end-to-end tests run the stack as ``make run`` does (a subprocess, embedded defaults, anvil for
speed) and talk to it only over HTTP and the files it documents, so they also cover the path a deployed
API takes: settings from ``PASSPORT_*``, ``create_app(connect=True)``, ``Services.from_settings``.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import zxingcpp
from PIL import Image

from devtools.localchain import local_chain
from devtools.localnodes import free_port, pid_alive, write_pid_file
from passport.chain.deployment import load_deployment
from passport.settings import Settings
from scripts import localchain as localchain_script
from scripts.demo import api_keys_env_path, device_key_path, load_demo, signed_demo_upload
from scripts.errors import StackError
from scripts.run_stack import (
    AnchoringWorkerService,
    ApiService,
    DemoService,
    DeploymentService,
    LocalChainService,
    ShutdownSignal,
    Stack,
    StackPidFile,
    services,
    stack_pid_file,
    stop_leftovers,
)
from scripts.run_stack import main as run_stack_main

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


AFTER_CHAIN = [DeploymentService, DemoService, AnchoringWorkerService, ApiService]


def test_the_stack_order_and_the_chain_only_without_an_rpc_url(tmp_path: Path) -> None:
    local = services(Settings(data_dir=tmp_path, local_chain="anvil", local_chain_port=9545))
    assert [type(s) for s in local] == [StackPidFile, LocalChainService, *AFTER_CHAIN]
    assert isinstance(local[2], DeploymentService)
    assert local[2].rpc_url == "http://127.0.0.1:9545"
    assert isinstance(local[4], AnchoringWorkerService)
    assert local[4].rpc_url == "http://127.0.0.1:9545"
    remote = services(Settings(data_dir=tmp_path, rpc_url="http://chain.example:8545"))
    assert [type(s) for s in remote] == [StackPidFile, *AFTER_CHAIN]


def test_a_second_stack_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        write_pid_file(stack_pid_file(settings), other.pid)
        with pytest.raises(StackError, match=f"already running .*pid {other.pid}.*make stop"):
            StackPidFile(settings).start()
        assert stop_leftovers(settings) == [f"stack (pid {other.pid})"]
        assert other.wait(timeout=10) == -signal.SIGTERM
    finally:
        other.kill()
        other.wait()
    # Its PID file is gone, and a stale one (a dead PID) does not block the next stack.
    assert not stack_pid_file(settings).exists()
    write_pid_file(stack_pid_file(settings), other.pid)
    own = StackPidFile(settings)
    own.start()
    assert stack_pid_file(settings).read_text().split()[0] == str(os.getpid())
    own.stop()
    assert not stack_pid_file(settings).exists()


@pytest.mark.node
def test_make_stop_stops_a_chain_left_running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    for name, value in {
        "PASSPORT_ENVIRONMENT": "development",
        "PASSPORT_DATA_DIR": str(tmp_path),
        "PASSPORT_LOCAL_CHAIN": "anvil",
        "PASSPORT_LOCAL_CHAIN_PORT": str(port),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PASSPORT_RPC_URL", raising=False)
    node = local_chain(Settings())
    try:
        assert localchain_script.main(["start"]) == 0
        pid = node.pid
        assert pid is not None
        assert not _port_free(port)
        assert run_stack_main(["--stop"]) == 0  # what `make stop` runs
        assert not pid_alive(pid)
        assert _port_free(port)
        assert not node.pid_file.exists()
        assert run_stack_main(["--stop"]) == 0  # nothing left: still fine
    finally:
        node.stop()


def test_make_stop_is_a_documented_make_target() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "\nstop: " in makefile
    stop_rule = makefile[makefile.index("\nstop: ") :].split("\n\n")[0]
    assert "## " in stop_rule.splitlines()[1]
    assert "python -m scripts.run_stack --stop" in stop_rule
    assert "make stop" in (ROOT / "README.md").read_text()


def test_a_busy_api_port_fails_the_start_naming_the_port(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        api = ApiService(Settings(data_dir=tmp_path, api_port=port))
        with pytest.raises(StackError, match=f"127.0.0.1:{port}"):
            api.start()


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
        "PASSPORT_API_PORT": str(free_port()),
    }
    for name, value in env.items():
        if name.startswith("PASSPORT_"):
            monkeypatch.setenv(name, value)
    settings = Settings()
    node = local_chain(settings)
    try:
        code, out = _run_stack(env, signal.SIGTERM)
        assert code == 0, out
        manifest = load_deployment(settings)
        assert f"registry:  {manifest.registry_address}" in out
        assert f"manifest:  {settings.deployment_manifest}" in out
        assert "anvil at http://127.0.0.1:" in out
        assert not node.is_running()  # it started the node, so it stopped it

        # A node already running is adopted and reused (the deployment is a no-op), and stopped with
        # the stack: the stack owns its chain while it runs.
        assert localchain_script.main(["start"]) == 0
        pid = node.pid
        code, out = _run_stack(env, signal.SIGINT)
        assert code == 0, out
        assert "nothing to do" in out
        assert "adopted anvil" in out
        assert load_deployment(settings) == manifest
        assert pid is not None
        assert not pid_alive(pid)
        assert not node.is_running()
    finally:
        node.stop()


class StackProcess:
    """``python -m scripts.run_stack`` as a subprocess, its output collected by a thread (so a full pipe
    never blocks it), ready once ``/api/v1/health`` answers."""

    def __init__(self, env: dict[str, str], api_url: str) -> None:
        self.api_url = api_url
        self.lines: list[str] = []
        # Its own process group, as `make run` is in its terminal: killpg() then reaches it alone.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "scripts.run_stack", "--max-batch-age", "0.5"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            process_group=0,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the stack exited early:\n{self.output}"
            try:
                if httpx.get(f"{self.api_url}/api/v1/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"the API was not healthy within {timeout} s:\n{self.output}")

    def terminate(self, timeout: float = 60) -> int:
        """SIGTERM, as a service manager (or Ctrl-C's SIGINT) stops it; its exit code."""
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=10)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def kill_group(self) -> None:
        """``kill -9`` of the whole process group, as a terminal's hang-up or an OOM killer would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self._reader.join(timeout=10)


def _api_key(env_file: Path, variable: str) -> str:
    prefix = f"export {variable}="
    return next(line[len(prefix) :] for line in env_file.read_text().splitlines() if line.startswith(prefix))


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.node
@pytest.mark.slow
def test_make_run_serves_a_demo_passport_anchors_telemetry_and_restarts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api_port = free_port()
    api_url = f"http://127.0.0.1:{api_port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PASSPORT_")},
        "PASSPORT_ENVIRONMENT": "development",
        "PASSPORT_DATA_DIR": str(tmp_path),
        "PASSPORT_LOCAL_CHAIN": "anvil",
        "PASSPORT_LOCAL_CHAIN_PORT": str(free_port()),
        "PASSPORT_API_PORT": str(api_port),
    }
    for name in os.environ:
        if name.startswith("PASSPORT_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        if name.startswith("PASSPORT_"):
            monkeypatch.setenv(name, value)
    settings = Settings.load()
    node = local_chain(settings)
    stack = StackProcess(env, api_url)
    try:
        stack.wait_ready()
        demo = load_demo(settings)
        assert demo is not None, stack.output
        pid = demo.passport_id
        keys = api_keys_env_path(settings)
        assert keys.stat().st_mode & 0o777 == 0o600
        assert device_key_path(settings).stat().st_mode & 0o777 == 0o600
        owner_key = _api_key(keys, "DEMO_OWNER_KEY")
        auditor_key = _api_key(keys, "DEMO_AUDITOR_KEY")
        device_key = _api_key(keys, "DEMO_DEVICE_KEY")

        with httpx.Client(base_url=api_url, timeout=30) as http:
            public = http.get(f"/api/v1/passports/{pid}")
            assert public.status_code == 200, public.text
            assert public.json()["tiers"] == ["public"]
            assert public.json()["data"]["general"]["battery_id"] == demo.battery_id
            owner = http.get(f"/api/v1/passports/{pid}", headers={"Authorization": f"Bearer {owner_key}"})
            assert owner.status_code == 200, owner.text
            assert set(owner.json()["tiers"]) == {"public", "legitimate_interest"}
            page = http.get(f"/p/{pid}")
            assert page.status_code == 200
            assert 'data-verified="true"' in page.text
            # The QR code carries the identification link, which opens this very page:
            # public_base_url followed the API's port.
            qr = http.get(f"/api/v1/passports/{pid}/qr.png")
            assert qr.status_code == 200
            decoded = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.content)))]
            assert decoded == [f"{api_url}/id/{pid}"]
            resolved = http.get(f"/id/{pid}")
            assert resolved.status_code == 303
            assert resolved.headers["location"].endswith(f"/p/{pid}")

            upload = signed_demo_upload(settings)
            ack = http.post(
                "/api/v1/telemetry/uploads",
                json=upload.model_dump(),
                headers={"Authorization": f"Bearer {device_key}"},
            )
            assert ack.status_code == 200, ack.text
            assert ack.json()["status"] == "accepted"
            digest = ack.json()["accepted"][0]["digest"]

            # Nobody drains the journal here: the stack's own worker seals and anchors the batch.
            proof_url = f"/api/v1/audit/records/{digest}/proof"
            auditor = {"Authorization": f"Bearer {auditor_key}"}
            deadline = time.monotonic() + 60
            proof = http.get(proof_url, headers=auditor)
            while proof.status_code == 409 and time.monotonic() < deadline:
                time.sleep(0.25)
                proof = http.get(proof_url, headers=auditor)
            assert proof.status_code == 200, proof.text
            assert proof.json()["verified_offline"] is True
            assert proof.json()["verified_on_chain"] is True

        out = stack.output
        for line in (f"{api_url}/p/{pid}", f"{api_url}/docs", f"export API={api_url}/api/v1"):
            assert line in out, out
        assert f"export PID={pid}" in out
        assert f"export BUSINESS={demo.business_account}" in out
        # The keys are in the 0600 file only, never in the output (which ends up in logs).
        for key in (owner_key, auditor_key, device_key):
            assert key not in out
        chain_pid = node.pid
        assert chain_pid is not None
        assert pid_alive(chain_pid)

        assert stack.terminate() == 0, stack.output
        assert "stopping API" in stack.output
        assert not pid_alive(chain_pid), "the chain node outlived the stack"
        assert not node.is_running()
        assert _port_free(api_port), "the API still listens"

        # The next run reuses everything: the same passport, the same keys (not printed again).
        again = StackProcess(env, api_url)
        stack = again
        again.wait_ready()
        assert load_demo(settings) == demo
        with httpx.Client(base_url=api_url, timeout=30) as http:
            same = http.get(f"/api/v1/passports/{pid}", headers={"Authorization": f"Bearer {owner_key}"})
            assert same.status_code == 200, same.text
            assert set(same.json()["tiers"]) == {"public", "legitimate_interest"}
            assert same.json()["data"]["general"]["battery_id"] == demo.battery_id
            proof = http.get(proof_url, headers=auditor)
            assert proof.status_code == 200, proof.text
        assert again.terminate() == 0, again.output
        assert f"{api_url}/p/{pid}" in again.output
        assert owner_key not in again.output
        assert str(keys) in again.output
        assert not node.is_running()
    finally:
        stack.kill()
        node.stop()


def _stack_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chain: str) -> tuple[dict[str, str], str]:
    """``PASSPORT_*`` for a stack under ``tmp_path`` on free ports, set here too; (env, API URL)."""
    api_port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PASSPORT_")},
        "PASSPORT_ENVIRONMENT": "development",
        "PASSPORT_DATA_DIR": str(tmp_path),
        "PASSPORT_LOCAL_CHAIN": chain,
        "PASSPORT_LOCAL_CHAIN_PORT": str(free_port()),
        "PASSPORT_API_PORT": str(api_port),
    }
    for name in os.environ:
        if name.startswith("PASSPORT_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        if name.startswith("PASSPORT_"):
            monkeypatch.setenv(name, value)
    return env, f"http://127.0.0.1:{api_port}"


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.2)


@pytest.mark.node
@pytest.mark.slow
def test_a_killed_stack_leaves_nothing_listening_after_the_next_clean_stop_or_make_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env, api_url = _stack_env(tmp_path, monkeypatch, "anvil")
    settings = Settings.load()
    node = local_chain(settings)
    stack = StackProcess(env, api_url)
    try:
        # kill -9 of make run's process group: the chain node (its own session) survives, unowned.
        stack.wait_ready()
        stack.kill_group()
        orphan = node.pid
        assert orphan is not None
        assert pid_alive(orphan)
        assert not _port_free(node.port)

        # `make stop` stops it by its PID file.
        assert run_stack_main(["--stop"]) == 0
        assert not pid_alive(orphan)
        assert _port_free(node.port)

        # Killed again; the next run adopts the orphan, and its clean stop stops it.
        stack = StackProcess(env, api_url)
        stack.wait_ready()
        stack.kill_group()
        orphan = node.pid
        assert orphan is not None
        assert pid_alive(orphan)
        stack = StackProcess(env, api_url)
        stack.wait_ready()
        assert node.pid == orphan  # adopted, not a second node
        assert stack.terminate() == 0, stack.output
        assert "adopted anvil" in stack.output
        assert not pid_alive(orphan)
        assert _port_free(node.port)
        assert _port_free(settings.api_port)
        assert not node.pid_file.exists()
        assert not stack_pid_file(settings).exists()

        # `make stop` also stops a stack that is still running, cleanly (its own services in order).
        stack = StackProcess(env, api_url)
        stack.wait_ready()
        chain_pid = node.pid
        assert chain_pid is not None
        assert run_stack_main(["--stop"]) == 0
        assert stack.process.wait(timeout=60) == 0
        assert not pid_alive(chain_pid)
        assert _port_free(node.port)
        assert _port_free(settings.api_port)
    finally:
        stack.kill()
        node.stop()


@pytest.mark.node
@pytest.mark.slow
def test_the_supervised_chain_restarts_and_the_ledger_and_anchoring_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env, api_url = _stack_env(tmp_path, monkeypatch, "ganache")
    settings = Settings.load()
    node = local_chain(settings)
    stack = StackProcess(env, api_url)
    try:
        stack.wait_ready()
        demo = load_demo(settings)
        assert demo is not None
        keys = api_keys_env_path(settings)
        auditor = {"Authorization": f"Bearer {_api_key(keys, 'DEMO_AUDITOR_KEY')}"}
        device = {"Authorization": f"Bearer {_api_key(keys, 'DEMO_DEVICE_KEY')}"}
        with httpx.Client(base_url=api_url, timeout=30) as http:
            assert http.get("/api/v1/ready").status_code == 200
            first = node.pid
            assert first is not None
            os.kill(first, signal.SIGKILL)
            # Readings are still accepted while the chain is down; the worker backs off.
            upload = signed_demo_upload(settings)
            ack = http.post("/api/v1/telemetry/uploads", json=upload.model_dump(), headers=device)
            assert ack.status_code == 200, ack.text
            digest = ack.json()["accepted"][0]["digest"]

            _wait_for(lambda: node.pid not in (None, first), 60, "the chain restarted")
            _wait_for(lambda: http.get("/api/v1/ready").status_code == 200, 60, "ready again")
            passport = http.get(f"/api/v1/passports/{demo.passport_id}")
            assert passport.status_code == 200, passport.text
            assert passport.json()["data"]["general"]["battery_id"] == demo.battery_id

            # Anchoring resumes within seconds of the chain's return (the backoff is capped).
            restarted = time.monotonic()
            proof_url = f"/api/v1/audit/records/{digest}/proof"
            _wait_for(lambda: http.get(proof_url, headers=auditor).status_code == 200, 30, "anchored")
            assert time.monotonic() - restarted < settings.anchor_retry_max_s + 15
        assert "restarting it on" in stack.output
        assert stack.terminate() == 0, stack.output
        assert not node.is_running()
        assert _port_free(node.port)
    finally:
        stack.kill()
        node.stop()
