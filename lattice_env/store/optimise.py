"""`store optimise`: identical files across store paths become one inode, as `nix-store --optimise` does.

Every regular file is linked through `<store>/.links/<sha256>` (`<sha256>.x` for executables, so files that
differ only in mode are never merged). A file is replaced by an atomic rename of a fresh hard link over it,
so a reader sees the old inode or the new one, both with the same bytes. Where hard links cannot be made
(another filesystem, too many links) the file is simply left as it is."""
from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path

from .names import paths, root_dir
from .roots import gc_lock
from .tree import MTIME, hash_file

_CANNOT_LINK = {errno.EXDEV, errno.EMLINK, errno.EPERM, errno.EACCES}


def optimise(root: Path | None = None) -> int:
    """Hard-link identical files (same content and mode) across the store; return the bytes saved."""
    root = root_dir(root)
    if not root.is_dir():
        return 0
    links = root / ".links"
    links.mkdir(exist_ok=True)
    saved = 0
    with gc_lock(root):  # gc must not drop a .links entry or a path while we link to it
        for path in paths(root):
            for dirpath, _dirs, files in os.walk(path):
                todo = [t for t in (_plan(Path(dirpath) / name, links) for name in sorted(files)) if t]
                if todo:
                    saved += _replace_all(Path(dirpath), todo)
    return saved


def _plan(file: Path, links: Path) -> tuple[Path, Path, os.stat_result] | None:
    """`(file, .links entry, file's stat)` when `file` should become a link to that entry."""
    st = os.lstat(file)
    if not stat.S_ISREG(st.st_mode):
        return None
    link = links / (hash_file(file) + (".x" if st.st_mode & 0o111 else ""))
    try:
        have = os.lstat(link)
    except FileNotFoundError:
        try:
            os.link(file, link)  # the first of its kind becomes the shared copy
        except OSError as exc:
            if exc.errno not in _CANNOT_LINK and exc.errno != errno.EEXIST:
                raise
        return None
    if (have.st_dev, have.st_ino) == (st.st_dev, st.st_ino):
        return None
    if not stat.S_ISREG(have.st_mode) or stat.S_IMODE(have.st_mode) != stat.S_IMODE(st.st_mode) \
            or have.st_size != st.st_size:
        return None  # never merge files that differ in mode (or a tampered .links entry)
    return file, link, st


def _replace_all(directory: Path, todo: list[tuple[Path, Path, os.stat_result]]) -> int:
    """Rename a fresh hard link over each file, with the (read-only) directory writable meanwhile."""
    saved = 0
    mode = stat.S_IMODE(os.lstat(directory).st_mode)
    os.chmod(directory, mode | 0o200)
    try:
        for file, link, st in todo:
            tmp = link.parent / f".tmp-{os.getpid()}-{secrets.token_hex(4)}"
            try:
                os.link(link, tmp)
                os.rename(tmp, file)
            except OSError as exc:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                if exc.errno in _CANNOT_LINK:
                    continue
                raise
            saved += st.st_size if st.st_nlink == 1 else 0
    finally:
        os.chmod(directory, mode)
        os.utime(directory, (MTIME, MTIME))
    return saved
