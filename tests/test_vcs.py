"""VCS presets with the real git (vcs/git_stash.py): a checkpoint records the whole working state without
touching a byte, an agent commit goes on a temp branch, undo restores files, index and HEAD exactly;
`lattice vcs …` and `lattice ship` from the shell, a push to a local bare remote once. The jj presets
run where jj is installed (it cannot be installed here, nor in CI)."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import write_project

from lattice_env.vcs import preset_for
from lattice_env.vcs.base import VcsError

GIT_ENV = {"GIT_AUTHOR_NAME": "User", "GIT_AUTHOR_EMAIL": "user@example.invalid",
           "GIT_COMMITTER_NAME": "User", "GIT_COMMITTER_EMAIL": "user@example.invalid"}
STASH = {"vcs": {"preset": "git-stash"}}


def git(repo: Path, *args: str, check: bool = True) -> str:
    done = subprocess.run(["git", *args], cwd=repo, env={**os.environ, **GIT_ENV}, capture_output=True, text=True,
                          timeout=60)
    assert not check or done.returncode == 0, done.stderr
    return done.stdout


def files(repo: Path) -> dict[str, bytes]:
    """Every file of the working tree (outside .git) with its bytes, and its mode bit for executables."""
    out = {}
    for path in sorted(repo.rglob("*")):
        rel = path.relative_to(repo).as_posix()
        if rel.startswith(".git/") or rel == ".git" or path.is_dir():
            continue
        out[rel] = path.read_bytes() + (b" [x]" if os.access(path, os.X_OK) else b"")
    return out


def state(repo: Path) -> tuple[str, str, str, dict[str, bytes]]:
    """What undo must give back: porcelain status, the index's entries, HEAD, and every file's bytes."""
    return (git(repo, "status", "--porcelain", "--untracked-files=all"), git(repo, "ls-files", "--stage"),
            git(repo, "rev-parse", "-q", "--verify", "HEAD", check=False), files(repo))


def messy_repo(repo: Path) -> Path:
    """A repository with staged, unstaged, partly staged, untracked, ignored, deleted, renamed, binary and
    executable changes."""
    repo.mkdir(parents=True, exist_ok=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / ".gitignore").write_text("*.log\nbuild/\n")
    (repo / "a.txt").write_text("one\n")
    (repo / "gone.txt").write_text("to be deleted\n")
    (repo / "old.txt").write_text("to be renamed\n")
    (repo / "tool.sh").write_text("#!/bin/sh\n")
    (repo / "sub").mkdir()
    (repo / "sub/deep.txt").write_text("deep\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "initial")
    (repo / "a.txt").write_text("one\nstaged\n")
    git(repo, "add", "a.txt")
    (repo / "a.txt").write_text("one\nstaged\nunstaged\n")  # partly staged
    (repo / "staged-new.txt").write_text("new and staged\n")
    git(repo, "add", "staged-new.txt")
    git(repo, "mv", "old.txt", "renamed.txt")
    (repo / "gone.txt").unlink()
    (repo / "untracked.bin").write_bytes(bytes(range(256)) * 3)
    (repo / "sub/untracked.txt").write_text("untracked in a subdirectory\n")
    (repo / "tool.sh").chmod(0o755)
    (repo / "debug.log").write_text("ignored\n")
    (repo / "build").mkdir()
    (repo / "build/out.o").write_bytes(b"\0ignored")
    return repo


def agent_edits(repo: Path) -> None:
    """What an agent does in a turn: create, modify, delete, and write inside an ignored directory."""
    (repo / "created.txt").write_text("by the agent\n")
    (repo / "newdir").mkdir()
    (repo / "newdir/inner.txt").write_text("nested\n")
    (repo / "a.txt").write_text("rewritten by the agent\n")
    (repo / "sub/deep.txt").unlink()
    (repo / "renamed.txt").write_text("changed after the rename\n")
    (repo / "build/agent.o").write_bytes(b"ignored output")


def test_checkpoint_touches_nothing_and_undo_restores_exactly(tmp_path):
    repo = messy_repo(tmp_path / "repo")
    before = state(repo)
    index_bytes = (repo / ".git/index").read_bytes()
    preset = preset_for(STASH, str(repo))
    done = preset.checkpoint("implement")
    assert (repo / ".git/index").read_bytes() == index_bytes  # (read before `git status` refreshes it)
    assert state(repo) == before
    assert done["ref"].startswith("refs/lattice/checkpoints/")
    assert git(repo, "log", "-1", "--format=%s", done["commit"]).strip() == "checkpoint: before implement"
    # The checkpoint holds the ignored-free working state: the untracked files, not the ignored ones.
    listed = git(repo, "ls-tree", "-r", "--name-only", done["commit"]).split()
    assert "untracked.bin" in listed and "sub/untracked.txt" in listed and "renamed.txt" in listed
    assert "debug.log" not in listed and "old.txt" not in listed and "gone.txt" not in listed

    agent_edits(repo)
    assert preset.changed() is True
    undone = preset.undo()
    after = state(repo)
    assert after[:3] == before[:3]
    # Every file's bytes (and mode) as before; the agent's file in an ignored directory stays (git leaves
    # ignored files alone, as its stash does).
    assert {k: v for k, v in after[3].items() if k != "build/agent.o"} == before[3]
    assert not (repo / "created.txt").exists() and not (repo / "newdir").exists()
    # What undo undid is kept, and the checkpoint it went back to is used up (a second undo goes further).
    assert "created.txt" in git(repo, "ls-tree", "-r", "--name-only", undone["kept"])
    assert git(repo, "for-each-ref", "refs/lattice/checkpoints") == ""
    with pytest.raises(VcsError, match="nothing to undo"):
        preset.undo()


def test_commit_goes_on_a_temp_branch_with_the_message(tmp_path):
    repo = messy_repo(tmp_path / "repo")
    main = git(repo, "rev-parse", "main")
    config = {"vcs": {"preset": "git-stash", "config": {"commit_message": "ai({agent}): {summary}"}}}
    preset = preset_for(config, str(repo))
    checkpoint = preset.checkpoint("implement")["commit"]
    assert preset.commit("implement", "nothing yet")["done"] is False  # a turn that changed nothing
    assert git(repo, "branch", "--list", "lattice/*") == ""
    agent_edits(repo)
    before = state(repo)
    done = preset.commit("implement", "add created.txt")
    assert done["done"] and done["branch"] == "lattice/main"
    assert git(repo, "rev-parse", "main") == main and state(repo) == before  # the user's branch and files stay
    assert git(repo, "log", "-1", "--format=%s", "lattice/main").strip() == "ai(implement): add created.txt"
    assert git(repo, "rev-parse", "lattice/main^").strip() == checkpoint
    # The commit shows exactly what the agent changed since the checkpoint.
    changed = git(repo, "diff", "--name-status", checkpoint, "lattice/main").split("\n")
    assert sorted(line for line in changed if line) == sorted(
        ["M\ta.txt", "A\tcreated.txt", "A\tnewdir/inner.txt", "M\trenamed.txt", "D\tsub/deep.txt"])
    log = preset.log()["entries"]
    assert [e["kind"] for e in log] == ["commit", "checkpoint"]


def test_move_branch_commits_on_the_users_branch(tmp_path):
    repo = messy_repo(tmp_path / "repo")
    main = git(repo, "rev-parse", "main").strip()
    preset = preset_for({"vcs": {"preset": "git-stash", "config": {"move_branch": True}}}, str(repo))
    preset.checkpoint("x")
    agent_edits(repo)
    preset.commit("x", "moved")
    assert git(repo, "rev-parse", "main^").strip() == main
    assert git(repo, "status", "--porcelain") == ""  # everything (not ignored) is in the commit
    preset.undo()
    assert git(repo, "rev-parse", "main").strip() == main  # undo takes the branch back too


def test_a_new_repository_without_commits(tmp_path):
    repo = tmp_path / "fresh"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "draft.txt").write_text("draft\n")
    before = state(repo)
    preset = preset_for(STASH, str(repo))
    preset.checkpoint("a")
    (repo / "more.txt").write_text("agent\n")
    assert preset.commit("a", "first")["done"]
    preset.undo()
    assert state(repo) == before


def test_no_identity_and_no_repository(tmp_path):
    repo = tmp_path / "r"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    (repo / "f").write_text("x")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    done = preset_for(STASH, str(repo), environ=env).checkpoint("a")  # no user.name anywhere: Lattice's own
    assert "Lattice" in git(repo, "log", "-1", "--format=%an", done["commit"])
    with pytest.raises(VcsError, match="not in a git repository"):
        preset_for(STASH, str(tmp_path)).checkpoint("a")


def test_deadline_bounds_every_git_command(tmp_path):
    repo = messy_repo(tmp_path / "repo")
    preset = preset_for(STASH, str(repo), deadline=time.monotonic() - 1)
    with pytest.raises(VcsError, match="out of time"):
        preset.checkpoint("a")
    assert git(repo, "for-each-ref", "refs/lattice") == ""


KILLER = """
import sys
from lattice_env.vcs import preset_for
preset = preset_for({"vcs": {"preset": "git-stash"}}, sys.argv[1])
print("ready", flush=True)
while True:
    preset.checkpoint("loop")
