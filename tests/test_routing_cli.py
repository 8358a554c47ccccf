"""`lattice route`, `lattice routing`, `lattice routing reset`, `lattice status providers`, in-process
through the real entry point and, for the concurrency proof, as real processes."""
from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from lattice_env.routing.availability import record_failure
from lattice_env.routing.decide import route
from lattice_env.routing.usage import record_usage

M1, M2 = "anthropic/claude-sonnet-4-5", "openai/gpt-4o"
CONFIG = {"name": "t", "providers": {"anthropic": {"env": "ANTHROPIC_API_KEY"},
                                     "openai": {"env": "OPENAI_API_KEY", "local_budget": 50},
                                     "ollama": {"models": ["llama3.1:8b"]}},
          "agents": {"impl": {"triggers": ["/impl", "/do"], "routing": {"strategy": "pattern",
                                                                        "pattern": [M1, M1, M1, M2]}},
                     "ab": {"triggers": ["/ab"], "routing": {"strategy": "weighted", "track": True,
                                                             "weights": {M1: 50, M2: 50}}}}}
KEYS = {"ANTHROPIC_API_KEY": "secret-a", "OPENAI_API_KEY": "secret-o"}


def make_profile(home: Path, config: dict) -> Path:
    """A profile whose current generation is an environment with `config` in its manifest (the layout
    profiles.py reads: profiles/default → default-1-link → the environment)."""
    env = home / "store" / "0000-t-env"
    env.mkdir(parents=True)
    (env / "manifest.json").write_text(json.dumps({"derivation": {"inputs": {"config": config}}}))
    profiles = home / "profiles"
    profiles.mkdir(parents=True)
    os.symlink(env, profiles / "default-1-link")
    os.symlink("default-1-link", profiles / "default")
    return env


@pytest.fixture
def profile(isolated_home, monkeypatch):
    data = Path(os.environ["LATTICE_HOME"])
    for k, v in KEYS.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("LATTICE_SEED", raising=False)
    return make_profile(data, CONFIG)


def test_route_is_a_dry_run_unless_commit(run, profile):
    r = run("route", "/impl", "write", "the", "parser")
    assert r.code == 0, r.stderr
    assert r.stdout.splitlines() == ["/impl → impl (pattern, position 0/4)", f"  model: {M1}",
                                     "  dry run: state unchanged (--commit counts the call)"]
    assert not (Path(os.environ["LATTICE_HOME"]) / "state.json").exists()
    for _ in range(3):
        assert run("route", "--commit", "/do x").code == 0
    r = run("route", "--json", "/impl x")
    data = json.loads(r.stdout)
    assert (data["agent"], data["position"], data["model"], data["provider"]) == ("impl", 3, M2, "openai")
    assert data["config"].startswith("profile default")


def test_route_explains_skipped_candidates(run, profile):
    r = run("route", "/impl", "x", env={"ANTHROPIC_API_KEY": None})
    assert r.code == 0
    assert f"  model: {M2} (next; scheduled {M1})" in r.stdout
    assert f"  skipped {M1}: ANTHROPIC_API_KEY is not set" in r.stdout
    r = run("route", "/impl", "x", env={"ANTHROPIC_API_KEY": None, "OPENAI_API_KEY": None})
    assert r.code == 1 and r.stdout == ""
    assert r.stderr == ("lattice: error: no model is available for agent impl: "
                        f"{M1} (ANTHROPIC_API_KEY is not set); {M2} (OPENAI_API_KEY is not set)\n")
    r = run("route", "/nope", "x")
    assert r.code == 2 and r.stderr.startswith("lattice: error: unknown trigger /nope (known: /ab, /do, /impl)")


def test_route_from_lattice_yaml_without_a_profile(run, design_project, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    r = run("route", "/architect", "design X", cwd=design_project)
    assert r.code == 0, r.stderr
    assert "model: openai/o3 (next; scheduled anthropic/claude-opus-4-5)" in r.stdout
    r = run("route", "--json", "/architect", "design X", cwd=design_project)
    assert json.loads(r.stdout)["config"].endswith("lattice.yaml")


def test_routing_shows_the_design_display_and_reset(run, profile, monkeypatch):
    monkeypatch.setenv("LATTICE_SEED", "7")
    for _ in range(2):
        run("route", "--commit", "/impl x")
    for _ in range(5):
        run("route", "--commit", "/ab x")
    r = run("routing")
    assert r.code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:4] == ["impl (pattern 3:1)", "  Position: 2/4", f"  Next model: {M1}", "  Calls today: 2"]
    assert lines[5] == "ab (weighted 50:50)"
    assert lines[6].startswith("  Distribution: ") and lines[-1] == "  Calls today: 5"
    dist = json.loads(run("routing", "--json").stdout)["agents"][1]["distribution"]
    assert sum(dist.values()) == 5
    assert run("routing", "reset", "impl").stdout == "reset impl\n"
    assert "Position: 0/4" in run("routing").stdout
    r = run("routing", "reset", "nobody")
    assert r.code == 1 and "unknown agent nobody (known: ab, impl)" in r.stderr


