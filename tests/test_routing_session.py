"""Session-level provider skips: the design's `hooks.on_budget_exceeded: [{action: route.skip_provider,
notify: true}]`. In-process through `route()`, through the bridge's Python side as the real process
opencode starts (`python -m lattice_env.routing.bridge route JSON`), with `lattice route --session`, and end to
end with the real opencode, whose session id reaches the bridge in each call's headers."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_routing_cli import make_profile

from lattice_env.proc import clean_env
from lattice_env.routing.decide import route
from lattice_env.routing.state import read_state
from lattice_env.routing.usage import record_usage

GPT4O, SONNET = "openai/gpt-4o", "anthropic/claude-sonnet-4-5"
KEYS = {"ANTHROPIC_API_KEY": "a", "OPENAI_API_KEY": "o"}
SKIP = {"action": "route.skip_provider", "notify": True}


def cfg(*hooks: dict) -> dict:
    data = {"providers": {"anthropic": {"env": "ANTHROPIC_API_KEY"},
                          "openai": {"env": "OPENAI_API_KEY", "local_budget": 1}},
            "agents": {"impl": {"triggers": ["/impl"], "routing": [GPT4O, SONNET]}}}
    if hooks:
        data["hooks"] = {"on_budget_exceeded": list(hooks)}
    return data


@pytest.fixture
def path(tmp_path):
    p = tmp_path / "state.json"
    record_usage("openai", "gpt-4o", 1_000_000, 0, path=p)  # $2.50 of a $1 local_budget
    return p


def decide(config, path, session="s1", commit=True):
    return route(config, "impl", commit=commit, session=session, environ=KEYS, path=path)


def test_over_budget_provider_is_skipped_for_the_session_with_one_notice(path):
    d = decide(cfg(SKIP), path)
    assert d.model == SONNET
    assert d.warnings == ["openai is over its local_budget ($2.50 of $1 this month); skipping it for the "
                          "rest of session s1 (hooks.on_budget_exceeded)"]
    assert list(read_state(path)["skipped"]) == ["s1"]
    again = decide(cfg(SKIP), path)
    assert again.skipped == [(GPT4O, "provider openai is skipped for this session")] and again.warnings == []
    # Another session meets the budget itself (and gets its own skip); the skip outlives the budget:
    # raising local_budget does not bring openai back into s1.
    assert decide(cfg(SKIP), path, "s2").warnings[0].endswith("session s2 (hooks.on_budget_exceeded)")
    raised = cfg(SKIP)
    raised["providers"]["openai"]["local_budget"] = 100
    assert decide(raised, path).model == SONNET
    assert decide(raised, path, "s3").model == GPT4O


def test_no_hook_no_session_or_a_dry_run_records_nothing(path):
    assert decide(cfg(), path).warnings == []  # no hooks: the budget alone skips it, call by call
    assert decide(cfg(SKIP), path, session=None).warnings == []  # no session to skip it for
    assert decide(cfg(SKIP), path, commit=False).warnings == []  # a dry run changes nothing
    assert read_state(path)["skipped"] == {}


def test_the_hooks_when_and_notify_are_honoured(path):
    quiet = {"action": "route.skip_provider"}
    assert decide(cfg(quiet), path).warnings == []
    assert "s1" in read_state(path)["skipped"]
    other = {**SKIP, "when": 'provider == "anthropic"'}
    assert decide(cfg(other), path, "s2").warnings == []
    assert "s2" not in read_state(path)["skipped"]
    logging_only = {"action": "log.warning", "message": "Budget exceeded for {provider}"}
    assert decide(cfg(logging_only), path, "s3").warnings == []
    assert "s3" not in read_state(path)["skipped"]


def bridge(environ: dict, op: str, payload: dict, module: str = "lattice_env.routing.bridge") -> dict:
    done = subprocess.run([sys.executable, "-m", module, op, json.dumps(payload)],
                          env=environ, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout) if done.stdout else {}  # `usage` answers nothing


def test_the_bridge_process_skips_for_the_session_and_logs_the_notice(tmp_path):
    home = tmp_path / "data"
    environ = clean_env(LATTICE_HOME=str(home), LATTICE_ENV=str(make_profile(home, cfg(SKIP))), **KEYS)
    bridge(environ, "usage", {"provider": "openai", "model": "gpt-4o", "input": 1_000_000, "output": 0})
    first = bridge(environ, "route", {"agent": "impl", "prompt": "x", "commit": True, "session": "ses_A"})
    assert first["model"] == SONNET and len(first["warnings"]) == 1
    log = (home / "bridge.log").read_text()
    assert log.count("\n") == 1 and "skipping it for the rest of session ses_A" in log
    second = bridge(environ, "route", {"agent": "impl", "prompt": "y", "commit": True, "session": "ses_A"})
    assert second["skipped"] == [[GPT4O, "provider openai is skipped for this session"]]
    assert second["warnings"] == [] and (home / "bridge.log").read_text() == log
    # A 429 re-route of the same call honours the session's skip too: nothing is left for ses_A.
    done = subprocess.run([sys.executable, "-m", "lattice_env.routing.bridge", "rate-limited", json.dumps(
        {"agent": "impl", "prompt": "y", "model": SONNET, "position": 0, "session": "ses_A"})],
        env=environ, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and json.loads(done.stdout)["error"] == (
        f"no model is available for agent impl: {GPT4O} (provider openai is skipped for this session); "
        f"{SONNET} (cooling down after a 429 (60s left))")
    state = json.loads((home / "state.json").read_text())
    assert list(state["skipped"]) == ["ses_A"] and list(state["skipped"]["ses_A"]) == ["openai"]


def test_environments_of_the_flat_layout_still_reach_their_bridge(tmp_path):
    """Store paths built before the subpackage layout call `python -m lattice_env.bridge`: it answers as
    the bridge does (a dry run, so both see the same state)."""
    home = tmp_path / "data"
    environ = clean_env(LATTICE_HOME=str(home), LATTICE_ENV=str(make_profile(home, cfg(SKIP))), **KEYS)
    ask = {"agent": "impl", "prompt": "x", "commit": False}
    assert bridge(environ, "route", ask, "lattice_env.bridge") == bridge(environ, "route", ask)


def test_lattice_route_session_shows_and_applies_the_skip(run, isolated_home, monkeypatch):
    for k, v in KEYS.items():
        monkeypatch.setenv(k, v)
    make_profile(Path(os.environ["LATTICE_HOME"]), {"name": "t", **cfg(SKIP)})
    record_usage("openai", "gpt-4o", 1_000_000, 0)
    r = run("route", "--session", "S", "/impl", "x")  # a dry run: shows, records nothing
    assert f"skipped {GPT4O}: openai is over its local_budget ($2.50 of $1 this month)" in r.stdout
    assert r.stderr == ""
    r = run("route", "--commit", "--session", "S", "/impl", "x")
    assert r.code == 0 and r.stderr == ("openai is over its local_budget ($2.50 of $1 this month); skipping "
                                        "it for the rest of session S (hooks.on_budget_exceeded)\n")
    r = run("route", "--session", "S", "/impl", "x")
    assert f"skipped {GPT4O}: provider openai is skipped for this session" in r.stdout


@pytest.mark.slow
@pytest.mark.opencode
def test_opencode_sessions_reach_the_bridge_and_the_budget_hook_skips_per_session(tmp_path):
    """The real opencode: its session id (`ses_…`, from the call's headers) is what the skip is recorded
    under, one per `lattice run` (each is a new session), and the notice lands in bridge.log."""
    from fake_llm import FakeLLM
    from opencode_support import switched_env

    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"about": "test", "as_of": "2026-01-01", "sources": [],
                                  "models": {"paid/*": {"input": 1000.0, "output": 1000.0}}}))
    project, work = tmp_path / "project", tmp_path / "work"
    (project / "agents").mkdir(parents=True)
    work.mkdir()
    (project / "agents" / "budgeted.md").write_text("You are BUDGETED.\n")
    with FakeLLM() as fake:
        (project / "lattice.yaml").write_text(f"""\
name: session-e2e
version: "1.0.0"
providers:
  local: {{base_url: "{fake.url}"}}
  paid: {{base_url: "{fake.url}", local_budget: 0.01}}
agents:
  budgeted:
    path: budgeted.md
    triggers: [/budgeted]
    routing: [paid/p1, local/m2]
hooks:
  on_budget_exceeded:
    - action: route.skip_provider
      notify: true
""")
        environ = switched_env(tmp_path, project, LATTICE_PRICES=str(prices))
        data = tmp_path / "data"
        # $2 of $0.01, at the test's prices (LATTICE_PRICES): as the bridge reports a response
        bridge(environ, "usage", {"provider": "paid", "model": "p1", "input": 1000, "output": 1000})
        for i in range(2):
            done = subprocess.run([sys.executable, "-m", "lattice_env", "run", "/budgeted", f"go {i}"],
                                  cwd=work, env=environ, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stderr[-2000:]
            assert "hello from the fake model" in done.stdout
        assert {r["model"] for r in fake.requests} == {"m2"}
    skipped = json.loads((Path(data) / "state.json").read_text())["skipped"]
    assert len(skipped) == 2 and all(s.startswith("ses_") and list(p) == ["paid"] for s, p in skipped.items())
    log = (Path(data) / "bridge.log").read_text().splitlines()
    assert len(log) == 2 and all("paid is over its local_budget" in line for line in log)
    assert sorted(line.split("session ")[1].split(" ")[0] for line in log) == sorted(skipped)
