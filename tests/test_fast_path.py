"""`build` and `status` in their plain forms run without click (cli/fast.py), as a no-op build and a status
check are run from editors, hooks and prompts: they must print the same bytes and exit with the same
status as the click commands, warnings and errors included. (What they must not import is in
test_import_rule.py.)"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TINY, Run, stand_in_build, write_project

from lattice_env.cli.fast import fast
from lattice_env.profiles.generations import switch_to

# TINY with a provider nothing can reach: a warning on every load
WARNED = TINY.replace("providers:\n", "providers:\n  nowhere: {}\n")


def both(args: list[str], cwd: Path) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
    """(exit status, stdout, stderr) of `lattice ARGS` as users start it (fast path) and of the click
    command alone."""
    fast_run = subprocess.run([sys.executable, "-m", "lattice_env", *args], cwd=cwd, capture_output=True,
                              text=True, env=dict(os.environ), stdin=subprocess.DEVNULL, timeout=120)
    full = Run(cwd)(*args, click=True)
    return (fast_run.returncode, fast_run.stdout, fast_run.stderr), (full.code, full.stdout, full.stderr)


@pytest.fixture
def built(tmp_path: Path) -> Path:
    project = write_project(tmp_path / "project", WARNED, {"architect": "You design.\n"})
    switch_to(stand_in_build(project))
    return project


@pytest.mark.parametrize("args", [["build"], ["build", "--json"], ["build", "--offline", "--json"], ["status"],
                                  ["status", "--json"], ["status", "--profile", "default"],
                                  ["status", "--profile=other", "--json"], ["status", "--profile", "bad/name"]],
                         ids=" ".join)
def test_in_a_built_project_the_fast_path_prints_what_click_prints(args, built):
    fast_out, click_out = both(args, built)
    assert fast_out == click_out
    if args[0] == "build" and "--json" not in args:
        assert fast_out[0] == 0 and fast_out[1].endswith("-tiny\n")
        assert "providers.nowhere" in fast_out[2]  # the warning, replayed by both
    if args[-1] == "bad/name":
        assert fast_out[0] == 2 and fast_out[2].startswith("lattice: error: invalid profile name")


@pytest.mark.parametrize("args", [["build"], ["status"], ["status", "--json"]], ids=" ".join)
def test_errors_are_reported_alike(args, tmp_path):
    broken = write_project(tmp_path / "broken", TINY.replace("routing: [", "routing: [nonsense, "),
                           {"architect": "You design.\n"})
    fast_out, click_out = both(args, broken)
    assert fast_out == click_out
    assert fast_out[0] == 1 and fast_out[2].endswith("1 error\n") and "agents.architect.routing" in fast_out[2]
    outside = tmp_path / "outside"
    outside.mkdir()
    fast_out, click_out = both(args, outside)
    assert fast_out == click_out
    assert fast_out[0] == (1 if args[0] == "build" else 0)


def test_other_forms_are_left_to_click():
    for args in (["build", "--help"], ["build", "--json", "--json"], ["build", "--offline=yes"], ["status", "agents"],
                 ["status", "--json", "providers"], ["status", "--profile"], ["-C", "x", "build"]):
        assert fast(args) is None, args
