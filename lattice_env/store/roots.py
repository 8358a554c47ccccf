"""Temporary gc roots: `<data>/roots/<pid>-<random>` symlinks to a store path, alive while that process
lives. Builds, switches, `lattice run` and `lattice shell` hold one on the path they use; gc.py reads
them (a root whose pid is gone is stale) and takes the same gc lock, so a root appears either before gc
looks or after gc is done. On the hot path of `lattice shell -c`."""
from __future__ import annotations

import os

from ..flock import file_lock
from ..fsutil import fsync_dir, remove
from ..paths import make_dirs, store_root


def gc_lock(root: str | os.PathLike[str]) -> file_lock:
    """The lock gc holds for its whole run; taking it to create a root orders the two."""
    return file_lock(os.path.join(root, ".locks", "gc.lock"))


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pid_of(name: str, fields_after: int) -> int | None:
    """The pid in `…-<pid>-<random>`-style names (`fields_after` fields follow the pid)."""
    parts = name.rsplit("-", fields_after + 1)
    try:
        return int(parts[-fields_after - 1])
    except (ValueError, IndexError):
        return None


class temp_root:  # noqa: N801 — used like a function: `with temp_root(path):`
    """Keep the store path `path` (which need not exist yet) alive until the block ends; the block gets
    the root's link. The link is named by our pid, which exec keeps: a shell exec'd inside the block
    holds the root until it exits."""

    def __init__(self, path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None) -> None:
        self.name = os.path.basename(os.fspath(path).rstrip(os.sep))
        self.root = os.fspath(root) if root is not None else store_root()
        self.link = ""

    def __enter__(self) -> str:
        roots_dir = os.path.join(os.path.dirname(self.root), "roots")
        make_dirs(roots_dir)
        self.link = os.path.join(roots_dir, f"{os.getpid()}-{os.urandom(4).hex()}")
        with gc_lock(self.root):
            os.symlink(os.path.join(self.root, self.name), self.link)
            fsync_dir(roots_dir)
        return self.link

    def __exit__(self, *exc: object) -> None:
        remove(self.link)
