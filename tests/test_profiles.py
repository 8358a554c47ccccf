"""Profiles and generations against the real filesystem: numbering, no-op switches, rollback and
--generation moving only the link, delete-generations and gc, several profiles, concurrent switches,
SIGKILL mid-switch, and the hot commands' imports."""
from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import TINY, stand_in_build, write_project

from lattice_env.errors import LatticeError, UsageError
from lattice_env.paths import data_root
from lattice_env.profiles.generations import delete_generations, generations, profiles, switch_to
from lattice_env.profiles.links import (
    Moved,
    active_profile,
    current_generation,
    current_path,
    link_path,
    rollback,
    switch_generation,
)
from lattice_env.store.add import add as add_path
from lattice_env.store.names import derivation
from lattice_env.store.verify import verify

HERE = Path(__file__).parent


def make_path(tag: str, version: str = "1.0", name: str = "wf") -> str:
    """A small but real store path that looks like a workflow environment to `generations` (a str, as
    profiles record store paths)."""
    drv = derivation(name, "workflow", {"config": {"name": name, "version": version}, "tag": tag})

    def builder(out: Path) -> None:
        (out / "bin").mkdir()
        (out / "bin" / "opencode").write_text(f"#!/bin/sh\necho {tag}\n")

    return str(add_path(drv, builder))


def link_state() -> dict[str, tuple[str, int]]:
    """Every generation link's target and inode: what a link-only move must leave untouched."""
    pdir = Path(data_root()) / "profiles"
    return {e: (os.readlink(pdir / e), os.lstat(pdir / e).st_ino) for e in os.listdir(pdir) if e.endswith("-link")}


def test_generations_are_numbered_and_listed(run):
    a, b = make_path("a", "1.0"), make_path("b", "2.0")
    assert current_path() is None and generations() == []
    assert switch_to(a) == Moved(1, True, a)
    assert switch_to(b) == Moved(2, True, b)
    assert current_path() == b
    assert os.readlink(Path(data_root()) / "profiles" / "default") == "default-2-link"
    assert os.readlink(Path(data_root()) / "profiles" / "default-1-link") == str(a)
    rows = json.loads(run("generations", "--json").stdout)
    assert [(r["generation"], r["current"], r["store_path"], r["workflow"], r["version"]) for r in rows] == [
        (1, False, str(a), "wf", "1.0"), (2, True, str(b), "wf", "2.0")]
    text = run("generations").stdout.splitlines()
    assert text[1].startswith("   2 * ") and text[1].endswith(f"  wf 2.0  {b}")
    assert text[0].startswith("   1   ")


def test_switch_to_the_current_path_is_a_no_op(run):
    a = make_path("a")
    switch_to(a)
    before = link_state()
    assert switch_to(str(a)) == Moved(1, False, a)
    assert switch_to(Path(a).name) == Moved(1, False, a)  # by basename, too
    assert link_state() == before
    r = run("switch", "--generation", "1")
    assert r.code == 0 and r.stdout == "profile default is already at generation 1\n"


def test_switch_refuses_what_is_not_a_store_path(tmp_path):
    with pytest.raises(LatticeError, match="not a store path"):
        switch_to(tmp_path)
    assert not (Path(data_root()) / "profiles" / "default").exists()


def test_rollback_and_switch_generation_move_only_the_link(run):
    paths = [make_path(t) for t in "abc"]
    for p in paths:
        switch_to(p)
    before = link_state()
    r = run("rollback")
    assert (r.code, r.stdout) == (0, f"rolled profile default back to generation 2 ({paths[1]})\n")
    assert current_path() == paths[1]
    assert rollback().generation == 1
    r = run("rollback")
    assert r.code == 1
    assert r.stderr == "lattice: error: profile default has no generation before 1 to roll back to\n"
    r = run("switch", "--generation", "3", "--json")
    assert json.loads(r.stdout) == {"profile": "default", "generation": 3, "created": True,
                                    "store_path": str(paths[2])}
    assert link_state() == before  # no generation made or rewritten: only `default` moved
    r = run("switch", "--generation", "7")
    assert (r.code, r.stderr) == (1, "lattice: error: profile default has no generation 7\n")
    # a rollback skips deleted generations; a switch after a rollback gets highest + 1, like Nix
    delete_generations(["2"])
    assert rollback().generation == 1
    assert switch_to(make_path("d")).generation == 4