"""


def test_a_killed_checkpoint_leaves_no_half_made_ref(tmp_path):
    """SIGKILL at random points while checkpoints are made: every ref there is names a whole checkpoint
    (its tree, its index commit), and the temporary index of the killed process goes at the next one."""
    import random

    repo = messy_repo(tmp_path / "repo")
    (repo / "big").mkdir()
    for i in range(300):
        (repo / f"big/f{i}.txt").write_text(f"{i}\n" * 50)
    before = state(repo)
    rng = random.Random(13)
    for _ in range(6):
        child = subprocess.Popen([sys.executable, "-c", KILLER, str(repo)], stdout=subprocess.PIPE,
                                 env={**os.environ, **GIT_ENV}, start_new_session=True)
        assert child.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.05, 0.6))
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    for line in git(repo, "for-each-ref", "--format=%(objectname)", "refs/lattice/checkpoints").split():
        parents = git(repo, "rev-list", "--parents", "-n", "1", line).split()[1:]
        assert len(parents) == 2  # HEAD and the index commit
        assert "untracked.bin" in git(repo, "ls-tree", "-r", "--name-only", line)
    assert "error" not in git(repo, "fsck", "--no-dangling", check=False).lower()
    preset_for(STASH, str(repo)).checkpoint("after")
    assert not [p for p in os.listdir(repo / ".git") if p.startswith("lattice-index-")]
    assert state(repo) == before


def bare_remote(tmp_path: Path) -> tuple[Path, Path]:
    """A local bare repository whose post-receive hook appends a line per push to pushes.log."""
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    log = tmp_path / "pushes.log"
    hook = remote / "hooks/post-receive"
    hook.write_text(f"#!/bin/sh\ncat >> '{log}'\necho push >> '{log}.count'\n")
    hook.chmod(0o755)
    return remote, log


def pushes(log: Path) -> int:
    count = Path(str(log) + ".count")
    return len(count.read_text().splitlines()) if count.exists() else 0


SHIP = """\
name: shipper
version: "1.0.0"
vcs:
  preset: git-stash
