"""Writes that a crash cannot tear: temp file in the same directory, fsync, rename, fsync the dir."""
from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from pathlib import Path

# No pathlib import: annotations are never evaluated, and `rollback` calls replace_link with str paths.


def fsync_path(path: str | os.PathLike[str]) -> None:
    """fsync a file or directory by name (read-only files too: fsync needs no write access)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace `path` with `data` all at once: readers see the old file or the new one, never half."""
    import tempfile  # deferred: rollback and switch only replace links

    from .paths import make_dirs

    make_dirs(str(path.parent))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(path.parent)


def replace_link(link: str | os.PathLike[str], target: str) -> None:
    """Point the symlink `link` at `target` all at once: a `<link>.tmp-<pid>-<random>` symlink renamed over
    it, then the directory fsynced, so readers and crashes see the old link or the new one, never none."""
    link = os.fspath(link)
    tmp = f"{link}.tmp-{os.getpid()}-{os.urandom(4).hex()}"  # not `secrets`: hot path
    os.symlink(target, tmp)
    try:
        os.rename(tmp, link)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(os.path.dirname(link) or ".")
