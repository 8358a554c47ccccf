"""Failover inside the real opencode: a model that fails a call — its provider refuses the connection,
answers 5xx, accepts the connection and never answers (first_byte_timeout, set low here) — is cooled down
with the reason recorded, and the same call is served by the next model within seconds; a 401 is one
clear error naming provider and model, sent nowhere else. Ground truth is the loopback server's log."""
from __future__ import annotations

import time

import pytest
from fake_llm import FakeLLM
from test_bridge import assert_relayed, lattice, providers, switch_project

pytestmark = [pytest.mark.slow, pytest.mark.opencode]

REPLY = "hello from the fake model"
DEAD = "http://127.0.0.1:9/v1"  # the discard port: nothing listens, every connection is refused
NOWHERE = "http://no-such-host.invalid/v1"  # .invalid never resolves (RFC 2606)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("failover")
    fake = FakeLLM()
    fake.fail = {"b500": 500, "r401": 401, "r404": 404}
    fake.hang = {"stuck"}
    with fake:
        config = f"""\
name: failover-e2e
version: "1.0.0"
providers:
  local:
    base_url: {fake.url}
  dead:
    base_url: {DEAD}
  nowhere:
    base_url: {NOWHERE}
  broken:
    base_url: {fake.url}
  slow:
    base_url: {fake.url}
    first_byte_timeout: 1
defaults:
  failure_cooldown: 45
agents:
  steady:
    path: a.md
    triggers: [/steady]
    routing: [local/m0]
  unreachable:
    path: a.md
    triggers: [/unreachable]
    routing: [dead/m1, local/m2]
  unresolved:
    path: a.md
    triggers: [/unresolved]
    routing: [nowhere/m1, local/m2]
  erring:
    path: a.md
    triggers: [/erring]
    routing: [broken/b500, local/m3]
  hanging:
    path: a.md
    triggers: [/hanging]
    routing: [slow/stuck, local/m4]
  refused:
    path: a.md
    triggers: [/refused]
    routing: [local/r401, local/m5]
"""
        yield {**switch_project(root, config, {"a": "You are A.\n"}), "fake": fake}


def timed_run(env, *args: str) -> tuple[float, object]:
    start = time.monotonic()
    done = lattice(env, "run", *args)
    return time.monotonic() - start, done


def since(env, before: int) -> list[dict]:
    return env["fake"].requests[before:]


def prompt_calls(requests: list[dict], message: str) -> list[dict]:
    """The agent's own calls for `message` (opencode's title call carries the message too)."""
    return [r for r in requests if r["user"] == message and not r["system"].startswith("You are a title generator")]


@pytest.fixture(scope="module")
def baseline(env) -> float:
    """How long one answered `lattice run` takes here, with nothing failing."""
    elapsed, done = timed_run(env, "/steady", "warm up")
    assert done.returncode == 0, done.stderr[-2000:]
    return elapsed


def cooldown(env, provider: str, model: str) -> dict:
    rows = {c["model"]: c for c in providers(env)[provider]["cooldowns"]}
    return rows[model]


def test_a_refused_connection_fails_over_to_the_next_model_at_once(env, baseline):
    before = len(env["fake"].requests)
    elapsed, done = timed_run(env, "/unreachable", "anyone there?")
    assert done.returncode == 0, done.stderr[-2000:]
    assert REPLY in done.stdout
    seen = since(env, before)
    assert [r["model"] for r in prompt_calls(seen, "anyone there?")] == ["m2"]  # served by the next model, in the same call
    assert elapsed < baseline + 10, (elapsed, baseline)  # not opencode's two minutes of retries
    # The whole provider cools down (its endpoint is unreachable), shorter than a 429's, reason kept.
    c = cooldown(env, "dead", "dead")
    assert c["failed_model"] == "dead/m1" and c["kind"] == "connection"
    assert "connection refused" in c["reason"] and 30 < c["seconds_left"] <= 45
    assert providers(env)["dead"]["failed_today"] >= 1
    log = (env["data"] / "bridge.log").read_text()
    assert "failover: dead/m1 failed (connection refused" in log and "the call goes to local/m2" in log
    # While it cools down, the next call goes straight to m2.
    before = len(env["fake"].requests)
    done = lattice(env, "run", "/unreachable", "again")
    assert done.returncode == 0, done.stderr[-2000:]
    assert {r["model"] for r in since(env, before)} == {"m2"}
    out = lattice(env, "status", "providers").stdout
    assert "cooling down: all of dead (a call to dead/m1) (" in out and "left after connection refused" in out


