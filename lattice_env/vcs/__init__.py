"""VCS presets (the design's "VCS Presets"): what `vcs.checkpoint`, `vcs.commit`, `vcs.push` and `lattice vcs
…` do, one module per preset behind the small interface of `base.Preset`, looked up by `vcs.preset`:

    git-stash      git_stash.py      a checkpoint commit under refs/lattice/ before each turn, the agent's
                                     changes committed on a temp branch, undo back to the checkpoint
    jj-checkpoint  jj_checkpoint.py  `jj new` before each turn, `jj undo`, `jj git push`
    jj-workspace   jj_workspace.py   a workspace per task, the describe-before-edit gate, cleanup on push
    none           base.py           nothing

Every command runs through proc.run (git.py, jj.py) with a deadline, so a hook's timeout bounds it."""
from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, Mapping

    from .base import Preset

PRESETS = ("git-stash", "jj-checkpoint", "jj-workspace", "none")


def preset_for(config: Mapping[str, Any], cwd: str, environ: Mapping[str, str] | None = None,
               deadline: float | None = None) -> Preset:
    """The preset lattice.yaml's `vcs` names (`config` is the resolved configuration), acting on the
    repository that holds `cwd`; every command it runs ends by `deadline` (time.monotonic())."""
    import os

    vcs = config.get("vcs") if isinstance(config.get("vcs"), dict) else {}
    name = vcs.get("preset") or "none"
    settings = vcs.get("config") if isinstance(vcs.get("config"), dict) else {}
    environ = os.environ if environ is None else environ
    if name == "git-stash":
        from .git_stash import GitStash
        return GitStash(cwd, settings, environ, deadline)
    if name in ("jj-checkpoint", "jj-workspace"):
        from .jj_checkpoint import JjCheckpoint
        from .jj_workspace import PLUGIN, JjWorkspace

        if name == "jj-checkpoint":
            return JjCheckpoint(cwd, settings, environ, deadline)
        from ..config.plugin_specs import PluginSpecError, parse_plugin

        pinned = False
        for spec in config.get("plugins") or ():
            try:
                pinned = pinned or parse_plugin(str(spec)).short_name == PLUGIN
            except PluginSpecError:
                continue  # validation reported it
        return JjWorkspace(cwd, {**settings, "_plugin": pinned}, environ, deadline)
    from .base import Preset
    return Preset(cwd, settings, environ, deadline)
