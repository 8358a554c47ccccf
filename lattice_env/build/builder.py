"""`lattice build`: plan the three derivations (plan.py), then add each missing one to the store — the
node environment (node.py), the npm closure (closure.py), the workflow environment (workflow_env.py) —
under temporary gc roots. Each missing path is first asked of the configured binary caches
(cache/substitute.py) and built only when none has it. A no-op build (its workflow path exists) stops
after planning."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Callable, NamedTuple

from ..config.load import Loaded
from ..store import names as store
from .lockfile import LOCK_FILE, fresh_lock, lock_workflow
from .plan import plan


class Progress:
    """One line per long step on a terminal; nothing when stderr is piped."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled

    def step(self, message: str, work: Callable[[], Path]) -> Path:
        if not self.enabled:
            return work()
        sys.stderr.write(f"lattice: {message}…\n")
        sys.stderr.flush()
        started = time.monotonic()
        result = work()
        sys.stderr.write(f"lattice: {message}: done in {time.monotonic() - started:.1f} s\n")
        return result


class BuildResult(NamedTuple):
    path: Path
    built: list[str]  # store names built by this call (empty: a no-op)
    relocked: bool
    substituted: tuple[str, ...] = ()  # store names pulled from a binary cache instead


def build(loaded: Loaded, offline: bool = False, progress: Progress | None = None, action: str = "`lattice build`",
          trust: bool = False) -> BuildResult:
    """Build `loaded` into the store. What of the workflow's own can run must be trusted first
    (trust/check.py; `trust=True` trusts it, as `--trust` does): `action` is what the refusal names."""
    from ..trust.check import gate, record_environment

    progress = progress or Progress()
    lock = fresh_lock(loaded)  # before the gate, so a fresh lock's content hashes serve it
    sources = lock["sources"] if lock is not None else None
    trusted = gate(loaded, action, trust, sources)
    relocked = lock is None
    if lock is None:
        lock = lock_workflow(loaded, offline=offline).lock
    p = plan(loaded, lock)
    final = store.store_path(p.env)
    record_environment(final.name, trusted)
    if final.exists():
        return BuildResult(final, [], relocked)
    from ..cache.substitute import substituter
    from ..store.add import add as add_path
    from ..store.roots import temp_root
    from .closure import build_closure
    from .file_plugins import locked_files
    from .node import build_node_env
    from .workflow_env import build_workflow_env

    built: list[str] = []
    pulled: list[str] = []
    caches = substituter(offline)

    def add(drv: dict[str, Any], builder: Callable[[Path], None], message: str) -> Path:
        path = store.store_path(drv)
        if not path.exists():
            if caches is not None and caches.substitute(path.name):
                pulled.append(path.name)
            else:
                progress.step(message, lambda: add_path(drv, builder))
                built.append(path.name)
        return path

    with temp_root(store.store_path(p.node)), temp_root(store.store_path(p.closure)), temp_root(final):
        node_path = add(p.node, lambda out: build_node_env(out, p.node["inputs"]["toolchain"]),
                        "building the node environment (nodeenv --node=system)")
        closure_path = add(p.closure, lambda out: build_closure(out, lock, node_path, offline,
                                                                   p.closure["inputs"]["platform"]),
                           f"installing {len(lock['packages'])} npm packages from {LOCK_FILE}")
        plugin_files = locked_files(loaded, lock)
        add(p.env, lambda out: build_workflow_env(out, loaded.workflow, p.env["inputs"]["platform"],
                                                  closure_path.name, plugin_files),
            f"rendering workflow {loaded.workflow.name}")
    return BuildResult(final, built, relocked, tuple(pulled))