providers:
  local:
    base_url: http://127.0.0.1:9/v1
agents:
  a:
    path: a.md
    routing: [local/m]
commands:
  ship:
    description: Push current work
    action: vcs.push
  where:
    action: vcs.status
"""


def test_lattice_ship_from_the_shell_pushes_once(tmp_path, run):
    repo = messy_repo(tmp_path / "repo")
    write_project(repo, SHIP)
    remote, log = bare_remote(tmp_path)
    git(repo, "remote", "add", "origin", str(remote))
    preset = preset_for(STASH, str(repo))
    preset.checkpoint("a")
    (repo / "agent.txt").write_text("agent work\n")
    preset.commit("a", "agent work")
    out = run("ship", cwd=repo, env=GIT_ENV)
    assert out.code == 0, out.stderr
    assert out.stdout.strip() == "pushed main, lattice/main to origin"
    assert pushes(log) == 1
    assert git(remote, "rev-parse", "main") == git(repo, "rev-parse", "main")
    assert git(remote, "rev-parse", "lattice/main") == git(repo, "rev-parse", "lattice/main")
    where = run("where", cwd=repo)
    assert where.code == 0 and where.stdout.startswith("## main") and "checkpoints: 1" in where.stdout
    assert run("nosuch", cwd=repo).code == 2
    rows = [r for r in __import__("lattice_env.hooks.log", fromlist=["read"]).read() if r["event"] == "command"]
    assert [(r["command"], r["action"], r["result"]) for r in rows] == [("ship", "vcs.push", "ok"),
                                                                         ("where", "vcs.status", "ok")]


def test_lattice_vcs_commands(tmp_path, run):
    repo = messy_repo(tmp_path / "repo")
    write_project(repo, SHIP)
    before = state(repo)
    assert run("vcs", "checkpoint", "--agent", "me", cwd=repo, env=GIT_ENV).code == 0
    agent_edits(repo)
    out = run("vcs", "commit", "--agent", "me", "--summary", "edits", cwd=repo, env=GIT_ENV)
    assert out.code == 0 and "ai(me): edits" in out.stdout
    log = run("vcs", "log", "--json", cwd=repo)
    assert [e["kind"] for e in __import__("json").loads(log.stdout)["entries"]] == ["commit", "checkpoint"]
    assert run("vcs", "undo", cwd=repo, env=GIT_ENV).code == 0
    assert state(repo)[:3] == before[:3]
    out = run("vcs", "undo", cwd=repo)
    assert out.code == 1 and out.stderr.startswith("lattice: error: nothing to undo: there is no checkpoint")
    out = run("vcs", "push", cwd=repo)
    assert out.code == 1 and "no remote" in out.stderr
    out = run("vcs", "status", cwd=repo)
    assert out.code == 0 and "checkpoints: 0" in out.stdout


def test_status_has_a_vcs_section(tmp_path, run):
    """`lattice status` (its click-free path) shows the preset, the branch and the checkpoints, read
    from the repository's files — and counts a checkpoint made a moment ago, packed refs too."""
    repo = messy_repo(tmp_path / "repo")
    write_project(repo, SHIP)
    out = run("status", "--json", cwd=repo)
    assert out.code == 0, out.stderr
    vcs = __import__("json").loads(out.stdout)["vcs"]
    assert vcs == {"preset": "git-stash", "repository": str(repo), "branch": "main", "checkpoints": 0,
                   "last_checkpoint": None}
    preset = preset_for(STASH, str(repo))
    preset.checkpoint("a")
    git(repo, "pack-refs", "--all")
    preset.checkpoint("b")
    out = run("status", cwd=(repo / "sub"))
    assert out.code == 0, out.stderr
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("vcs: "))
    assert line.startswith(f"vcs: git-stash in {repo} (on main): 2 checkpoints, the last at ")
    outside = write_project(tmp_path / "p", SHIP)
    assert "vcs: git-stash, but no git repository here" in run("status", cwd=outside).stdout
    none = write_project(tmp_path / "n", SHIP.replace("  preset: git-stash\n", "  preset: none\n"))
    assert "vcs: none (no VCS integration)" in run("status", cwd=none).stdout


