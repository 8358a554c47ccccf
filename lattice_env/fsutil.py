"""Writes that a crash cannot tear (temp file in the same directory, fsync, rename, fsync the dir), and
none of them through a symlink: temp files are new (O_EXCL), logs are opened with O_NOFOLLOW.

A full disk, a read-only filesystem or a refused permission while writing is an ordinary fault: the
temporary files (and the directories made for them) are removed, nothing was replaced, and the error is
one line naming the file (errors.FilesystemError)."""
from __future__ import annotations

import os
import stat

from .errors import FilesystemError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import NoReturn

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


def fsync_dir(directory: str | os.PathLike[str]) -> None:
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _reraise(exc: BaseException, path: str, doing: str = "write") -> NoReturn:
    if isinstance(exc, OSError):
        FilesystemError.reraise(exc, path, doing)
    raise exc


class Staged:
    """Files written beside their targets under temporary names, each fsynced, then renamed into place by
    `commit` — all of them, or one at a time where the caller orders the renames (generate.py). A failure
    while writing replaces nothing: leaving the `with` block removes every temp file not committed and
    every directory made for them that is still empty. `atomic_write` is the one-file case."""

    def __init__(self) -> None:
        self.pending: dict[str, str] = {}  # target → its temp file, in the order written
        self.made: list[str] = []  # directories created for the targets, outermost first

    def __enter__(self) -> Staged:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()

    def write(self, path: str | os.PathLike[str], data: bytes, mode: int = 0o644) -> None:
        """Write `data` to a temp file beside `path` (its directory made if needed), fsynced."""
        import tempfile  # deferred: rollback and switch only replace links

        target = os.fspath(path)
        directory = os.path.dirname(target) or "."
        try:
            self._makedirs(directory)
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(target)}.", suffix=".tmp")
        except OSError as exc:
            _reraise(exc, target)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fchmod(f.fileno(), mode)  # the file we opened, not whatever the name holds by now
                os.fsync(f.fileno())
        except BaseException as exc:
            remove(tmp)
            _reraise(exc, target)
        if target in self.pending:
            remove(self.pending[target])
        self.pending[target] = tmp

    def commit(self, path: str | os.PathLike[str] | None = None) -> None:
        """Rename the temp file of `path` (default: every pending one, in the order written) over its
        target, then fsync the directories, so each target holds its old bytes or its new ones."""
        targets = list(self.pending) if path is None else [os.fspath(path)]
        directories: dict[str, None] = {}
        for target in targets:
            try:
                os.replace(self.pending[target], target)
            except OSError as exc:
                _reraise(exc, target)
            del self.pending[target]
            directories[os.path.dirname(target) or "."] = None
        for directory in directories:
            fsync_dir(directory)
        if not self.pending:
            self.made.clear()  # they hold committed files now

    def discard(self) -> None:
        """Remove every temp file not committed, and the directories made for them if still empty."""
        for tmp in self.pending.values():
            remove(tmp)
        self.pending.clear()
        for directory in reversed(self.made):
            try:
                os.rmdir(directory)
            except OSError:  # it holds something now (committed files): it stays
                pass
        self.made.clear()

    def _makedirs(self, directory: str) -> None:
        missing = []
        while not os.path.isdir(directory):
            missing.append(directory)
            parent = os.path.dirname(directory)
            if parent == directory:
                break
            directory = parent
        from .paths import dir_mode  # deferred: only when a directory must be made

        for d in reversed(missing):
            try:
                os.mkdir(d, dir_mode(d))
            except FileExistsError:  # made meanwhile by someone else: theirs, not ours to remove
                continue
            self.made.append(d)


def read_regular(path: str | os.PathLike[str], limit: int | None = None) -> bytes | None | bool:
    """The bytes of the regular file at `path`, never following a symlink (a planted link could point
    anywhere); None when there is nothing there, False for anything else — a symlink, a directory, a
    fifo (opened without blocking) — or a file over `limit` bytes."""
    found = read_regular_mode(path, limit)
    return found[0] if isinstance(found, tuple) else found


def read_regular_mode(path: str | os.PathLike[str], limit: int | None = None) -> tuple[bytes, int] | None | bool:
    """`read_regular`, with the file's st_mode: of the file opened, so the mode and the bytes are one file's."""
    import errno  # deferred: rollback and switch read no files

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return False
        FilesystemError.reraise(exc, path, "read")
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or (limit is not None and st.st_size > limit):
            return False
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks), st.st_mode
    finally:
        os.close(fd)


def atomic_write(path: Path | str, data: bytes, mode: int = 0o644) -> None:
    """Replace `path` with `data` all at once: readers see the old file or the new one, never half."""
    with Staged() as staged:
        staged.write(path, data, mode)
        staged.commit()


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
    tmp = f"{link}.tmp-{os.getpid()}-{os.urandom(4).hex()}"
    try:
        os.symlink(target, tmp)
        try:
            os.rename(tmp, link)
        except BaseException:
            remove(tmp)
            raise
    except OSError as exc:
        _reraise(exc, link, "update")
    fsync_dir(os.path.dirname(link) or ".")
