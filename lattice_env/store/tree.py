"""The content of a store path as data: each entry's type, executable bit and content hash.

One walk serves both ends of a path's life: it normalises a fresh build (read-only modes, fixed mtimes,
no special files, no trace of the store's own location) while hashing it for the manifest, and it re-reads a
finished path for `verify`. Sharing the code means what is hashed and what is checked cannot drift apart."""
from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..errors import LatticeError
from .seal import DIR_MODE, EXEC_MODE, FILE_MODE, MANIFEST, MTIME, MTIME_NS  # the sealed layout is defined once, there

Entry = tuple[str, str, bool, str]  # (relative posix path, "file" | "dir" | "symlink", executable, sha256)


def canonical_json(value: Any) -> bytes:
    """The one serialisation that is hashed: sorted keys, no spaces, UTF-8, no NaN."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def tree_hash(entries: Iterable[Entry]) -> str:
    return "sha256:" + hashlib.sha256(canonical_json([list(e) for e in entries])).hexdigest()


def expected_mode(kind: str, executable: bool) -> int:
    return EXEC_MODE if kind == "dir" or executable else FILE_MODE


def hash_file(path: Path | str, needles: tuple[bytes, ...] = ()) -> str:
    """sha256 of a file's content; raises if any of `needles` (e.g. the store's location) occurs in it."""
    h = hashlib.sha256()
    overlap = max((len(n) for n in needles), default=1) - 1
    tail = b""
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            if needles:
                window = tail + chunk
                for needle in needles:
                    if needle in window:
                        raise _location_error(path)
                tail = window[-overlap:] if overlap else b""
    return h.hexdigest()


def _location_error(where: Path | str) -> LatticeError:
    return LatticeError(f"build output {where} contains the store's own location; "
                        "store paths must be relocatable (use relative references)")


def scan(top: Path, *, normalise: bool = False, needles: tuple[bytes, ...] = (),
         known: Mapping[str, str] | None = None) -> tuple[list[Entry], list[tuple[str, int, int]]]:
    """Every entry under `top` except the top-level manifest, sorted by path.

    With `normalise`, fix modes and mtimes as they go (a fresh build) and reject what a store path may
    not contain. Otherwise also return `(path, actual, expected)` for every permission that differs
    from the read-only layout (a finished path being verified). `known`: the sha256 of files, by
    relative path, that whoever wrote them hashed on the way (a pull); they are not read again, nor
    searched for `needles` — those catch a builder writing down where it was built, and an unpacker's
    bytes are the signed ones, whatever store they land in."""
    known = known or {}
    entries: list[Entry] = []
    modes: list[tuple[str, int, int]] = []
    hashed: dict[tuple[int, int], str] = {}  # hard links (a pulled path's duplicates) are read once

    def visit(directory: str, prefix: str) -> None:
        with os.scandir(directory) as it:
            children = sorted(it, key=lambda e: e.name)
        for child in children:
            rel = prefix + child.name
            if rel == MANIFEST:
                continue
            if normalise:
                _check_name(rel)
            st = os.lstat(child.path)
            if stat.S_ISLNK(st.st_mode):
                target = os.fsencode(os.readlink(child.path))
                if any(n in target for n in needles):
                    raise _location_error(rel)
                entries.append((rel, "symlink", False, hashlib.sha256(target).hexdigest()))
                if normalise and st.st_mtime_ns != MTIME_NS:
                    os.utime(child.path, (MTIME, MTIME), follow_symlinks=False)
                continue
            if stat.S_ISDIR(st.st_mode):
                entry: Entry = (rel, "dir", False, "")
                entries.append(entry)
                if not normalise and (st.st_mode & 0o500) != 0o500:
                    modes.append((rel, stat.S_IMODE(st.st_mode), DIR_MODE))
                    continue  # unreadable: reported as a mode change, its content as removed
                visit(child.path, rel + "/")
            elif stat.S_ISREG(st.st_mode):
                executable = bool(st.st_mode & 0o111)
                inode = (st.st_dev, st.st_ino)
                try:
                    digest = known.get(rel) or (hashed[inode] if st.st_nlink > 1 and inode in hashed
                                                else hash_file(child.path, needles))
                except PermissionError:
                    digest = "unreadable"
                if st.st_nlink > 1:
                    hashed[inode] = digest
                entry = (rel, "file", executable, digest)
                entries.append(entry)
            else:
                if normalise:
                    raise LatticeError(f"build output {rel} is not a file, directory or symlink")
                entries.append((rel, "special", False, ""))
                continue
            want = expected_mode(entry[1], entry[2])
            if normalise and (stat.S_IMODE(st.st_mode) != want or st.st_mtime_ns != MTIME_NS
                              or entry[1] == "dir"):  # a directory's mtime moved as it was filled
                os.chmod(child.path, want)
                os.utime(child.path, (MTIME, MTIME))
            elif stat.S_IMODE(st.st_mode) != want:
                modes.append((rel, stat.S_IMODE(st.st_mode), want))

    visit(str(top), "")
    entries.sort(key=lambda e: e[0])
    return entries, modes


def _check_name(rel: str) -> None:
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        raise LatticeError(f"build output has a file name that is not UTF-8: {rel!r}") from None


def remove_tree(path: Path) -> None:
    """Delete a (read-only) tree: give directories their write bit back first, then rmtree."""
    if path.is_symlink() or not path.exists():
        path.unlink(missing_ok=True)
        return
    import shutil  # here: store names hash with this module, and a no-op build removes nothing

    for dirpath, _dirs, _files in os.walk(path):
        os.chmod(dirpath, 0o755)
    shutil.rmtree(path)


def tree_size(path: Path) -> int:
    """Apparent size of every regular file under `path`, in bytes."""
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            st = os.lstat(os.path.join(dirpath, name))
            if stat.S_ISREG(st.st_mode):
                total += st.st_size
    return total