def test_status_providers_shows_key_names_usage_budget_and_cooldowns(run, profile, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    record_usage("anthropic", "claude-sonnet-4-5", 100_000, 10_000)
    record_usage("openai", "gpt-4o", 4_000_000, 4_000_000)
    record_failure(M1, "rate_limit", retry_after=90)
    r = run("status", "providers")
    assert r.code == 0, r.stderr
    assert "secret" not in r.stdout
    out = r.stdout.splitlines()
    assert out[0] == "anthropic  key ANTHROPIC_API_KEY: set"
    assert out[1] == "  today: 1 calls, 110,000 tokens (100,000 in, 10,000 out), spend $0.45"
    assert out[2] == "  this month: 1 calls, 110,000 tokens, spend $0.45 (no local_budget)"
    assert out[3] == "  failed calls today: 1 rate-limited (429), 0 other failures (each served by the next model)"
    assert out[4].startswith(f"  cooling down: {M1} (") and out[4].endswith("s left after a 429)")
    assert out[5] == "openai  key OPENAI_API_KEY: NOT SET"
    assert out[6] == "  today: 1 calls, 8,000,000 tokens (4,000,000 in, 4,000,000 out), spend $50.00"
    assert out[7] == "  this month: 1 calls, 8,000,000 tokens, spend $50.00 of $50 local_budget a month — OVER BUDGET, skipped"
    assert out[8] == "ollama  local server"
    data = json.loads(run("status", "providers", "--json").stdout)["providers"]
    assert data[1]["env_set"] is False and data[1]["over_budget"] is True
    assert (data[1]["budget_period"], data[1]["period_spend"], data[1]["calls_month"]) == ("month", 50.0, 1)
    assert data[0]["cooldowns"][0]["model"] == M1


def test_status_providers_shows_a_daily_budget_on_the_day_line(run, isolated_home, monkeypatch):
    config = json.loads(json.dumps(CONFIG))
    config["providers"]["openai"]["budget_period"] = "day"
    make_profile(Path(os.environ["LATTICE_HOME"]), config)
    record_usage("openai", "gpt-4o", 1_000_000, 0)
    out = run("status", "providers").stdout.splitlines()
    assert out[4:6] == ["  today: 1 calls, 1,000,000 tokens (1,000,000 in, 0 out), spend $2.50 of $50 local_budget a day",
                        "  this month: 1 calls, 1,000,000 tokens, spend $2.50"]


def test_corrupt_state_file_warns_once_without_traceback(run, profile):
    state = Path(os.environ["LATTICE_HOME"]) / "state.json"
    state.write_text("{]")
    r = run("route", "--commit", "/impl x")
    assert r.code == 0 and "Traceback" not in r.stderr
    assert "was corrupt" in r.stderr and "moved it to state.json.corrupt-" in r.stderr
    assert run("route", "--commit", "/impl x").stderr == ""


def _worker(args: tuple[str, int]) -> list[str]:
    path, n = args
    env = dict(KEYS)
    return [route(CONFIG, "impl", commit=True, environ=env, path=Path(path)).model for _ in range(n)]


def test_8_processes_x_200_commits_lose_nothing(tmp_path):
    path = tmp_path / "state.json"
    with multiprocessing.get_context("spawn").Pool(8) as pool:
        results = pool.map(_worker, [(str(path), 200)] * 8)
    state = json.loads(path.read_text())
    assert state["routing_state"]["impl"]["call_count"] == 1600
    # every call took its own slot: the pattern's 3:1 holds exactly over the whole run
    assert Counter(m for r in results for m in r) == {M1: 1200, M2: 400}


def test_concurrent_cli_processes_lose_nothing(profile, tmp_path):
    """The real `lattice route --commit` in 4 parallel loops of 15 processes each."""
    env = {**os.environ, **KEYS}
    loop = ("import subprocess, sys\n"
            "for _ in range(15):\n"
            "    subprocess.run([sys.executable, '-m', 'lattice_env', 'route', '--commit', '/impl x'],"
            " check=True, stdout=subprocess.DEVNULL)\n")
    procs = [subprocess.Popen([sys.executable, "-c", loop], env=env, cwd=tmp_path) for _ in range(4)]
    assert [p.wait(timeout=300) for p in procs] == [0, 0, 0, 0]
    state = json.loads((Path(os.environ["LATTICE_HOME"]) / "state.json").read_text())
    assert state["routing_state"]["impl"]["call_count"] == 60
    assert state["routing_state"]["impl"]["pattern_index"] == 0


def test_run_sees_only_its_own_command_line(tmp_path):
    """`--` after `run` passes the rest to opencode untouched, for that call only: a later call in the same
    process routes its trigger (the pass-through once lived in a module global that outlived the call)."""
    home = tmp_path / "data"
    env_path = make_profile(home, {"name": "w", "agents": {}})
    (env_path / "bin").mkdir()
    (env_path / "bin" / "opencode").write_text("#!/bin/sh\necho \"opencode got: $*\"\n")
    (env_path / "bin" / "opencode").chmod(0o755)
    code = ("import sys; from lattice_env.cli.main import main\n"
            "first = main(['run', '--profile', 'nope', '--', 'x'])\n"
            "print('first', first, flush=True)\n"
            "sys.exit(main(['run', '/a', 'm']))\n")
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "LATTICE_HOME": str(home)},
                          capture_output=True, text=True, timeout=60)
    assert done.stdout == "first 1\n"  # no generation for profile nope; nothing was exec'd
    assert (done.returncode, done.stderr.splitlines()) == (2, [
        "lattice: error: profile nope has no generation; run `lattice switch`",
        "lattice: error: unknown trigger /a (known: none)"])
