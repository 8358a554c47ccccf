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
    assert r.stdout.splitlines() == ["routing with profile default (generation 1)",
                                     "/impl → impl (pattern, position 0/4)", f"  model: {M1}",
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
    # No key at all: the decision it would make is still shown, with why each candidate is out; exit 1.
    r = run("route", "/impl", "x", env={"ANTHROPIC_API_KEY": None, "OPENAI_API_KEY": None})
    assert r.code == 1
    assert r.stdout.splitlines() == ["routing with profile default (generation 1)", "/impl → impl (pattern)",
                                     "  model: none available", f"  skipped {M1}: ANTHROPIC_API_KEY is not set",
                                     f"  skipped {M2}: OPENAI_API_KEY is not set",
                                     "  dry run: state unchanged (--commit counts the call)"]
    assert r.stderr == ("lattice: error: no model is available for agent impl: "
                        f"{M1} (ANTHROPIC_API_KEY is not set); {M2} (OPENAI_API_KEY is not set)\n")
    r = run("route", "--commit", "--json", "/impl", "x", env={"ANTHROPIC_API_KEY": None, "OPENAI_API_KEY": None})
    data = json.loads(r.stdout)
    assert (r.code, data["agent"], data["model"], data["committed"]) == (1, "impl", None, False)
    assert data["skipped"] == [{"model": M1, "reason": "ANTHROPIC_API_KEY is not set"},
                               {"model": M2, "reason": "OPENAI_API_KEY is not set"}]
    assert data["error"].startswith("no model is available for agent impl")
    assert not (Path(os.environ["LATTICE_HOME"]) / "state.json").exists()  # nothing was committed
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
    assert lines.pop(0) == "routing with profile default (generation 1)"
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
    assert out.pop(0) == "routing with profile default (generation 1)"
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
    out = run("status", "providers").stdout.splitlines()[1:]
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
    code = ("import os, sys\n"
            "from lattice_env.profiles.generations import switch_to\n"
            "from lattice_env.store.add import add\n"
            "from lattice_env.store.names import derivation\n"
            "def builder(out):\n"
            "    (out / 'bin').mkdir()\n"
            "    (out / 'bin' / 'opencode').write_text('#!/bin/sh\\necho \"opencode got: $*\"\\n')\n"
            "    (out / 'bin' / 'opencode').chmod(0o755)\n"
            "switch_to(add(derivation('w', 'workflow', {'config': {'name': 'w', 'agents': {}}}), builder))\n"
            "from lattice_env.cli.main import main\n"
            "first = main(['run', '--profile', 'nope', '--', 'x'])\n"
            "print('first', first, flush=True)\n"
            "sys.exit(main(['run', '/a', 'm']))\n")
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "LATTICE_HOME": str(home)},
                          capture_output=True, text=True, timeout=60)
    assert done.stdout == "first 1\n"  # no generation for profile nope; nothing was exec'd
    assert (done.returncode, done.stderr.splitlines()) == (2, [
        "lattice: error: profile nope has no generation; run `lattice switch`",
        "lattice: error: unknown trigger /a (known: none)"])


def _switched_stand_in(project: Path) -> Path:
    """`project` switched to as profile default's generation 1 under its real store names (the
    configuration in the manifest is the real one; the paths hold stand-ins: no npm, no nodeenv)."""
    from conftest import fake_lock

    from lattice_env.build.plan import plan
    from lattice_env.config.load import load_workflow
    from lattice_env.profiles.generations import switch_to
    from lattice_env.store.add import add as add_path

    (project / "lattice.lock").write_text(json.dumps(fake_lock()))
    p = plan(load_workflow(directory=project), fake_lock())
    for drv in (p.node, p.closure, p.env):
        path = add_path(drv, lambda out: (out / "stand-in").write_text("x"))
    switch_to(path)
    return path


ROUTED = """\
name: routed
version: "1.0.0"
providers:
  openai:
    env: OPENAI_API_KEY
agents:
  impl:
    path: impl.md
    triggers: [/impl]
    routing: [openai/gpt-4o]
"""