def test_preset_none_says_so(tmp_path, run):
    project = write_project(tmp_path / "p", SHIP.replace("  preset: git-stash\n", "  preset: none\n"))
    out = run("vcs", "undo", cwd=project)
    assert out.code == 1 and "vcs.preset is none" in out.stderr
    assert preset_for({}, str(project)).checkpoint("a")["done"] is False


def jj() -> str:
    found = shutil.which("jj")
    if found is None:
        pytest.skip("jj is not installed on this machine (nor installable here or in CI): the jj presets' "
                    "proofs run where jj is on PATH")
    return found


def test_jj_checkpoint_turn_and_undo(tmp_path):
    jj()
    repo = tmp_path / "jj"
    repo.mkdir()
    env = {**os.environ, "JJ_USER": "User", "JJ_EMAIL": "user@example.invalid"}
    subprocess.run(["jj", "git", "init"], cwd=repo, env=env, check=True, capture_output=True)
    (repo / "mine.txt").write_text("user work\n")
    preset = preset_for({"vcs": {"preset": "jj-checkpoint"}}, str(repo), environ=env)
    preset.checkpoint("a")
    (repo / "agent.txt").write_text("agent\n")
    assert preset.changed() is True
    assert preset.commit("a", "agent work")["done"]
    preset.undo()
    assert (repo / "mine.txt").read_text() == "user work\n" and not (repo / "agent.txt").exists()


def test_jj_workspace_gate(tmp_path):
    jj()
    repo = tmp_path / "jj"
    repo.mkdir()
    env = {**os.environ, "JJ_USER": "User", "JJ_EMAIL": "user@example.invalid"}
    subprocess.run(["jj", "git", "init"], cwd=repo, env=env, check=True, capture_output=True)
    preset = preset_for({"vcs": {"preset": "jj-workspace"}}, str(repo), environ=env)
    assert "Describe your intent" in (preset.gate() or "")
    subprocess.run(["jj", "describe", "-m", "intent"], cwd=repo, env=env, check=True, capture_output=True)
    assert preset.gate() is None
    added = preset.add_workspace("task")
    assert Path(added["path"]).is_dir()
    pinned = preset_for({"vcs": {"preset": "jj-workspace"}, "plugins": ["jj-opencode@1.0.0"]}, str(repo), environ=env)
    assert pinned.gate() is None and pinned.checkpoint("a")["done"] is False
