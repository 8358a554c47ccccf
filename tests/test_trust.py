"""Trust: nothing a workflow's own files run is built, switched to or launched before `lattice trust`;
an edit of what runs needs trust again (and says what changed), an edit of a prompt does not."""
from __future__ import annotations

import json
import shutil

import pytest
from conftest import TINY, require_tool, snapshot, stand_in_build, write_project
from git_hosts import commit_all, hosts  # noqa: F401 — the fixture

from lattice_env.config.load import load_workflow
from lattice_env.trust.check import check_trusted

RUNS = TINY + """\
hooks:
  post_agent:
    - action: vcs.checkpoint
      message: "checkpoint one"
mcp:
  tools:
    command: [sh, -c, "touch {marker}/mcp-ran"]
"""


@pytest.fixture
def runner_project(tmp_path):
    marker = tmp_path / "markers"
    marker.mkdir()
    project = write_project(tmp_path / "p", RUNS.format(marker=marker), {"architect": "You design.\n"})
    return project, marker


def test_untrusted_workflow_is_refused_by_build_and_switch_in_one_line(run, runner_project, isolated_home):
    project, marker = runner_project
    stand_in_build(project)
    # generate into the project is refused too: a plain `opencode` there would start its MCP servers
    for command in (["build"], ["switch"], ["plugins", "sync"], ["generate"]):
        r = run(*command, cwd=project)
        assert r.code == 1, (command, r.stdout, r.stderr)
        assert r.stderr.count("\n") == 1, r.stderr
        assert f"{project} is not trusted: `lattice {' '.join(command)}` would run hooks.post_agent[0] (vcs.checkpoint)" in r.stderr
        assert "mcp.tools (starts `sh -c touch" in r.stderr and "run `lattice trust` there" in r.stderr
    assert not (isolated_home / "lattice-data" / "profiles").exists() or not any(
        (isolated_home / "lattice-data" / "profiles").rglob("*-link"))
    # what only reads or renders works
    for command in (["validate", "--offline"], ["config"], ["status"], ["generate", "--out", str(project.parent / "o")],
                    ["route", "/architect", "design"]):
        r = run(*command, cwd=project, env={"ANTHROPIC_API_KEY": "k"})
        assert r.code == 0, (command, r.stderr)
    assert list(marker.iterdir()) == []
    assert not (project / "opencode.json").exists()
    r = run("generate", "--trust", cwd=project)  # trusts, as `lattice trust` would, then writes
    assert r.code == 0 and (project / "opencode.json").is_file(), r.stderr
    assert run("generate", cwd=project).code == 0  # trusted now, without --trust


def test_trust_then_switch_then_an_edited_hook_is_refused_again(run, runner_project):
    project, marker = runner_project
    stand_in_build(project)
    r = run("trust", cwd=project)
    assert r.code == 0, r.stderr
    assert "trusted" in r.stdout and "hooks.post_agent[0]" in r.stdout
    r = run("switch", "--json", cwd=project)
    assert r.code == 0, r.stderr
    r = run("plugins", "sync", cwd=project)  # the build, no new generation
    assert r.code == 0 and r.stdout.strip() == json.loads(run("switch", "--json", cwd=project).stdout)["store_path"]
    r = run("trust", "--list", "--json")
    assert [row["directory"] for row in json.loads(r.stdout)] == [str(project)]
    # a prompt is data: editing it keeps the trust
    (project / "agents" / "architect.md").write_text("You design carefully.\n")
    check_trusted(load_workflow(directory=project), "`lattice switch`")
    # the hook is code: editing it needs trust again, and the refusal says what changed
    text = (project / "lattice.yaml").read_text().replace("checkpoint one", "checkpoint two")
    (project / "lattice.yaml").write_text(text)
    (project / "agents" / "architect.md").write_text("You design.\n")
    r = run("switch", cwd=project)
    assert r.code == 1
    assert f"{project} changed since you trusted it (hooks.post_agent[0] changed)" in r.stderr, r.stderr
    r = run("switch", "--trust", cwd=project)  # --trust, once
    assert r.code == 0, r.stderr
    r = run("trust", "--revoke", cwd=project)
    assert r.code == 0 and "revoked" in r.stdout
    r = run("build", cwd=project)
    assert r.code == 1 and "is not trusted" in r.stderr
    assert list(marker.iterdir()) == []


