"""`lattice print-env`, `lattice shell`, `lattice run`: entering a profile's environment and launching its
opencode (launch/). print-env and `shell -c` also run without click (fast.py)."""
from __future__ import annotations

import click

from ..launch.activation import SHELLS
from . import fast
from .app import App, pass_app
from .app import cli as root


@root.command("print-env")
@click.option("--profile", metavar="NAME", help="Use profile NAME (default: the active profile).")
@click.option("--shell", "shell_name", type=click.Choice(SHELLS), default="bash",
              show_default=True, help="Syntax to print (bash's is also right for sh and direnv).")
def print_env(profile: str | None, shell_name: str) -> None:
    """Print the exports that make a profile's environment active.

    \\b
    bash/zsh:  eval "$(lattice print-env)"
    fish:      lattice print-env --shell fish | source
    direnv:    eval "$(lattice print-env)"  in .envrc"""
    fast.print_env(profile, shell_name)


@root.command("shell")
@click.option("--profile", metavar="NAME", help="Use profile NAME (default: the active profile).")
@click.option("-c", "command", metavar="CMD", help="Run CMD in the environment and exit with its status.")
@click.option("--trust", is_flag=True, help="Trust again what the generation was built under, if revoked.")
def shell_cmd(profile: str | None, command: str | None, trust: bool) -> None:
    """Start your shell ($SHELL) with a profile's environment active; `exit` leaves it."""
    from ..launch.shell import enter

    enter(profile, command, trust=trust)


@root.command("run", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--profile", metavar="NAME", help="Run this profile's environment (default: the active one).")
@click.option("--trust", is_flag=True, help="Trust again what the generation was built under, if revoked.")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@pass_app
def run_cmd(app: App, profile: str | None, trust: bool, args: tuple[str, ...]) -> None:
    """Launch the environment's opencode: `run` (TUI), `run /trigger MESSAGE…` (that agent and the
    routed model), `run -- ARGS…` (arguments passed to opencode untouched). Exits with opencode's status."""
    from ..launch.run import run

    run(profile, list(args), passthrough=app.passthrough(), trust=trust)
