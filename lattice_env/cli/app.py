"""The click application: the `lattice` group with its global options, the `App` object every command
gets, and the options many commands share. Commands live in one module per group (project.py, build.py,
plugins.py, store.py, profiles.py, launch.py, status.py, routing.py, doctor.py); main.py registers them."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .. import __version__

if TYPE_CHECKING:
    from ..routing.source import Source

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class App:
    """What every command knows: the global options and the raw command line."""

    def __init__(self, argv: list[str]) -> None:
        self.argv = argv
        self.directory: Path | None = None
        self.file: Path | None = None
        self.debug = False

    def load(self) -> Any:
        """The project's validated Workflow (config.load.Loaded)."""
        from ..config.load import load_workflow

        return load_workflow(file=self.file, directory=self.directory)

    def routing_source(self, profile: str | None = None) -> Source:
        from ..routing.source import routing_source

        return routing_source(profile, self.file, self.directory)

    def passthrough(self) -> bool:
        """Whether `lattice run` was given `--` (click consumes it, so the raw command line tells)."""
        args = self.argv
        return "run" in args and "--" in args and args.index("--") > args.index("run")


pass_app = click.make_pass_decorator(App)
json_option = click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
profile_option = click.option("--profile", "profile", metavar="NAME",
                              help="Profile to act on (default: the active one, see `lattice use`).")
offline_option = click.option("--offline", is_flag=True, help="Install from npm's cache only.")
trust_option = click.option("--trust", "trust", is_flag=True,
                            help="Trust what this workflow runs (as `lattice trust` does), then go on.")


class LatticeGroup(click.Group):
    """The `lattice` group: its own commands, then the workflow's custom commands (`commands.NAME` in
    lattice.yaml runs as `lattice NAME [ARGS…]`; config/checks.py keeps their names off lattice's)."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None or cmd_name.startswith("-"):
            return found
        from .custom import custom_command

        return custom_command(cmd_name, ctx.params.get("file"), ctx.params.get("directory"))


@click.group(cls=LatticeGroup, context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="lattice")
@click.option("-C", "directory", type=click.Path(path_type=Path), metavar="DIR",
              help="Run as if started in DIR (lattice.yaml is looked up from there).")
@click.option("-f", "--file", type=click.Path(path_type=Path), metavar="FILE",
              help="Use FILE as the project's lattice.yaml.")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
@click.pass_context
def cli(ctx: click.Context, directory: Path | None, file: Path | None, debug: bool) -> None:
    """Lattice: one lattice.yaml for your whole opencode setup."""
    app = ctx.obj if isinstance(ctx.obj, App) else App([])
    app.directory, app.file, app.debug = directory, file, debug
    ctx.obj = app
