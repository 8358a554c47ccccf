"""Advisory file locks (flock) for files that several lattice processes may update at once.

A plain class, not `contextlib.contextmanager`: `rollback` takes a lock, and contextlib (with the
collections and functools it imports) is a measurable share of its run time."""
from __future__ import annotations

import fcntl
import os


class file_lock:  # noqa: N801 — used like a function: `with file_lock(path):`
    """Hold an exclusive lock on `path` (created with its directory if needed) for the `with` block.

    The lock dies with the process, so a crash never leaves a stale lock behind."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self.fd = -1

    def __enter__(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:  # first use: create the directory (not on every call: a syscall or two)
            from .paths import make_dirs

            make_dirs(os.path.dirname(self.path) or ".")
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)  # closing releases the lock
        self.fd = -1


def is_locked(path: str | os.PathLike[str]) -> bool:
    """True when another process holds the lock on `path` right now (a missing file is unlocked)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
