"""Hooks, VCS and custom commands inside the real opencode: the environment's hooks plugin maps opencode's
events to lattice.yaml's hooks, run by the routing process. Ground truth: the real git repository, the
loopback model server's log (whose model answers a prompt with a tool call that writes a file), the
loopback Slack webhook, a local bare remote, and hooks.log.

One environment (module scope) with every event's hooks, each with a condition that holds for some
turns and not for others; each test runs its turns in a git repository of its own."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fake_llm import FakeLLM
from fake_slack import Slack
from opencode_support import OpencodeServer
from test_bridge import switch_project
from test_vcs import GIT_ENV, agent_edits, bare_remote, git, messy_repo, pushes, state

pytestmark = [pytest.mark.slow, pytest.mark.opencode]

CONFIG = """\
name: hooks-e2e
version: "1.0.0"
vcs:
  preset: git-stash
  config:
    checkpoint_message: "checkpoint: before {agent}"
    commit_message: "ai({agent}): {summary}"
providers:
  local:
    base_url: FAKE
  paid:
    base_url: FAKE
    local_budget: 0.01
agents:
  implement: {path: implement.md, triggers: [/implement], routing: [local/m1]}
  other: {path: other.md, triggers: [/other], routing: [local/m1]}
  limited: {path: limited.md, triggers: [/limited], routing: [local/r1, local/m1]}
  flaky: {path: flaky.md, triggers: [/flaky], routing: [local/f1, local/m1]}
  budgeted: {path: budgeted.md, triggers: [/budgeted], routing: [paid/p1, local/m1]}
  stuck: {path: stuck.md, triggers: [/stuck], routing: [local/h1]}
  broken: {path: broken.md, triggers: [/broken], routing: [local/f2]}
commands:
  ship:
    description: Push current work
    action: vcs.push
  ai-undo:  # the design's /undo and /status: opencode's /undo and `lattice status` own those names
    description: Undo last AI action
    action: vcs.undo
  vcs-status:
    description: Show current state
    action: vcs.status
hooks:
  pre_agent:
    - action: vcs.checkpoint
      when: always
    - {action: log.info, when: 'agent == "implement"', message: "pre {agent} on {model}"}
  post_agent:
    - action: vcs.commit
      when: files_changed
    - {action: notify.slack, when: 'agent == "implement"', message: "{agent} finished: {summary}"}
  on_rate_limit:
    - {action: route.fallback, notify: true, when: 'model == "local/r1"'}
    - {action: log.warning, when: 'model == "local/none"'}
  on_budget_exceeded:
    - {action: route.skip_provider, notify: true}
    - {action: log.warning, message: "Budget exceeded for {provider}", when: 'provider == "paid"'}
    - {action: log.error, when: 'provider == "local"'}
  on_error:
    - {action: log.error, message: "error {error_count}: {error}", when: "error_count > 1"}
    - {action: notify.terminal, message: "failed: {error}", when: 'agent == "flaky" or agent == "other"'}
