"""What reaches the model when the bridge routes a call inside the real opencode:
- the agent's own settings (frontmatter temperature, top_p, max_tokens, provider options), for an
  OpenAI-compatible and an Anthropic-protocol provider;
- opencode's own agents (a prompt with no agent) routed by defaults.routing, counted, and a provider over
  its local_budget skipped;
- the credentials an `auth:` provider's plugin gives it (a `file:` test plugin whose auth hook adds a
  header the loopback server requires).
Ground truth is the loopback server's log (tests/fake_llm.py)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fake_llm import FakeLLM
from test_bridge import lattice, switch_project, wait_for_calls

pytestmark = [pytest.mark.slow, pytest.mark.opencode]

REPLY = "hello from the fake model"
TITLE = "You are a title generator"
FIXTURES = Path(__file__).parent / "fixtures"
TUNED = "---\ntemperature: 0.7\ntop_p: 0.9\nmax_tokens: 4000\noptions:\n  seed: 7\n---\nYou are TUNED.\n"
ATUNED = "---\ntemperature: 0.3\ntop_p: 0.8\nmax_tokens: 3000\n---\nYou are ATUNED.\n"
AUTH_KEY = "tok-from-opencode-auth-login"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("requests")
    # Priced so that one call of `paid` passes its local_budget.
    prices = root / "prices.json"
    prices.write_text(json.dumps({"about": "test", "as_of": "2026-01-01", "sources": [],
                                  "models": {"paid/*": {"input": 1000.0, "output": 1000.0}}}))
    fake = FakeLLM()
    with fake:
        config = f"""\
name: requests-e2e
version: "1.0.0"
plugins:
  - file:./auth-plugin
providers:
  local:
    base_url: {fake.url}
  anthropic:
    env: LATTICE_TEST_ANTHROPIC_KEY
    base_url: {fake.url}
  paid:
    base_url: {fake.url}
    local_budget: 0.01
  keyed:
    base_url: {fake.url}
    auth: auth-plugin
defaults:
  routing: [paid/house, local/spare]
agents:
  tuned:
    path: tuned.md
    triggers: [/tuned]
    routing: [local/m1]
  atuned:
    path: atuned.md
    triggers: [/atuned]
    routing: [anthropic/sonnet-test]
  plain:
    path: plain.md
    triggers: [/plain]
    routing: [local/m1]
  authed:
    path: plain.md
    triggers: [/authed]
    routing: [keyed/km]
