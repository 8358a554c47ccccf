"""The import rule (ARCHITECTURE.md, "Hot commands import nothing heavy"), as one table: each hot command
and module → the modules it must not load. A module's import is part of every call's time, and these
run far more often than anything else: `print-env` on every shell prompt, the bridge on every LLM call,
`route`, `rollback` and `switch --generation` from scripts; a no-op `build` and `status` from editors and
hooks. The benchmarks (benchmarks/) say what each costs; this table keeps the modules out.

Each row runs in a fresh `python -I -S` with this checkout first on sys.path, so neither the host's site
hooks (.pth files) nor the test process can import a module first and hide a regression, and reports
what it loaded when the command finishes — or just before it execs, for `shell -c`."""
from __future__ import annotations

import json
import os
import site
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TINY, require_tool, stand_in_build, write_project

from lattice_env.store.add import add as add_path
from lattice_env.store.names import derivation

REPO = Path(__file__).resolve().parent.parent

# What no hot command loads: the CLI framework, the YAML, template and schema libraries, platformdirs
# (paths.py spells its rule out), and the modules only a build, an init or a validation needs.
HEAVY = ("click", "yaml", "jinja2", "cerberus", "platformdirs", "lattice_env.render", "lattice_env.build.npm",
         "lattice_env.build.closure", "lattice_env.build.resolve", "lattice_env.providers.probe",
         "lattice_env.share", "lattice_env.doctor", "subprocess")
# Never on a hot path (ARCHITECTURE.md): each costs more to import than these commands' own work.
# `dataclasses` brings inspect, and inspect ast, dis and tokenize.
STDLIB = ("pathlib", "typing", "dataclasses", "inspect", "ast", "dis", "tokenize", "importlib.resources")
# Reading or writing JSON loads `re` (json.decoder compiles its patterns): only the plain forms that
# never touch JSON are held to this.
NO_RE = ("re", "shlex", "contextlib")
PROJECT = ("lattice_env.config", "lattice_env.build", "lattice_env.opencode", "lattice_env.status")
# A no-op `build` and `status` read lattice.yaml (from the parse cache: no yaml) and plan the store
# names, and run without click too (cli/fast.py): nothing that renders, installs, validates afresh or
# runs a child.
NO_OP = ("click", "yaml", "jinja2", "cerberus", "platformdirs", "lattice_env.config.parser", "lattice_env.render",
         "lattice_env.build.npm", "lattice_env.build.closure", "lattice_env.build.resolve",
         "lattice_env.build.workflow_env", "lattice_env.opencode.generate", "lattice_env.store.add",
         "lattice_env.providers.probe", "lattice_env.share", "lattice_env.doctor", "subprocess", "tempfile",
         "dataclasses", "inspect", "ast", "dis", "tokenize", "importlib.resources")

# (row id, how it runs, arguments, modules it must not load)
TABLE = [
    ("print-env", "lattice", ["print-env"], HEAVY + STDLIB + NO_RE + PROJECT),
    ("print-env --shell fish", "lattice", ["print-env", "--shell", "fish"], HEAVY + STDLIB + NO_RE + PROJECT),
    ("shell -c", "lattice", ["shell", "-c", "true"], HEAVY + STDLIB + NO_RE + PROJECT),
    ("rollback", "lattice", ["rollback"], HEAVY + STDLIB + NO_RE + PROJECT + ("collections", "json")),
    ("switch --generation", "lattice", ["switch", "--generation", "1"],
     HEAVY + STDLIB + NO_RE + PROJECT + ("collections", "json")),
    ("rollback --json", "lattice", ["rollback", "--json"], HEAVY + STDLIB + PROJECT),
    ("generations", "lattice", ["generations"], HEAVY + STDLIB + PROJECT),
    ("generations --json", "lattice", ["generations", "--json"], HEAVY + STDLIB + PROJECT),
    # `route` goes through click, like every command with arguments to parse: the rest still holds.
    ("route", "lattice", ["route", "--commit", "/impl", "x"],
     HEAVY[1:] + ("dataclasses", "importlib.resources") + PROJECT),
    ("bridge route", "bridge", ["route", {"agent": "impl", "prompt": "x", "commit": True, "session": "s"}],
     HEAVY + STDLIB + PROJECT + ("lattice_env.cli", "lattice_env.launch", "lattice_env.profiles")),
    ("routing modules", "code", ["from lattice_env.routing.decide import route; import lattice_env.routing.report"],
     HEAVY + STDLIB + PROJECT),
    ("no-op build", "in-project", ["build"], NO_OP),
    ("no-op build --json", "in-project", ["build", "--json"], NO_OP),
    ("status", "in-project", ["status"], NO_OP),
    ("status --json", "in-project", ["status", "--json"], NO_OP),
    ("store add of a present path", "code",
     ["from lattice_env.store.add import add; from lattice_env.store.names import derivation; "
      "add(derivation('sample', 'test', {'v': 1}), None)"],
     HEAVY + ("dataclasses", "inspect") + PROJECT),
]

