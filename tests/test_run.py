"""End to end: lattice.yaml → `lattice switch` → `lattice run /architect "say hi"` → the environment's
real opencode sends the architect's prompt to the model routing chose, on a loopback server."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fake_llm import FakeLLM
from opencode_support import switched_env

pytestmark = [pytest.mark.slow, pytest.mark.opencode]


@pytest.fixture(scope="module")
def switched(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("run")
    home, project = root / "home", root / "project"
    (project / "agents").mkdir(parents=True)
    (project / "agents/architect.md").write_text("You are THE-ARCHITECT. Design first.\n")
    (project / "agents/quick.md").write_text("You are QUICK.\n")
    # A poisoned user configuration that must not reach any request.
    (home / ".config/opencode").mkdir(parents=True)
    (home / ".config/opencode/opencode.json").write_text(json.dumps(
        {"agent": {"architect": {"prompt": "POISONED-PROMPT"}}, "model": "local/poison"}))
    fake = FakeLLM()
    with fake:
        (project / "lattice.yaml").write_text(f"""\
name: run-e2e
version: "2.0.0"
providers:
  cloud:
    env: CLOUD_API_KEY
    base_url: http://127.0.0.1:9/v1
  local:
    base_url: {fake.url}
agents:
  architect:
    path: architect.md
    triggers: [/architect, /plan]
    routing: [cloud/big, local/m1, local/m2]
  quick:
    path: quick.md
    triggers: [/q]
    routing: [local/m2]
""")
        env = switched_env(root, project)
        yield {"env": env, "project": project, "fake": fake, "home": home}


def lattice(switched, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lattice_env", *args], cwd=cwd or switched["project"],
                          env=switched["env"], capture_output=True, text=True, timeout=300)


def test_run_trigger_sends_agent_prompt_to_routed_model(switched, tmp_path):
    fake = switched["fake"]
    before = len(fake.chats())
    done = lattice(switched, "run", "/architect", "say hi", cwd=tmp_path)  # anywhere: the profile decides
    assert done.returncode == 0, done.stderr[-2000:]
    assert "hello from the fake model" in done.stdout
    chats = fake.chats()[before:]
    assert len(chats) == 1
    # cloud/big is skipped (CLOUD_API_KEY unset): the first available candidate is local/m1.
    assert chats[0]["model"] == "m1"
    assert "THE-ARCHITECT" in chats[0]["system"]
    assert "POISON" not in json.dumps(fake.requests)
    assert chats[0]["messages"][-1]["content"] in ("say hi", [{"type": "text", "text": "say hi"}])


def test_run_message_reaches_the_model_exactly(switched, tmp_path):
    message = 'two  spaces, "quotes", a $dollar\nand a second line'
    before = len(switched["fake"].chats())
    done = lattice(switched, "run", "/plan", message, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    content = switched["fake"].chats()[before:][0]["messages"][-1]["content"]
    text = content if isinstance(content, str) else content[0]["text"]
    assert text == message


def test_run_other_trigger_and_agent(switched, tmp_path):
    before = len(switched["fake"].chats())
    done = lattice(switched, "run", "/q", "quick", "question", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    chat = switched["fake"].chats()[before:][0]
    assert chat["model"] == "m2" and "QUICK" in chat["system"]


def test_run_passthrough_and_exit_status(switched):
    done = lattice(switched, "run", "--", "--version")
    assert done.returncode == 0 and done.stdout.strip() == "1.18.33"
    failing = lattice(switched, "run", "--", "run", "--model", "nosuch/model", "x")
    assert failing.returncode != 0  # opencode's own status, not lattice's


def test_run_errors_are_one_line(switched):
    done = lattice(switched, "run", "/nope", "x")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "lattice: error: unknown trigger /nope (known: /architect, /plan, /q)"]
    done = lattice(switched, "run", "/architect")
    assert done.returncode == 2 and 'needs a message' in done.stderr