"""
AGENTS = ("implement", "other", "limited", "flaky", "budgeted", "stuck", "broken")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("hooks")
    prices = root / "prices.json"  # one call of paid/p1 passes its local_budget
    prices.write_text(json.dumps({"about": "test", "as_of": "2026-01-01", "sources": [],
                                  "models": {"paid/*": {"input": 1000.0, "output": 1000.0}}}))
    with FakeLLM(retry_after="120") as fake, Slack() as slack:
        fake.rate_limited = {"r1"}
        fake.fail = {"f1": 500, "f2": 500}
        fake.hang = {"h1"}
        prompts = {name: f"You are {name.upper()}.\n" for name in AGENTS}
        switched = switch_project(root, CONFIG.replace("FAKE", fake.url), prompts, LATTICE_PRICES=str(prices),
                                  SLACK_WEBHOOK_URL=slack.url, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
                                  **GIT_ENV)
        yield {**switched, "fake": fake, "slack": slack, "root": root}


def lattice(env, *args: str, cwd: Path, environ: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lattice_env", *args], cwd=cwd, env=environ or env["env"],
                          capture_output=True, text=True, timeout=timeout)


def runs(env, since: float, event: str | None = None) -> list[dict]:
    rows = [json.loads(line) for line in (env["data"] / "hooks.log").read_text().splitlines()]
    return [r for r in rows if r["time"] >= since and (event is None or r["event"] == event)]


def outcomes(rows: list[dict]) -> list[tuple]:
    return [(r["action"], r["condition"], r["result"]) for r in rows]


def repo(env, name: str, messy: bool = False) -> Path:
    path = env["root"] / "repos" / name
    if messy:
        return messy_repo(path)
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    (path / "README").write_text("a project\n")
    git(path, "add", ".")
    git(path, "commit", "-qm", "initial")
    return path


def test_git_stash_turn_checkpoint_commit_and_undo(env):
    """One turn of `lattice run /implement …` whose model writes a file, in a repository with staged,
    unstaged and untracked changes and a rename: a checkpoint before the turn, an agent commit after it
    with the design's message; `lattice vcs undo` gives back status, index and every file's bytes. A turn
    that changes nothing makes no commit."""
    work = repo(env, "stash", messy=True)
    before = state(work)
    main = git(work, "rev-parse", "main")
    env["fake"].tool_calls = {"create hello": [("write", {"filePath": str(work / "hello.txt"),
                                                           "content": "hello from the agent\n"})]}
    since = time.time()
    done = lattice(env, "run", "/implement", "create hello.txt with a greeting", cwd=work)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (work / "hello.txt").read_text() == "hello from the agent\n"
    checkpoints = git(work, "for-each-ref", "--format=%(objectname) %(contents:subject)", "refs/lattice/checkpoints")
    assert checkpoints.split(" ", 1)[1].strip() == "checkpoint: before implement"
    checkpoint = checkpoints.split()[0]
    assert git(work, "log", "-1", "--format=%s", "lattice/main").strip() == "ai(implement): create hello.txt with a greeting"
    assert git(work, "rev-parse", "lattice/main^").strip() == checkpoint
    assert git(work, "diff", "--name-status", checkpoint, "lattice/main").strip() == "A\thello.txt"
    assert git(work, "rev-parse", "main") == main  # the user's branch did not move
    # The checkpoint was made before the model was called, the commit after the turn.
    pre, post = runs(env, since, "pre_agent"), runs(env, since, "post_agent")
    first_call = min(r["time"] for r in env["fake"].requests if r["time"] >= since)
    assert pre[0]["action"] == "vcs.checkpoint" and pre[0]["time"] < first_call
    assert outcomes(post)[0] == ("vcs.commit", True, "ok")

    undone = lattice(env, "vcs", "undo", cwd=work)
    assert undone.returncode == 0, undone.stderr
    assert state(work) == before

    commits = git(work, "rev-parse", "lattice/main")
    since = time.time()
    quiet = lattice(env, "run", "/other", "just say hi", cwd=work)
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    assert git(work, "rev-parse", "lattice/main") == commits  # no commit for a turn that changed nothing
    assert outcomes(runs(env, since, "post_agent"))[0] == ("vcs.commit", False, "skipped")
    assert state(work) == before


def test_pre_and_post_agent_conditions_and_slack(env):
    """pre_agent's `agent == "implement"` and post_agent's notify.slack hold for /implement and not for
    /other; the Slack webhook gets the rendered message once."""
    work = repo(env, "conditions")
    env["fake"].tool_calls = {"write notes": [("write", {"filePath": str(work / "notes.md"), "content": "# notes\n"})]}
    posts = len(env["slack"].posts)
    since = time.time()
    assert lattice(env, "run", "/implement", "write notes for me", cwd=work).returncode == 0
    assert lattice(env, "run", "/other", "write nothing", cwd=work).returncode == 0
    pre, post = runs(env, since, "pre_agent"), runs(env, since, "post_agent")
    assert [(r["agent"], r["action"], r["condition"]) for r in pre] == [
        ("implement", "vcs.checkpoint", True), ("implement", "log.info", True),
        ("other", "vcs.checkpoint", True), ("other", "log.info", False)]
    assert pre[1]["detail"] == "info: pre implement on local/m1"
    assert [(r["agent"], r["action"], r["condition"], r["result"]) for r in post] == [
        ("implement", "vcs.commit", True, "ok"), ("implement", "notify.slack", True, "ok"),
        ("other", "vcs.commit", False, "skipped"), ("other", "notify.slack", False, "skipped")]
    assert [p["body"] for p in env["slack"].posts[posts:]] == [{"text": "implement finished: write notes for me"}]

    # Its variable unset: a logged skip, nothing sent.
    unset = {k: v for k, v in env["env"].items() if k != "SLACK_WEBHOOK_URL"}
    env["fake"].tool_calls = {"more notes": [("write", {"filePath": str(work / "more.md"), "content": "more\n"})]}
    since = time.time()
    assert lattice(env, "run", "/implement", "more notes", cwd=work, environ=unset).returncode == 0
    slack = [r for r in runs(env, since, "post_agent") if r["action"] == "notify.slack"]
    assert [(r["result"], r["detail"]) for r in slack] == [("skipped", "SLACK_WEBHOOK_URL is not set: nothing sent to Slack")]
    assert len(env["slack"].posts) == posts + 1


def test_on_rate_limit(env):
    work = repo(env, "limited")
    since = time.time()
    done = lattice(env, "run", "/limited", "hello", cwd=work)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = runs(env, since, "on_rate_limit")
    assert outcomes(rows[:2]) == [("route.fallback", True, "ok"), ("log.warning", False, "skipped")]
    assert rows[0]["model"] == "local/r1"
    assert rows[0]["detail"] == "local/r1 failed (a 429); the call went to local/m1"
    assert "on_rate_limit: local/r1 failed (a 429); the call went to local/m1" in done.stderr  # notify: true


def test_on_budget_exceeded(env):
    work = repo(env, "budget")
    since = time.time()
    for _ in range(2):  # the first call's spend passes the budget; a later committed call meets it
        done = lattice(env, "run", "/budgeted", "hello", cwd=work)
        assert done.returncode == 0, done.stderr[-2000:]
    rows = runs(env, since, "on_budget_exceeded")
    assert rows, "on_budget_exceeded never fired"
    assert outcomes(rows[:3]) == [("route.skip_provider", True, "ok"), ("log.warning", True, "ok"),
                                  ("log.error", False, "skipped")]
    assert rows[0]["detail"] == "done by routing" and rows[1]["detail"] == "warning: Budget exceeded for paid"


def test_on_error_failing_provider_and_failing_tool(env):
    """A provider answering 500 (failed over) and a turn whose two tool calls fail: on_error fires for
    each, error_count counts the session's errors (`error_count > 1` false, then true)."""
    work = repo(env, "errors")
    since = time.time()
    done = lattice(env, "run", "/flaky", "hello", cwd=work)
    assert done.returncode == 0, done.stderr[-2000:]
    flaky = runs(env, since, "on_error")
    assert outcomes(flaky[:2]) == [("log.error", False, "skipped"), ("notify.terminal", True, "ok")]
    assert flaky[1]["detail"].startswith("failed: local/f1 failed (an HTTP 500")
    assert flaky[1]["detail"] in done.stderr  # notify.terminal, on stderr under `lattice run`

    missing = work / "no-such-file.txt"
    env["fake"].tool_calls = {"read both": [("read", {"filePath": str(missing)}), ("read", {"filePath": str(missing)})]}
    since = time.time()
    done = lattice(env, "run", "/other", "read both files", cwd=work)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = runs(env, since, "on_error")
    assert [(r["action"], r["condition"]) for r in rows] == [("log.error", False), ("notify.terminal", True),
                                                             ("log.error", True), ("notify.terminal", True)]
    assert rows[2]["detail"].startswith("error: error 2: tool read failed: ")
    assert "failed: tool read failed:" in done.stderr