PROBE = r"""
import os, sys
repo, site_dirs, report_to, forbidden, how = sys.argv[1:6]
del sys.argv[1:6]
sys.path[:0] = [repo]
sys.path += site_dirs.split(os.pathsep)  # click and yaml for the rows that may use them; no .pth file runs
forbidden = forbidden.split(",")
import lattice_env  # templates/ installs as lattice_env.templates (pyproject's package-dir): found so here too
lattice_env.__path__.append(repo)

def report():
    loaded = sorted(m for m in sys.modules if any(m == f or m.startswith(f + ".") for f in forbidden))
    with open(report_to, "w") as out:
        out.write("".join(m + "\n" for m in loaded))

real_execve = os.execve
def execve(*args):  # `shell -c` replaces the process: report first
    report()
    real_execve(*args)
os.execve = execve

rc = 0
if how in ("lattice", "in-project"):
    from lattice_env.cli.main import main
    rc = main(sys.argv[1:])
elif how == "bridge":
    import runpy
    try:
        runpy.run_module("lattice_env.routing.bridge", run_name="__main__", alter_sys=True)
    except SystemExit as exit:
        rc = exit.code or 0
else:
    exec(sys.argv[1])
report()
sys.exit(rc)
"""

ROUTING = {"name": "t",
           "providers": {"openai": {"env": "OPENAI_API_KEY"}, "local": {"base_url": "http://127.0.0.1:9/v1"}},
           "agents": {"impl": {"triggers": ["/impl"], "routing": ["openai/gpt-4o", "local/m1"]}}}


def _environment(tag: str) -> Path:
    """A real (cheap) workflow store path: bin/ for print-env and shell, the routing config in its manifest."""

    def builder(out: Path) -> None:
        (out / "bin").mkdir()
    return add_path(derivation("wf", "workflow", {"tag": tag, "config": ROUTING}), builder)


@pytest.fixture
def profile(isolated_home: Path) -> dict[str, str]:
    """Two generations of the default profile (rollback and switch have somewhere to go), the current
    one a routable environment, and a project already built (stand_in_build: `build` there is a no-op,
    its validation and node identity remembered); the environment each row's process gets."""
    from lattice_env.profiles.generations import switch_to

    for tag in "ab":
        env = _environment(tag)
        switch_to(env)
    add_path(derivation("sample", "test", {"v": 1}), lambda out: None)
    stand_in_build(write_project(isolated_home / "project", TINY, {"architect": "You design.\n"}))
    return {"PATH": os.environ["PATH"], "HOME": os.environ["HOME"], "LANG": "C.UTF-8",
            "LATTICE_HOME": os.environ["LATTICE_HOME"], "LATTICE_CONFIG_HOME": os.environ["LATTICE_CONFIG_HOME"],
            "LATTICE_ENV": str(env), "OPENAI_API_KEY": "o"}


def loaded_modules(how: str, args: list, forbidden: tuple[str, ...], env: dict[str, str], cwd: Path,
                   tmp_path: Path) -> tuple[list[str], str]:
    """The forbidden modules a row's process had loaded when it ended, and its stdout."""
    report = tmp_path / "loaded.txt"
    report.unlink(missing_ok=True)
    argv = [json.dumps(a) if isinstance(a, dict) else a for a in args]
    done = subprocess.run([sys.executable, "-I", "-S", "-c", PROBE, str(REPO), os.pathsep.join(site.getsitepackages()),
                           str(report), ",".join(forbidden), how, *argv], cwd=cwd, env=env, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return report.read_text().split(), done.stdout


@pytest.mark.parametrize(("how", "args", "forbidden"), [row[1:] for row in TABLE], ids=[row[0] for row in TABLE])
def test_hot_paths_load_none_of_their_forbidden_modules(how, args, forbidden, profile, isolated_home, tmp_path):
    require_tool("bash")
    cwd = isolated_home / "project" if how == "in-project" else tmp_path
    assert loaded_modules(how, args, forbidden, profile, cwd, tmp_path)[0] == []


def test_the_probe_sees_what_a_row_loads(profile, tmp_path):
    """The table cannot pass by seeing nothing: the probe reports a forbidden module a row does load,
    submodules included, and the bridge row really answers a routing decision."""
    loaded, _ = loaded_modules("code", ["import dataclasses, json"], ("inspect", "json", "yaml"), profile,
                               tmp_path, tmp_path)
    assert loaded == ["inspect", "json", "json.decoder", "json.encoder", "json.scanner"]
    how, args = next(row[1:3] for row in TABLE if row[0] == "bridge route")
    assert json.loads(loaded_modules(how, args, (), profile, tmp_path, tmp_path)[1])["model"] == "openai/gpt-4o"
