"""Input confinement: a lattice.yaml that nobody on this machine wrote reads nothing outside its project
because a path in it said so, and chooses neither what opencode reads nor where `validate` connects.

Each attack runs the real commands in-process against a decoy home (conftest.Decoy: an SSH key and rc
files holding Decoy.SECRET) and checks three things: the one-line error names file, line and key; the
decoy is exactly as it was; and its secret is nowhere in the project or the data directory."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

AGENT = "You are agent a.\n"


def project(root: Path, defaults: str = "", agents: str = "  a:\n    path: a.md\n", extra: str = "") -> Path:
    """lattice.yaml with `defaults` (indented lines under `defaults:`) from line 5 and agents after it."""
    (root / "agents").mkdir(parents=True, exist_ok=True)
    (root / "agents" / "a.md").write_text(AGENT)
    (root / "lattice.yaml").write_text(
        "name: stranger\n"
        "providers:\n"
        "  anthropic: {env: ANTHROPIC_API_KEY}\n"
        "defaults:\n"
        f"{defaults}"
        "  routing: [anthropic/claude-sonnet-4-5]\n"
        "agents:\n"
        f"{agents}{extra}")
    return root


def refused(r, *lines: str) -> None:
    """Exit 1, nothing on stdout, exactly these located lines and the count."""
    n = len(lines)
    assert (r.code, r.stdout, r.stderr) == (1, "", "\n".join(lines) + f"\n{n} error{'s' * (n != 1)}\n")


def assert_contained(decoy, project_dir: Path, data_dir: Path) -> None:
    decoy.assert_untouched()
    assert decoy.leaked_into(project_dir, data_dir) == []


# ── point 1: defaults.agents_dir ──────────────────────────────────────────────

def _agents_dir_attacks(decoy, root: Path) -> dict[str, tuple[str, str]]:
    """id → (agents_dir as written, the message after `defaults.agents_dir: `)."""
    ssh = decoy.root / ".ssh"
    (root / "keys").symlink_to(ssh, target_is_directory=True)
    (root / "deep").mkdir()
    (root / "deep" / "home").symlink_to(decoy.root, target_is_directory=True)
    chain = os.path.relpath(ssh, root)
    real = os.path.realpath(ssh)
    return {
        "absolute": (str(ssh), f"'{ssh}' must be relative to the project directory, not absolute"),
        "home": ("~/decoy/.ssh", "'~/decoy/.ssh' must be relative to the project directory, not absolute"),
        "relative-chain": (chain, f"'{chain}' leaves the project directory ('..' is not allowed)"),
        "dotted-chain": (f"./agents/../{chain}", f"'./agents/../{chain}' leaves the project directory "
                                                 f"('..' is not allowed)"),
        "symlinked-dir": ("keys", f"'keys' is a symlink that leads out of the project directory (to {real})"),
        "symlink-on-the-way": ("deep/home/.ssh", f"'deep/home/.ssh' is a symlink that leads out of the "
                                                 f"project directory (to {real})"),
    }


@pytest.mark.parametrize("attack", ["absolute", "home", "relative-chain", "dotted-chain", "symlinked-dir",
                                    "symlink-on-the-way"])
def test_agents_dir_cannot_leave_the_project(run, tmp_path, decoy, isolated_home, attack):
    """`agents_dir` pointing at the decoy's ~/.ssh with `path: id_rsa` would make the SSH key an agent's
    system prompt (generated into .opencode/agent/a.md, built into the store, sent to a provider)."""
    root = tmp_path / "project"
    root.mkdir()
    written, message = _agents_dir_attacks(decoy, root)[attack]
    project(root, defaults=f"  agents_dir: '{written}'\n", agents="  a:\n    path: id_rsa\n")
    line = f"lattice.yaml:5:3: defaults.agents_dir: {message}"
    for command in (["validate", "--offline"], ["generate"], ["switch", "--offline"]):
        refused(run(*command, cwd=root), line)
    assert not (root / ".opencode").exists() and not (root / "opencode.json").exists()
    assert_contained(decoy, root, isolated_home / "lattice-data")


def test_default_agents_dir_symlinked_out_is_refused(run, tmp_path, decoy, isolated_home):
    """No agents_dir written: the default ./agents is held to the same rule (located at the nearest
    written ancestor, the `defaults:` key)."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "agents").symlink_to(decoy.root / ".ssh", target_is_directory=True)
    (root / "lattice.yaml").write_text(
        "name: stranger\nproviders:\n  anthropic: {env: ANTHROPIC_API_KEY}\ndefaults:\n"
        "  routing: [anthropic/claude-sonnet-4-5]\nagents:\n  a:\n    path: id_rsa\n")
    refused(run("generate", cwd=root),
            f"lattice.yaml:4:1: defaults.agents_dir: './agents' is a symlink that leads out of the project "
            f"directory (to {os.path.realpath(decoy.root / '.ssh')})")
    assert_contained(decoy, root, isolated_home / "lattice-data")


@pytest.mark.parametrize("written", ["prompts", "./prompts", "nested/prompts", ".", "link"])
def test_agents_dir_inside_the_project_still_works(run, tmp_path, written):
    """Subdirectories, the project itself, and a symlink that stays inside are all fine."""
    root = tmp_path / "project"
    project(root, defaults=f"  agents_dir: {written}\n")
    (root / "prompts").mkdir()
    (root / "nested" / "prompts").mkdir(parents=True)
    (root / "link").symlink_to("prompts")
    for d in ("prompts", "nested/prompts", "."):
        (root / d / "a.md").write_text(AGENT)
    r = run("generate", cwd=root)
    assert r.code == 0, r.stderr
    assert (root / ".opencode" / "agent" / "a.md").read_text().endswith(AGENT)
