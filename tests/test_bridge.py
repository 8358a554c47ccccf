"""Per-call routing inside the real opencode: the environment's bridge (a local AI-SDK provider,
templates/env/bridge/) asks Lattice for the model of every call. Ground truth is the loopback server's log:
which model each request named."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fake_llm import FakeLLM
from opencode_support import OpencodeServer, switched_env

pytestmark = [pytest.mark.slow, pytest.mark.opencode]

PATTERN = "{strategy: pattern, pattern: [local/m1, local/m1, local/m1, local/m2]}"
EIGHT = ["m1", "m1", "m1", "m2", "m1", "m1", "m1", "m2"]


def switch_project(root: Path, config: str, prompts: dict[str, str], **extra: str) -> dict:
    """A project under `root` with `config` as lattice.yaml and one agent file per prompt, switched into a
    fresh data dir; what the helpers below take (`env` for the processes, `work` to run them in)."""
    project, work = root / "project", root / "work"
    (project / "agents").mkdir(parents=True)
    work.mkdir()
    for name, prompt in prompts.items():
        (project / f"agents/{name}.md").write_text(prompt)
    (project / "lattice.yaml").write_text(config)
    return {"env": switched_env(root, project, **extra), "project": project, "work": work, "data": root / "data"}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("bridge")
    # Priced so that one call of `paid` passes its local_budget.
    prices = root / "prices.json"
    prices.write_text(json.dumps({"about": "test", "as_of": "2026-01-01", "sources": [],
                                  "models": {"paid/*": {"input": 1000.0, "output": 1000.0}}}))
    fake = FakeLLM(retry_after="120")
    with fake:
        config = f"""\
name: bridge-e2e
version: "1.0.0"
providers:
  local:
    base_url: {fake.url}
  paid:
    base_url: {fake.url}
    local_budget: 0.01
agents:
  pat:
    path: pat.md
    triggers: [/pat]
    routing: {PATTERN}
  turns:
    path: turns.md
    triggers: [/turns]
    routing: {PATTERN}
  served:
    path: served.md
    routing: {PATTERN}
  limited:
    path: limited.md
    triggers: [/limited]
    routing: {{strategy: pattern, pattern: [local/r1, local/r1, local/r2]}}
  budgeted:
    path: budgeted.md
    triggers: [/budgeted]
    routing: [paid/p1, local/m2]
"""
        prompts = {name: f"You are {name.upper()}.\n" for name in ("pat", "turns", "served", "limited", "budgeted")}
        yield {**switch_project(root, config, prompts, LATTICE_PRICES=str(prices)), "fake": fake}


def lattice(env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lattice_env", *args], cwd=env["work"], env=env["env"],
                          capture_output=True, text=True, timeout=300)


def chat_models(env, before: int, answered: bool = False) -> list[str]:
    """Models of the agent's chat requests since `before`; with `answered`, only those not met by a 429."""
    return [c["model"] for c in env["fake"].chats()[before:] if not answered or c["status"] == 200]


def providers(env) -> dict[str, dict]:
    done = lattice(env, "status", "providers", "--json")
    assert done.returncode == 0, done.stderr
    return {row["provider"]: row for row in json.loads(done.stdout)["providers"]}


def wait_for_calls(env, provider: str, calls: int) -> dict:
    """Usage is reported fire-and-forget after each response: give it a moment."""
    deadline = time.monotonic() + 20
    while True:
        row = providers(env)[provider]
        if row["calls_today"] >= calls or time.monotonic() > deadline:
            return row
        time.sleep(0.3)


def assert_relayed(seen: list[dict], chain: list[str], message: str) -> None:
    """One launch's requests, where every model of `chain` but the last answers 429: opencode's title
    call and the agent's call run concurrently, and whichever comes first meets the 429s; each call still
    ends on the last model, having tried the busy ones in order, none twice, with the same message."""
    title = "You are a title generator"
    calls = {"title": [r for r in seen if r["system"].startswith(title)],
             "prompt": [r for r in seen if not r["system"].startswith(title)]}
    assert seen[0]["model"] == chain[0], [r["model"] for r in seen]
    for name, requests in calls.items():
        models = [r["model"] for r in requests]
        assert models and models[-1] == chain[-1] and models.count(chain[-1]) == 1, (name, models)
        assert models == [m for m in chain if m in models], (name, models)
    assert {r["user"] for r in calls["prompt"]} == {message}
    for busy in chain[:-1]:  # every 429 was seen and re-routed, by one call or the other
        assert busy in [r["model"] for r in seen], [r["model"] for r in seen]