def test_rollback_without_a_profile_is_one_line(run):
    r = run("rollback")
    assert (r.code, r.stderr) == (1, "lattice: error: profile default has no generations; "
                                     "`lattice switch` creates one\n")


def _generations_of(count: int) -> list[Path]:
    paths = [make_path(str(i)) for i in range(count)]
    for p in paths:
        switch_to(p)
    return paths


def numbers() -> list[int]:
    return [g.number for g in generations()]


def test_delete_generations_by_number_keeps_current(run):
    _generations_of(4)
    r = run("delete-generations", "1", "3", "--dry-run")
    assert r.stdout.splitlines()[0].startswith("would delete generation 1 (")
    assert numbers() == [1, 2, 3, 4]
    assert run("delete-generations", "1", "3").code == 0
    assert numbers() == [2, 4]
    r = run("delete-generations", "4")
    assert (r.code, r.stderr) == (1, "lattice: error: generation 4 is profile default's current one; "
                                     "switch away first\n")
    r = run("delete-generations", "9")
    assert (r.code, r.stderr) == (1, "lattice: error: profile default has no generation 9\n")
    r = run("delete-generations", "nine")
    assert r.code == 2 and "invalid generation spec 'nine'" in r.stderr
    assert numbers() == [2, 4]


def test_delete_generations_keep_newest_never_current():
    _generations_of(5)
    switch_generation(2)
    deleted = delete_generations(["+2"])
    assert [g.number for g in deleted] == [1, 3]  # keeps 4 and 5, the newest; and 2, the current
    assert numbers() == [2, 4, 5]
    assert delete_generations(["+0"])[-1].number == 5
    assert numbers() == [2]


def test_delete_generations_older_than_days():
    _generations_of(4)
    now = time.time()
    for number, age_days in ((1, 40), (2, 31), (3, 2)):
        link = link_path("default", number)
        os.utime(link, (now - age_days * 86400,) * 2, follow_symlinks=False)
    assert [g.number for g in delete_generations(["30d"], dry_run=True)] == [1, 2]
    assert numbers() == [1, 2, 3, 4]
    switch_generation(1)
    assert [g.number for g in delete_generations(["30d"])] == [2]  # 1 is now current
    assert numbers() == [1, 3, 4]


def test_delete_old_then_gc_frees_only_deleted_paths(run):
    paths = _generations_of(3)
    other = make_path("other-profile")
    switch_to(other, "work")
    r = run("delete-generations", "old")
    assert r.stdout.splitlines() == [f"deleted generation 1 ({paths[0]})", f"deleted generation 2 ({paths[1]})"]
    assert numbers() == [3]
    assert run("delete-generations", "old").stdout == "no generation matches; nothing deleted\n"
    r = run("store", "gc")
    assert r.code == 0
    assert not os.path.exists(paths[0]) and not os.path.exists(paths[1])
    assert os.path.isdir(paths[2]) and os.path.isdir(other)  # current of default, and of another profile
    assert verify([paths[2], other]) == []


def test_profiles_and_use(run):
    a, b = make_path("a"), make_path("b")
    r = run("profiles", "--json")
    assert json.loads(r.stdout) == [{"name": "default", "generation": None, "store_path": None, "active": True}]
    switch_to(a)
    r = run("switch", "--profile", "work", "--generation", "1")
    assert (r.code, r.stderr) == (1, "lattice: error: profile work has no generation 1\n")
    switch_to(a, "work")
    switch_to(b, "work")
    assert run("profiles").stdout == (f"* default  generation 1  {a}\n  work  generation 2  {b}\n")
    r = run("use", "nothing-yet")
    assert (r.code, r.stderr) == (1, "lattice: error: profile nothing-yet has no generation; create one "
                                     "with `lattice switch --profile nothing-yet`\n")
    r = run("use", "work")
    assert (r.code, r.stdout) == (0, "active profile: work (generation 2)\n")
    assert os.readlink(Path(data_root()) / "profile") == "profiles/work"
    assert active_profile() == "work" and current_path() == b
    assert run("rollback").stdout.startswith("rolled profile work back to generation 1")
    assert current_path("default") == a  # untouched
    assert [p.name for p in profiles() if p.active] == ["work"]
    assert [g.number for g in generations("default")] == [1]
    r = run("generations", "--profile", "default", "--json")
    assert [g["generation"] for g in json.loads(r.stdout)] == [1]
    run("use", "default")
    assert active_profile() == "default"
    assert not [e for e in os.listdir(Path(data_root())) if ".tmp-" in e]


