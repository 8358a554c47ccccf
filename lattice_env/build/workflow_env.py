"""The workflow environment store path: opencode's config directory rendered from the Workflow, the
routing bridge, copied `file:` plugins, an empty home and the `bin/opencode` wrapper. It references the
node environment and the npm closure; everything in it is relative to its own location."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..config.model import Workflow
from ..opencode.config import store_instructions, store_plugin_entries
from ..opencode.generate import Layout, render_files
from ..render import render

CONFIG_DIR = "config/opencode"  # inside the workflow path: XDG_CONFIG_HOME=<path>/config


def build_workflow_env(out: Path, wf: Workflow, platform: str, closure_name: str,
                       plugin_dirs: dict[str, Path] | None = None) -> None:
    """Builder of the workflow path (plan.py's third derivation). `platform` is the opencode binary
    package, `plugin_dirs` where each `file:` plugin (by short name) is copied from: the project's own
    directories unless a repair (repair.py) gives the intact copies of a damaged path."""
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
            source = (plugin_dirs or {}).get(plugin.short_name, wf.root / plugin.name)
            shutil.copytree(source, out / "plugins" / plugin.short_name, symlinks=True,
                            ignore=shutil.ignore_patterns(".git", "node_modules"))
    bridge = out / "bridge"  # the per-call routing provider that opencode.json's `lattice` names
    bridge.mkdir()
    for name in ("package.json", "index.mjs"):
        (bridge / name).write_text(render(f"env/bridge/{name}.j2", workflow=wf.name))
    (out / "home").mkdir()  # opencode's idea of home (OPENCODE_TEST_HOME): empty, so ~/.opencode stays out
    wrapper = out / "bin" / "opencode"
    wrapper.parent.mkdir()
    wrapper.write_text(render("env/opencode.sh.j2", closure=closure_name, binary=platform, workflow=wf.name))
    wrapper.chmod(0o755)
    os.utime(out, None)
