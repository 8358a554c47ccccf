"""Executable bits survive sharing: `lattice init --from` of a lattice workflow (from a git repository
behind `insteadOf`, from a plain directory) and of an opencode setup writes each file 0755 or 0644 as
its source had it executable or not — nothing else of a source's mode —, and `lattice update` takes
upstream's new bit unless the user changed the mode too (then theirs stays, reported)."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from conftest import TINY, write_project
from git_hosts import commit_all, hosts  # noqa: F401 — the fixture

CHECK = "#!/bin/sh\necho checked\n"


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def workflow(root: Path) -> Path:
    """A workflow whose command runs its own script: scripts/check.sh executable, notes.txt not."""
    write_project(root, TINY, {"architect": "a prompt\n"})
    (root / "scripts").mkdir()
    (root / "scripts" / "check.sh").write_text(CHECK)
    (root / "scripts" / "check.sh").chmod(0o755)
    (root / "notes.txt").write_text("not a program\n")
    (root / "notes.txt").chmod(0o644)
    return root


def test_a_workflow_from_git_keeps_exactly_its_executable_bits(run, tmp_path, hosts):  # noqa: F811
    work = workflow(tmp_path / "upstream")
    commit_all(work, "one")
    hosts.repository("github", "me/wf", work)
    r = run("init", "--from", "me/wf", "--no-build", "mine")
    assert r.code == 0, r.stderr
    mine = tmp_path / "mine"
    assert mode(mine / "scripts" / "check.sh") == 0o755
    assert mode(mine / "notes.txt") == 0o644
    assert mode(mine / "lattice.yaml") == 0o644 and mode(mine / "agents" / "architect.md") == 0o644


def test_a_plain_directory_gives_its_x_bit_and_nothing_else_of_its_modes(run, tmp_path):
    plain = workflow(tmp_path / "plain")
    (plain / "scripts" / "loose.sh").write_text(CHECK)
    (plain / "scripts" / "loose.sh").chmod(0o777)  # world-writable: not carried
    (plain / "scripts" / "setuid.sh").write_text(CHECK)
    (plain / "scripts" / "setuid.sh").chmod(0o4711)  # setuid, owner-only: not carried
    (plain / "private.txt").write_text("mine\n")
    (plain / "private.txt").chmod(0o600)
    (plain / "shared.txt").write_text("ours\n")
    (plain / "shared.txt").chmod(0o666)
    r = run("init", "--from", str(plain), "--no-build", "copy", "--json")
    assert r.code == 0, r.stderr
    copy = tmp_path / "copy"
    assert {rel: mode(copy / rel) for rel in ("scripts/check.sh", "scripts/loose.sh", "scripts/setuid.sh",
                                              "notes.txt", "private.txt", "shared.txt")} == {
        "scripts/check.sh": 0o755, "scripts/loose.sh": 0o755, "scripts/setuid.sh": 0o755,
        "notes.txt": 0o644, "private.txt": 0o644, "shared.txt": 0o644}
    assert "scripts/check.sh" in json.loads(r.stdout)["files"]  # --json lists paths, as before


def test_an_opencode_setup_keeps_its_scripts_executable(run, tmp_path):
    setup = tmp_path / "setup"
    files = {
        ".opencode/skills/lint/SKILL.md": ("---\nname: lint\ndescription: Lints.\n---\nRun run.sh.\n", 0o644),
        ".opencode/skills/lint/run.sh": (CHECK, 0o755),
        ".opencode/skills/lint/rules.txt": ("no tabs\n", 0o664),
        ".opencode/plugin/notify.js": ("export const Notify = async () => ({})\n", 0o755),
        "mcp/server.sh": (CHECK, 0o755),
        "mcp/helper.py": ("print('hi')\n", 0o755),
        "CONTRIBUTING.md": ("be kind\n", 0o644),
    }
    for rel, (text, bits) in files.items():
        (setup / rel).parent.mkdir(parents=True, exist_ok=True)
        (setup / rel).write_text(text)
        (setup / rel).chmod(bits)
    (setup / "opencode.json").write_text(json.dumps({
        "model": "anthropic/claude-sonnet-4-5", "instructions": ["CONTRIBUTING.md"],
        "mcp": {"tools": {"type": "local", "command": ["./mcp/server.sh", "mcp/helper.py"]}}}))
    r = run("init", "--from", str(setup), "--no-build", "w")
    assert r.code == 0, r.stderr
    w = tmp_path / "w"
    assert mode(w / "skills" / "lint" / "run.sh") == 0o755
    assert mode(w / "skills" / "lint" / "SKILL.md") == 0o644
    assert mode(w / "skills" / "lint" / "rules.txt") == 0o644  # group-writable: not carried
    assert mode(w / "plugins" / "notify" / "notify.js") == 0o755
    assert mode(w / "plugins" / "notify" / "package.json") == 0o644
    assert mode(w / "mcp" / "server.sh") == 0o755 and mode(w / "mcp" / "helper.py") == 0o755
    assert mode(w / "CONTRIBUTING.md") == 0o644 and mode(w / "lattice.yaml") == 0o644