@pytest.mark.parametrize("bad", ["../x", ".hidden", "a/b", "x-1-link", "x.tmp-1-ab", ""])
def test_profile_names_are_checked(run, bad):
    r = run("generations", "--profile", bad)
    assert r.code == 2 and r.stderr.startswith(f"lattice: error: invalid profile name {bad!r}")
    with pytest.raises(UsageError):
        switch_to(make_path("a"), bad)


def test_profile_names_with_digits_and_dashes_do_not_mix():
    a, b = make_path("a"), make_path("b")
    switch_to(a, "x")
    switch_to(b, "x-1")  # its links are x-1-1-link: not generation "1-1" of profile x
    switch_to(b, "x")
    assert [g.number for g in generations("x")] == [1, 2]
    assert [g.number for g in generations("x-1")] == [1]
    assert [p.name for p in profiles()] == ["default", "x", "x-1"]


def _concurrent_switch(target: str, start: object, results: object) -> None:
    start.wait()  # type: ignore[attr-defined]
    results.put(switch_to(target).generation)  # type: ignore[attr-defined]


def test_concurrent_switches_land_as_distinct_generations():
    targets = [make_path(f"c{i}") for i in range(6)]
    ctx = multiprocessing.get_context("fork")
    start, results = ctx.Barrier(len(targets)), ctx.Queue()
    procs = [ctx.Process(target=_concurrent_switch, args=(str(t), start, results)) for t in targets]
    for p in procs:
        p.start()
    got = sorted(results.get(timeout=30) for _ in procs)
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    assert got == [1, 2, 3, 4, 5, 6]
    rows = generations()
    assert sorted(str(r.store_path) for r in rows) == sorted(map(str, targets))
    assert current_generation() == 6


def assert_sane() -> None:
    """The profile points at an existing generation whose store path is complete."""
    number = current_generation()
    assert number is not None
    path = current_path()
    assert path is not None and os.path.isdir(path) and os.path.isfile(os.path.join(path, "manifest.json"))
    assert generations()[-1].number >= number
    assert all(g.link.endswith("-link") for g in generations())


def test_sigkill_at_random_moments_leaves_a_complete_generation():
    a, b = make_path("a"), make_path("b")
    switch_to(a)
    rng = random.Random(4321)
    pdir = Path(data_root()) / "profiles"
    saw_tmp = 0
    for _ in range(50):
        child = subprocess.Popen([sys.executable, str(HERE / "profile_child.py"), str(a), str(b)],
                                 stdout=subprocess.PIPE)
        assert child.stdout is not None and child.stdout.readline() == b"started\n"
        time.sleep(rng.uniform(0, 0.03))
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        assert_sane()
        saw_tmp += any(".tmp-" in e for e in os.listdir(pdir))
    print(f"{saw_tmp} of 50 kills left a temp link behind")
    assert generations()[-1].number > 10  # the children did switch (how often depends on the machine)
    switch_to(make_path("after"))  # sweeps what killed switches left
    assert not [e for e in os.listdir(pdir) if ".tmp-" in e]
    assert_sane()


HOT = [["rollback"], ["generations"], ["generations", "--json"], ["switch", "--generation", "1"]]


@pytest.mark.parametrize("args", HOT, ids=" ".join)
def test_hot_commands_never_read_lattice_yaml(args, tmp_path):
    """They act on the profile alone (what they must not import is in test_import_rule.py)."""
    for t in "ab":
        switch_to(make_path(t))
    (tmp_path / "lattice.yaml").write_text("this: [is not: valid yaml\n")  # reading it would fail
    r = subprocess.run([sys.executable, "-m", "lattice_env", *args], cwd=tmp_path, capture_output=True, text=True,
                       env={**os.environ, "LATTICE_HOME": str(Path(data_root()))}, timeout=60)
    assert (r.returncode, r.stderr) == (0, "")


LINK_MOVES = [["rollback"], ["rollback", "--json"], ["switch", "--generation", "1"],
              ["switch", "--profile", "default", "--generation=1", "--json"]]


