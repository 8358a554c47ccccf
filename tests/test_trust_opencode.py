"""Trust, end to end with a real build and the real opencode: a `file:` plugin and an MCP server that
each write a marker when opencode loads or starts them never run before `lattice trust` (switch refuses),
run after it, and an edit of the plugin's code is refused again until trusted."""
from __future__ import annotations

import json
import os
import subprocess

import pytest
from conftest import Run
from opencode_support import new_data_dir

pytestmark = [pytest.mark.slow, pytest.mark.opencode]

PLUGIN = {
    "package.json": '{"name": "marker-plugin", "version": "1.0.0", "type": "module", "main": "index.js", '
                    '"scripts": {"preinstall": "touch \\"$LATTICE_TEST_MARKER.script\\"", '
                    '"prepack": "touch \\"$LATTICE_TEST_MARKER.script\\""}}\n',
    "index.js": ('import { writeFileSync } from "node:fs";\n'
                 "export const MarkerPlugin = async () => {\n"
                 "  if (process.env.LATTICE_TEST_MARKER) writeFileSync(process.env.LATTICE_TEST_MARKER, 'loaded');\n"
                 "  return {};\n};\n"),
}
CONFIG = """\
name: trusted-or-not
version: "1.0.0"
providers:
  anthropic:
    env: ANTHROPIC_API_KEY
plugins:
  - file:./marker-plugin
agents:
  architect:
    path: architect.md
    routing: [anthropic/claude-sonnet-4-5]
mcp:
  tools:
    command: [sh, -c, "touch {mcp_marker}"]
"""


def test_file_plugin_runs_only_once_trusted(tmp_path):
    home, data, project = tmp_path / "home", tmp_path / "data", tmp_path / "project"
    home.mkdir()
    new_data_dir(data)
    (project / "agents").mkdir(parents=True)
    (project / "agents" / "architect.md").write_text("You design.\n")
    for name, text in PLUGIN.items():
        (project / "marker-plugin" / name).parent.mkdir(parents=True, exist_ok=True)
        (project / "marker-plugin" / name).write_text(text)
    mcp_marker = tmp_path / "mcp-started"
    (project / "lattice.yaml").write_text(CONFIG.format(mcp_marker=mcp_marker))
    marker = tmp_path / "marker"
    env = {"HOME": str(home), "LATTICE_HOME": str(data), "LATTICE_CONFIG_HOME": str(tmp_path / "cfg"),
           "LATTICE_TEST_MARKER": str(marker), "ANTHROPIC_API_KEY": "k"}
    lattice = Run(project)

    r = lattice("switch", env=env)
    assert r.code == 1 and "would run mcp.tools (starts `sh -c touch" in r.stderr, r.stderr
    assert "plugin file:./marker-plugin" in r.stderr
    assert not marker.exists() and not mcp_marker.exists() and not (data / "profiles").exists()
    assert lattice("trust", env=env).code == 0
    r = lattice("switch", "--json", env=env)
    assert r.code == 0, r.stderr
    assert not marker.exists() and not marker.with_suffix(".script").exists()  # building runs none of it
    # `lattice shell` replaces its process with the shell: a child of its own
    done = subprocess.run(["lattice", "shell", "-c", "opencode debug config >/dev/null && opencode mcp list"],
                          cwd=project,
                          env={"PATH": os.environ["PATH"], **env}, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert marker.read_text() == "loaded"  # trusted: opencode loaded the plugin from the store
    assert mcp_marker.exists()  # and started the MCP server
    assert not marker.with_name("marker.script").exists()  # npm scripts never run
    marker.unlink()
    (project / "marker-plugin" / "index.js").write_text(PLUGIN["index.js"].replace("'loaded'", "'edited'"))
    r = lattice("switch", env=env)
    assert r.code == 1
    assert "changed since you trusted it (plugins[file:./marker-plugin] changed)" in r.stderr, r.stderr
    assert json.loads(lattice("generations", "--json", env=env).stdout)[-1]["generation"] == 1
