"""The workflow path's name covers its builder: every file of the lattice_env package and every template
(build/builder_hash.py builder_files, store/FORMAT.md "Derivations Lattice builds"). An edit to any of them is a
new name; the same files give the same name wherever the package is installed."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import fake_lock, write_project

from lattice_env.build.builder_hash import builder_files

REPO = Path(__file__).resolve().parent.parent
PLAN = """
import json, sys
from lattice_env.build.builder_hash import builder_hash
from lattice_env.build.plan import plan
from lattice_env.config.load import load_workflow
from lattice_env.store.names import store_name
from pathlib import Path
loaded = load_workflow(directory=Path(sys.argv[1]))
print(json.dumps({"builder": builder_hash(), "name": store_name(plan(loaded, json.loads(sys.argv[2])).env)}))
"""


def tracked(*tops: str) -> set[str]:
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", *tops], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    return {line for line in out.splitlines() if (REPO / line).is_file()}


def test_the_hashed_files_are_the_package_and_the_templates():
    hashed = {name for name, _path in builder_files()}
    assert hashed == tracked("lattice_env", "templates")
    assert {"lattice_env/render.py", "lattice_env/quoting.py", "lattice_env/providers/kinds.py",
            "lattice_env/config/plugin_specs.py", "lattice_env/routing/types.py",
            "templates/env/bridge/index.mjs.j2"} <= hashed  # the ones a hand-kept list once missed


def copy_package(to: Path) -> Path:
    """The package as a wheel lays it out (templates inside lattice_env/), from this checkout's files."""
    for rel in tracked("lattice_env", "templates"):
        target = to / "lattice_env" / rel if rel.startswith("templates/") else to / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, target)
    return to


def plan_with(package: Path, project: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(package), "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(package)!r})\n{PLAN}",
                          str(project), json.dumps(fake_lock())], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.parametrize("edit", ["lattice_env/providers/kinds.py", "lattice_env/render.py",
                                  "lattice_env/cli/output.py", "lattice_env/templates/opencode/agent.md.j2",
                                  "lattice_env/routing/prices.json"])
def test_editing_any_builder_file_renames_the_workflow_path(tmp_path, edit):
    project = write_project(tmp_path / "project", "name: wf\nproviders: {anthropic: {env: ANTHROPIC_API_KEY}}\n"
                                                  "agents:\n  a: {routing: [anthropic/claude-sonnet-4-5]}\n")
    package = copy_package(tmp_path / "pkg")
    before = plan_with(package, project)
    here = plan_with(REPO, project)
    assert before == here  # the same files, laid out as a wheel or as this checkout: the same name
    target = package / edit
    target.write_bytes(target.read_bytes() + (b"\n" if edit.endswith(".json") else b"\n# edited\n"))
    after = plan_with(package, project)
    assert after["builder"] != before["builder"] and after["name"] != before["name"]
