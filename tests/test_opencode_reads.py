"""The real opencode (pinned) reads what `lattice generate` writes: every agent of the design's
example with its prompt, every MCP server, every command, the plugins and providers."""
from __future__ import annotations

import shutil
import subprocess

import pytest
from conftest import DESIGN
from opencode_support import hermetic_env, install_opencode, resolved_config

from lattice_env.config.agent_files import read_agent_file

pytestmark = [pytest.mark.opencode, pytest.mark.slow]


@pytest.fixture(scope="module")
def opencode():
    return install_opencode()


def _design_agents() -> dict[str, str]:
    return {p.stem: read_agent_file(p).prompt for p in sorted((DESIGN / "agents").glob("*.md"))}


def _git_init(path):
    # opencode stops looking for project configs at the repository root
    subprocess.run(["git", "init", "-q", str(path)], check=True)


def _assert_design_config(cfg: dict) -> None:
    agents = cfg["agent"]
    for name, prompt in _design_agents().items():
        assert name in agents, f"agent {name} missing from opencode's resolved config"
        assert agents[name]["prompt"] == prompt.strip()  # opencode trims the body
    assert agents["architect"]["model"] == "anthropic/claude-opus-4-5"
    assert agents["implementer"]["temperature"] == 0.2
    assert agents["implementer"]["mode"] == "primary"
    assert agents["explore"]["permission"]["edit"] == "deny"  # tools: {write: false, edit: false}
    assert set(cfg["mcp"]) == {"context7", "websearch_exa", "grep_app"}
    assert cfg["mcp"]["context7"]["type"] == "remote"
    commands = cfg["command"]
    for name in ("ship", "ai-undo", "vcs-status", "budget"):
        assert name in commands
    assert "!`lattice ship`" in commands["ship"]["template"]
    assert commands["plan"]["agent"] == "architect"  # triggers become commands for the agent
    assert commands["plan"]["template"] == "$ARGUMENTS"
    plugins = [p if isinstance(p, str) else p[0] for p in cfg["plugin"]]
    assert any("oh-my-opencode@2.2.0" in p for p in plugins)
    assert cfg["provider"]["anthropic"]["options"]["apiKey"] in ("***", "{env:ANTHROPIC_API_KEY}", "")
    assert "llama3.1:70b" in cfg["provider"]["ollama"]["models"]


def test_project_layout_is_read_by_opencode(opencode, run, tmp_path, isolated_home):
    project = tmp_path / "project"
    shutil.copytree(DESIGN, project)
    _git_init(project)
    r = run("generate", "--trust", cwd=project)
    assert r.code == 0, r.stderr
    cfg = resolved_config(opencode, project, hermetic_env(isolated_home))
    _assert_design_config(cfg)


def test_out_dir_layout_is_an_opencode_config_dir(opencode, run, tmp_path, isolated_home):
    out = tmp_path / "generated config"  # a space in the path on purpose
    r = run("generate", "--out", str(out), cwd=DESIGN)
    assert r.code == 0, r.stderr
    assert not (DESIGN / "opencode.json").exists()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = hermetic_env(isolated_home, OPENCODE_CONFIG_DIR=str(out), OPENCODE_DISABLE_PROJECT_CONFIG="1")
    cfg = resolved_config(opencode, elsewhere, env)
    _assert_design_config(cfg)


def test_prompt_with_substitution_syntax_reaches_opencode_verbatim(opencode, run, tmp_path, isolated_home):
    """opencode substitutes {env:…} in JSON strings, never in markdown bodies: prompts stay exact."""
    project = tmp_path / "p"
    shutil.copytree(DESIGN, project)
    _git_init(project)
    prompt = 'Quote "this", keep C:\\dir and {env:HOME} and {file:/etc/hostname} — 日本語.\n'
    (project / "agents" / "quick.md").write_text(prompt, encoding="utf-8")
    assert run("generate", "--trust", cwd=project).code == 0
    cfg = resolved_config(opencode, project, hermetic_env(isolated_home))
    assert cfg["agent"]["quick"]["prompt"] == prompt.strip()
