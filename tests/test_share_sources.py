"""`lattice init --from`: every source form through the real git (GitHub and GitLab as local bare
repositories behind `insteadOf`: git_hosts.py), refs and subdirectories, and each failure in one line
with nothing written."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from conftest import TINY, snapshot, write_project
from git_hosts import commit_all, git, hosts  # noqa: F401 — the fixture

from lattice_env.share.origin import ORIGIN_FILE


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """A private temp dir, so a test sees whether a failed clone left anything behind."""
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    return private


def workflow(root: Path, prompt: str) -> Path:
    return write_project(root, TINY, {"architect": prompt})


@pytest.fixture
def upstream(tmp_path, hosts):  # noqa: F811
    """me/wf on the fake GitHub: v1 (tagged), then v2 on main; and a monorepo with workflows/web."""
    work = tmp_path / "upstream"
    workflow(work, "v1 prompt\n")
    first = commit_all(work, "v1", tag="v1")
    (work / "agents" / "architect.md").write_text("v2 prompt\n")
    second = commit_all(work, "v2")
    hosts.repository("github", "me/wf", work)
    mono = tmp_path / "mono"
    workflow(mono / "workflows" / "web", "web prompt\n")
    (mono / "README.md").write_text("a monorepo\n")
    commit_all(mono, "mono")
    hosts.repository("github", "me/mono", mono)
    hosts.repository("gitlab", "group/sub/wf", work)
    return {"work": work, "v1": first, "v2": second, "mono": mono}


def prompt(target: Path) -> str:
    return (target / "agents" / "architect.md").read_text()


def origin(target: Path) -> dict:
    return json.loads((target / ORIGIN_FILE).read_text())


@pytest.mark.parametrize("spec", ["me/wf", "github:me/wf", "gitlab:group/sub/wf", "me/wf.git"])
def test_shorthands_reach_their_host_through_git_configuration(run, tmp_path, upstream, spec):
    r = run("init", "--from", spec, "--no-build", "out")
    assert r.code == 0, r.stderr
    target = tmp_path / "out"
    assert prompt(target) == "v2 prompt\n"
    assert (target / "lattice.yaml").read_text() == TINY
    o = origin(target)
    assert o["_commit"] == upstream["v2"] and o["_ref"] is None and o["_kind"] == "lattice"
    host = "gitlab.com/group/sub" if spec.startswith("gitlab") else "github.com/me"
    assert o["_src_path"] == f"https://{host}/wf.git"


def test_default_directory_is_the_repository_name_and_refs_pick_their_commit(run, tmp_path, upstream):
    r = run("init", "--from", "me/wf@v1", "--no-build")
    assert r.code == 0, r.stderr
    assert prompt(tmp_path / "wf") == "v1 prompt\n"
    assert origin(tmp_path / "wf")["_ref"] == "v1" and origin(tmp_path / "wf")["_commit"] == upstream["v1"]
    for ref in (upstream["v1"], upstream["v1"][:10]):  # a full and an abbreviated commit
        r = run("init", "--from", f"github:me/wf@{ref}", "--no-build", f"at-{len(ref)}")
        assert r.code == 0, r.stderr
        assert prompt(tmp_path / f"at-{len(ref)}") == "v1 prompt\n"
        assert origin(tmp_path / f"at-{len(ref)}")["_commit"] == upstream["v1"]
    r = run("init", "--from", "me/wf", "--ref", "v1", "--no-build", "by-option")
    assert r.code == 0 and prompt(tmp_path / "by-option") == "v1 prompt\n"


def test_subdirectory_of_a_repository(run, tmp_path, upstream):
    r = run("init", "--from", "me/mono//workflows/web", "--no-build", "web")
    assert r.code == 0, r.stderr
    assert prompt(tmp_path / "web") == "web prompt\n"
    assert not (tmp_path / "web" / "README.md").exists()
    assert origin(tmp_path / "web")["_subdirectory"] == "workflows/web"


def test_git_urls_local_repositories_and_plain_directories(run, tmp_path, upstream, hosts):  # noqa: F811
    url = (hosts.github / "me" / "wf.git").as_uri()
    r = run("init", "--from", f"{url}@v1", "--no-build", "by-url")
    assert r.code == 0, r.stderr
    assert prompt(tmp_path / "by-url") == "v1 prompt\n"
    # a local repository: its HEAD commit, recorded; with uncommitted changes, what the user sees
    r = run("init", "--from", "./upstream", "--no-build", "by-path")
    assert r.code == 0, r.stderr
    assert prompt(tmp_path / "by-path") == "v2 prompt\n"
    assert origin(tmp_path / "by-path")["_src_path"] == str(upstream["work"])
    assert origin(tmp_path / "by-path")["_commit"] == upstream["v2"]
    (upstream["work"] / "agents" / "architect.md").write_text("uncommitted\n")
    r = run("init", "--from", "./upstream", "--no-build", "dirty")
    assert r.code == 0, r.stderr
    assert prompt(tmp_path / "dirty") == "uncommitted\n"
    assert "uncommitted changes: they were taken as they are" in r.stderr
    assert origin(tmp_path / "dirty")["_commit"] is None
    plain = workflow(tmp_path / "plain", "plain prompt\n")
    r = run("init", "--from", str(plain), "--no-build", "by-dir")
    assert r.code == 0, r.stderr
    assert prompt(tmp_path / "by-dir") == "plain prompt\n"
    assert origin(tmp_path / "by-dir")["_commit"] is None


def test_into_the_current_directory_never_overwriting_without_force(run, tmp_path, upstream):
    here = tmp_path / "here"
    here.mkdir()
    (here / "notes.txt").write_text("mine\n")
    r = run("init", "--from", "me/wf", "--no-build", ".", cwd=here)
    assert r.code == 0, r.stderr
    assert prompt(here) == "v2 prompt\n" and (here / "notes.txt").read_text() == "mine\n"
    (here / "agents" / "architect.md").write_text("my edit\n")
    before = snapshot(here)
    r = run("init", "--from", "me/wf@v1", "--no-build", ".", cwd=here)
    assert r.code == 1
    assert r.stderr.count("\n") == 1 and "already exist" in r.stderr and "--force" in r.stderr
    assert snapshot(here) == before
    r = run("init", "--from", "me/wf@v1", "--no-build", "--force", ".", cwd=here)
    assert r.code == 0, r.stderr
    assert prompt(here) == "v1 prompt\n"


@pytest.mark.parametrize("spec,message", [
    ("me/nothing", "me/nothing: no such repository"),
    ("gitlab:group/none", "gitlab:group/none: no such repository"),
    ("me/wf@v9", "me/wf@v9: no branch, tag or commit named v9"),
    ("me/wf@" + "ab" * 20, f"me/wf@{'ab' * 20}: no branch, tag or commit named {'ab' * 20}"),
    ("me/mono", "me/mono: no workflow found in its top folder"),
    ("me/mono//workflows/nope", "me/mono//workflows/nope: no folder workflows/nope in it"),
    ("https://127.0.0.1:9/x.git", "https://127.0.0.1:9/x.git: cannot reach it"),
    ("./absent", "./absent: no such directory"),
    ("not a source", "not a source: not a source lattice knows"),
    ("me/wf//../x", "me/wf//../x: '//../x' must be a folder inside the repository"),
])
def test_each_failure_is_one_line_naming_the_source_and_writes_nothing(run, tmp_path, upstream, scratch,
                                                                        spec, message):
    before = snapshot(tmp_path)
    r = run("init", "--from", spec, "--no-build")
    assert r.code in (1, 2), r.stderr
    assert r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith(f"lattice: error: {message}"), r.stderr
    assert snapshot(tmp_path) == before  # no directory, no temp file, nothing in the private temp dir


def test_git_missing_is_one_line(run, tmp_path, upstream, scratch, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    before = snapshot(tmp_path)
    r = run("init", "--from", "me/wf", "--no-build")
    assert r.code == 1
    assert r.stderr == "lattice: error: me/wf: `git` is not installed or not on PATH\n"
    assert snapshot(tmp_path) == before


def test_json_output_for_scripts(run, tmp_path, upstream):
    r = run("init", "--from", "me/wf", "--no-build", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["commit"] == upstream["v2"] and data["kind"] == "lattice" and data["agents"] == 1
    assert sorted(data["files"]) == ["agents/architect.md", "lattice.origin.json", "lattice.yaml"]
    assert os.path.isdir(data["directory"])


def test_symlinks_in_a_source_are_not_followed(run, tmp_path, hosts, decoy):  # noqa: F811
    work = workflow(tmp_path / "linky", "fine\n")
    os.symlink(decoy.root / ".ssh" / "id_rsa", work / "agents" / "key.md")
    os.symlink(decoy.root, work / "home")
    commit_all(work, "links")
    hosts.repository("github", "me/linky", work)
    r = run("init", "--from", "me/linky", "--no-build", "out")
    assert r.code == 0, r.stderr
    assert not os.path.lexists(tmp_path / "out" / "agents" / "key.md")
    assert not os.path.lexists(tmp_path / "out" / "home")
    assert decoy.leaked_into(tmp_path / "out") == []
    decoy.assert_untouched()
