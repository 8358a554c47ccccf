"""`lattice lock` and `lattice build`: resolving lattice.lock and building the workflow into the store
(build/). The plain form of `build` also runs without click (fast.py), through the same body."""
from __future__ import annotations

from typing import Any

import click

from . import fast
from .app import App, offline_option, pass_app, trust_option
from .app import cli as root
from .output import show, warn


def lock_report(result: Any, as_json: bool) -> None:
    """What a (re-)lock did: build.lockfile.LockResult as text or JSON."""
    warn(f"warning: {w}" for w in result.warnings)
    state = "wrote" if result.changed else "up to date:"
    show({"lock": str(result.path), "changed": result.changed, "resolved": result.resolved,
          "packages": result.package_count, "roots": result.lock["roots"], "sources": result.lock["sources"]},
         as_json, [f"{state} {result.path.name} ({result.package_count} packages, "
                   f"{len(result.lock['roots'])} roots, {len(result.lock['sources'])} local/git plugins)"])


@root.command()
@click.option("--refresh", is_flag=True, help="Resolve everything again (transitive versions may move).")
@click.option("--offline", is_flag=True, help="Use only npm's cache; fail if something is missing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def lock(app: App, refresh: bool, offline: bool, as_json: bool) -> None:
    """Write lattice.lock: exact versions and hashes of opencode and every plugin's npm closure."""
    from ..build.lockfile import lock_workflow

    loaded = app.load()
    warn(loaded.warnings)
    lock_report(lock_workflow(loaded, refresh=refresh, offline=offline), as_json)


@root.command()
@offline_option
@trust_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def build(app: App, offline: bool, trust: bool, as_json: bool) -> None:
    """Build the workflow's environment into the store; print its store path last."""
    fast.build(offline, as_json, file=app.file, directory=app.directory, trust=trust)
