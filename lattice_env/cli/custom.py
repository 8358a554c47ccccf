"""`lattice NAME [ARGS…]`: a custom command of the workflow (`commands.NAME.action`), run once through
hooks/run.py run_command — the same path `/NAME` takes inside opencode — with its output printed. The
workflow is the one `lattice run` uses (the active profile's environment, else lattice.yaml here)."""
from __future__ import annotations

import os
from pathlib import Path

import click

from ..errors import LatticeError
from .output import emit

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..routing.source import Source


def custom_command(name: str, file: Path | None, directory: Path | None) -> click.Command | None:
    """The click command for `commands.NAME`, or None when the workflow has no such command (or there
    is no workflow here at all: click then says there is no such command)."""
    from ..routing.source import routing_source

    try:
        source = routing_source(None, file, directory)
    except LatticeError as exc:
        if "nothing to route with" in str(exc):
            return None
        raise
    commands = source.config.get("commands") if isinstance(source.config.get("commands"), dict) else {}
    command = commands.get(name)
    if not isinstance(command, dict) or not command.get("action"):
        return None
    config = source.config

    @click.command(name, help=f"{command.get('description') or command['action']} "
                             f"(commands.{name}: {command['action']}).",
                   context_settings={"ignore_unknown_options": True})
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def run(args: tuple[str, ...]) -> None:
        from ..hooks.run import run_command

        _check_trusted(source, f"`lattice {name}`", file, directory)
        done = run_command(name, " ".join(args), config, {"directory": os.getcwd()})
        if done["output"]:
            emit(done["output"], err=not done["ok"])
        if not done["ok"]:
            raise SystemExit(1)

    return run


def _check_trusted(source: Source, action: str, file: Path | None, directory: Path | None) -> None:
    """A command runs only what its user trusted (trust/): a generation's trust must still stand, as for
    `lattice run`; lattice.yaml read here must be trusted as it is now, as for `lattice switch`."""
    if source.kind == "profile":
        from ..launch.activation import env_path
        from ..trust.state import check_environment

        check_environment(env_path(None), action)
        return
    from ..config.load import load_workflow
    from ..trust.check import check_trusted

    check_trusted(load_workflow(file=file, directory=directory), action)