def test_on_error_the_turn_fails(env):
    """Every model of the agent fails: on_error for each failed call (opencode asks again after a
    while), then opencode's session.error for the turn itself. `error_count` counts them: false for
    the first, true for every later one; the turn's own error closes the list."""
    work = repo(env, "broken")
    since = time.time()
    done = lattice(env, "run", "/broken", "hello", cwd=work)
    assert done.returncode != 0 and "no model is available for agent broken" in done.stderr
    rows = [r for r in runs(env, since, "on_error") if r["action"] == "log.error"]
    assert len(rows) >= 2
    assert [r["condition"] for r in rows] == [False] + [True] * (len(rows) - 1)
    calls = [r["detail"] for r in rows[1:-1]]
    assert all(d.endswith(": local/f2 failed (an HTTP 500)") for d in calls)
    assert rows[-1]["detail"].startswith(f"error: error {len(rows)}: lattice: no model is available for agent broken")
    assert all(r["agent"] == "broken" for r in rows)


def test_tui_session_turns_and_slash_ship(env):
    """The same hooks for every turn of a TUI session (opencode's server, driven as the TUI drives it),
    and `/ship` inside opencode: the action runs once, its output is the reply, no model is called."""
    work = repo(env, "tui")
    remote, pushlog = bare_remote(work.parent / "tui-remote")
    git(work, "remote", "add", "origin", str(remote))
    missing = work / "absent.txt"
    env["fake"].tool_calls = {"add a file": [("write", {"filePath": str(work / "added.txt"), "content": "added\n"})],
                              "read the absent": [("read", {"filePath": str(missing)})]}
    since = time.time()
    with OpencodeServer(env["env"], work) as server:
        events = server.events()
        session = server.session()
        server.say(session, "implement", "add a file please")
        server.say(session, "implement", "now just talk")
        server.say(session, "other", "read the absent file")
        deadline = time.monotonic() + 30
        while len(runs(env, since, "post_agent")) < 6 and time.monotonic() < deadline:
            time.sleep(0.2)
        # notify.terminal (on_error's, for agent other) is opencode's toast in the TUI.
        toasts = [e["properties"] for e in events if e.get("type") == "tui.toast.show"]
        requests = len(env["fake"].requests)
        reply = server.call("POST", f"/session/{session}/command", {"command": "ship", "arguments": ""})
    pre = [r for r in runs(env, since, "pre_agent") if r["action"] == "vcs.checkpoint"]
    post = [r for r in runs(env, since, "post_agent") if r["action"] == "vcs.commit"]
    assert len(pre) == 3 and [r["condition"] for r in post] == [True, False, False]
    assert [(t["title"], t["variant"]) for t in toasts] == [("Lattice", "info")]
    assert toasts[0]["message"].startswith("failed: tool read failed: ") and str(missing) in toasts[0]["message"]
    assert git(work, "log", "-1", "--format=%s", "lattice/main").strip() == "ai(implement): add a file please"
    texts = [p.get("text", "") for p in reply["parts"] if p.get("type") == "text"]  # type: ignore[index]
    assert texts == ["pushed main, lattice/main to origin"]
    assert len(env["fake"].requests) == requests  # /ship called no model, not even for a title
    assert pushes(pushlog) == 1
    assert git(remote, "rev-parse", "lattice/main") == git(work, "rev-parse", "lattice/main")
    ships = [r for r in runs(env, since, "command")]
    assert [(r["command"], r["result"]) for r in ships] == [("ship", "ok")]


