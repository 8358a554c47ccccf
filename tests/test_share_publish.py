"""`lattice publish`: checked as shareable, committed and pushed; `init --from` of that remote builds the
same store path (the content-addressed name does not depend on where the workflow lives)."""
from __future__ import annotations

import json

from conftest import TINY, stand_in_build, write_project
from git_hosts import git, hosts  # noqa: F401 — the fixture


def test_publish_then_init_from_then_switch_gives_the_same_store_name(run, tmp_path, hosts):  # noqa: F811
    original = write_project(tmp_path / "original", TINY, {"architect": "You design.\n"})
    stand_in_build(original)  # lattice.lock and the store paths, without npm
    (original / "lattice.local.yaml").write_text("defaults:\n  routing: [anthropic/claude-haiku-4-5]\n")
    r = run("switch", "--json", cwd=original)
    assert r.code == 0, r.stderr
    first = json.loads(r.stdout)
    remote = tmp_path / "remote.git"
    git("init", "-q", "--bare", "--initial-branch=main", str(remote))
    r = run("publish", "--to", remote.as_uri(), cwd=original)
    assert r.code == 0, r.stderr
    shared = git("ls-tree", "-r", "--name-only", "main", cwd=remote).split()
    assert sorted(shared) == [".gitignore", "agents/architect.md", "lattice.lock", "lattice.yaml"]
    assert "lattice.local.yaml" in (original / ".gitignore").read_text()
    (original / "lattice.local.yaml").unlink()  # the clone has none either: compare like with like
    r = run("switch", "--json", cwd=original)
    assert r.code == 0, r.stderr
    first = json.loads(r.stdout)

    r = run("init", "--from", remote.as_uri(), "elsewhere", "--json")
    assert r.code == 0, r.stderr
    flow = json.loads(r.stdout)
    assert flow["trusted"] is True and flow["built"] is not None
    assert "opencode.json" in flow["generated"]
    r = run("switch", "--json", cwd=tmp_path / "elsewhere")
    assert r.code == 0, r.stderr
    second = json.loads(r.stdout)
    assert second["store_path"] == first["store_path"] == flow["built"]


def test_publish_refuses_a_machine_path_and_writes_nothing(run, tmp_path):
    project = write_project(tmp_path / "p", TINY + "mcp:\n  tools:\n    command: [/tmp/someone/server]\n",
                            {"architect": "You design.\n"})
    r = run("publish", "--to", (tmp_path / "remote.git").as_uri(), cwd=project)
    assert r.code == 1
    assert "lattice.yaml:13:15: mcp.tools.command[0]: '/tmp/someone/server' is a path of this machine" in r.stderr
    assert not (project / ".git").exists() and not (project / ".gitignore").exists()


def test_publish_refuses_a_committed_local_file(run, tmp_path):
    project = write_project(tmp_path / "p", TINY, {"architect": "You design.\n"})
    (project / "lattice.local.yaml").write_text("{}\n")
    git("init", "-q", "--initial-branch=main", str(project))
    git("add", "-A", cwd=project)
    git("-c", "user.name=T", "-c", "user.email=t@example.invalid", "commit", "-qm", "x", cwd=project)
    r = run("publish", "--to", (tmp_path / "remote.git").as_uri(), cwd=project)
    assert r.code == 1
    assert "lattice.local.yaml is committed already, and must not be shared" in r.stderr
