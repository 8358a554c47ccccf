"""Preset `jj-workspace` (the design's recommended one): jj-checkpoint's turns, plus
- a workspace per task under `workspace_dir` (default `.workspaces`): `lattice vcs workspace NAME` is `jj
  workspace add`, for parallel work in several terminals;
- the gate (`gate_enforcement`, default on): the agent's edit and write tools are refused until the
  working-copy change is described (`jj describe -m …`), as the jj-opencode plugin does — the
  environment's hooks plugin asks `gate` before each such tool;
- `auto_cleanup` (default on): after a push from a workspace under workspace_dir, the workspace is
  forgotten and its directory removed.
When the jj-opencode plugin is pinned in `plugins`, it owns the gate and the `jj new` of each change:
Lattice does not do that work twice (checkpoint and commit leave it to the plugin; undo, status, push
and cleanup stay Lattice's)."""
from __future__ import annotations

import os
import shutil

from .base import VcsError
from .jj import Jj
from .jj_checkpoint import JjCheckpoint

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

DEFAULT_WORKSPACE_DIR = ".workspaces"
PLUGIN = "jj-opencode"


class JjWorkspace(JjCheckpoint):
    name = "jj-workspace"

    @property
    def plugin_managed(self) -> bool:
        return bool(self.config.get("_plugin"))

    def checkpoint(self, agent: str = "") -> dict[str, Any]:
        if self.plugin_managed:
            return {"preset": self.name, "done": False, "message": f"left to the {PLUGIN} plugin (jj new per change)"}
        return super().checkpoint(agent)

    def commit(self, agent: str = "", summary: str = "", **fields: Any) -> dict[str, Any]:
        if self.plugin_managed:
            return {"preset": self.name, "done": False, "message": f"left to the {PLUGIN} plugin (jj describe, jj new)"}
        return super().commit(agent, summary, **fields)

    def gate(self) -> str | None:
        if self.plugin_managed or self.config.get("gate_enforcement", True) is False:
            return None
        jj = Jj(self.cwd, self.environ, self.remaining)
        if jj("root", check=False).returncode != 0:
            return None  # not a jj repository: nothing to gate
        if jj.description():
            return None
        return ("Describe your intent before editing (vcs.preset jj-workspace):\n\n"
                "    jj describe -m \"what you're about to do\"\n\nWhen done, `jj new` starts the next change.")

    def workspace_dir(self, root: str) -> str:
        return os.path.join(root, str(self.config.get("workspace_dir") or DEFAULT_WORKSPACE_DIR))

    def add_workspace(self, name: str) -> dict[str, Any]:
        jj, root = self._jj()
        if not name or "/" in name or name.startswith("."):
            raise VcsError(f"workspace name {name!r}: a plain name, like fix-login")
        path = os.path.join(self.workspace_dir(root), name)
        jj("workspace", "add", "--name", name, path)
        return {"preset": self.name, "done": True, "path": path,
                "message": f"workspace {name} at {path} (cd there and run `lattice run`)"}

    def push(self) -> dict[str, Any]:
        result = super().push()
        if self.config.get("auto_cleanup", True) is False:
            return result
        jj, root = self._jj()
        # A workspace made by add_workspace is <repository>/<workspace_dir>/<name>.
        name, parent = os.path.basename(root), os.path.dirname(root)
        main = os.path.dirname(parent)
        if os.path.isdir(os.path.join(main, ".jj")) and \
                os.path.realpath(self.workspace_dir(main)) == os.path.realpath(parent):
            jj("workspace", "forget", name)
            shutil.rmtree(root, ignore_errors=True)
            result["message"] += f"; workspace {name} forgotten and {root} removed (auto_cleanup)"
        return result
