"""Warnings about this machine (unset key variables, local model servers down) never fail validation
unless --strict."""
from __future__ import annotations

import http.server
import socket
import threading

import pytest
from conftest import write_project


@pytest.fixture
def model_server():
    """A real HTTP server on 127.0.0.1 answering like an OpenAI-compatible endpoint."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b'{"object": "list", "data": []}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _project(tmp_path, base_url):
    (tmp_path / "agents").mkdir()
    (tmp_path / "agents/a.md").write_text("prompt\n")
    (tmp_path / "lattice.yaml").write_text(
        f"name: t\nproviders:\n  local:\n    base_url: {base_url}\n  openai:\n    env: CLOUD_KEY\n"
        "agents:\n  a:\n    routing: [local/m1, openai/m2]\n")


def test_unreachable_server_and_unset_key_are_warnings(run, tmp_path):
    _project(tmp_path, f"http://127.0.0.1:{_closed_port()}/v1")
    r = run("validate")
    assert r.code == 0
    assert "lattice.yaml:3:3: warning: providers.local: no model server answers at http://127.0.0.1:" in r.stderr
    assert "lattice.yaml:6:5: warning: providers.openai.env: CLOUD_KEY is not set in this environment" in r.stderr
    assert "t: valid (1 agent, 2 providers, 0 plugins, 2 warnings)" in r.stdout
    strict = run("validate", "--strict")
    assert strict.code == 1 and "invalid (--strict" in strict.stdout


def test_reachable_server_and_set_key_give_no_warning(run, tmp_path, model_server):
    _project(tmp_path, model_server)
    r = run("validate", "--strict", env={"CLOUD_KEY": "x"})
    assert r.code == 0, r.stderr
    assert r.stderr == ""
    assert "0 warnings" in r.stdout


def test_a_provider_nothing_can_reach_is_a_located_warning(run, tmp_path):
    """providers/kinds.py: only anthropic, google, openai and ollama have a default endpoint."""
    write_project(tmp_path,
        "name: t\nproviders:\n  ollama:\n  anthropic:\n    base_url: https://gateway.example/v1\n"
        "  mystery:\n    env: MYSTERY_KEY\n  bare:\n  served:\n    base_url: http://127.0.0.1:9/v1\n"
        "agents:\n  a:\n    routing: [anthropic/m1]\n")
    r = run("validate", env={"MYSTERY_KEY": "x", "ANTHROPIC_API_KEY": None})
    unreachable = [line for line in r.stderr.splitlines() if "has no base_url" in line]
    assert [line.split(" has no base_url")[0] for line in unreachable] == [
        "lattice.yaml:6:3: warning: providers.mystery:", "lattice.yaml:8:3: warning: providers.bare:"]
    assert "calls routed to mystery would fail (give it base_url:" in unreachable[0]
    assert r.code == 0 and run("validate", "--strict", env={"MYSTERY_KEY": "x"}).code == 1
