"""Executable bits survive sharing: `lattice init --from` of a lattice workflow (from a git repository
behind `insteadOf`, from a plain directory) and of an opencode setup writes each file 0755 or 0644 as
its source had it executable or not — nothing else of a source's mode —, and `lattice update` takes
upstream's new bit unless the user changed the mode too (then theirs stays, reported)."""
from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
from conftest import TINY, write_project
from git_hosts import commit_all, hosts  # noqa: F401 — the fixture

CHECK = "#!/bin/sh\necho checked\n"


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def workflow(root: Path) -> Path:
    """A workflow whose command runs its own script: scripts/check.sh executable, notes.txt not."""
    write_project(root, TINY, {"architect": "a prompt\n"})
    (root / "scripts").mkdir()
    (root / "scripts" / "check.sh").write_text(CHECK)
    (root / "scripts" / "check.sh").chmod(0o755)
    (root / "notes.txt").write_text("not a program\n")
    (root / "notes.txt").chmod(0o644)
    return root


def test_a_workflow_from_git_keeps_exactly_its_executable_bits(run, tmp_path, hosts):  # noqa: F811
    work = workflow(tmp_path / "upstream")
    commit_all(work, "one")
    hosts.repository("github", "me/wf", work)
    r = run("init", "--from", "me/wf", "--no-build", "mine")
    assert r.code == 0, r.stderr
    mine = tmp_path / "mine"
    assert mode(mine / "scripts" / "check.sh") == 0o755
    assert mode(mine / "notes.txt") == 0o644
    assert mode(mine / "lattice.yaml") == 0o644 and mode(mine / "agents" / "architect.md") == 0o644
    done = subprocess.run(["./scripts/check.sh"], cwd=mine, capture_output=True, text=True)  # as a hook runs it
    assert (done.returncode, done.stdout) == (0, "checked\n")


def test_a_plain_directory_gives_its_x_bit_and_nothing_else_of_its_modes(run, tmp_path):
    plain = workflow(tmp_path / "plain")
    (plain / "scripts" / "loose.sh").write_text(CHECK)
    (plain / "scripts" / "loose.sh").chmod(0o777)  # world-writable: not carried
    (plain / "scripts" / "setuid.sh").write_text(CHECK)
    (plain / "scripts" / "setuid.sh").chmod(0o4711)  # setuid, owner-only: not carried
    (plain / "private.txt").write_text("mine\n")
    (plain / "private.txt").chmod(0o600)
    (plain / "shared.txt").write_text("ours\n")
    (plain / "shared.txt").chmod(0o666)
    r = run("init", "--from", str(plain), "--no-build", "copy", "--json")
    assert r.code == 0, r.stderr
    copy = tmp_path / "copy"
    assert {rel: mode(copy / rel) for rel in ("scripts/check.sh", "scripts/loose.sh", "scripts/setuid.sh",
                                              "notes.txt", "private.txt", "shared.txt")} == {
        "scripts/check.sh": 0o755, "scripts/loose.sh": 0o755, "scripts/setuid.sh": 0o755,
        "notes.txt": 0o644, "private.txt": 0o644, "shared.txt": 0o644}
    assert "scripts/check.sh" in json.loads(r.stdout)["files"]  # --json lists paths, as before


def test_an_opencode_setup_keeps_its_scripts_executable(run, tmp_path):
    setup = tmp_path / "setup"
    files = {
        ".opencode/skills/lint/SKILL.md": ("---\nname: lint\ndescription: Lints.\n---\nRun run.sh.\n", 0o644),
        ".opencode/skills/lint/run.sh": (CHECK, 0o755),
        ".opencode/skills/lint/rules.txt": ("no tabs\n", 0o664),
        ".opencode/plugin/notify.js": ("export const Notify = async () => ({})\n", 0o755),
        "mcp/server.sh": (CHECK, 0o755),
        "mcp/helper.py": ("print('hi')\n", 0o755),
        "CONTRIBUTING.md": ("be kind\n", 0o644),
    }
    for rel, (text, bits) in files.items():
        (setup / rel).parent.mkdir(parents=True, exist_ok=True)
        (setup / rel).write_text(text)
        (setup / rel).chmod(bits)
    (setup / "opencode.json").write_text(json.dumps({
        "model": "anthropic/claude-sonnet-4-5", "instructions": ["CONTRIBUTING.md"],
        "mcp": {"tools": {"type": "local", "command": ["./mcp/server.sh", "mcp/helper.py"]}}}))
    r = run("init", "--from", str(setup), "--no-build", "w")
    assert r.code == 0, r.stderr
    w = tmp_path / "w"
    assert mode(w / "skills" / "lint" / "run.sh") == 0o755
    assert mode(w / "skills" / "lint" / "SKILL.md") == 0o644
    assert mode(w / "skills" / "lint" / "rules.txt") == 0o644  # group-writable: not carried
    assert mode(w / "plugins" / "notify" / "notify.js") == 0o755
    assert mode(w / "plugins" / "notify" / "package.json") == 0o644
    assert mode(w / "mcp" / "server.sh") == 0o755 and mode(w / "mcp" / "helper.py") == 0o755
    assert mode(w / "CONTRIBUTING.md") == 0o644 and mode(w / "lattice.yaml") == 0o644


