"""`lattice trust [--list] [--revoke]`: what a workflow's own files may run (trust/)."""
from __future__ import annotations

import os
import time
from pathlib import Path

import click

from .app import App, json_option, pass_app
from .app import cli as root
from .output import show, warn


def _directory(app: App) -> str:
    """The workflow's directory for --revoke, which must work when lattice.yaml is gone or broken."""
    from .. import paths

    if app.file is not None:
        return os.path.realpath(app.file.absolute().parent)
    start = app.directory or Path.cwd()
    found = paths.find_project_file(start)
    return os.path.realpath(found.parent if found is not None else start)


@root.command("trust")
@click.option("--list", "as_list", is_flag=True, help="List trusted workflows.")
@click.option("--revoke", is_flag=True, help="Stop trusting this workflow (every version of it).")
@json_option
@pass_app
def trust_cmd(app: App, as_list: bool, revoke: bool, as_json: bool) -> None:
    """Trust what this workflow runs: its hooks, MCP servers with a command, file: and github: plugins,
    commands that run a shell and its opencode: section.

    Until then `build`, `switch`, `run`, `shell`, custom commands and `generate` into the project refuse
    (validate, generate --out, config, status and route work). Editing any of those makes it untrusted again; prompts and other data do not."""
    from ..trust import check

    if as_list:
        rows = check.listing()
        show(rows, as_json, lambda: [
            f"{'  ' if row['active'] else '! '}{row['directory']}  "
            f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(row['trusted_at'] or 0))}  "
            f"{', '.join(row['runs']) or 'runs nothing of its own'}"
            + ("" if row["active"] else "  (revoked)") for row in rows] or ["no trusted workflows"])
        return
    if revoke:
        directory = _directory(app)
        count = check.revoke(directory)
        show({"directory": directory, "revoked": count}, as_json,
             [f"revoked trust in {directory}" if count else f"{directory} was not trusted; nothing to revoke"])
        return
    loaded = app.load()
    warn(loaded.warnings)
    trusted = check.trust(loaded)
    from ..trust.items import describe

    what = ", ".join(describe(k, v) for k, v in sorted(trusted.items.items()))
    show({"directory": trusted.directory, "fingerprint": trusted.fingerprint, "runs": sorted(trusted.items)},
         as_json, [f"trusted {trusted.directory}: it runs {what}" if trusted.items else
                   f"trusted {trusted.directory}: it runs nothing of its own"])