def test_tui_slash_undo_and_status(env):
    """In a TUI session, after a turn whose model wrote a file: /vcs-status shows git's status and the
    checkpoint, /ai-undo puts the repository back as it was before the turn — each the action's output
    as the reply, once, with no model call."""
    work = repo(env, "tui-undo", messy=True)
    (work / ".git/info/exclude").write_text("serve-*.log\n")  # the server's own log, written in its cwd

    def without_log(found: tuple) -> tuple:
        return (*found[:3], {k: v for k, v in found[3].items() if not k.startswith("serve-")})

    before = without_log(state(work))
    env["fake"].tool_calls = {"scribble": [("write", {"filePath": str(work / "scribble.txt"), "content": "x\n"})]}
    since = time.time()
    with OpencodeServer(env["env"], work) as server:
        session = server.session()
        server.say(session, "implement", "scribble something")
        deadline = time.monotonic() + 30
        while len(runs(env, since, "post_agent")) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert (work / "scribble.txt").exists()
        requests = len(env["fake"].requests)
        status = server.call("POST", f"/session/{session}/command", {"command": "vcs-status", "arguments": ""})
        undo = server.call("POST", f"/session/{session}/command", {"command": "ai-undo", "arguments": ""})
    status_text, = [p["text"] for p in status["parts"] if p.get("type") == "text"]  # type: ignore[index]
    undo_text, = [p["text"] for p in undo["parts"] if p.get("type") == "text"]  # type: ignore[index]
    assert status_text.startswith("## main") and "?? scribble.txt" in status_text and "checkpoints: 1" in status_text
    assert undo_text.startswith("restored the working tree and the index to checkpoint ")
    assert without_log(state(work)) == before
    assert len(env["fake"].requests) == requests
    assert [(r["command"], r["result"]) for r in runs(env, since, "command")] == [("vcs-status", "ok"),
                                                                                 ("ai-undo", "ok")]


