"""Writes that a crash cannot tear (temp file in the same directory, fsync, rename, fsync the dir), and
none of them through a symlink: the temp files are new (O_EXCL), logs are opened with O_NOFOLLOW."""
from __future__ import annotations

import os
import stat

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

    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp creates the temp file with O_EXCL (never through a symlink), and the rename replaces a
    # symlink at `path` itself rather than writing where it points.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), mode)  # the file we opened, not whatever the name holds by now
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(path.parent)


def append_private(path: str, text: str) -> None:
    """Append `text` to the log at `path`, created 0600 (a log may quote prompts). Only into a regular
    file of Lattice's own: a symlink, a hard link to another file, a FIFO there is an OSError, never
    written into. One write(2) with O_APPEND: concurrent appenders do not interleave within it."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                 0o600)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
            raise OSError(f"{path} is not a log file of Lattice's own (a hard link, a FIFO or a device)")
        os.write(fd, text.encode("utf-8", "backslashreplace"))
    finally:
        os.close(fd)


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