@pytest.mark.parametrize("args", LINK_MOVES, ids=" ".join)
def test_link_moves_print_what_the_cli_prints(args, run, tmp_path):
    """`rollback` and `switch --generation N` through the console script's fast path (cli/fast.py) print
    exactly what the click command prints and move the link alike (what the fast path must not import
    is in test_import_rule.py)."""
    for t in "ab":
        switch_to(make_path(t))
    env = {**os.environ, "LATTICE_HOME": str(Path(data_root()))}
    fast = subprocess.run([sys.executable, "-m", "lattice_env", *args], cwd=tmp_path,
                          capture_output=True, text=True, env=env, timeout=60)
    assert (fast.returncode, fast.stderr) == (0, "")
    fast_gen = current_generation()
    switch_generation(2)
    full = run(*args, click=True)  # the click command, in-process
    assert (full.code, full.stdout, current_generation()) == (0, fast.stdout, fast_gen)
    assert fast_gen == 1
    assert ('"generation": 1' if "--json" in args else "generation 1") in fast.stdout


@pytest.mark.skipif(sys.platform != "linux", reason="the spelled-out rule is platformdirs' Unix one")
@pytest.mark.parametrize("xdg", [None, "", "   ", "/somewhere/data"])
def test_data_root_is_where_platformdirs_puts_it(xdg, monkeypatch):
    import platformdirs

    from lattice_env.paths import data_root

    monkeypatch.delenv("LATTICE_HOME", raising=False)
    monkeypatch.setenv("HOME", "/home/someone")
    if xdg is None:
        monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_DATA_HOME", xdg)
    assert data_root() == platformdirs.user_data_dir("lattice", appauthor=False)


def test_fast_rollback_errors_are_one_line(tmp_path):
    repo = Path(__file__).resolve().parent.parent
    switch_to(make_path("a"))
    r = subprocess.run([sys.executable, "-I", "-S", "-c",
                        "import sys; sys.path.insert(0, sys.argv.pop(1)); from lattice_env.cli.main import main; "
                        "sys.exit(main())", str(repo), "rollback", "--profile", "bad/name"],
                       capture_output=True, text=True, env={**os.environ, "LATTICE_HOME": str(Path(data_root()))}, timeout=60)
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr.startswith("lattice: error: invalid profile name 'bad/name'") and r.stderr.count("\n") == 1
    r = subprocess.run([sys.executable, "-I", "-S", "-c",
                        "import sys; sys.path.insert(0, sys.argv.pop(1)); from lattice_env.cli.main import main; "
                        "sys.exit(main())", str(repo), "rollback"],
                       capture_output=True, text=True, env={**os.environ, "LATTICE_HOME": str(Path(data_root()))}, timeout=60)
    assert (r.returncode, r.stderr) == (1, "lattice: error: profile default has no generation before 1 to roll back to\n")


def test_status_shows_the_generation_and_drift_from_lattice_yaml(run, tmp_path):
    project = tmp_path / "tiny"
    write_project(project, TINY, {"architect": "You design.\n"})
    r = run("status", cwd=project)
    assert r.stdout.startswith("profile default (active): no generations yet; `lattice switch` creates one\n"
                               "providers: anthropic (ANTHROPIC_API_KEY NOT SET)\n\narchitect  /architect\n")
    path = stand_in_build(project)
    switch_to(path)
    r = run("status", cwd=project)
    assert r.stdout.splitlines()[:3] == ["profile default (active): generation 1, tiny 1.0.0", f"  {path}",
                                         "  the active generation is what lattice.yaml builds"]
    (project / "agents" / "architect.md").write_text("You design, carefully.\n")
    info = json.loads(run("status", "--json", cwd=project).stdout)
    assert info["profile"]["drift"]["state"] == "changed" and info["agents"][0]["name"] == "architect"
    (project / "lattice.lock").unlink()
    assert "lattice.lock no longer matches" in run("status", cwd=project).stdout
    r = run("status", "--json", cwd=tmp_path)  # outside a project: the profile part alone
    assert json.loads(r.stdout) == {"agents": None, "profile": {
        "profile": "default", "active": True, "generation": 1, "store_path": str(path), "workflow": "tiny",
        "version": "1.0.0", "problem": None, "drift": None}, "providers": [  # from the generation's own configuration
            {"name": "anthropic", "env": "ANTHROPIC_API_KEY", "set": False, "auth": None, "base_url": None,
             "local_budget": "unlimited"}], "vcs": None}
