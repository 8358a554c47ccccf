"""Existing opencode setups are workflows too: `init --from` converts one (project layout with
`.opencode/`, and a global config directory) and the real opencode resolves the converted workflow's
generated files to the same agents, commands, MCP servers, plugins, permission and instructions as it
resolves the original files."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from opencode_support import hermetic_env, install_opencode, resolved_config

FIXTURES = Path(__file__).parent / "fixtures"
pytestmark = [pytest.mark.opencode, pytest.mark.slow]
AGENT_KEYS = ("mode", "model", "temperature", "top_p", "tools", "permission", "prompt", "description", "color",
              "steps", "hidden", "disable")
COMMAND_KEYS = ("template", "agent", "model", "subtask", "description")


@pytest.fixture(scope="module")
def opencode():
    return install_opencode()


def _git_init(path: Path) -> None:
    # opencode stops looking for project configs at the repository root
    subprocess.run(["git", "init", "-q", str(path)], check=True)


def _view(cfg: dict) -> dict:
    """What must be the same: per agent and command the keys the issue names, the MCP servers, the plugin
    specs, the top-level permission and instructions."""
    # an agent without a model runs on the top-level one; lattice writes that model out (defaults.routing)
    agents = {n: {**{k: a.get(k) for k in AGENT_KEYS}, "model": a.get("model") or cfg.get("model")}
              for n, a in cfg.get("agent", {}).items()}
    commands = {n: {k: c.get(k) for k in COMMAND_KEYS} for n, c in cfg.get("command", {}).items()}
    plugins = sorted(_plugin(p if isinstance(p, str) else p[0]) for p in cfg.get("plugin", []))
    mcp = {n: {"enabled": True, **m} for n, m in cfg.get("mcp", {}).items()}  # opencode's default, written out
    return {"agent": agents, "command": commands, "mcp": mcp, "plugin": plugins,
            "permission": cfg.get("permission"), "instructions": cfg.get("instructions"),
            "model": cfg.get("model"), "small_model": cfg.get("small_model"), "share": cfg.get("share")}


def _plugin(spec: str) -> str:
    """An npm spec as it is; a local plugin as the code opencode loads (a file, or a package's main):
    the import moves a plugin file into a package folder of the workflow."""
    if not spec.startswith("file://"):
        return spec
    path = Path(spec.removeprefix("file://"))
    if path.is_dir():
        path = path / json.loads((path / "package.json").read_text()).get("main", "index.js")
    return "file:" + path.read_text()


def _compare(original: dict, imported: dict) -> None:
    a, b = _view(original), _view(imported)
    for section in a:
        assert a[section] == b[section], section


def test_project_setup_resolves_the_same_in_opencode(opencode, run, tmp_path, isolated_home):
    original = tmp_path / "original"
    shutil.copytree(FIXTURES / "opencode-project", original)
    _git_init(original)
    env = hermetic_env(isolated_home, TOOLS_TOKEN="t", DOCS_SEARCH_KEY="d", ANTHROPIC_API_KEY="a")
    before = resolved_config(opencode, original, env)
    assert {"reviewer", "docs", "planner", "tester"} <= set(before["agent"])  # the fixture is what it means
    assert {"test", "review", "release", "team/standup"} <= set(before["command"])
    r = run("init", "--from", str(original), "imported", "--no-build")
    assert r.code == 0, r.stderr
    imported = tmp_path / "imported"
    _git_init(imported)
    r = run("generate", "--trust", cwd=imported)
    assert r.code == 0, r.stderr
    after = resolved_config(opencode, imported, env)
    _compare(before, after)


def test_global_config_dir_resolves_the_same_in_opencode(opencode, run, tmp_path, isolated_home):
    config_home = isolated_home / ".config"
    shutil.copytree(FIXTURES / "opencode-global", config_home / "opencode")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    _git_init(elsewhere)
    env = hermetic_env(isolated_home, OPENAI_API_KEY="o", LINEAR_AUTHORIZATION="x")
    before = resolved_config(opencode, elsewhere, env)
    assert {"writer", "explainer"} <= set(before["agent"]) and "explain" in before["command"]
    r = run("init", "--from", "~/.config/opencode", "adopted", "--no-build", cwd=tmp_path)
    assert r.code == 0, r.stderr
    # the literal keys were not copied, and the flow said which variables to set
    assert "set OPENAI_API_KEY" in r.stderr and "set LINEAR_AUTHORIZATION" in r.stderr
    text = (tmp_path / "adopted" / "lattice.yaml").read_text()
    assert "sk-proj-" not in text and "lin_api_" not in text
    assert "theme: unknown key 'theme'" in r.stderr  # what could not be carried is listed by key
    adopted = tmp_path / "adopted"
    _git_init(adopted)
    r = run("generate", cwd=adopted)
    assert r.code == 0, r.stderr
    empty_config = isolated_home / "empty-config"
    empty_config.mkdir()
    after = resolved_config(opencode, adopted, {**env, "XDG_CONFIG_HOME": str(empty_config)})
    # the secret now comes from the environment, and opencode masks what it substituted from there
    before["mcp"]["linear"]["headers"]["Authorization"] = "***"
    _compare(before, after)
    r = run("init", "--from", "~/.config/opencode", "strict", "--no-build", "--strict", cwd=tmp_path)
    assert r.code == 1 and "could not be carried over (--strict)" in r.stderr