@pytest.fixture
def cloned(run, tmp_path, hosts):  # noqa: F811
    """me/wf (with scripts/check.sh and a plain scripts/tool.sh) cloned into ./mine; returns (upstream
    work tree, mine, push)."""
    work = workflow(tmp_path / "upstream")
    (work / "scripts" / "tool.sh").write_text("".join(f"echo {i}\n" for i in range(1, 8)))
    commit_all(work, "one")
    hosts.repository("github", "me/wf", work)
    r = run("init", "--from", "me/wf", "--no-build", "mine")
    assert r.code == 0, r.stderr

    def push(message: str) -> None:
        commit_all(work, message)
        hosts.repository("github", "me/wf", work)
    return work, tmp_path / "mine", push


def test_update_applies_upstreams_new_bit_and_a_merged_file_keeps_its_mode(run, cloned):
    work, mine, push = cloned
    assert mode(mine / "scripts" / "tool.sh") == 0o644
    (work / "scripts" / "tool.sh").chmod(0o755)  # upstream: only the mode
    (work / "notes.txt").chmod(0o755)  # upstream: the mode, and the user edited the text
    (mine / "notes.txt").write_text("not a program\nmy note\n")
    (work / "scripts" / "check.sh").write_text(CHECK + "echo upstream\n")  # both edit an executable
    (mine / "scripts" / "check.sh").write_text("#!/bin/sh -e\necho checked\n")
    push("upstream makes tool.sh executable")
    r = run("update", "--json", cwd=mine)
    assert r.code == 0, r.stdout + r.stderr
    rows = {f["path"]: f for f in json.loads(r.stdout)["files"]}
    assert rows["scripts/tool.sh"] == {"path": "scripts/tool.sh", "status": "updated",
                                       "detail": "upstream made it executable"}
    assert mode(mine / "scripts" / "tool.sh") == 0o755
    assert mode(mine / "notes.txt") == 0o755 and (mine / "notes.txt").read_text() == "not a program\nmy note\n"
    assert rows["scripts/check.sh"]["status"] == "merged"
    assert (mine / "scripts" / "check.sh").read_text() == "#!/bin/sh -e\necho checked\necho upstream\n"
    assert mode(mine / "scripts" / "check.sh") == 0o755


def test_update_keeps_a_mode_the_user_changed_and_reports_it(run, cloned):
    work, mine, push = cloned
    (work / "scripts" / "tool.sh").chmod(0o755)  # upstream makes it executable …
    (mine / "scripts" / "tool.sh").chmod(0o600)  # … the user made it private
    (work / "scripts" / "check.sh").chmod(0o644)  # upstream makes it plain …
    (mine / "scripts" / "check.sh").chmod(0o700)  # … the user narrowed it, still executable
    push("modes")
    r = run("update", cwd=mine)
    assert r.code == 1, r.stdout + r.stderr
    assert mode(mine / "scripts" / "tool.sh") == 0o600 and mode(mine / "scripts" / "check.sh") == 0o700
    assert (mine / "scripts" / "check.sh").read_text() == CHECK
    assert "2 conflicts: scripts/check.sh:0, scripts/tool.sh:0" in r.stdout
    r = run("update", "--json", cwd=mine)  # recorded: nothing more to merge, the user's modes stand
    assert r.code == 0 and json.loads(r.stdout)["files"] == []
    assert mode(mine / "scripts" / "tool.sh") == 0o600


@pytest.mark.parametrize("base,theirs,mode,want,clash", [
    (False, True, 0o644, 0o755, False),  # untouched: upstream's bit
    (False, True, 0o664, 0o775, False),  # untouched under umask 002: group write is no choice of the user's
    (True, False, 0o755, 0o644, False),
    (False, False, 0o600, 0o600, False),  # upstream kept the bit: the user's mode stands
    (False, True, 0o700, 0o700, False),  # the user made it executable too
    (False, True, 0o600, 0o600, True),  # the user changed the mode, upstream the bit: the user's stays
    (None, True, 0o644, 0o644, True),  # no base: both added it, differently
])
def test_the_mode_merge(base, theirs, mode, want, clash):
    from lattice_env.share.files import merge_mode

    got, why = merge_mode(base, theirs, mode)
    assert (got, bool(why)) == (want, clash)