def test_a_file_plugin_is_covered_by_its_content_and_its_scripts_never_run(run, tmp_path):
    require_tool("npm")
    marker = tmp_path / "markers"
    marker.mkdir()
    plugin = tmp_path / "p" / "plug"
    plugin.mkdir(parents=True)
    (plugin / "package.json").write_text(json.dumps({
        "name": "plug", "version": "1.0.0", "main": "index.js",
        "scripts": {s: f"touch {marker}/{s}-ran" for s in ("preinstall", "install", "postinstall", "prepack",
                                                            "prepare")}}))
    (plugin / "index.js").write_text(f"require('fs').writeFileSync('{marker}/plugin-loaded', '')\n")
    project = write_project(tmp_path / "p", TINY + "plugins:\n  - file:./plug\n", {"architect": "You design.\n"})
    before = snapshot(project)
    r = run("build", "--offline", cwd=project)
    assert r.code == 1
    assert "would run plugin file:./plug" in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert snapshot(project) == before and list(marker.iterdir()) == []
    assert run("trust", cwd=project).code == 0
    check_trusted(load_workflow(directory=project), "`lattice build`")
    (plugin / "index.js").write_text("// now something else\n")  # the plugin's code is what runs
    with pytest.raises(Exception, match=r"changed since you trusted it \(plugins\[file:\./plug\] changed\)"):
        check_trusted(load_workflow(directory=project), "`lattice build`")
    assert list(marker.iterdir()) == []


def test_init_from_leaves_a_strangers_workflow_unbuilt_until_trusted(run, tmp_path, hosts, runner_project):  # noqa: F811
    project, marker = runner_project
    stand_in_build(project)  # the clone plans the same store paths, so its build is a no-op
    shutil.rmtree(project / ".lattice", ignore_errors=True)
    commit_all(project, "share")
    hosts.repository("github", "stranger/wf", project)
    r = run("init", "--from", "stranger/wf", "clone", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["trusted"] is False and data["built"] is None and data["generated"] == []
    r = run("init", "--from", "stranger/wf", "clone")
    assert r.code == 1 and "already exist" in r.stderr
    clone = tmp_path / "clone"
    assert not (clone / "opencode.json").exists()
    r = run("switch", cwd=clone)
    assert r.code == 1 and f"{clone} is not trusted" in r.stderr
    r = run("init", "--from", "stranger/wf", "clone2", "--trust", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["trusted"] is True and data["built"] and "opencode.json" in data["generated"]
    assert list(marker.iterdir()) == []


def test_a_custom_command_runs_only_what_was_trusted(run, runner_project):
    """`lattice NAME` runs a command of a workflow whose hooks and MCP server run things: refused until
    `lattice trust`, as `switch` is; an edited hook refuses it again."""
    project, marker = runner_project
    yaml_file = project / "lattice.yaml"
    yaml_file.write_text(yaml_file.read_text() + "commands:\n  report:\n    action: routing.status\n")
    r = run("report", cwd=project, env={"ANTHROPIC_API_KEY": "k"})
    assert r.code == 1 and r.stderr.count("\n") == 1, (r.stdout, r.stderr)
    assert "is not trusted: `lattice report` would run hooks.post_agent[0]" in r.stderr
    assert run("trust", cwd=project).code == 0
    r = run("report", cwd=project, env={"ANTHROPIC_API_KEY": "k"})
    assert r.code == 0, r.stderr
    assert "architect" in r.stdout
    yaml_file.write_text(yaml_file.read_text().replace("checkpoint one", "checkpoint two"))
    r = run("report", cwd=project, env={"ANTHROPIC_API_KEY": "k"})
    assert r.code == 1 and "changed since you trusted it (hooks.post_agent[0] changed)" in r.stderr, r.stderr
    assert list(marker.iterdir()) == []
