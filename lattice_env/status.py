"""What `lattice status` shows, as plain data (the CLI prints it or dumps it as JSON)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from . import paths
from .model import Workflow


def agent_rows(workflow: Workflow) -> list[dict[str, Any]]:
    return [
        {
            "name": agent.name,
            "description": agent.description,
            "triggers": list(agent.triggers),
            "prompt_file": paths.display(agent.prompt_file),
            "routing": {
                "strategy": agent.routing.strategy,
                "summary": agent.routing.summary(),
                "candidates": list(agent.routing.candidates()),
                "inherited": agent.routing_inherited,
            },
            "frontmatter": dict(agent.frontmatter),
        }
        for agent in workflow.agents.values()
    ]


def provider_keys(config: dict[str, Any], environ: dict[str, str]) -> list[dict[str, Any]]:
    """Each provider and whether its key variable is set: the variable's name, never its value."""
    rows = []
    for name, spec in (config.get("providers") or {}).items():
        spec = spec if isinstance(spec, dict) else {}
        var = spec.get("env")
        rows.append({"name": name, "env": var, "set": bool(var and environ.get(var)) if var else None,
                     "auth": spec.get("auth"), "base_url": spec.get("base_url"),
                     "local_budget": spec.get("local_budget", "unlimited")})
    return rows


def format_provider(row: dict[str, Any]) -> str:
    if row["env"]:
        return f"{row['name']} ({row['env']} {'set' if row['set'] else 'NOT SET'})"
    if row["auth"]:
        return f"{row['name']} (auth: {row['auth']})"
    return f"{row['name']} (no key{', ' + row['base_url'] if row['base_url'] else ''})"


def profile_status(name: str | None = None, loaded: Any = None) -> dict[str, Any]:
    """The profile half of `lattice status`: which generation is live, what it holds, and whether the
    project's lattice.yaml (when `loaded` is given) still builds to that same store path."""
    from . import profiles

    name = profiles.active_profile() if name is None else profiles.check_name(name)
    number = profiles.current_generation(name)
    path = profiles.current_path(name)
    workflow, version = profiles.describe(path) if path is not None else (None, None)
    return {"profile": name, "active": name == profiles.active_profile(), "generation": number,
            "store_path": None if path is None else str(path), "workflow": workflow, "version": version,
            "drift": None if loaded is None else drift(loaded, path)}


def drift(loaded: Any, path: Path | None) -> dict[str, Any]:
    """Would `lattice switch` change the profile? Computed from the store name alone: no npm, no build."""
    from . import store
    from .build import fresh_lock, plan
    from .errors import LatticeError

    lock = fresh_lock(loaded)
    if lock is None:
        return {"state": "lock-outdated", "expected": None,
                "message": "lattice.lock no longer matches lattice.yaml; `lattice switch` re-locks and rebuilds"}
    try:
        expected = store.store_name(plan(loaded, lock).env)
    except LatticeError as exc:
        return {"state": "unknown", "expected": None, "message": str(exc)}
    if path is None:
        state, message = "no-generation", "the profile has no generation; `lattice switch` creates one"
    elif path.name == expected:
        state, message = "in-sync", "the active generation is what lattice.yaml builds"
    else:
        state, message = "changed", "lattice.yaml (or an agent file) changed since this generation; " \
                                    "`lattice switch` builds and switches to it"
    return {"state": state, "expected": expected, "message": message}