"""
        prompts = {"tuned": TUNED, "atuned": ATUNED, "plain": "You are PLAIN.\n"}
        project = root / "project"
        project.mkdir()
        shutil.copytree(FIXTURES / "auth-plugin", project / "auth-plugin")
        env = switch_project(root, config, prompts, LATTICE_PRICES=str(prices),
                             LATTICE_TEST_ANTHROPIC_KEY="anthropic-key")
        yield {**env, "fake": fake}


def calls(env, before: int, message: str) -> list[dict]:
    """The agent's own requests for `message` since `before` (not opencode's title call)."""
    return [r for r in env["fake"].requests[before:] if r["user"] == message and not r["system"].startswith(TITLE)]


@pytest.mark.parametrize(("trigger", "protocol", "expected"), [
    ("/tuned", "chat", {"temperature": 0.7, "top_p": 0.9, "max_tokens": 4000, "seed": 7}),
    ("/atuned", "anthropic", {"temperature": 0.3, "top_p": 0.8, "max_tokens": 3000}),
])
def test_the_agents_settings_reach_the_routed_request(env, trigger, protocol, expected):
    before = len(env["fake"].requests)
    done = lattice(env, "run", trigger, f"settings for {trigger}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert REPLY in done.stdout
    [call] = calls(env, before, f"settings for {trigger}")
    assert call["protocol"] == protocol
    assert {k: call["body"].get(k) for k in expected} == expected


def test_settings_come_from_the_agent_alone(env):
    """An agent that sets none sends none — opencode's defaults stay its own — while the tuned agent's
    arrive, in the same environment."""
    before = len(env["fake"].requests)
    for trigger in ("/plain", "/tuned"):
        done = lattice(env, "run", trigger, f"which settings, {trigger}?")
        assert done.returncode == 0, done.stderr[-2000:]
    [plain] = calls(env, before, "which settings, /plain?")
    assert "temperature" not in plain["body"] and "top_p" not in plain["body"] and "seed" not in plain["body"]
    assert plain["body"]["max_tokens"] == 32000  # opencode's own cap for a model of unknown output limit
    [tuned] = calls(env, before, "which settings, /tuned?")
    assert (tuned["body"]["temperature"], tuned["body"]["max_tokens"]) == (0.7, 4000)


def state(env) -> dict:
    return json.loads((env["data"] / "state.json").read_text())


def test_opencodes_own_agents_are_routed_counted_and_budgeted(env):
    """`opencode run "hi"` with no agent: opencode's build agent, whose model in the environment is
    lattice/defaults — routed by defaults.routing, counted, and once `paid` is over its local_budget,
    skipped for the next model."""
    before = len(env["fake"].requests)
    done = lattice(env, "run", "--", "run", "hi", "from", "build")  # one word each: opencode quotes a word with spaces
    assert done.returncode == 0, done.stderr[-2000:]
    assert REPLY in done.stdout
    [first] = calls(env, before, "hi from build")
    assert "You are opencode" in first["system"]  # opencode's own agent, its own prompt
    # defaults.routing's first model took the first of the run's calls (the title call and the prompt
    # race; when the title call's usage is in first, the prompt already finds `paid` over budget).
    seen = [r["model"] for r in env["fake"].requests[before:]]
    assert seen[0] == "house" and set(seen) <= {"house", "spare"}, seen
    assert state(env)["routing_state"]["defaults"]["call_count"] == 1  # the title call is not counted
    row = wait_for_calls(env, "paid", 1)
    assert row["over_budget"], row
    before = len(env["fake"].requests)
    done = lattice(env, "run", "--", "run", "hi", "again")
    assert done.returncode == 0, done.stderr[-2000:]
    assert [r["model"] for r in calls(env, before, "hi again")] == ["spare"]
    assert "house" not in [r["model"] for r in env["fake"].requests[before:]]
    entry = state(env)["routing_state"]["defaults"]
    assert entry["call_count"] == 2 and entry["last_model"] == "local/spare"
    done = lattice(env, "routing", "--json")
    rows = {r["agent"]: r for r in json.loads(done.stdout)["agents"]}
    assert rows["defaults"]["call_count"] == 2 and rows["defaults"]["next_model"] == "local/spare"


def test_an_auth_plugins_credentials_reach_the_routed_calls(env):
    """`keyed: {auth: auth-plugin}`: opencode holds a credential for `keyed` (as `opencode auth login`
    leaves it), the plugin's auth hook turns it into a header and a fetch of its own, and the server
    answers only requests that carry it."""
    fake = env["fake"]
    store = Path(env["env"]["HOME"]) / ".local/share/opencode"
    store.mkdir(parents=True, exist_ok=True)
    (store / "auth.json").write_text(json.dumps({"keyed": {"type": "api", "key": AUTH_KEY}}))
    fake.require_header = ("x-test-auth", AUTH_KEY)
    try:
        before = len(fake.requests)
        done = lattice(env, "run", "/authed", "with credentials")
        assert done.returncode == 0, done.stderr[-2000:]
        assert REPLY in done.stdout
        seen = fake.requests[before:]
        assert seen and {r["model"] for r in seen} == {"km"} and {r["status"] for r in seen} == {200}
        for r in seen:  # the header from the stored credential, the key and the fetch from the plugin
            assert r["headers"]["x-test-auth"] == AUTH_KEY
            assert r["key"] == "from-the-auth-plugin"
            assert r["headers"]["x-test-plugin-saw"] == "keyed km object"  # provider, models, client
    finally:
        fake.require_header = None
