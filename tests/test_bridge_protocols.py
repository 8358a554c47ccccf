"""The bridge speaks each provider's own protocol: the real opencode, through `lattice switch` and
`lattice run /trigger msg`, reaches the Anthropic Messages API, the OpenAI Responses API and Google
Gemini (tests/fake_llm.py, over a real socket) with the agent's system prompt, the routed model and the key
from the provider's variable; a 429 in each protocol's shape re-routes the same call; usage as each SDK
reports it reaches state.json; no key reaches the store."""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import pytest
from fake_llm import USAGE, FakeLLM
from test_bridge import assert_relayed, lattice, providers, switch_project, wait_for_calls

pytestmark = [pytest.mark.slow, pytest.mark.opencode]

# Known provider names keep their protocol under a base_url (a gateway, here the loopback fake).
PROTOCOLS = {  # provider → (agent, trigger, model, the fake's protocol)
    "anthropic": ("claude", "/claude", "claude-test", "anthropic"),
    "openai": ("gpt", "/gpt", "gpt-test", "responses"),
    "google": ("gemini", "/gemini", "gemini-test", "google"),
}
KEY_VARS = {"anthropic": "LATTICE_TEST_ANTHROPIC_KEY", "openai": "LATTICE_TEST_OPENAI_KEY",
            "google": "LATTICE_TEST_GOOGLE_KEY", "mystery": "LATTICE_TEST_MYSTERY_KEY"}
REPLY = "hello from the fake model"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("protocols")
    # Keys are exported when the environment is built, as a user's would be: none may reach the store.
    keys = {var: f"secret-{provider}-{secrets.token_hex(12)}" for provider, var in KEY_VARS.items()}
    fake = FakeLLM(retry_after="120")
    base = fake.url.removesuffix("/v1")
    with fake:
        config = f"""\
name: protocols-e2e
version: "1.0.0"
providers:
  anthropic:
    env: {KEY_VARS["anthropic"]}
    base_url: {base}/v1
  openai:
    env: {KEY_VARS["openai"]}
    base_url: {base}/v1
  google:
    env: {KEY_VARS["google"]}
    base_url: {base}/v1beta
  mystery:
    env: {KEY_VARS["mystery"]}
agents:
  claude:
    path: claude.md
    triggers: [/claude]
    routing: [anthropic/claude-test]
  gpt:
    path: gpt.md
    triggers: [/gpt]
    routing: [openai/gpt-test]
  gemini:
    path: gemini.md
    triggers: [/gemini]
    routing: [google/gemini-test]
  relay:
    path: relay.md
    triggers: [/relay]
    routing: [anthropic/claude-busy, openai/gpt-busy, google/gemini-relay]
  relay2:
    path: relay2.md
    triggers: [/relay2]
    routing: [google/gemini-busy, anthropic/claude-relay]
  nowhere:
    path: nowhere.md
    triggers: [/nowhere]
    routing: [mystery/m]
"""
        prompts = {a: f"You are {a.upper()}-AGENT.\n" for a in ("claude", "gpt", "gemini", "relay", "relay2",
                                                                 "nowhere")}
        yield {**switch_project(root, config, prompts, **keys), "fake": fake, "keys": keys}


def requests_since(env, before: int) -> list[dict]:
    return env["fake"].requests[before:]


