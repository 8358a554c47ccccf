"""Hooks without opencode (hooks/run.py): conditions decide, actions run within their timeout, a failing
action is reported once and the next one still runs, every run is a line of hooks.log shown by `lattice
hooks log`; notify.slack reaches a loopback server speaking Slack's incoming-webhook protocol; custom
command names that clash are located validation errors. (The same hooks inside the real opencode:
test_hooks_opencode.py.)"""
from __future__ import annotations

import json
import time

import pytest
from conftest import write_project
from fake_slack import Slack

from lattice_env.cli.app import cli
from lattice_env.config.checks import LATTICE_COMMANDS, OPENCODE_COMMANDS
from lattice_env.hooks import log
from lattice_env.hooks.run import fire, run_command


def config(hooks: dict) -> dict:
    return {"hooks": hooks}


def test_conditions_decide_and_every_run_is_logged():
    hooks = {"post_agent": [
        {"action": "log.info", "when": 'agent == "architect"', "message": "{agent} done: {summary}"},
        {"action": "log.warning", "when": "error_count > 2", "message": "{error_count} errors"},
        {"action": "notify.terminal", "message": "turn of {agent} on {provider}/{model}"},
    ]}
    facts = {"agent": "architect", "provider": "local", "model": "local/m1", "error_count": 1, "summary": "plan"}
    out = fire("post_agent", facts, config(hooks), environ={})
    assert [(r["action"], r["condition"], r["result"]) for r in out["records"]] == [
        ("log.info", True, "ok"), ("log.warning", False, "skipped"), ("notify.terminal", True, "ok")]
    assert out["records"][0]["detail"] == "info: architect done: plan"
    assert out["notices"] == ["turn of architect on local/local/m1"]
    out = fire("post_agent", {**facts, "agent": "impl", "error_count": 3}, config(hooks), environ={})
    assert [r["condition"] for r in out["records"]] == [False, True, True]
    rows = log.read()
    assert len(rows) == 6 and {r["event"] for r in rows} == {"post_agent"}
    assert all(isinstance(r["duration"], float) and r["time"] > 0 for r in rows)


def test_a_failing_action_is_reported_once_and_the_next_runs(tmp_path):
    hooks = {"post_agent": [{"action": "vcs.commit"}, {"action": "log.info", "message": "still here"}]}
    cfg = {**config(hooks), "vcs": {"preset": "git-stash"}}
    out = fire("post_agent", {"directory": str(tmp_path)}, cfg, environ={})  # not a git repository
    assert [r["result"] for r in out["records"]] == ["failed", "ok"]
    assert out["notices"] == [f"lattice: hooks.post_agent[0] vcs.commit failed: {tmp_path} is not in a git "
                              f"repository (vcs.preset git-stash needs one: `git init`)"]


def test_an_action_that_hangs_times_out():
    with Slack(hang=True) as slack:
        hooks = {"on_error": [{"action": "notify.slack", "timeout": 1}, {"action": "log.info"}]}
        start = time.monotonic()
        out = fire("on_error", {"error": "boom"}, config(hooks), environ={"SLACK_WEBHOOK_URL": slack.url})
        assert time.monotonic() - start < 4
    assert [r["result"] for r in out["records"]] == ["failed", "ok"]
    assert "cannot reach the Slack webhook in SLACK_WEBHOOK_URL: timed out" in out["records"][0]["detail"]


def test_notify_slack_posts_the_rendered_message():
    with Slack() as slack:
        hooks = {"post_agent": [{"action": "notify.slack", "when": 'agent == "architect"', "channel": "#designs",
                                 "message": "{agent} finished: {summary}"}]}
        out = fire("post_agent", {"agent": "architect", "summary": "the plan"}, config(hooks),
                   environ={"SLACK_WEBHOOK_URL": slack.url})
        assert out["records"][0]["result"] == "ok"
        assert slack.posts == [{"path": "/services/T000/B000/XXXX", "type": "application/json",
                                "body": {"text": "architect finished: the plan", "channel": "#designs"}}]
        # another variable, named by the hook
        hooks["post_agent"][0]["webhook_env"] = "TEAM_HOOK"
        fire("post_agent", {"agent": "architect"}, config(hooks), environ={"TEAM_HOOK": slack.url})
        assert len(slack.posts) == 2
        # unset: a logged skip, nothing sent
        out = fire("post_agent", {"agent": "architect"}, config(hooks), environ={"SLACK_WEBHOOK_URL": slack.url})
        assert out["records"][0]["result"] == "skipped"
        assert out["records"][0]["detail"] == "TEAM_HOOK is not set: nothing sent to Slack"
        assert len(slack.posts) == 2
    assert json.dumps(log.read()).count(slack.url) == 0  # the URL is a secret: never logged


