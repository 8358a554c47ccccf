"""`lattice init`: the embedded default workflow, valid and generatable, never clobbering files."""
from __future__ import annotations

import json


def test_init_writes_a_valid_commented_workflow(run, tmp_path):
    target = tmp_path / "my project"
    r = run("init", str(target))
    assert r.code == 0, r.stderr
    text = (target / "lattice.yaml").read_text()
    assert text.startswith("# lattice.yaml")
    assert 'name: "my-project"' in text
    assert sorted(p.name for p in (target / "agents").iterdir()) == [
        "architect.md", "implementer.md", "quick.md", "reviewer.md"]
    r = run("validate", "--offline", cwd=target)
    assert r.code == 0, r.stderr
    assert "my-project: valid (4 agents, 3 providers, 0 plugins" in r.stdout
    r = run("generate", cwd=target)
    assert r.code == 0, r.stderr
    doc = json.loads((target / "opencode.json").read_text())
    assert doc["model"] == "anthropic/claude-sonnet-4-5"


def test_init_never_overwrites_without_force(run, tmp_path):
    (tmp_path / "lattice.yaml").write_text("name: mine\n")
    r = run("init", str(tmp_path))
    assert r.code == 1
    assert "lattice.yaml already exists; nothing was written (use --force to overwrite)" in r.stderr
    assert (tmp_path / "lattice.yaml").read_text() == "name: mine\n"
    assert not (tmp_path / "agents").exists()
    r = run("init", "--force", "--name", "fresh", str(tmp_path))
    assert r.code == 0
    assert 'name: "fresh"' in (tmp_path / "lattice.yaml").read_text()


def test_init_rejects_bad_name(run, tmp_path):
    r = run("init", "--name", "bad name!", str(tmp_path))
    assert r.code == 1
    assert "workflow name 'bad name!' must be letters, digits" in r.stderr