def test_a_host_that_does_not_resolve_fails_over_too(env, baseline):
    before = len(env["fake"].requests)
    elapsed, done = timed_run(env, "/unresolved", "hello?")
    assert done.returncode == 0, done.stderr[-2000:]
    assert [r["model"] for r in prompt_calls(since(env, before), "hello?")] == ["m2"]
    assert elapsed < baseline + 10, (elapsed, baseline)
    c = cooldown(env, "nowhere", "nowhere")
    assert c["kind"] == "connection" and c["failed_model"] == "nowhere/m1"


def test_a_5xx_fails_over_within_seconds(env, baseline):
    before = len(env["fake"].requests)
    elapsed, done = timed_run(env, "/erring", "please answer")
    assert done.returncode == 0, done.stderr[-2000:]
    assert REPLY in done.stdout
    seen = since(env, before)
    failed = [r for r in seen if r["model"] == "b500"]
    served = [r for r in prompt_calls(seen, "please answer") if r["model"] == "m3"]
    assert failed and len(served) == 1
    assert len(failed) <= 2  # the title call and the prompt, at most: never retried on the failing model
    assert served[0]["time"] - failed[0]["time"] < 10
    assert elapsed < baseline + 10, (elapsed, baseline)
    c = cooldown(env, "broken", "broken/b500")  # a 5xx cools the model, not its provider
    assert c["reason"] == "an HTTP 500" and c["kind"] == "server" and 30 < c["seconds_left"] <= 45


def test_a_server_that_never_answers_fails_over_after_first_byte_timeout(env, baseline):
    before = len(env["fake"].requests)
    elapsed, done = timed_run(env, "/hanging", "are you stuck?")
    assert done.returncode == 0, done.stderr[-2000:]
    assert REPLY in done.stdout
    seen = since(env, before)
    stuck = [r for r in seen if r["model"] == "stuck"]
    served = [r for r in prompt_calls(seen, "are you stuck?") if r["model"] == "m4"]
    assert stuck and len(served) == 1
    waited = served[0]["time"] - stuck[0]["time"]
    assert 0.9 < waited < 10, waited  # first_byte_timeout: 1, then the next model at once
    assert elapsed < baseline + 10, (elapsed, baseline)
    c = cooldown(env, "slow", "slow/stuck")
    assert c["reason"] == "no first byte within 1s" and c["kind"] == "timeout"


def test_a_401_is_one_clear_error_and_goes_nowhere_else(env, baseline):
    before = len(env["fake"].requests)
    elapsed, done = timed_run(env, "/refused", "let me in")
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "provider local refused the call to r401 with an HTTP 401 (missing credentials)" in output, output[-3000:]
    seen = since(env, before)
    assert {r["model"] for r in seen} == {"r401"}  # not m5: the request itself was refused
    assert len(prompt_calls(seen, "let me in")) == 1  # and not retried
    assert elapsed < baseline + 10, (elapsed, baseline)
    assert not [c for c in providers(env)["local"]["cooldowns"] if c["model"] == "local/r401"]


def test_a_client_error_fails_over_when_the_user_opts_in(tmp_path):
    """defaults.failover_on_client_error: true — a 404 (a model this server does not have) is then a
    failure like a 5xx: cooled down, and the call goes to the next model."""
    with FakeLLM() as fake:
        fake.fail = {"r404": 404}
        config = f"""\
name: optin-e2e
version: "1.0.0"
providers:
  local:
    base_url: {fake.url}
defaults:
  failover_on_client_error: true
agents:
  lenient:
    path: a.md
    triggers: [/lenient]
    routing: [local/r404, local/m6]
"""
        env = {**switch_project(tmp_path, config, {"a": "You are A.\n"}), "fake": fake}
        done = lattice(env, "run", "/lenient", "where is it?")
        assert done.returncode == 0, done.stderr[-2000:]
        assert REPLY in done.stdout
        # The title call and the prompt race: whichever meets r404 first cools it down for the other.
        assert_relayed(fake.requests, ["r404", "m6"], "where is it?")
        c = cooldown(env, "local", "local/r404")
        assert c["reason"] == "an HTTP 404" and c["kind"] == "client"
