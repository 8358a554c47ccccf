"""Writes that a crash cannot tear: temp file in the same directory, fsync, rename, fsync the dir."""
from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from pathlib import Path

# No pathlib import: annotations are never evaluated, and `rollback` calls replace_link with str paths.


def remove(path: str | os.PathLike[str]) -> None:
    """Unlink `path` if it is there (a file or a symlink; never what a symlink points at)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


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

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        remove(tmp)
        raise
    fsync_dir(path.parent)


def replace_link(link: str | os.PathLike[str], target: str) -> None:
    """Point the symlink `link` at `target` all at once: a `<link>.tmp-<pid>-<random>` symlink renamed over
    it, then the directory fsynced, so readers and crashes see the old link or the new one, never none."""
    link = os.fspath(link)
    tmp = f"{link}.tmp-{os.getpid()}-{os.urandom(4).hex()}"
    os.symlink(target, tmp)
    try:
        os.rename(tmp, link)
    except BaseException:
        remove(tmp)
        raise
    fsync_dir(os.path.dirname(link) or ".")
