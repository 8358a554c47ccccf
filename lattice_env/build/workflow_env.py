"""The workflow environment store path: opencode's config directory rendered from the Workflow, the
routing bridge, `file:` plugins as npm would pack them, an empty home and the `bin/opencode` wrapper. It
references the node environment and the npm closure; everything in it is relative to its own location."""
from __future__ import annotations

import os
from pathlib import Path

from ..config.load import Loaded
from ..errors import LatticeError
from ..opencode.config import store_instructions, store_plugin_entries
from ..opencode.generate import Layout, render_files
from ..render import render
from .file_plugins import content_hash, packed_files, write_files
from .plan import Plan

CONFIG_DIR = "config/opencode"  # inside the workflow path: XDG_CONFIG_HOME=<path>/config


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
    for index, plugin in enumerate(wf.plugins):
        if plugin.kind == "file":  # what npm would pack, as hashed in the lock: the same bytes or nothing
            files = packed_files(loaded, index)
            if content_hash(files)[0] != p.lock["sources"][plugin.raw]["sha256"]:
                raise LatticeError(f"{loaded.config.where(('plugins', index))}: plugins[{index}]: "
                                   f"'{plugin.raw}' changed while it was being built; build again")
            write_files(files, out / "plugins" / plugin.short_name)
    bridge = out / "bridge"  # the per-call routing provider that opencode.json's `lattice` names
    bridge.mkdir()
    for name in ("package.json", "index.mjs"):
        (bridge / name).write_text(render(f"env/bridge/{name}.j2", workflow=wf.name))
    (out / "home").mkdir()  # opencode's idea of home (OPENCODE_TEST_HOME): empty, so ~/.opencode stays out
    wrapper = out / "bin" / "opencode"
    wrapper.parent.mkdir()
    wrapper.write_text(render("env/opencode.sh.j2", closure=closure_name, binary=p.env["inputs"]["platform"],
                              workflow=wf.name))
    wrapper.chmod(0o755)
    os.utime(out, None)
