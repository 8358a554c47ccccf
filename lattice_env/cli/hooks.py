"""`lattice hooks log`: every hook run (and custom command run) recorded in `<data dir>/hooks.log`."""
from __future__ import annotations

import time
from typing import Any

import click

from .app import cli as root
from .app import json_option
from .output import emit, show


@root.group("hooks")
def hooks() -> None:
    """Lifecycle hooks (lattice.yaml's hooks:) and what they did."""


@hooks.command("log")
@click.option("-n", "--lines", "limit", type=click.IntRange(min=1), metavar="N", help="Only the last N runs.")
@json_option
def hooks_log(limit: int | None, as_json: bool) -> None:
    """Each hook run: when, event, action, condition (and whether it held), result, duration, detail."""
    from ..hooks.log import log_path, read

    rows = read(limit)
    if not rows and not as_json:
        emit(f"no hook has run yet ({log_path()} is empty)", err=True)
    show(rows, as_json, lambda: [_line(row) for row in rows])


def _line(row: dict[str, Any]) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(row.get("time") or 0)))
    what = f"/{row['command']}" if row.get("event") == "command" else str(row.get("event"))
    held = "" if row.get("condition", True) else " (false)"
    who = f" [{row['agent']}]" if row.get("agent") else ""
    return (f"{stamp}  {what}{who}  {row.get('action')}  when {row.get('when')}{held}  → {row.get('result')} "
            f"in {float(row.get('duration') or 0):.2f}s: {row.get('detail')}")
