"""What `lattice status` shows, as plain data (the CLI prints it or dumps it as JSON)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from . import paths

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from .config.model import Workflow


def agent_rows(workflow: Workflow) -> list[dict[str, Any]]:
    """Each agent as `lattice status agents` shows it; `unavailable` lists the candidates its provider's
    `models:` leaves out (lattice.local.yaml narrowing them on this machine), which routing skips."""
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
            "unavailable": [ref for ref in agent.routing.candidates() if not _offered(workflow, ref)],
            "frontmatter": dict(agent.frontmatter),
        }
        for agent in workflow.agents.values()
    ]


def _offered(workflow: Workflow, ref: str) -> bool:
    name, _, model = ref.partition("/")
    provider = workflow.providers.get(name)
    return provider is None or provider.offers(model)


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
    from .profiles import links
    from .profiles.generations import describe

    name = links.resolve_name(name)
    path = links.current_path(name)
    workflow, version = describe(path) if path is not None else (None, None)
    return {"profile": name, "active": name == links.active_profile(),
            "generation": links.current_generation(name), "store_path": path, "workflow": workflow,
            "version": version, "problem": None if path is None else health(path),
            "drift": None if loaded is None else drift(loaded, path)}


def health(path: str) -> dict[str, str] | None:
    """What is wrong with a generation's store path, as a launch would find it (store/seal.py: the path
    and those it references still as sealed); None when nothing is."""
    from .store.seal import broken

    if not os.path.isdir(path):
        return {"state": "missing", "message": f"its store path {path} is missing (deleted outside lattice?); "
                                               "`lattice switch` in its project builds it again, or `lattice rollback`"}
    damage = broken(path)
    if damage is not None:
        return {"state": "damaged", "message": f"store path {damage[0]} is damaged ({damage[1]}); "
                                               f"`lattice store repair {damage[0]}` rebuilds it"}
    return None


def drift(loaded: Any, path: str | None) -> dict[str, Any]:
    """Would `lattice switch` change the profile? Computed from the store name alone: no npm, no build."""
    from .build.lockfile import fresh_lock
    from .build.plan import plan
    from .errors import ConfigError, LatticeError
    from .store.names import store_name

    try:
        lock = fresh_lock(loaded)
    except ConfigError as exc:  # a lock lattice did not write (lock_shape.py): say so, show the rest
        first = next(d for d in exc.diagnostics if d.severity == "error")
        return {"state": "lock-invalid", "expected": None,
                "message": f"{first}; `lattice lock --refresh` resolves it again"}
    if lock is None:
        return {"state": "lock-outdated", "expected": None,
                "message": "lattice.lock no longer matches lattice.yaml; `lattice switch` re-locks and rebuilds"}
    try:
        expected = store_name(plan(loaded, lock).env)
    except LatticeError as exc:
        return {"state": "unknown", "expected": None, "message": str(exc)}
    if path is None:
        state, message = "no-generation", "the profile has no generation; `lattice switch` creates one"
    elif os.path.basename(path) == expected:
        state, message = "in-sync", "the active generation is what lattice.yaml builds"
    else:
        state, message = "changed", "lattice.yaml (or an agent file) changed since this generation; " \
                                    "`lattice switch` builds and switches to it"
    return {"state": state, "expected": expected, "message": message}


def status(profile: str | None = None, file: Path | None = None, directory: Path | None = None,
           environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Everything `lattice status` shows: the profile (and, in a project, its drift from lattice.yaml),
    the workflow's agents (in a project), and each provider's key variable — from lattice.yaml in a
    project, else from the configuration the active generation was built from."""
    loaded = None
    if file is not None or paths.find_project_file(directory or Path.cwd()) is not None:
        from .config.load import load_workflow

        loaded = load_workflow(file=file, directory=directory)
    info = profile_status(profile, loaded)
    config = loaded.config.data if loaded is not None else _generation_config(info["store_path"])
    environ = dict(os.environ) if environ is None else environ
    return {"profile": info, "agents": agent_rows(loaded.workflow) if loaded is not None else None,
            "providers": provider_keys(config, environ) if config is not None else [],
            "vcs": vcs_summary(config, str(directory or Path.cwd()), environ) if config and config.get("vcs") else None}


def vcs_summary(config: dict[str, Any], cwd: str, environ: dict[str, str]) -> dict[str, Any]:
    """The VCS section (when lattice.yaml has `vcs:`): the preset and what it has recorded in the repository holding `cwd` (read from
    files, no child process: status stays cheap)."""
    from .vcs import preset_for

    return preset_for(config, cwd, environ).summary()


def format_vcs(row: dict[str, Any]) -> str:
    if row["preset"] == "none":
        return "vcs: none (no VCS integration)"
    if not row.get("repository"):
        return f"vcs: {row['preset']}, but no {'git' if row['preset'] == 'git-stash' else 'jj'} repository here"
    import time

    where = f"vcs: {row['preset']} in {row['repository']}" + (f" (on {row['branch']})" if row.get("branch") else "")
    count = row.get("checkpoints") or 0
    last = row.get("last_checkpoint")
    when = f", the last at {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(last))}" if last else ""
    return f"{where}: {count} checkpoint{'' if count == 1 else 's'}{when}"


def _generation_config(store_path: str | None) -> dict[str, Any] | None:
    """Outside a project, the configuration the active generation was built from."""
    if not store_path:
        return None
    from .errors import LatticeError
    from .store.manifest import environment_config

    try:
        return environment_config(store_path)
    except LatticeError:
        return None
