"""`lattice update`: upstream's changes merged into the user's copy by git merge-file (base = the
recorded commit), nothing of the user's lost, the new commit recorded only when written."""
from __future__ import annotations

import json

import pytest
from conftest import TINY, snapshot, write_project
from git_hosts import commit_all, hosts  # noqa: F401 — the fixture

from lattice_env.share.origin import ORIGIN_FILE

PROMPT = "".join(f"line {i}\n" for i in range(1, 8))


@pytest.fixture
def cloned(run, tmp_path, hosts):  # noqa: F811
    """me/wf cloned into ./mine; returns (upstream work tree, mine, push)."""
    work = write_project(tmp_path / "upstream", TINY, {"architect": PROMPT})
    commit_all(work, "one")
    hosts.repository("github", "me/wf", work)
    r = run("init", "--from", "me/wf", "--no-build", "mine")
    assert r.code == 0, r.stderr

    def push(message: str) -> str:
        sha = commit_all(work, message)
        hosts.repository("github", "me/wf", work)
        return sha
    return work, tmp_path / "mine", push


def edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_changes_on_different_lines_both_survive(run, cloned):
    work, mine, push = cloned
    edit(mine / "lattice.yaml", 'version: "1.0.0"', 'version: "1.1.0"')  # the user's
    edit(mine / "agents" / "architect.md", "line 1\n", "line 1, mine\n")
    edit(work / "lattice.yaml", "routing: [anthropic/claude-sonnet-4-5]", "routing: [anthropic/claude-opus-4-5]")
    edit(work / "agents" / "architect.md", "line 7\n", "line 7, upstream\n")
    (work / "agents" / "new.md").write_text("a new agent file\n")
    new = push("upstream edits")
    r = run("update", cwd=mine)
    assert r.code == 0, r.stderr
    yaml_text = (mine / "lattice.yaml").read_text()
    assert 'version: "1.1.0"' in yaml_text and "claude-opus-4-5" in yaml_text
    prompt = (mine / "agents" / "architect.md").read_text()
    assert prompt == PROMPT.replace("line 1\n", "line 1, mine\n").replace("line 7\n", "line 7, upstream\n")
    assert (mine / "agents" / "new.md").read_text() == "a new agent file\n"
    assert json.loads((mine / ORIGIN_FILE).read_text())["_commit"] == new
    assert "merged" in r.stdout and "lattice.yaml" in r.stdout
    r = run("update", cwd=mine)
    assert r.code == 0 and "nothing to merge" in r.stdout


def test_same_line_is_a_conflict_marked_inline_and_neither_text_is_lost(run, cloned):
    work, mine, push = cloned
    edit(mine / "agents" / "architect.md", "line 4\n", "line 4 as I want it\n")
    edit(work / "agents" / "architect.md", "line 4\n", "line 4 as upstream wants it\n")
    push("clash")
    r = run("update", cwd=mine)
    assert r.code == 1
    text = (mine / "agents" / "architect.md").read_text()
    assert "line 4 as I want it\n" in text and "line 4 as upstream wants it\n" in text
    assert "<<<<<<< yours\n" in text and ">>>>>>> upstream\n" in text
    marker = text.splitlines().index("<<<<<<< yours") + 1
    assert f"1 conflict: agents/architect.md:{marker}" in r.stdout


def test_dry_run_writes_nothing_and_records_nothing(run, cloned):
    work, mine, push = cloned
    edit(work / "agents" / "architect.md", "line 2\n", "line 2, upstream\n")
    push("upstream")
    before = snapshot(mine)
    r = run("update", "--dry-run", "--json", cwd=mine)
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert {"path": "agents/architect.md", "status": "updated"} in data["files"] and data["written"] is False
    assert snapshot(mine) == before


def test_a_file_the_user_deleted_stays_deleted_unless_upstream_changed_it(run, cloned):
    work, mine, push = cloned
    (mine / "agents" / "architect.md").unlink()
    edit(work / "lattice.yaml", 'version: "1.0.0"', 'version: "2.0.0"')
    push("upstream, not the agent file")
    r = run("update", cwd=mine)
    assert r.code == 0, r.stderr
    assert not (mine / "agents" / "architect.md").exists()
    edit(work / "agents" / "architect.md", "line 3\n", "line 3, upstream\n")
    push("upstream changes the agent file")
    r = run("update", cwd=mine)
    assert r.code == 0, r.stderr
    assert "line 3, upstream\n" in (mine / "agents" / "architect.md").read_text()
    assert "restored   agents/architect.md (you deleted it, but upstream changed it" in r.stdout


def test_update_without_an_origin_says_so(run, tmp_path):
    write_project(tmp_path, TINY)
    r = run("update")
    assert r.code == 1
    assert r.stderr.startswith(f"lattice: error: {tmp_path / ORIGIN_FILE}: no such file")


def test_a_file_upstream_deleted_that_the_user_changed_stays(run, cloned):
    work, mine, push = cloned
    edit(mine / "agents" / "architect.md", "line 5\n", "line 5, mine\n")
    (work / "agents" / "architect.md").unlink()
    push("upstream deletes the agent file")
    r = run("update", cwd=mine)
    assert r.code == 0, r.stderr
    assert "line 5, mine\n" in (mine / "agents" / "architect.md").read_text()
    assert "kept       agents/architect.md (upstream deleted it; you changed it, so yours stays)" in r.stdout


def test_a_tampered_origin_cannot_make_git_run_a_command(run, cloned, tmp_path):
    _, mine, _ = cloned
    origin = json.loads((mine / ORIGIN_FILE).read_text())
    for src in ("ext::sh -c touch% " + str(tmp_path / "pwned"), "--upload-pack=touch /tmp/x"):
        (mine / ORIGIN_FILE).write_text(json.dumps({**origin, "_src_path": src}))
        r = run("update", cwd=mine)
        assert r.code in (1, 2) and r.stderr.count("\n") == 1, r.stderr
        assert "not a source lattice knows" in r.stderr
    assert not (tmp_path / "pwned").exists()
