"""The command line as a user meets it: help everywhere, version, exit codes, errors on stderr."""
from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest
from conftest import DESIGN, write_project

from lattice_env import __version__
from lattice_env.cli.app import cli

COMMANDS = [[], ["init"], ["validate"], ["generate"], ["config"], ["status"], ["status", "agents"],
            ["store"], ["store", "ls"], ["store", "verify"], ["store", "gc"], ["store", "optimise"],
            ["store", "why"], ["lock"], ["plugins"], ["plugins", "update"], ["plugins", "add"],
            ["switch"], ["generations"], ["rollback"], ["delete-generations"], ["profiles"], ["use"],
            ["print-env"], ["shell"], ["run"], ["doctor"], ["route"], ["routing"], ["routing", "reset"],
            ["status", "providers"]]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a) or "lattice")
@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help_works_everywhere(run, args, flag):
    r = run(*args, flag)
    assert r.code == 0
    assert r.stdout.startswith("Usage: lattice")
    assert r.stderr == ""


def test_version(run):
    r = run("--version")
    assert r.code == 0 and r.stdout.strip() == f"lattice, version {__version__}"


def test_usage_errors_exit_2_on_stderr(run):
    for args in (["bogus"], ["validate", "--no-such-flag"], ["generate", "--out"]):
        r = run(*args)
        assert r.code == 2, args
        assert r.stdout == ""
        assert "Error:" in r.stderr


def test_missing_project_is_one_line_error(run, tmp_path):
    r = run("validate", cwd=tmp_path)
    assert r.code == 1
    assert r.stderr.strip().splitlines() == [
        f"lattice: error: no lattice.yaml in {tmp_path} or any parent directory (create one with `lattice init`)"]


def test_status_agents_lists_triggers_routing_and_prompt(run):
    r = run("status", "agents", cwd=DESIGN)
    assert r.code == 0
    assert "architect  /architect /design /plan" in r.stdout
    assert "routing: fallback (3 models) → anthropic/claude-opus-4-5, openai/o3" in r.stdout
    assert "prompt:  agents/architect.md" in r.stdout
    rows = json.loads(run("status", "agents", "--json", cwd=DESIGN).stdout)
    assert [row["name"] for row in rows][:3] == ["architect", "oracle", "implementer"]
    implementer = rows[2]
    assert implementer["frontmatter"]["temperature"] == 0.2
    assert implementer["routing"]["candidates"][0] == "anthropic/claude-sonnet-4-5"


def test_internal_error_points_to_crash_log(run, tmp_path, isolated_home):
    @click.command("explode")
    def explode():
        raise RuntimeError("simulated bug")

    cli.add_command(explode)  # a real failing command, added for this test only
    try:
        r = run("explode")
        assert r.code == 3
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1
        log = isolated_home / "lattice-data" / "crash.log"
        assert f"Details in {log}" in lines[0] and "RuntimeError: simulated bug" in lines[0]
        assert "Traceback" in log.read_text() and "Traceback" not in r.stderr
        r = run("--debug", "explode")
        assert "Traceback" in r.stderr and r.code == 3
    finally:
        del cli.commands["explode"]


def test_console_script_runs_out_of_process(tmp_path):
    """The installed `lattice` entry point works as a separate process (not only in-process)."""
    done = subprocess.run([sys.executable, "-m", "lattice_env", "validate", "--offline"], cwd=DESIGN,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "dpshade-workflow: valid" in done.stdout


def test_plugins_without_plugins_says_so(run, tmp_path):
    write_project(tmp_path, "name: t\nproviders: {p: {env: P_KEY}}\nagents: {a: {routing: [p/m]}}\n")
    r = run("plugins", cwd=tmp_path)
    assert (r.code, r.stdout) == (0, "no plugins in lattice.yaml; add one with `lattice plugins add NAME@VERSION`\n")
    assert json.loads(run("plugins", "--json", cwd=tmp_path).stdout) == []


@pytest.mark.parametrize("below", [False, True], ids=["a file", "below a file"])
def test_lattice_home_that_is_no_directory_is_a_one_line_error(run, tmp_path, below):
    """It was "internal error (NotADirectoryError …); this is a bug" (exit 3)."""
    afile = tmp_path / "data"
    afile.write_text("not a directory\n")
    home = afile / "lattice" if below else afile
    why = f"cannot be made: {afile} is not a directory" if below else "is not a directory"
    for args in (["generations"], ["rollback"], ["status"], ["routing"], ["store", "ls"], ["doctor"]):
        r = run(*args, env={"LATTICE_HOME": str(home)}, cwd=tmp_path)
        assert (r.code, r.stderr.splitlines()) == (1, [
            f"lattice: error: the data directory {home} {why}; set LATTICE_HOME to a directory"]), args
    assert afile.read_text() == "not a directory\n"
