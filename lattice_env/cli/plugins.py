"""`lattice plugins` (list), `plugins update`, `plugins add`: pins, locks and registry versions
(build/plugin_ops.py)."""
from __future__ import annotations

from typing import Any

import click

from .app import App, json_option, offline_option, pass_app, trust_option
from .app import cli as root
from .build import lock_report
from .output import emit, show


def _table(rows: list[Any]) -> list[str]:
    lines = [f"{'plugin':36} {'pinned':14} {'locked':14} {'built':14} latest"]
    for row in rows:
        mark = "  (update available)" if row.outdated else ""
        lines.append(f"{row.name:36} {row.pinned or '-':14} {row.locked or '-':14} {row.built or '-':14} "
                     f"{row.latest or '-'}{mark}")
    return lines


@root.group(invoke_without_command=True)
@json_option
@click.option("--offline", is_flag=True, help="Do not look up the latest versions.")
@click.pass_context
def plugins(ctx: click.Context, as_json: bool, offline: bool) -> None:
    """List plugins: pinned, locked, built and latest versions."""
    if ctx.invoked_subcommand is None:
        from ..build.plugin_ops import plugin_rows

        app = ctx.find_object(App)
        assert app is not None
        rows = plugin_rows(app.load(), offline=offline)
        show([row.as_json() for row in rows], as_json, lambda: _table(rows) if rows else [
            "no plugins in lattice.yaml; add one with `lattice plugins add NAME@VERSION`"])


@plugins.command("update")
@click.argument("name", required=False)
@click.option("--apply", "apply_", is_flag=True, help="Rewrite the pins in lattice.yaml and re-lock.")
@json_option
@pass_app
def plugins_update(app: App, name: str | None, apply_: bool, as_json: bool) -> None:
    """Show newer versions of npm plugins (all, or NAME); --apply pins them and re-locks."""
    from ..build.plugin_ops import apply_updates, plugin_rows

    loaded = app.load()
    rows = [r for r in plugin_rows(loaded, only=name) if r.outdated]
    result = apply_updates(loaded, rows, app.load) if apply_ else None
    if as_json or not rows:
        show({"updates": [r.as_json() for r in rows], "applied": result is not None}, as_json,
             ["All npm plugins are at their latest version."])
        return
    for row in rows:
        emit(f"{row.name}: {row.pinned} -> {row.latest}")
    if result is None:
        emit("Run `lattice plugins update --apply` to pin these and re-lock.")
    else:
        lock_report(result, as_json=False)


@plugins.command("add")
@click.argument("spec")
@click.option("--json", "as_json", is_flag=True, help="Print the lock result as JSON.")
@pass_app
def plugins_add(app: App, spec: str, as_json: bool) -> None:
    """Add a plugin (NAME@VERSION, github:OWNER/REPO@REF or file:PATH) to lattice.yaml and re-lock."""
    from ..build.plugin_ops import add_plugin

    result = add_plugin(app.load(), spec, app.load)
    if not as_json:
        emit(f"added {spec}")
    lock_report(result, as_json)


@plugins.command("sync")
@offline_option
@trust_option
@json_option
@pass_app
def plugins_sync(app: App, offline: bool, trust: bool, as_json: bool) -> None:
    """Install exactly what lattice.yaml and lattice.lock pin: the build, without a new generation."""
    from . import fast

    fast.build(offline, as_json, file=app.file, directory=app.directory, trust=trust,
               action="`lattice plugins sync`")
