"""The workflow environment store path: opencode's config directory rendered from the Workflow (with
links into the npm closure for what opencode would otherwise install there at launch), the routing
bridge, `file:` plugins as npm would pack them, the skills, an empty home and the `bin/opencode` wrapper. It
references the node environment and the npm closure; everything in it is relative to its own location."""
from __future__ import annotations

import os
from pathlib import Path

from ..config.model import Workflow
from ..config.skills import STORE_DIR as SKILLS_DIR
from ..hooks.plugin import plugin_settings
from ..opencode.config import bridge_kinds, store_instructions, store_plugin_entries
from ..opencode.generate import Layout, render_files
from ..render import render
from .bridge_sdks import BUNDLE_DIR, FACTORIES
from .file_plugins import PackedFile, write_files

CONFIG_DIR = "config/opencode"  # inside the workflow path: XDG_CONFIG_HOME=<path>/config
BRIDGE_FILES = ("package.json", "index.mjs", "router.mjs", "failures.mjs", "auth.mjs", "plugin/package.json",
                "plugin/index.mjs", "hooks/package.json", "hooks/index.mjs")


def build_workflow_env(out: Path, wf: Workflow, platform: str, closure_name: str,
                       plugin_files: dict[str, list[PackedFile]]) -> None:
    """Builder of the workflow path (plan.py's third derivation). `platform` is the opencode binary
    package; `plugin_files` holds, by short name, the files of each `file:` plugin as the lock hashed
    them (file_plugins.locked_files), or as an intact copy holds them when a repair rebuilds the path."""
    config = out / CONFIG_DIR
    layout = Layout(base=config, config_file="opencode.json", config_dir=".")
    files = render_files(wf, layout, plugin_entries=store_plugin_entries(wf), instructions=store_instructions(wf),
                         bridge=True)
    for rel, data in files.items():
        target = config / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    # opencode writes a .gitignore into config dirs that lack one, and dies on a read-only one.
    (config / ".gitignore").write_text("node_modules\npackage.json\npackage-lock.json\nbun.lock\n.gitignore\n")
    link_closure_packages(out, closure_name)
    # Skills as data in the config dir, which opencode scans for {skill,skills}/**/SKILL.md wherever it runs.
    write_files([PackedFile(*f) for f in wf.skills], config / SKILLS_DIR)
    for plugin in wf.plugins:
        if plugin.kind == "file":
            write_files(plugin_files[plugin.short_name], out / "plugins" / plugin.short_name)
    bridge = out / "bridge"  # the per-call routing provider that opencode.json's `lattice` names, and its plugin
    settings = plugin_settings(wf)
    for name in BRIDGE_FILES:
        (bridge / name).parent.mkdir(parents=True, exist_ok=True)
        (bridge / name).write_text(render(f"env/bridge/{name}.j2", workflow=wf.name, kinds=bridge_kinds(wf),
                                          bundle_dir=BUNDLE_DIR, factories=FACTORIES, **settings))
    (out / "home").mkdir()  # opencode's idea of home (OPENCODE_TEST_HOME): empty, so ~/.opencode stays out
    wrapper = out / "bin" / "opencode"
    wrapper.parent.mkdir()
    wrapper.write_text(render("env/opencode.sh.j2", closure=closure_name, binary=platform, workflow=wf.name))
    wrapper.chmod(0o755)
    os.utime(out, None)


# opencode 1.18.33 (its Npm.install, run for each config dir at start-up) npm-installs CONFIG_DIR_PACKAGES
# into the dir unless `node_modules` exists there and every dependency named by package.json, and each of
# CONFIG_DIR_PACKAGES, is a dependency of package-lock.json's root package; versions are not compared.
# The closure is that npm project (its roots include CONFIG_DIR_PACKAGES), so the config dir links all
# three into it: relative links, since store paths are siblings, so the path stays relocatable.
CLOSURE_LINKS = ("node_modules", "package.json", "package-lock.json")


def link_closure_packages(out: Path, closure_name: str) -> None:
    config = out / CONFIG_DIR
    for name in CLOSURE_LINKS:  # `out` is being built inside the store, beside the closure's path
        os.symlink(os.path.relpath(out.parent / closure_name / name, config), config / name)
