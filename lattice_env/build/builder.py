"""`lattice build`: plan the three derivations (plan.py), then add each missing one to the store — the
node environment (node.py), the npm closure (closure.py), the workflow environment (workflow_env.py) —
under temporary gc roots. A no-op build (its workflow path exists) stops after planning."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, NamedTuple

from ..config.load import Loaded
from ..errors import LatticeError
from ..paths import store_root
from ..store import names as store
from .lockfile import LOCK_FILE, current_lock
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


def build(loaded: Loaded, offline: bool = False, progress: Progress | None = None) -> BuildResult:
    progress = progress or Progress()
    root = os.path.abspath(store_root())
    if any(c in root for c in '"\\'):
        # opencode inserts {env:…} values into JSON unescaped; the wrapper exports store paths that way.
        raise LatticeError(f"the store path {root} contains a quote or backslash, which opencode cannot "
                           f"read; set LATTICE_HOME to a plain path")
    lock, relocked = current_lock(loaded, offline=offline)
    p = plan(loaded, lock)
    final = store.store_path(p.env)
    if final.exists():
        return BuildResult(final, [], relocked)
    from ..store.add import add as add_path
    from ..store.roots import temp_root
    from .closure import build_closure
    from .node import build_node_env
    from .workflow_env import build_workflow_env

    built: list[str] = []

    def add(drv: dict[str, Any], builder: Callable[[Path], None], message: str) -> Path:
        path = store.store_path(drv)
        if not path.exists():
            progress.step(message, lambda: add_path(drv, builder))
            built.append(path.name)
        return path

    with temp_root(store.store_path(p.node)), temp_root(store.store_path(p.closure)), temp_root(final):
        node_path = add(p.node, lambda out: build_node_env(out, p.node["inputs"]["toolchain"]),
                        "building the node environment (nodeenv --node=system)")
        closure_path = add(p.closure, lambda out: build_closure(out, lock, node_path, offline),
                           f"installing {len(lock['packages'])} npm packages from {LOCK_FILE}")
        add(p.env, lambda out: build_workflow_env(out, loaded, p, closure_path.name),
            f"rendering workflow {loaded.workflow.name}")
    return BuildResult(final, built, relocked)

