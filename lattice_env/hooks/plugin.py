"""What the environment's hooks plugin (templates/env/bridge/hooks/) is rendered with, from the Workflow:
which events have hooks, how long each event's actions may take (their timeouts added up, plus a
margin: the plugin waits no longer for an answer), whether jj-workspace's gate applies, and how long a
custom command may take."""
from __future__ import annotations

from typing import Any

from ..config.model import Workflow
from ..vcs.jj_workspace import PLUGIN
from .run import DEFAULT_TIMEOUT

MARGIN = 10.0  # seconds beyond the actions' timeouts: the routing process's own start and the log writes
GATED_PRESET = "jj-workspace"
GATE_PLUGIN = PLUGIN  # pinned, it gates edits itself


def gate(workflow: Workflow) -> bool:
    return (workflow.vcs_preset == GATED_PRESET and workflow.vcs_config.get("gate_enforcement", True) is not False
            and not any(p.short_name == GATE_PLUGIN for p in workflow.plugins))


def needs_plugin(workflow: Workflow) -> bool:
    return any(workflow.hooks.values()) or gate(workflow)


def plugin_settings(workflow: Workflow) -> dict[str, Any]:
    waits = {event: int(1000 * (sum(h.timeout or DEFAULT_TIMEOUT for h in hooks) + MARGIN))
             for event, hooks in workflow.hooks.items() if hooks}
    command = max((c.timeout or DEFAULT_TIMEOUT for c in workflow.commands.values()), default=DEFAULT_TIMEOUT)
    return {"events": sorted(waits), "waits": waits, "gate": gate(workflow),
            "hook_wait_ms": max(waits.values(), default=int(1000 * (DEFAULT_TIMEOUT + MARGIN))),
            "command_wait_ms": int(1000 * (command + MARGIN))}
