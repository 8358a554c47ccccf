"""A store path changed after it was built is found, is never launched, and `lattice store repair`
puts it back.

Small store paths of our own (a wrapper script that leaves a marker when it runs) show each launch
refusing: print-env for the path it puts on PATH, `shell` and `run` for the closure behind it too, `run`
even for a change made to look sealed. A real build (real npm, the real opencode) shows the whole story
the issue tells: doctor finds the change, does not run it, and the command it suggests makes it pass."""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Run, write_project
from opencode_support import new_data_dir

from lattice_env.paths import data_root
from lattice_env.profiles.generations import switch_to
from lattice_env.store.add import add as add_path
from lattice_env.store.names import derivation
from lattice_env.store.tree import remove_tree

REPO = Path(__file__).resolve().parent.parent


def lattice(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`lattice ARGS` as its own process (`run` and `shell` exec)."""
    full = {"PATH": os.environ["PATH"], "HOME": os.environ["HOME"], "LATTICE_HOME": data_root(),
            "LATTICE_CONFIG_HOME": os.environ["LATTICE_CONFIG_HOME"], "SHELL": "/bin/sh",
            "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run([sys.executable, "-m", "lattice_env", *args], env=full, cwd=cwd or REPO,
                          capture_output=True, text=True, timeout=600)


def environment(marker: Path, references: tuple[Path, ...] = ()) -> Path:
    """A workflow-like store path whose bin/opencode touches `marker` when it runs."""
    def builder(out: Path) -> None:
        (out / "bin").mkdir()
        (out / "bin" / "opencode").write_text(f"#!/bin/sh\ntouch {shlex.quote(str(marker))}\necho ran\n")
        (out / "bin" / "opencode").chmod(0o755)
        (out / "config").mkdir()
        (out / "config" / "opencode.json").write_text("{}\n")
    return add_path(derivation("wf", "workflow", {"config": {"name": "wf"}, "marker": str(marker)}, references),
                    builder)


def closure(label: str) -> Path:
    def builder(out: Path) -> None:
        (out / "node_modules" / "pkg").mkdir(parents=True)
        (out / "node_modules" / "pkg" / "index.js").write_text(f"// {label}\n")
        (out / "node_modules" / "pkg" / "LICENSE").write_text("the same in every closure\n")
    return add_path(derivation(f"{label}-closure", "test", {}), builder)


def edit(path: Path, text: str, keep_seal: bool = False) -> None:
    """Change a read-only store file the way a user (or root, who needs no write bit) would; with
    `keep_seal`, put its mode and mtime back by hand, as someone hiding the change would."""
    mode = path.stat().st_mode & 0o777
    path.parent.chmod(0o755)
    path.chmod(0o644)
    path.write_text(text)
    path.chmod(mode)
    path.parent.chmod(0o555)
    if keep_seal:
        os.utime(path, (1, 1))
        os.utime(path.parent, (1, 1))


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "wrapper-ran"


def test_a_changed_wrapper_is_never_launched(marker):
    path = environment(marker)
    switch_to(path)
    assert lattice("run", "--", "--version").stdout == "ran\n" and marker.exists()
    marker.unlink()
    edit(path / "bin" / "opencode", f"#!/bin/sh\ntouch {marker}\necho tampered\n")
    message = (f"lattice: error: profile default: store path {path.name} is damaged (bin/opencode was changed "
               f"after the path was sealed); refusing to launch it: `lattice store repair {path.name}` rebuilds it\n")
    for args in (["run", "--", "--version"], ["shell", "-c", "opencode"], ["print-env"]):
        r = lattice(*args)
        assert (r.returncode, r.stdout, r.stderr) == (1, "", message), args
    assert not marker.exists()
    r = lattice("status")
    assert r.returncode == 0 and f"  DAMAGED: store path {path.name} is damaged (bin/opencode was changed" in r.stdout


def test_a_changed_closure_stops_run(marker, run):
    """`lattice run` starts opencode from the closure: it checks that closure's seal too. Activations
    (print-env, shell) check the path they put on PATH; doctor and status see the closure."""
    deps = closure("c")
    path = environment(marker, (deps, closure("d")))
    switch_to(path)
    # store optimise relinks the identical LICENSE files across closures: the seals survive it.
    assert run("store", "optimise").code == 0 and (deps / "node_modules/pkg/LICENSE").stat().st_nlink > 1
    assert lattice("run", "--", "--version").returncode == 0 and marker.exists()
    marker.unlink()
    edit(deps / "node_modules" / "pkg" / "index.js", "require('child_process').exec('curl evil')\n")
    r = lattice("run", "--", "--version")
    assert r.returncode == 1 and f"store path {deps.name} is damaged (node_modules/pkg/index.js was " \
                                 f"changed after the path was sealed)" in r.stderr, r.stderr
    assert not marker.exists()
    assert lattice("print-env").returncode == 0 and lattice("shell", "-c", "true").returncode == 0
    assert f"DAMAGED: store path {deps.name} is damaged" in run("status").stdout
    r = run("doctor")
    assert r.code == 1 and "FAIL  opencode (default): not run: its store path is damaged" in r.stdout
    assert not marker.exists()


def test_run_checks_the_contents_of_what_it_executes(marker, run):
    """A change with its mode and mtime put back by hand passes the cheap seal (shell -c still starts),
    but not `run`, which re-hashes the small path whose wrapper it executes, nor verify and doctor."""
    path = environment(marker)
    switch_to(path)
    edit(path / "bin" / "opencode", f"#!/bin/sh\ntouch {marker}\necho hidden\n", keep_seal=True)
    assert lattice("shell", "-c", "true").returncode == 0
    r = lattice("run", "--", "--version")
    assert r.returncode == 1 and r.stderr == (
        f"lattice: error: store path {path.name} is damaged (modified: bin/opencode); refusing to launch it: "
        f"`lattice store repair {path.name}` rebuilds it\n")
    assert not marker.exists()
    assert run("store", "verify").stdout == f"{path.name}: modified: bin/opencode\n"
    r = run("doctor")
    assert r.code == 1 and "FAIL  opencode (default): not run: its store path is damaged" in r.stdout
    assert not marker.exists()


def test_repair_restores_modes_and_refuses_what_it_cannot_rebuild(marker, run):
    path = environment(marker)
    switch_to(path)
    (path / "config").chmod(0o755)
    (path / "config" / "opencode.json").chmod(0o666)
    assert lattice("shell", "-c", "true").returncode == 1
    r = run("store", "repair")
    assert (r.code, r.stdout) == (0, f"repaired {path.name}: modes and mtimes restored (its content was intact)\n")
    assert run("store", "verify").code == 0 and lattice("shell", "-c", "true").returncode == 0
    assert run("store", "repair").stdout == "nothing to repair: every store path verifies\n"
    # Changed content needs a rebuild, by the builder that made it: this path's builder is this test.
    edit(path / "config" / "opencode.json", '{"plugin": ["evil"]}\n')
    r = run("store", "repair", path.name)
    assert r.code == 1
    assert r.stderr == (f"lattice: error: {path.name}: cannot repair: it was built by another version of lattice "
                        f"(the builder is one of its inputs); `lattice switch` in its project builds the "
                        f"environment anew\n")
    assert (path / "config" / "opencode.json").read_text() == '{"plugin": ["evil"]}\n'  # left for the user to see


def test_a_generation_whose_path_was_deleted_is_reported(marker, run):
    first = environment(marker)
    switch_to(first)
    second = environment(marker.with_name("other"))
    switch_to(second)
    remove_tree(first)  # deleted behind lattice's back
    r = run("store", "verify")
    assert (r.code, r.stdout) == (1, f"default-1-link: missing: {first.name} is not in the store "
                                     f"(deleted outside lattice?)\n")
    r = run("doctor")
    assert f"FAIL  store: generation 1 of profile default: {first.name} is not in the store (deleted outside " \
           f"lattice?)\n      fix: lattice delete-generations 1 --profile default\n" in r.stdout
    assert run("delete-generations", "1").code == 0  # what doctor said
    assert "ok    store: " in run("doctor").stdout and run("store", "verify").code == 0
    remove_tree(second)  # now the current one
    r = run("status", "--json")
    assert json.loads(r.stdout)["profile"]["problem"]["state"] == "missing"
    assert f"  MISSING: its store path {second} is missing" in run("status").stdout
    assert run("store", "verify").code == 1


# ── the issue, end to end, with a real build ─────────────────────────────────────────────────────────

CONFIG = """\
name: sealed-workflow
providers:
  anthropic:
    env: ANTHROPIC_API_KEY
agents:
  a:
    triggers: [/a]
    routing: [anthropic/claude-sonnet-4-5]
"""


@pytest.mark.slow
@pytest.mark.opencode
def test_doctor_finds_does_not_run_and_its_repair_repairs(tmp_path):
    project = write_project(tmp_path / "project", CONFIG)
    env = {"HOME": str(tmp_path / "home"), "LATTICE_HOME": str(new_data_dir(tmp_path / "data")),
           "LATTICE_CONFIG_HOME": str(tmp_path / "cfg"), "ANTHROPIC_API_KEY": "x"}
    (tmp_path / "home").mkdir()
    r = Run(project)("switch", env=env)
    assert r.code == 0, r.stderr
    path = Path(r.stdout.split("(")[-1].rstrip(")\n"))
    store = path.parent
    closure_path = next(p for p in store.iterdir() if p.name.endswith("-closure"))
    assert Run(tmp_path)("doctor", env=env).code == 0

    marker = tmp_path / "tampered-wrapper-ran"
    edit(path / "bin" / "opencode", f"#!/bin/sh\ntouch {marker}\nexec true\n")
    sdk = closure_path / "node_modules" / "@ai-sdk" / "anthropic" / "package.json"
    edit(sdk, sdk.read_text().replace('"version"', '"x-tampered": 1, "version"'), keep_seal=True)

    out_of_project = {**env, "PATH": os.environ["PATH"], "PYTHONPATH": str(REPO), "SHELL": "/bin/sh"}
    for args in (["run", "--", "--version"], ["shell", "-c", "opencode --version"], ["print-env"]):
        done = subprocess.run([sys.executable, "-m", "lattice_env", *args], env=out_of_project, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 1 and f"store path {path.name} is damaged" in done.stderr, (args, done.stderr)
    assert not marker.exists()
    r = Run(project)("switch", env=env)  # no more "already at generation 1"
    assert r.code == 1 and f"store path {path.name} is damaged" in r.stderr

    r = Run(tmp_path)("doctor", env=env)
    assert r.code == 1
    assert not marker.exists()  # doctor did not run what it had just found changed
    fix = next(line.split("fix: ", 1)[1] for line in r.stdout.splitlines() if "fix: lattice store repair" in line)
    assert set(shlex.split(fix)[3:]) == {path.name, closure_path.name}
    assert "FAIL  opencode (default): not run: its store path is damaged" in r.stdout

    r = Run(tmp_path)(*shlex.split(fix)[1:], env=env)  # the command doctor suggested, as printed
    assert r.code == 0, r.stderr
    assert sorted(r.stdout.splitlines()) == sorted([
        f"repaired {closure_path.name}: rebuilt from its derivation (modified before)",
        f"repaired {path.name}: rebuilt from its derivation (modified before)"])
    r = Run(tmp_path)("doctor", env=env)
    assert r.code == 0, r.stdout
    assert "ok    opencode (default): bin/opencode runs opencode 1.18.33" in r.stdout
    assert not marker.exists() and "x-tampered" not in sdk.read_text()
    done = subprocess.run([sys.executable, "-m", "lattice_env", "run", "--", "--version"], env=out_of_project,
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout.strip()) == (0, "1.18.33"), done.stderr
