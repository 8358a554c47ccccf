"""`lattice NAME [ARGS…]`: a custom command of the workflow (`commands.NAME.action`), run once through
hooks/run.py run_command — the same path `/NAME` takes inside opencode — with its output printed. The
workflow is the one `lattice run` uses (the active profile's environment, else lattice.yaml here)."""
from __future__ import annotations

import os
from pathlib import Path

import click

from ..errors import LatticeError
from .output import emit


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

        done = run_command(name, " ".join(args), config, {"directory": os.getcwd()})
        if done["output"]:
            emit(done["output"], err=not done["ok"])
        if not done["ok"]:
            raise SystemExit(1)

    return run