SLACK_HOOK = """\
name: notifier
version: "1.0.0"
providers:
  local:
    base_url: http://127.0.0.1:9/v1
agents:
  a:
    path: a.md
    routing: [local/m]
hooks:
  post_agent:
    - action: notify.slack
      message: "{agent} done"
"""


def test_notify_slack_without_its_variable_is_a_validation_warning(tmp_path, run, monkeypatch):
    project = write_project(tmp_path / "p", SLACK_HOOK)
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    out = run("validate", cwd=project)
    assert out.code == 0
    assert ("lattice.yaml:12:7: warning: hooks.post_agent[0].action: SLACK_WEBHOOK_URL is not set: notify.slack "
            "will send nothing (it reads the Slack webhook URL from SLACK_WEBHOOK_URL when the hook runs)") in out.stderr
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "http://127.0.0.1:9/x")
    assert "SLACK_WEBHOOK_URL" not in run("validate", cwd=project).stderr


def test_lattice_hooks_log(run):
    assert run("hooks", "log", "--json").stdout.strip() == "[]"
    fire("pre_agent", {"agent": "a"}, config({"pre_agent": [{"action": "log.info", "message": "hi {agent}"}]}), {})
    out = run("hooks", "log")
    assert out.code == 0 and " pre_agent [a]  log.info  when always  → ok in " in out.stdout
    assert out.stdout.rstrip().endswith(": info: hi a")
    rows = json.loads(run("hooks", "log", "--json").stdout)
    assert [(r["event"], r["action"], r["condition"], r["result"]) for r in rows] == [("pre_agent", "log.info", True, "ok")]


def test_run_command_runs_the_action_once():
    cfg = {"commands": {"hello": {"action": "routing.status"}}}
    with pytest.raises(Exception, match="no custom command 'nope' in this workflow"):
        run_command("nope", "", cfg)
    assert sum(1 for r in log.read() if r["event"] == "command") == 0


BASE = """\
name: clash
version: "1.0.0"
providers:
  local:
    base_url: http://127.0.0.1:9/v1
agents:
  a:
    path: a.md
    routing: [local/m]
commands:
"""


@pytest.mark.parametrize("name, message", [
    ("status", "commands.status: 'status' is a lattice command: `lattice status` could not run this one "
               "(name it differently)"),
    ("undo", "commands.undo: '/undo' is one of opencode's own commands: inside opencode it would not run this "
             "one (name it differently)"),
])
def test_a_command_name_that_clashes_is_a_located_error(tmp_path, run, name, message):
    project = write_project(tmp_path / "p", BASE + f"  {name}:\n    action: vcs.status\n")
    out = run("validate", cwd=project)
    assert out.code == 1
    assert f"lattice.yaml:11:3: {message}" in out.stderr


@pytest.mark.parametrize("name, error", [
    ("status", None),  # a prompt template is not run by `lattice NAME`: lattice's own names are free
    ("review", None),  # opencode's server default: a configured command replaces it
    ("init", None),
    ("undo", "commands.undo: '/undo' is one of opencode's own commands"),  # the TUI's: it would win
])
def test_which_names_a_prompt_template_may_take(tmp_path, run, name, error):
    project = write_project(tmp_path / "p", BASE + f"  {name}:\n    template: Review $ARGUMENTS\n")
    out = run("validate", "--offline", cwd=project)
    if error is None:
        assert out.code == 0, out.stderr
    else:
        assert out.code == 1 and f"lattice.yaml:11:3: {error}" in out.stderr, out.stderr


def test_reserved_names_cover_every_lattice_command():
    from lattice_env.cli import main

    main.run_click(["--version"])  # registers every command group
    assert set(cli.commands) <= set(LATTICE_COMMANDS)
    assert {"vcs", "hooks"} <= set(cli.commands)
    assert not set(LATTICE_COMMANDS) & {"ship", "budget"} and not set(OPENCODE_COMMANDS) & {"ship", "budget"}


BUDGET = """\
name: budget
version: "1.0.0"
providers:
  local:
    base_url: http://127.0.0.1:9/v1
agents:
  a:
    path: a.md
    routing: [local/m]
commands:
  budget:
    description: Show provider usage
    action: providers.status
"""


def test_providers_status_command_is_lattice_status_providers(tmp_path, run):
    """The design's `budget: providers.status`: `lattice budget` shows what `lattice status providers`
    shows, and its run is logged."""
    project = write_project(tmp_path / "p", BUDGET)
    out = run("budget", cwd=project)
    assert out.code == 0, out.stderr
    assert out.stdout == run("status", "providers", cwd=project).stdout
    assert "\nlocal  local server\n  today: 0 calls" in out.stdout
    assert [(r["command"], r["action"], r["result"]) for r in log.read()] == [("budget", "providers.status", "ok")]
