"""A launch changes nothing under the store and asks no registry (issue 11, point 5): opencode 1.18.33
npm-installs `@opencode-ai/plugin` into each config dir it can write to at start-up — as root that is the
store environment's read-only `config/opencode` — unless the dir already has what it checks for; the
build ships that from the locked npm closure. Ground truth: the store's own bytes, `lattice store verify`
and `lattice doctor`, and a registry socket that records every connection.

The workflow has a `file:` plugin because opencode waits for that install before loading plugins: with
none, `opencode run` may exit before the install gets far, and the test would prove less."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import require_tool, snapshot, unavailable
from fake_llm import FakeLLM
from opencode_support import switched_env

pytestmark = [pytest.mark.slow, pytest.mark.opencode]

PLUGIN = {"package.json": '{"name": "quiet-plugin", "version": "1.0.0", "type": "module", "main": "index.js"}\n',
          "index.js": "export const QuietPlugin = async () => ({});\n"}


def _needs_root() -> None:
    if os.geteuid() != 0:
        unavailable("only root can write into the read-only store; the proof needs root")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("launch")
    project, work = root / "project", root / "work"
    (project / "agents").mkdir(parents=True)
    work.mkdir()
    (root / "quiet-plugin").mkdir()
    for name, text in PLUGIN.items():
        (root / "quiet-plugin" / name).write_text(text)
    (project / "agents/a.md").write_text("You are A.\n")
    fake = FakeLLM()
    with fake:
        (project / "lattice.yaml").write_text(f"""\
name: launch-store
version: "1.0.0"
plugins:
  - file:../quiet-plugin
providers:
  local:
    base_url: {fake.url}
agents:
  a:
    path: a.md
    triggers: [/a]
    routing: [local/m1]
""")
        environ = switched_env(root, project)
        yield {"env": environ, "work": work, "store": root / "data" / "store", "fake": fake, "root": root}


def lattice(env, *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lattice_env", *args], cwd=env["work"],
                          env={**env["env"], **extra}, capture_output=True, text=True, timeout=600)


@pytest.fixture
def pristine(env):
    """The module's environment, checked untouched first: a test never passes because an earlier
    launch already put node_modules into the store."""
    verify = lattice(env, "store", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    return env


def test_ten_launches_as_root_change_no_byte_under_the_store(pristine):
    env = pristine
    _needs_root()
    before = snapshot(env["store"])
    for _ in range(10):
        done = lattice(env, "run", "--", "run", "hi")
        assert done.returncode == 0, done.stderr[-2000:]
        assert "hello from the fake model" in done.stdout
    after = snapshot(env["store"])
    assert sorted(set(after) - set(before)) == []  # added
    assert sorted(k for k in before if after.get(k) != before[k]) == []  # changed or removed
    verify = lattice(env, "store", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    doctor = lattice(env, "doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr


class RecordingRegistry:
    """A TCP listener standing in for npm's registry: it records each connection and answers 503."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/"
        self.connections: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    self.connections.append(conn.recv(4096))
                    conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                except OSError:
                    self.connections.append(b"")

    def close(self) -> None:
        self.sock.close()


def test_a_launch_asks_no_npm_registry(pristine):
    env = pristine
    registry = RecordingRegistry()
    try:
        done = lattice(env, "run", "--", "run", "hi", npm_config_registry=registry.url)
    finally:
        registry.close()
    assert done.returncode == 0, done.stderr[-2000:]
    assert "hello from the fake model" in done.stdout
    assert registry.connections == []


def test_a_launch_works_with_no_network_at_all(pristine):
    """In a network namespace of its own (no route anywhere but its own loopback), with the model server
    started inside it: the launch answers, and opencode logs no failed install."""
    env = pristine
    _needs_root()
    require_tool("unshare")
    require_tool("ip")
    fake_script = Path(__file__).with_name("fake_llm.py")
    url_file, log = env["root"] / "netns-url", env["root"] / "netns-requests.log"
    # The environment's provider points at the fake server's port in the host namespace; inside the new
    # namespace that port is free, so a second fake server takes it there.
    port = env["fake"].url.rsplit(":", 1)[1].split("/")[0]
    script = (f"ip link set lo up && "
              f"({sys.executable} {fake_script} {url_file} {log} {port} & echo $! > {env['root']}/netns-pid) && "
              f"for i in $(seq 100); do [ -s {url_file} ] && break; sleep 0.1; done && "
              f"{sys.executable} -m lattice_env run -- run --print-logs hi; rc=$?; "
              f"kill $(cat {env['root']}/netns-pid); exit $rc")
    done = subprocess.run(["unshare", "-n", "sh", "-c", script], cwd=env["work"], env=env["env"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "hello from the fake model" in done.stdout
    assert '"model": "m1"' in log.read_text()  # the answer came from the server inside the namespace
    assert "install failed" not in done.stderr
