"""jj, as the jj presets run it: through proc.run, in the workspace that holds `cwd`, with the user's own
configuration (vcs/git.py tool_env) and within the caller's deadline; and the checkpoints the presets
keep beside the repository (`.jj/lattice-checkpoints.json`: the operation to go back to, per turn)."""
from __future__ import annotations

import json
import os
import time

from ..flock import file_lock
from ..fsutil import atomic_write
from ..proc import ProcessError, run
from .base import VcsError
from .git import tool_env

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    import subprocess
    from typing import Any, Callable, Mapping

CHECKPOINTS = "lattice-checkpoints.json"
KEEP = 200  # checkpoints remembered per workspace


class Jj:
    def __init__(self, cwd: str, environ: Mapping[str, str], remaining: Callable[[], float | None]) -> None:
        self.cwd = cwd
        self.env = tool_env(environ)
        self.remaining = remaining

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        try:
            return run(["jj", "--no-pager", "--color=never", *args], env=self.env, cwd=self.cwd, check=check,
                       timeout=self.remaining())
        except ProcessError as exc:
            detail = (exc.stderr.strip() or exc.stdout.strip()).splitlines()
            raise VcsError(f"jj {args[0]} failed: {detail[-1] if detail else f'exit status {exc.returncode}'}") from None

    def out(self, *args: str) -> str:
        return self(*args).stdout.strip()

    def root(self) -> str:
        done = self("root", check=False)
        if done.returncode != 0:
            raise VcsError(f"{self.cwd} is not in a jj repository (the jj presets need one: `jj git init`)")
        return done.stdout.strip()

    def operation(self) -> str:
        """The id of the repository's current operation (what `jj op restore` goes back to)."""
        return self.out("op", "log", "--no-graph", "-n", "1", "-T", "id")

    def description(self, revision: str = "@") -> str:
        return self.out("log", "-r", revision, "--no-graph", "-T", "description")

    def changed(self, revision: str = "@") -> bool:
        return bool(self.out("diff", "-r", revision, "--name-only"))


def read_checkpoints(root: str) -> list[dict[str, Any]]:
    try:
        with open(os.path.join(root, ".jj", CHECKPOINTS), encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return []
    return [c for c in data if isinstance(c, dict) and isinstance(c.get("operation"), str)] \
        if isinstance(data, list) else []


def write_checkpoints(root: str, checkpoints: list[dict[str, Any]]) -> None:
    atomic_write(os.path.join(root, ".jj", CHECKPOINTS), json.dumps(checkpoints[-KEEP:], indent=1).encode())


def _lock(root: str) -> file_lock:
    # Several opencode processes (workspaces, terminals) may checkpoint the same repository at once.
    return file_lock(os.path.join(root, ".jj", CHECKPOINTS + ".lock"))


def remember(root: str, operation: str, agent: str, message: str) -> None:
    with _lock(root):
        write_checkpoints(root, [*read_checkpoints(root), {"operation": operation, "agent": agent,
                                                           "message": message, "time": time.time()}])


def forget(root: str, operation: str) -> None:
    """Drop the checkpoint of `operation` (undo went back to it)."""
    with _lock(root):
        write_checkpoints(root, [c for c in read_checkpoints(root) if c["operation"] != operation])
