"""Imported skills resolve in the real opencode: an opencode project with skills in `.opencode/skills/`,
`.opencode/skill/` (nested) and a relative `skills.paths` entry is imported by `lattice init --from`, and
the environment's `opencode debug skill` lists the same skills — name, description, content — as opencode
lists from the original files: from the store (opencode 1.18.33 scans its config dir's skill/), whatever
directory it runs in, and without picking up a `skills/` folder of that directory. `lattice generate`'s
project files give the same list too."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from opencode_support import hermetic_env, install_opencode, switched_env
from test_tampering import edit

pytestmark = [pytest.mark.opencode, pytest.mark.slow]

SKILLS = {
    ".opencode/skills/hello/SKILL.md": "---\nname: hello\ndescription: Greets in the house style.\n---\n"
                                       "Greet the user warmly; see greeting.txt.\n",
    ".opencode/skills/hello/greeting.txt": "Hello there.\n",
    ".opencode/skill/team/review/SKILL.md": "---\nname: team-review\ndescription: Reviews as the team does.\n"
                                            "---\nCheck the diff line by line.\n",
    "extra/deploy/SKILL.md": "---\nname: deploy\ndescription: Deploys the site.\n---\nRun the deploy script.\n",
}


def _skills(out: str) -> dict[str, tuple[str | None, str]]:
    """`opencode debug skill`'s list as name → (description, content); where each lives differs."""
    return {s["name"]: (s.get("description"), s["content"]) for s in json.loads(out)}


def _debug_skill(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[dict[str, tuple[str | None, str]], list]:
    done = subprocess.run([*argv, "debug", "skill"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return _skills(done.stdout), json.loads(done.stdout)


def test_imported_skills_resolve_in_the_environment_as_in_the_original(run, tmp_path, isolated_home):
    opencode = install_opencode()
    original = tmp_path / "original"
    for rel, text in SKILLS.items():
        (original / rel).parent.mkdir(parents=True, exist_ok=True)
        (original / rel).write_text(text)
    (original / "opencode.json").write_text(json.dumps({"$schema": "https://opencode.ai/config.json",
                                                        "model": "anthropic/claude-sonnet-4-5",
                                                        "skills": {"paths": ["extra"]}}))
    subprocess.run(["git", "init", "-q", str(original)], check=True)
    env = hermetic_env(isolated_home)
    before, _ = _debug_skill([str(opencode)], original, env)
    assert {"hello", "team-review", "deploy"} <= set(before)  # the fixture is what it means

    root = tmp_path / "lattice"
    (root / "home").mkdir(parents=True)
    r = run("init", "--from", str(original), "imported", "--no-build", cwd=root)
    assert r.code == 0, r.stderr
    project = root / "imported"
    environ = switched_env(root, project)  # a real build and switch, trusted (the test wrote the setup)

    # Elsewhere, beside a stray skills/ folder and opencode.json: the environment's skills, and only those.
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "skills" / "stray").mkdir(parents=True)
    (elsewhere / "skills" / "stray" / "SKILL.md").write_text("---\nname: stray\ndescription: planted\n---\nx\n")
    (elsewhere / "opencode.json").write_text('{"skills": {"paths": ["skills"]}}')
    after, listed = _debug_skill([sys.executable, "-m", "lattice_env", "run", "--"], elsewhere, environ)
    assert after == before
    store = Path(environ["LATTICE_HOME"]) / "store"
    assert all(s["location"].startswith(str(store)) for s in listed if s["location"] != "<built-in>")

    # `store repair` rebuilds a damaged environment with its skills from the intact copy inside it (their
    # content is an input by hash only), to the tree its manifest recorded; a damaged skill it cannot.
    path = next(Path(s["location"]) for s in listed if s["name"] == "hello").parents[5]
    edit(path / "bin" / "opencode", "#!/bin/sh\nexit 3\n")
    r = run("store", "repair", path.name, env=environ)
    assert (r.code, r.stdout) == (0, f"repaired {path.name}: rebuilt from its derivation (modified before)\n"), r.stderr
    assert _debug_skill([sys.executable, "-m", "lattice_env", "run", "--"], elsewhere, environ)[0] == before
    edit(path / "config" / "opencode" / "skill" / "0" / "hello" / "greeting.txt", "Changed.\n")
    r = run("store", "repair", path.name, env=environ)
    assert r.code == 1 and "config/opencode/skill is damaged and is the only copy of the skills" in r.stderr

    # Without a store: the files `lattice generate` writes into the project name the same skills.
    r = subprocess.run([sys.executable, "-m", "lattice_env", "generate"], cwd=project, env=environ,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    (project / "sub").mkdir()
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    generated, _ = _debug_skill([str(opencode)], project / "sub", env)  # from a subfolder too
    assert generated == before