def test_routing_commands_say_what_they_route_with_and_how_to_apply_an_edit(run, tmp_path, monkeypatch):
    """The issue's case: a new local_budget in lattice.local.yaml changes nothing until `switch`, and the
    plain output of route, routing and status providers now says so."""
    from conftest import write_project

    monkeypatch.setenv("OPENAI_API_KEY", "x")
    project = write_project(tmp_path / "project", ROUTED, {"impl": "You implement.\n"})
    _switched_stand_in(project)
    commands = (("route", "/impl", "x"), ("routing",), ("status", "providers"))
    for args in commands:
        r = run(*args, cwd=project)
        assert r.code == 0, r.stderr
        assert r.stdout.splitlines()[0] == "routing with profile default (generation 1)"
        assert "differs" not in r.stdout  # lattice.yaml here is what generation 1 was built from
    (project / "lattice.local.yaml").write_text("providers:\n  openai:\n    local_budget: 5\n")
    for args in commands:
        r = run(*args, cwd=project)
        lines = r.stdout.splitlines()
        assert lines[0] == "routing with profile default (generation 1)"
        assert lines[1] == ("  lattice.yaml here (with lattice.local.yaml and the agent files) differs from this "
                            "generation; `lattice switch` applies it")
        data = json.loads(run(*args, "--json", cwd=project).stdout)
        assert data["source"]["kind"] == "profile" and data["source"]["drift"]["state"] == "changed"
    assert "(no local_budget)" in run("status", "providers", cwd=project).stdout  # still generation 1's
    elsewhere = run("routing", cwd=tmp_path)  # no lattice.yaml here: nothing to compare
    assert elsewhere.stdout.splitlines()[0] == "routing with profile default (generation 1)"
    assert "differs" not in elsewhere.stdout
    r = run("-C", str(project), "route", "/impl", "x", cwd=tmp_path)
    assert r.stdout.splitlines()[0] == "routing with project/lattice.yaml"  # -C: the project, as named
    assert "$5 local_budget" in run("-C", str(project), "status", "providers", cwd=tmp_path).stdout


@pytest.mark.parametrize("args", [("route", "/nope", "x"), ("route", "/impl"), ("routing",),
                                  ("status", "providers"), ("route", "--json")])
def test_json_is_printed_for_errors_too(run, tmp_path, args):
    """--json always prints JSON: an error is {"error", "exit_code"} on stdout (the usual line on stderr)."""
    here = tmp_path / "empty"
    here.mkdir()
    r = run(*args, "--json" if "--json" not in args else "--commit", cwd=here)
    data = json.loads(r.stdout)
    assert r.code in (1, 2) and data["exit_code"] == r.code and data["error"]
    assert r.stderr


def test_json_error_of_an_invalid_lattice_yaml_lists_its_diagnostics(run, tmp_path):
    from conftest import write_project

    write_project(tmp_path, ROUTED.replace("routing: [openai/gpt-4o]", "routing: {strategy: lottery}"),
                  {"impl": "You implement.\n"})
    r = run("routing", "--json", cwd=tmp_path)
    data = json.loads(r.stdout)
    assert r.code == 1 and data["exit_code"] == 1
    assert [d["key"] for d in data["diagnostics"]] == ["agents.impl.routing.strategy"]
    assert data["diagnostics"][0]["text"].startswith("lattice.yaml:")


def test_a_committed_retry_says_the_position_is_kept(run, isolated_home, monkeypatch):
    """`on_unavailable: retry` serves the call elsewhere but keeps the slot for the next call: the commit
    line says so (it said "the agent's position advanced")."""
    config = {"name": "t", "providers": CONFIG["providers"],
              "agents": {"impl": {"triggers": ["/impl"], "routing": {"strategy": "pattern", "pattern": [M1, M2],
                                                                     "on_unavailable": "retry"}}}}
    make_profile(Path(os.environ["LATTICE_HOME"]), config)
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    r = run("route", "--commit", "/impl", "x", env={"ANTHROPIC_API_KEY": None})
    assert r.code == 0, r.stderr
    assert r.stdout.splitlines()[-3:] == [f"  model: {M2} (retry; scheduled {M1})",
                                          f"  skipped {M1}: ANTHROPIC_API_KEY is not set",
                                          "  committed: the call is counted; position 0/2 is kept "
                                          "(on_unavailable: retry)"]
    state = json.loads((Path(os.environ["LATTICE_HOME"]) / "state.json").read_text())
    assert state["routing_state"]["impl"]["pattern_index"] == 0
    r = run("route", "--commit", "/impl", "x", env={"ANTHROPIC_API_KEY": "a"})
    assert r.stdout.splitlines()[-1] == "  committed: the agent's position advanced to 1/2"


def test_routing_reset_fails_where_routing_fails(run, tmp_path):
    """Outside a project and with no generation, `routing reset` exited 0 ("nothing to reset")."""
    routing, reset = run("routing", cwd=tmp_path), run("routing", "reset", cwd=tmp_path)
    assert routing.code == reset.code == 1
    assert reset.stderr == routing.stderr == (
        f"lattice: error: nothing to route with: profile default has no generation (`lattice switch` in a "
        f"project makes one) and there is no lattice.yaml in {tmp_path} or any parent directory\n")
    assert run("routing", "reset", "impl", cwd=tmp_path).code == 1
