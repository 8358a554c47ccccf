"""`lattice vcs …`: the workflow's VCS preset (vcs/) from the shell — status, checkpoint, commit, undo,
push, log, and jj-workspace's workspaces. The configuration is the one `lattice run` uses: the active
profile's environment, else the project's lattice.yaml (routing/source.py)."""
from __future__ import annotations

import os
from typing import Any

import click

from .app import App, json_option, pass_app
from .app import cli as root
from .output import show


def _preset(app: App) -> Any:
    from ..vcs import preset_for

    return preset_for(app.routing_source().config, os.getcwd())


def _show(result: dict[str, Any], as_json: bool) -> None:
    show(result, as_json, [result["message"]])


@root.group("vcs")
def vcs() -> None:
    """Version control through the workflow's vcs.preset (git-stash, jj-checkpoint, jj-workspace)."""


@vcs.command("status")
@json_option
@pass_app
def vcs_status(app: App, as_json: bool) -> None:
    """The VCS's own status (git status / jj status) and the checkpoints."""
    _show(_preset(app).status(), as_json)


@vcs.command("checkpoint")
@click.option("--agent", default="", help="The agent the checkpoint is for ({agent} in checkpoint_message).")
@json_option
@pass_app
def vcs_checkpoint(app: App, agent: str, as_json: bool) -> None:
    """Record the working state now (what hooks.pre_agent: vcs.checkpoint does before each turn)."""
    _show(_preset(app).checkpoint(agent), as_json)


@vcs.command("commit")
@click.option("--agent", default="", help="{agent} in commit_message.")
@click.option("--summary", default="", help="{summary} in commit_message.")
@json_option
@pass_app
def vcs_commit(app: App, agent: str, summary: str, as_json: bool) -> None:
    """Commit what changed since the last checkpoint (what hooks.post_agent: vcs.commit does)."""
    _show(_preset(app).commit(agent, summary), as_json)


@vcs.command("undo")
@json_option
@pass_app
def vcs_undo(app: App, as_json: bool) -> None:
    """Put the working state back as it was at the last checkpoint (git-stash: files, index and HEAD)."""
    _show(_preset(app).undo(), as_json)


@vcs.command("push")
@json_option
@pass_app
def vcs_push(app: App, as_json: bool) -> None:
    """Push the current work (git push / jj git push)."""
    _show(_preset(app).push(), as_json)


@vcs.command("log")
@json_option
@pass_app
def vcs_log(app: App, as_json: bool) -> None:
    """Checkpoints and agent commits, newest first."""
    _show(_preset(app).log(), as_json)


@vcs.command("workspace")
@click.argument("name")
@json_option
@pass_app
def vcs_workspace(app: App, name: str, as_json: bool) -> None:
    """jj-workspace: a new workspace NAME under workspace_dir, for one task."""
    from ..vcs.base import VcsError

    preset = _preset(app)
    if not hasattr(preset, "add_workspace"):
        raise VcsError(f"workspaces are vcs.preset jj-workspace's; this workflow's preset is {preset.name}")
    _show(preset.add_workspace(name), as_json)
