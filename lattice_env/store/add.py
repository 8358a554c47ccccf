"""Adding a path to the store: built aside, sealed (normalised, hashed, manifest written, read-only, on
disk), then renamed into place — so a final name *means* complete, whatever crashed when. A per-name
lock with check-again-inside makes concurrent builds of one path give one path."""
from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any, Callable

from ..errors import LatticeError
from ..fsutil import fsync_dir, fsync_path
from .names import FORMAT, root_dir, store_name
from .tree import DIR_MODE, FILE_MODE, MANIFEST, MTIME, canonical_json, remove_tree, scan, tree_hash


def add(drv: dict[str, Any], builder: Callable[[Path], None], root: Path | None = None,
        tree: str | None = None) -> Path:
    """The store path of `drv`, built by `builder(tmpdir)` unless it already exists. With `tree`, what
    the builder wrote must hash to it (a path unpacked from a cache: its signed tree hash), or nothing
    is added.

    Hold a `roots.temp_root` for the path while you use it, or a concurrent gc may collect it."""
    root = root_dir(root)
    name = store_name(drv)
    final = root / name
    if os.path.lexists(final):  # fast path: a final name is complete by definition
        return final
    from ..flock import file_lock

    root.mkdir(parents=True, exist_ok=True)
    with file_lock(root / ".locks" / f"{name}.lock"):
        if os.path.lexists(final):
            return final
        for ref in drv["references"]:
            if not (root / ref).is_dir():
                raise LatticeError(f"{name}: referenced store path {ref} does not exist")
        _remove_stale_temps(root, name)  # we hold the lock, so no one else is building them
        tmp = root / f".tmp-{name}-{os.getpid()}-{os.urandom(4).hex()}"
        tmp.mkdir(mode=0o755)
        try:
            builder(tmp)
            _seal(tmp, drv, name, root, tree)
            try:
                os.rename(tmp, final)
            except OSError as exc:  # only if someone ignored the lock; theirs is as good as ours
                if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
                remove_tree(tmp)
        except BaseException:
            remove_tree(tmp)
            raise
        fsync_dir(root)
    return final


class TreeMismatch(LatticeError):
    """What a builder wrote does not hash to the tree it was expected to."""


def _seal(tmp: Path, drv: dict[str, Any], name: str, root: Path, expected: str | None = None) -> None:
    """Normalise, hash, write the manifest, make read-only and durable: everything before the rename."""
    if os.path.lexists(tmp / MANIFEST):
        raise LatticeError(f"{name}: the builder wrote {MANIFEST}, which the store reserves for itself")
    # What a builder could leak: the directory it was given, or the final path it knows from store_path().
    places = {str(p) for p in (tmp, tmp.resolve(), root / name, root.resolve() / name)}
    needles = tuple(sorted(os.fsencode(p) for p in places))
    entries, _ = scan(tmp, normalise=True, needles=needles)
    tree = tree_hash(entries)
    if expected is not None and tree != expected:
        raise TreeMismatch(f"{name}: refused: its files hash to {tree}, not to the signed {expected}")
    manifest = {"format": FORMAT, "name": name, "derivation": drv, "references": drv["references"],
                "tree": tree, "entries": [list(e) for e in entries]}
    path = tmp / MANIFEST
    with open(path, "xb") as f:
        f.write(canonical_json(manifest) + b"\n")
    os.chmod(path, FILE_MODE)
    os.utime(path, (MTIME, MTIME))
    os.chmod(tmp, DIR_MODE)
    os.utime(tmp, (MTIME, MTIME))
    _make_durable(tmp, entries)


# Up to this many entries a tree is fsynced entry by entry; above it, one syncfs. A workflow path (its
# rendered config, agents, scripts: a few dozen entries) then costs only its own bytes, while syncfs would
# also flush every dirty page on the filesystem — seconds right after any large write, such as an npm
# install elsewhere (benchmarks/bench_build.py measured 3.4 s of a 3.9 s build). A closure of thousands
# of files is cheaper in one syncfs.
SYNC_EACH_LIMIT = 500


def _make_durable(top: Path, entries: list[Any]) -> None:
    """Everything under `top` on disk before the rename that publishes it."""
    if len(entries) > SYNC_EACH_LIMIT:
        _sync_filesystem(top)
        return
    for rel, kind, *_ in entries:
        if kind in ("file", "dir"):
            fsync_path(top / rel)
    fsync_path(top / MANIFEST)
    fsync_path(top)


def _sync_filesystem(path: Path) -> None:
    """Flush the whole filesystem holding `path` to disk in one call (syncfs)."""
    import ctypes

    fd = os.open(path, os.O_RDONLY)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if getattr(libc, "syncfs", None) is None or libc.syncfs(fd) != 0:
            os.sync()
    except OSError:
        os.sync()
    finally:
        os.close(fd)


def _remove_stale_temps(root: Path, name: str) -> None:
    for entry in root.glob(f".tmp-{name}-*"):
        if entry.name.rsplit("-", 2)[0] == f".tmp-{name}":
            remove_tree(entry)


