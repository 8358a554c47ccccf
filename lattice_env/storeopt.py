"""`store optimise`: identical files across store paths become one inode, as `nix-store --optimise` does.

Every regular file is linked through `<store>/.links/<sha256>` (`<sha256>.x` for executables, so files that
differ only in mode are never merged). A file is replaced by an atomic rename of a fresh hard link over it,
so a reader sees the old inode or the new one, both with the same bytes. Where hard links cannot be made
(another filesystem, too many links) the file is simply left as it is."""
from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path

from .store import paths, store_root
from .storegc import gc_lock
from .storetree import MTIME, hash_file

_CANNOT_LINK = {errno.EXDEV, errno.EMLINK, errno.EPERM, errno.EACCES}


def optimise(root: Path | None = None) -> int:
    """Hard-link identical files (same content and mode) across the store; return the bytes saved."""
    root = root or store_root()
    if not root.is_dir():
        return 0
    links = root / ".links"
    links.mkdir(exist_ok=True)
    saved = 0
    with gc_lock(root):  # gc must not drop a .links entry or a path while we link to it
        for path in paths(root):
            for dirpath, _dirs, files in os.walk(path):
                for name in sorted(files):
                    saved += _link_one(Path(dirpath) / name, links)
    return saved


def _link_one(file: Path, links: Path) -> int:
    st = os.lstat(file)
    if not stat.S_ISREG(st.st_mode):
        return 0
    key = hash_file(file) + (".x" if st.st_mode & 0o111 else "")
    link = links / key
    try:
        have = os.lstat(link)
    except FileNotFoundError:
        try:
            os.link(file, link)
        except OSError as exc:
            if exc.errno not in _CANNOT_LINK and exc.errno != errno.EEXIST:
                raise
        return 0
    if (have.st_dev, have.st_ino) == (st.st_dev, st.st_ino):
        return 0
    if not stat.S_ISREG(have.st_mode) or stat.S_IMODE(have.st_mode) != stat.S_IMODE(st.st_mode) \
            or have.st_size != st.st_size:
        return 0  # never merge files that differ in mode (or a tampered .links entry)
    tmp = links / f".tmp-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        os.link(link, tmp)
    except OSError as exc:
        if exc.errno in _CANNOT_LINK:
            return 0
        raise
    parent = file.parent
    parent_mode = stat.S_IMODE(os.lstat(parent).st_mode)
    os.chmod(parent, parent_mode | 0o200)
    try:
        os.rename(tmp, file)
    except OSError as exc:
        os.unlink(tmp)
        if exc.errno in _CANNOT_LINK:
            return 0
        raise
    finally:
        os.chmod(parent, parent_mode)
        os.utime(parent, (MTIME, MTIME))
    return st.st_size if st.st_nlink == 1 else 0
