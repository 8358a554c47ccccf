"""One long-lived routing process per opencode process (lattice_env/routing/serve.py, spoken to by
templates/env/bridge/router.mjs): lines of JSON over a pipe, answered in order; fire-and-forget messages
get no answer; it goes when its opencode goes — at the end of its stdin, or when its parent is gone — and
is started again when it dies. With the real opencode: four processes × 25 routed calls at once count
exactly 100, one routing process each, none left afterwards, none after a SIGKILL of opencode."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from test_routing_cli import make_profile

from lattice_env.proc import clean_env

CONFIG = {"providers": {"local": {"base_url": "http://127.0.0.1:9/v1"}},
          "defaults": {"routing": ["local/d1"], "failure_cooldown": 30},
          "agents": {"a": {"routing": {"strategy": "pattern", "pattern": ["local/m1", "local/m2"]}},
                     "b": {"routing": ["local/m3", "local/m4"]}}}


def routing_processes(data: Path) -> dict[int, int]:
    """pid → parent pid of every live routing process whose data dir is `data` (other tests, and other
    people's, run their own)."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            argv = Path(f"/proc/{name}/cmdline").read_bytes().split(b"\0")
            if b"lattice_env.routing.bridge" not in argv or b"serve" not in argv:
                continue
            environ = Path(f"/proc/{name}/environ").read_bytes().split(b"\0")
            if f"LATTICE_HOME={data}".encode() not in environ:
                continue
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue  # gone meanwhile
        if stat.rpartition(")")[2].split()[0] != "Z":  # a zombie has exited; its parent has yet to reap it
            found[int(name)] = int(stat.rpartition(")")[2].split()[1])
    return found


def wait_until(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


class Served:
    """`python -m lattice_env.routing.bridge serve` with its stdin and stdout, as the bridge has them."""

    def __init__(self, environ: dict[str, str], **popen: object) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "lattice_env.routing.bridge", "serve"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        env=environ, **popen)

    def send(self, **message: object) -> None:
        self.process.stdin.write((json.dumps(message) + "\n").encode())
        self.process.stdin.flush()

    def answer(self) -> dict:
        return json.loads(self.process.stdout.readline())


@pytest.fixture
def served(tmp_path):
    home = tmp_path / "data"
    environ = clean_env(LATTICE_HOME=str(home), LATTICE_ENV=str(make_profile(home, CONFIG)))
    server = Served(environ)
    yield server, home
    if server.process.poll() is None:
        server.process.kill()
    server.process.wait(timeout=10)


def state(home: Path) -> dict:
    return json.loads((home / "state.json").read_text())


def test_answers_in_order_and_fire_and_forget_gets_none(served):
    server, home = served
    server.send(op="route", id=1, agent="a", commit=True)
    server.send(op="usage", provider="local", model="m1", input=10, output=2)  # no id: no answer
    server.send(op="event", type="session.idle")  # a kind of message this version does not handle
    server.send(op="route", id="two", agent="a", commit=True)
    server.send(op="route", id=3, agent="defaults", commit=True)  # opencode's own agents
    server.send(op="nonsense", id=4)
    server.send(op="route", id=5)
    answers = [server.answer() for _ in range(5)]
    assert [(a["id"], a.get("model")) for a in answers[:3]] == [(1, "local/m1"), ("two", "local/m2"),
                                                                 (3, "local/d1")]
    assert answers[3] == {"id": 4, "error": "unknown op 'nonsense' (expected route, failed, rate-limited, usage, hook, command, gate)"}
    assert answers[4] == {"id": 5, "error": "missing 'agent' in the message"}
    s = state(home)
    assert s["routing_state"]["a"]["call_count"] == 2 and s["routing_state"]["defaults"]["call_count"] == 1
    assert s["provider_usage"]["local"]["input_tokens"] == 10
    # A report sent just before opencode goes is still counted: it is read before the end of the pipe.
    server.send(op="usage", provider="local", model="m1", input=5, output=1)
    server.process.stdin.close()
    assert server.process.wait(timeout=10) == 0
    assert state(home)["provider_usage"]["local"]["input_tokens"] == 15


def test_a_failure_cools_down_and_the_same_call_is_decided_again(served):
    server, home = served
    server.send(op="route", id=1, agent="b", commit=True)
    assert server.answer()["model"] == "local/m3"
    server.send(op="failed", id=2, agent="b", model="local/m3", position=0, kind="server", reason="an HTTP 503")
    again = server.answer()
    assert again["model"] == "local/m4" and again["via"] == "next"
    assert again["failure"]["reason"] == "an HTTP 503" and again["failure"]["seconds"] == 30  # failure_cooldown
    assert state(home)["routing_state"]["b"]["call_count"] == 1  # the same call: counted once
    server.send(op="failed", id=3, agent="b", model="local/m4", position=0, kind="connection",
                reason="connection refused")
    assert server.answer()["error"] == ("no model is available for agent b: local/m3 (cooling down after an "
                                        "HTTP 503 (30s left)); local/m4 (provider local cooling down after "
                                        "connection refused (30s left))")
    log = (home / "bridge.log").read_text().splitlines()
    assert log[0].endswith("failover: local/m3 failed (an HTTP 503) for agent b; local/m3 cools down for 30s; "
                           "the call goes to local/m4")
    assert log[1].endswith("failover: local/m4 failed (connection refused) for agent b; provider local cools "
                           "down for 30s; no model is left for the call")


def test_a_ctrl_c_is_opencodes_to_handle(served):
    server, _ = served
    server.send(op="route", id=1, agent="a", commit=False)
    assert server.answer()["model"] == "local/m1"
    server.process.send_signal(signal.SIGINT)
    server.send(op="route", id=2, agent="a", commit=False)
    assert server.answer()["model"] == "local/m1"


def test_it_exits_when_its_parent_dies_though_the_pipe_stays_open(tmp_path):
    """Should a child of opencode's hold the pipe's other end, the routing process still goes, within
    seconds of opencode, because its parent is gone."""
    home = tmp_path / "data"
    environ = clean_env(LATTICE_HOME=str(home), LATTICE_ENV=str(make_profile(home, CONFIG)))
    parent = subprocess.Popen([sys.executable, "-c", """
import os, subprocess, sys, time
r, w = os.pipe()
server = subprocess.Popen([sys.executable, "-m", "lattice_env.routing.bridge", "serve", "--parent",
                           str(os.getpid())], stdin=r, stdout=subprocess.DEVNULL)
holder = subprocess.Popen(["sleep", "60"], pass_fds=(w,))  # keeps the write end open
print(server.pid, holder.pid, flush=True)
time.sleep(60)
"""], env=environ, stdout=subprocess.PIPE, text=True)
    server_pid, holder_pid = map(int, parent.stdout.readline().split())
    try:
        assert wait_until(lambda: routing_processes(home) == {server_pid: parent.pid}, 10)  # it has started
        parent.kill()
        parent.wait()
        assert wait_until(lambda: not routing_processes(home), 5), routing_processes(home)
    finally:
        os.kill(holder_pid, signal.SIGKILL)


# ── with the real opencode ──────────────────────────────────────────────────────────────────────────


@pytest.fixture(scope="module")
def opencode_env(tmp_path_factory: pytest.TempPathFactory):
    from fake_llm import FakeLLM
    from test_bridge import switch_project

    root = tmp_path_factory.mktemp("process")
    with FakeLLM() as fake:
        config = f"""\
name: process-e2e
version: "1.0.0"
providers:
  local:
    base_url: {fake.url}
agents:
  busy:
    path: busy.md
    routing: {{strategy: pattern, pattern: [local/m1, local/m2]}}
"""
        yield {**switch_project(root, config, {"busy": "You are BUSY.\n"}), "fake": fake}


@pytest.mark.slow
@pytest.mark.opencode
def test_four_opencodes_count_every_call_exactly_and_leave_no_routing_process(opencode_env):
    from opencode_support import OpencodeServer

    env, data = opencode_env, opencode_env["data"]
    servers = [OpencodeServer(env["env"], env["work"]) for _ in range(4)]
    seen: dict[int, set[int]] = {s.pid: set() for s in servers}  # opencode → routing processes met
    errors: list[BaseException] = []

    def drive(server) -> None:
        try:
            session = server.session()
            for i in range(25):
                reply = server.say(session, "busy", f"call {i} of {server.pid}")
                assert any(p.get("text") == "hello from the fake model" for p in reply["parts"]), reply
                seen[server.pid].update(pid for pid, ppid in routing_processes(data).items() if ppid == server.pid)
        except BaseException as exc:  # reported by the test thread once the drivers are done
            errors.append(exc)

    try:
        threads = [threading.Thread(target=drive, args=(s,)) for s in servers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=900)
        assert not errors, errors
        routed = [c for c in env["fake"].chats() if c["user"].startswith("call ")]
        assert len(routed) == 100
        state_file = json.loads((data / "state.json").read_text())
        assert state_file["routing_state"]["busy"]["call_count"] == 100  # exact, across four processes
        assert sorted(c["model"] for c in routed).count("m1") == 50  # the pattern held across them too
        # One long-lived routing process per opencode: the same one for all its 25 calls.
        assert all(len(pids) == 1 for pids in seen.values()), seen
        assert len(set().union(*seen.values())) == 4
    finally:
        for s in servers:
            s.stop()
    assert wait_until(lambda: not routing_processes(data), 5), routing_processes(data)


@pytest.mark.slow
@pytest.mark.opencode
def test_a_dead_routing_process_is_restarted_and_none_outlives_a_killed_opencode(opencode_env):
    from opencode_support import OpencodeServer

    env, data = opencode_env, opencode_env["data"]
    with OpencodeServer(env["env"], env["work"]) as server:
        session = server.session()
        server.say(session, "busy", "first")
        [first] = [pid for pid, ppid in routing_processes(data).items() if ppid == server.pid]
        os.kill(first, signal.SIGKILL)
        assert wait_until(lambda: first not in routing_processes(data), 5)
        reply = server.say(session, "busy", "second")  # asked again, of a new routing process
        assert any(p.get("text") == "hello from the fake model" for p in reply["parts"]), reply
        [second] = [pid for pid, ppid in routing_processes(data).items() if ppid == server.pid]
        assert second != first
        os.kill(server.pid, signal.SIGKILL)
        server.process.wait(timeout=30)
        assert wait_until(lambda: not routing_processes(data), 5), routing_processes(data)