def test_store_config_routes_agents_through_the_bridge(env):
    done = lattice(env, "run", "--", "debug", "config")
    assert done.returncode == 0, done.stderr[-2000:]
    config = json.loads(done.stdout)
    bridge = config["provider"]["lattice"]
    assert bridge["npm"].startswith("file:///") and bridge["npm"].endswith("/bridge/index.mjs")
    assert set(bridge["models"]) == {"pat", "turns", "served", "limited", "budgeted"}
    assert config["agent"]["pat"]["model"] == "lattice/pat"
    assert "local" in config["provider"]  # real providers stay: --model local/m1 still works


def test_pattern_over_eight_launches(env):
    before = len(env["fake"].chats())
    for i in range(8):
        done = lattice(env, "run", "/pat", f"launch {i}")
        assert done.returncode == 0, done.stderr[-2000:]
        assert "hello from the fake model" in done.stdout
    assert chat_models(env, before) == EIGHT
    # Title requests went through the bridge too, without advancing the pattern.
    titles = [r for r in env["fake"].requests if r["system"].startswith("You are a title generator")]
    assert titles and all(r["model"] in ("m1", "m2") for r in titles)
    row = wait_for_calls(env, "local", 16)
    assert row["input_tokens"] >= 800 and row["output_tokens"] >= 56


def test_pattern_over_eight_turns_of_one_session(env):
    before = len(env["fake"].chats())
    for i in range(8):
        cont = ["--continue"] if i else []
        done = lattice(env, "run", "--", "run", *cont, "--agent", "turns", "--model", "lattice/turns",
                       f"turn {i}")
        assert done.returncode == 0, done.stderr[-2000:]
    chats = env["fake"].chats()[before:]
    assert [c["model"] for c in chats] == EIGHT
    # One session: the last turn carries the seven before it.
    assert sum(1 for m in chats[-1]["messages"] if m["role"] == "user") == 8


def test_pattern_over_eight_turns_in_one_long_lived_opencode(env):
    """The TUI is a client of opencode's own server, in one process for the whole session: the bridge's
    provider object lives across turns. Drive that server (`opencode serve`, through `lattice run --`)
    over HTTP as the TUI does, eight turns in one session."""
    with OpencodeServer(env["env"], env["work"]) as server:
        session = server.session("bridge test")
        before = len(env["fake"].chats())
        for i in range(8):
            reply = server.say(session, "served", f"served turn {i}")
            assert any(part.get("text") == "hello from the fake model" for part in reply["parts"]), reply
        chats = env["fake"].chats()[before:]
        assert [c["model"] for c in chats] == EIGHT
        assert [c["user"] for c in chats] == [f"served turn {i}" for i in range(8)]
        assert sum(1 for m in chats[-1]["messages"] if m["role"] == "user") == 8
        assert server.process.poll() is None  # one opencode process served every turn


def test_rate_limited_model_is_cooled_and_the_call_served_by_the_next(env):
    fake = env["fake"]
    fake.rate_limited = {"r1"}
    try:
        before, chats = len(fake.requests), len(fake.chats())
        done = lattice(env, "run", "/limited", "please answer")
        assert done.returncode == 0, done.stderr[-2000:]
        assert "hello from the fake model" in done.stdout
        # r1 answered 429 (to the title call, the prompt's, or both: they run concurrently); the call was
        # served by r2 without the user retyping, and r1, cooling down, was not asked again.
        assert_relayed(fake.requests[before:], ["r1", "r2"], "please answer")
        assert chat_models(env, chats, answered=True) == ["r2"]
        asked = [r["model"] for r in fake.requests[before:]].count("r1")
        done = lattice(env, "run", "/limited", "again")
        assert done.returncode == 0, done.stderr[-2000:]
        assert [r["model"] for r in fake.requests[before:]].count("r1") == asked
        assert chat_models(env, chats, answered=True) == ["r2", "r2"]
    finally:
        fake.rate_limited = set()
    row = providers(env)["local"]
    assert row["rate_limited_today"] >= 1
    cool = {c["model"]: c["seconds_left"] for c in row["cooldowns"]}
    assert 60 < cool["local/r1"] <= 120  # Retry-After: 120 honoured


def test_provider_over_local_budget_is_skipped(env):
    fake = env["fake"]
    done = lattice(env, "run", "/budgeted", "first")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "p1" in [r["model"] for r in fake.requests]  # one priced call (the title or the prompt) …
    row = wait_for_calls(env, "paid", 1)
    assert row["over_budget"], row  # … is over the $0.01 local_budget
    before, chats = len(fake.requests), len(fake.chats())
    done = lattice(env, "run", "/budgeted", "second")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "p1" not in [r["model"] for r in fake.requests[before:]]
    assert chat_models(env, chats) == ["m2"]
    done = lattice(env, "route", "/budgeted", "x", "--json")
    decision = json.loads(done.stdout)
    assert decision["model"] == "local/m2"
    assert any(s["model"] == "paid/p1" and "local_budget" in s["reason"] for s in decision["skipped"])
