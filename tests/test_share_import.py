"""Converting an opencode setup (share/importer.py) without running opencode: JSONC, both layouts,
secrets turned into variable references with a warning, what cannot be carried listed, --strict."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from lattice_env.config.load import load_workflow
from lattice_env.errors import LatticeError
from lattice_env.share.jsonc import loads
from lattice_env.trust.check import check_trusted

FIXTURES = Path(__file__).parent / "fixtures"


def test_jsonc_comments_and_trailing_commas_but_not_inside_strings():
    text = '{\n  // a comment\n  "url": "http://x//y", /* block\n spanning */ "list": [1, 2,],\n  "s": "a,]",\n}\n'
    assert loads(text, "f.jsonc") == {"url": "http://x//y", "list": [1, 2], "s": "a,]"}
    with pytest.raises(LatticeError, match=r"^f\.jsonc:3:8: not valid JSON"):
        loads('{\n  "a": 1,\n  "b": }\n', "f.jsonc")


def test_project_setup_converts_to_a_valid_workflow(run, tmp_path):
    r = run("init", "--from", str(FIXTURES / "opencode-project"), "w", "--no-build")
    assert r.code == 0, r.stderr
    w = tmp_path / "w"
    data = yaml.safe_load((w / "lattice.yaml").read_text())
    assert set(data["agents"]) == {"reviewer", "docs", "planner", "tester"}
    assert data["agents"]["reviewer"]["routing"] == ["anthropic/claude-opus-4-5"]
    reviewer = (w / "agents" / "reviewer.md").read_text()
    assert reviewer.startswith("---\nmode: subagent\ntemperature: 0.1\n")
    assert "You are a careful code reviewer." in reviewer  # the {file:} prompt, read in
    assert data["commands"]["team/standup"] == {"path": "commands/team/standup.md"}
    assert "!`npm test" in data["commands"]["test"]["template"]
    assert data["opencode"]["permission"] == {"edit": "ask", "bash": {"git push*": "ask", "*": "allow"}}
    assert data["opencode"]["instructions"] == ["CONTRIBUTING.md", "docs/*.md"]
    assert data["mcp"]["local-tools"]["env"]["TOOLS_TOKEN"] == "${TOOLS_TOKEN}"
    assert (w / "CONTRIBUTING.md").exists() and (w / "AGENTS.md").exists() and (w / "mcp" / "server.js").exists()
    assert json.loads((w / "lattice.origin.json").read_text())["_kind"] == "opencode"
    loaded = load_workflow(directory=w)
    assert set(loaded.workflow.commands) >= {"test", "review", "release", "team/standup"}
    with pytest.raises(LatticeError, match="is not trusted"):  # its MCP command and shell command run
        check_trusted(loaded, "`lattice build`")


def test_literal_secrets_become_variables_with_a_warning(run, tmp_path):
    setup = tmp_path / "setup"
    setup.mkdir()
    (setup / "opencode.json").write_text(json.dumps({
        "model": "anthropic/claude-sonnet-4-5",
        "mcp": {"gh": {"type": "local", "command": ["gh-mcp"],
                       "environment": {"GITHUB_TOKEN": "ghp_abcdefghijklmnopqrstuvwxyz0123456789"}}},
        "provider": {"anthropic": {"options": {"apiKey": "sk-ant-api03-" + "x" * 40}}},
        "unknownthing": 1,
    }))
    r = run("init", "--from", str(setup), "w", "--no-build")
    assert r.code == 0, r.stderr
    text = (tmp_path / "w" / "lattice.yaml").read_text()
    assert "ghp_" not in text and "sk-ant" not in text
    data = yaml.safe_load(text)
    assert data["mcp"]["gh"]["env"] == {"GITHUB_TOKEN": "${GITHUB_TOKEN}"}
    assert data["providers"]["anthropic"] == {"env": "ANTHROPIC_API_KEY"}
    assert "mcp.gh.environment.GITHUB_TOKEN: a literal secret in opencode.json was not copied" in r.stderr
    assert "set GITHUB_TOKEN" in r.stderr and "set ANTHROPIC_API_KEY" in r.stderr
    assert "Not carried over (1):\n  unknownthing: unknown key 'unknownthing'" in r.stderr
    shutil.rmtree(tmp_path / "w")
    r = run("init", "--from", str(setup), "w", "--no-build", "--strict", "--json")
    assert r.code == 1
    out = json.loads(r.stdout)
    assert out["ok"] is False and out["not_carried"][0].startswith("unknownthing:")


def test_a_folder_that_is_no_workflow(run, tmp_path):
    (tmp_path / "empty").mkdir()
    r = run("init", "--from", str(tmp_path / "empty"), "w", "--no-build")
    assert r.code == 1
    assert "no workflow found" in r.stderr and not (tmp_path / "w").exists()
