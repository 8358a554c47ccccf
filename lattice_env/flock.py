"""Advisory file locks (flock) for files that several lattice processes may update at once.
A plain class rather than a `contextlib.contextmanager`: `rollback` takes a lock (docs/architecture.md,
"Hot paths")."""
from __future__ import annotations

import fcntl
import os

# A lock file planted as a symlink (a cloned project's `.lattice-generate.lock` → ~/.bashrc) must not make
# Lattice create or open the file it points to: never followed.
_FLAGS = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC


class file_lock:  # noqa: N801 — used like a function: `with file_lock(path):`
    """Hold an exclusive lock on `path` (created with its directory if needed) for the `with` block.

    The lock dies with the process, so a crash never leaves a stale lock behind."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self.fd = -1

    def __enter__(self) -> None:
        try:
            try:
                fd = os.open(self.path, _FLAGS, 0o644)
            except FileNotFoundError:  # first use: create the directory (not on every call: a syscall or two)
                from .paths import make_dirs  # first use only

                make_dirs(os.path.dirname(self.path) or ".")
                fd = os.open(self.path, _FLAGS, 0o644)
        except OSError as exc:
            fault = _fault(exc, self.path)
            if fault is None:
                raise
            raise fault from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)  # closing releases the lock
        self.fd = -1


def _fault(exc: OSError, path: str) -> Exception | None:
    """A one-line error for a lock that cannot be taken for an ordinary reason; None for a bug."""
    import errno  # on error paths only

    from .errors import FilesystemError, LatticeError

    if exc.errno == errno.ELOOP:
        return LatticeError(f"cannot lock {path}: it is a symbolic link (remove it; lattice makes its own)")
    return FilesystemError.of(exc, path, "lock")


def is_locked(path: str | os.PathLike[str]) -> bool:
    """True when another process holds the lock on `path` right now (a missing file is unlocked)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    except (FileNotFoundError, IsADirectoryError):
        return False
    except OSError as exc:
        import errno  # on error paths only

        if exc.errno == errno.ELOOP:  # not a lock anyone holds through Lattice
            return False
        raise
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