def test_lattice_run_slash_ship(env):
    """`lattice run /ship`: opencode runs the custom command, its action once (one push to the bare
    remote), its output printed as the reply, and no model is called."""
    work = repo(env, "run-ship")
    remote, pushlog = bare_remote(work.parent / "run-ship-remote")
    git(work, "remote", "add", "origin", str(remote))
    requests = len(env["fake"].requests)
    since = time.time()
    done = lattice(env, "run", "/ship", cwd=work)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "pushed main to origin" in done.stdout
    assert pushes(pushlog) == 1 and git(remote, "rev-parse", "main") == git(work, "rev-parse", "main")
    assert len(env["fake"].requests) == requests
    assert [(r["command"], r["result"]) for r in runs(env, since, "command")] == [("ship", "ok")]
    assert runs(env, since, "pre_agent") == []  # a command's turn is no agent turn: no checkpoint


def routing_processes(parent: int) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = (Path("/proc") / pid / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"lattice_env.routing.bridge" in cmdline and str(parent).encode() in cmdline:
            found.append(int(pid))
    return found


def test_killing_opencode_mid_turn(env):
    """SIGKILL of opencode at random moments of a turn (its model never answers): the checkpoint refs
    there are are whole, the user's files are untouched, and no routing process is left behind."""
    work = repo(env, "killed", messy=True)
    agent_edits(work)
    before = state(work)
    rng = random.Random(7)
    for i in range(3):
        child = subprocess.Popen([sys.executable, "-m", "lattice_env", "run", "/stuck", f"turn {i}"], cwd=work,
                                 env=env["env"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(1.0, 4.0))
        os.kill(child.pid, signal.SIGKILL)  # lattice run exec'd opencode: this is opencode
        child.wait()
        deadline = time.monotonic() + 30
        while routing_processes(child.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert routing_processes(child.pid) == []
    for commit in git(work, "for-each-ref", "--format=%(objectname)", "refs/lattice/checkpoints").split():
        assert len(git(work, "rev-list", "--parents", "-n", "1", commit).split()) == 3
        assert git(work, "ls-tree", "-r", "--name-only", commit) == git(
            work, "ls-tree", "-r", "--name-only", git(work, "for-each-ref", "--format=%(objectname)",
                                                      "refs/lattice/checkpoints").split()[0])
    assert state(work) == before