@pytest.mark.parametrize("provider", sorted(PROTOCOLS))
def test_each_protocol_gets_prompt_model_and_key(env, provider):
    agent, trigger, model, protocol = PROTOCOLS[provider]
    fake = env["fake"]
    before, usage_before = len(fake.requests), providers(env)[provider]
    done = lattice(env, "run", trigger, f"hello {provider}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert REPLY in done.stdout  # the protocol's stream was parsed back into opencode's answer
    seen = requests_since(env, before)
    assert seen and {r["protocol"] for r in seen} == {protocol}, seen
    assert {r["model"] for r in seen} == {model}
    assert {r["key"] for r in seen} == {env["keys"][KEY_VARS[provider]]}
    prompts = [r for r in seen if not r["system"].startswith("You are a title generator")]
    assert len(prompts) == 1 and prompts[0]["stream"]
    assert f"You are {agent.upper()}-AGENT." in prompts[0]["system"]
    assert prompts[0]["user"] == f"hello {provider}"
    # Usage as this SDK reports it (the fake's numbers differ per protocol), for every request it served.
    row = wait_for_calls(env, provider, usage_before["calls_today"] + len(seen))
    calls = row["calls_today"] - usage_before["calls_today"]
    tokens_in, tokens_out = USAGE[protocol]
    assert calls == len(seen)
    assert row["input_tokens"] - usage_before["input_tokens"] == calls * tokens_in
    assert row["output_tokens"] - usage_before["output_tokens"] == calls * tokens_out


def test_openai_turns_carry_the_conversation_not_stored_references(env):
    """As opencode does for its own openai provider (`store: false`), a later turn sends the earlier
    answer itself: a reference to a response OpenAI never stored would fail."""
    fake = env["fake"]
    for cont, message in (([], "first"), (["--continue"], "second")):
        done = lattice(env, "run", "--", "run", *cont, "--agent", "gpt", "--model", "lattice/gpt", message)
        assert done.returncode == 0, done.stderr[-2000:]
    last = fake.chats("responses")[-1]
    assert last["user"] == "second"
    assert not any(item.get("type") == "item_reference" for item in last["messages"]), last["messages"]
    answers = [item for item in last["messages"] if item.get("role") == "assistant"]
    assert answers and REPLY in json.dumps(answers)


def test_429_of_each_protocol_reroutes_the_same_call(env):
    fake = env["fake"]
    fake.rate_limited = {"claude-busy", "gpt-busy", "gemini-busy"}
    try:
        before = len(fake.requests)
        done = lattice(env, "run", "/relay", "please answer")
        assert done.returncode == 0, done.stderr[-2000:]
        assert REPLY in done.stdout
        # Anthropic's 429, then OpenAI's: served by Gemini without the user retyping.
        assert_relayed(requests_since(env, before), ["claude-busy", "gpt-busy", "gemini-relay"], "please answer")
        before = len(fake.requests)
        done = lattice(env, "run", "/relay", "once more")
        assert done.returncode == 0, done.stderr[-2000:]
        # Cooling down: neither busy model is asked again.
        assert {r["model"] for r in requests_since(env, before)} == {"gemini-relay"}
        before = len(fake.requests)
        done = lattice(env, "run", "/relay2", "and you")
        assert done.returncode == 0, done.stderr[-2000:]
        # Gemini's 429 re-routes to Anthropic.
        assert_relayed(requests_since(env, before), ["gemini-busy", "claude-relay"], "and you")
    finally:
        fake.rate_limited = set()
    rows = providers(env)
    for provider, model in (("anthropic", "claude-busy"), ("openai", "gpt-busy"), ("google", "gemini-busy")):
        cool = {c["model"]: c["seconds_left"] for c in rows[provider]["cooldowns"]}
        assert 60 < cool[f"{provider}/{model}"] <= 120, rows[provider]  # Retry-After: 120 honoured
        assert rows[provider]["rate_limited_today"] >= 1


def test_provider_without_an_endpoint_is_a_clear_error(env):
    done = lattice(env, "run", "/nowhere", "x")
    assert done.returncode != 0
    assert "provider mystery has no base_url" in done.stdout + done.stderr
    assert not [r for r in env["fake"].requests if r["model"] == "m"]


def test_no_key_reaches_the_store(env):
    store = env["data"] / "store"
    env_path = (env["data"] / "profiles" / "default").resolve()
    assert env_path.parent == store.resolve()
    config = json.loads((env_path / "config/opencode/opencode.json").read_text())
    assert config["provider"]["anthropic"]["options"]["apiKey"] == "{env:LATTICE_TEST_ANTHROPIC_KEY}"
    keys = [k.encode() for k in env["keys"].values()]
    checked = 0
    for folder, _, files in os.walk(store):
        for name in files:
            path = Path(folder, name)
            if path.is_symlink():
                continue
            data = path.read_bytes()
            checked += 1
            assert not any(k in data for k in keys), path
    assert checked > 100  # the environment and its npm closure, not an empty folder
