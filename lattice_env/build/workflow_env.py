"""The workflow environment store path: opencode's config directory rendered from the Workflow, the
routing bridge, copied `file:` plugins, an empty home and the `bin/opencode` wrapper. It references the
node environment and the npm closure; everything in it is relative to its own location."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..config.load import Loaded
from ..opencode.config import bridge_kinds, store_instructions, store_plugin_entries
from ..opencode.generate import Layout, render_files
from ..render import render
from .plan import Plan

CONFIG_DIR = "config/opencode"  # inside the workflow path: XDG_CONFIG_HOME=<path>/config
BRIDGE_FILES = ("package.json", "index.mjs", "router.mjs", "failures.mjs", "auth.mjs", "plugin/package.json",
                "plugin/index.mjs")


def build_workflow_env(out: Path, loaded: Loaded, p: Plan, closure_name: str) -> None:
    wf = loaded.workflow
    config = out / CONFIG_DIR
    layout = Layout(base=config, config_file="opencode.json", config_dir=".")
    files = render_files(wf, layout, plugin_entries=store_plugin_entries(wf), instructions=store_instructions(wf),
                         bridge=True)
    for rel, data in files.items():
        target = config / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    # opencode writes a .gitignore into config dirs that lack one, and dies on a read-only one.
    (config / ".gitignore").write_text("node_modules\npackage.json\nbun.lock\n.gitignore\n")
    for plugin in wf.plugins:
        if plugin.kind == "file":
            shutil.copytree(wf.root / plugin.name, out / "plugins" / plugin.short_name, symlinks=True,
                            ignore=shutil.ignore_patterns(".git", "node_modules"))
    bridge = out / "bridge"  # the per-call routing provider that opencode.json's `lattice` names, and its plugin
    for name in BRIDGE_FILES:
        (bridge / name).parent.mkdir(parents=True, exist_ok=True)
        (bridge / name).write_text(render(f"env/bridge/{name}.j2", workflow=wf.name, kinds=bridge_kinds(wf)))
    (out / "home").mkdir()  # opencode's idea of home (OPENCODE_TEST_HOME): empty, so ~/.opencode stays out
    wrapper = out / "bin" / "opencode"
    wrapper.parent.mkdir()
    wrapper.write_text(render("env/opencode.sh.j2", closure=closure_name, binary=p.env["inputs"]["platform"],
                              workflow=wf.name))
    wrapper.chmod(0o755)
    os.utime(out, None)
