"""A file of a shared workflow as git records one — its bytes and whether it is executable — from the
source's tree to the files `init --from` and `update` write. Of a source's mode only the owner's x bit
is taken (git's own rule), and a file is written 0755 or 0644 whatever the source said: no setuid bit,
nothing group- or world-writable, nothing private, comes from a stranger's tree."""
from __future__ import annotations

import os
import stat
from typing import NamedTuple

from ..fsutil import read_regular_mode


class File(NamedTuple):
    data: bytes
    executable: bool = False

    @property
    def mode(self) -> int:
        return 0o755 if self.executable else 0o644


def read_file(path: str | os.PathLike[str], limit: int | None = None) -> File | None | bool:
    """The regular file at `path` (fsutil.read_regular's rules: no symlink followed; None when absent,
    False when it is no regular file of at most `limit` bytes)."""
    found = read_regular_mode(path, limit)
    if not isinstance(found, tuple):
        return found
    return File(found[0], bool(found[1] & stat.S_IXUSR))


def merge_mode(base: bool | None, theirs: bool, mode: int) -> tuple[int, str]:
    """The mode `lattice update` gives the user's file (now `mode`) whose base and upstream versions are
    executable or not (`base` None: the base had no such file), and, when the user's own change of the
    mode is kept against upstream's, why (else "")."""
    ours = bool(mode & stat.S_IXUSR)
    if ours == theirs or base == theirs:  # the user's file has upstream's bit, or upstream kept the base's
        return mode, ""
    # untouched since `init --from` wrote it 0644 or 0755; group and world write are a umask's, not a choice
    if base is not None and mode & ~0o022 == File(b"", base).mode:
        return (mode | (mode & 0o444) >> 2) if theirs else mode & ~0o111, ""
    made = "executable" if theirs else "not executable"
    return mode, f"upstream made it {made}, but you changed its mode to {mode:04o}: yours stays"
