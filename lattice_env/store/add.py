"""Adding a path to the store: built aside, sealed (normalised, hashed, manifest written, read-only, on
disk), then renamed into place — so a final name *means* complete, whatever crashed when. A per-name
lock with check-again-inside makes concurrent builds of one path give one path."""
from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any, Callable, Mapping

from ..errors import LatticeError
from ..fsutil import fsync_dir, fsync_path
from ..paths import make_dirs
from .names import FORMAT, root_dir, store_name
from .tree import DIR_MODE, FILE_MODE, MANIFEST, MTIME, canonical_json, expected_mode, remove_tree, scan, tree_hash

Builder = Callable[[Path], Mapping[str, str] | None]  # None: the seal hashes every file


def add(drv: dict[str, Any], builder: Builder, root: Path | None = None, tree: str | None = None) -> Path:
    """The store path of `drv`, built by `builder(tmpdir)` unless it already exists. With `tree`, what
    the builder wrote must hash to it (a path unpacked from a cache: its signed tree hash), or nothing
    is added; such a builder may return the sha256 of the files it wrote, by relative path, hashed as
    it wrote them, and the seal takes those instead of reading the files again.

    Hold a `roots.temp_root` for the path while you use it, or a concurrent gc may collect it."""
    root = root_dir(root)
    name = store_name(drv)
    final = root / name
    if os.path.lexists(final):  # fast path: a final name is complete by definition
        return final
    from ..flock import file_lock

    make_dirs(str(root))
    with file_lock(root / ".locks" / f"{name}.lock"):
        if os.path.lexists(final):
            return final
        for ref in drv["references"]:
            if not (root / ref).is_dir():
                raise LatticeError(f"{name}: referenced store path {ref} does not exist")
        tmp = _build_aside(drv, builder, root, name, tree)
        try:
            os.rename(tmp, final)
        except OSError as exc:  # only if someone ignored the lock; theirs is as good as ours
            remove_tree(tmp)
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
        except BaseException:
            remove_tree(tmp)
            raise
        fsync_dir(root)
    return final


def _build_aside(drv: dict[str, Any], builder: Builder, root: Path, name: str,
                 tree: str | None = None) -> Path:
    """`builder` run in a fresh `.tmp-<name>-…` directory, sealed (with `tree`: only if it hashes to
    it); removed again if anything fails. The caller holds the name lock."""
    _remove_stale_temps(root, name)  # we hold the lock, so no one else is building them
    tmp = root / f".tmp-{name}-{os.getpid()}-{os.urandom(4).hex()}"
    tmp.mkdir(mode=0o755)
    try:
        written = builder(tmp)
        _seal(tmp, drv, name, root, tree, written if tree is not None else None)
    except BaseException:
        remove_tree(tmp)
        raise
    return tmp


def replace(drv: dict[str, Any], builder: Builder, root: Path | None = None,
            expect_tree: str | None = None) -> Path:
    """Build `drv` again and put the result in place of its existing (damaged) store path. It is built
    aside and sealed as `add` does, under the same name lock; with `expect_tree` it must come out with
    that tree hash (the one the old manifest recorded), or nothing is replaced. The damaged path is then
    renamed aside (`.trash-…`, which gc also cleans up) and the new one renamed in."""
    root = root_dir(root)
    name = store_name(drv)
    final = root / name
    from ..flock import file_lock
    from .manifest import read_manifest

    with file_lock(root / ".locks" / f"{name}.lock"):
        tmp = _build_aside(drv, builder, root, name)
        try:
            tree = read_manifest(tmp)["tree"]
            if expect_tree is not None and tree != expect_tree:
                raise LatticeError(f"{name}: rebuilt from its derivation, it is not what was sealed (tree "
                                   f"{tree}, recorded {expect_tree}); the damaged path is left as it is")
            trash = root / f".trash-{name}-{os.getpid()}-{os.urandom(4).hex()}"
            if os.path.lexists(final):
                os.rename(final, trash)
            os.rename(tmp, final)
        except BaseException:
            remove_tree(tmp)
            raise
        fsync_dir(root)
    remove_tree(trash)
    return final


def reseal(path: Path, entries: list[Any]) -> None:
    """Give every entry of `path` the modes and mtime of the sealed layout again, as the manifest's
    `entries` record them (for a path whose content verifies, but whose modes or mtimes were moved)."""
    recorded = {e[0]: (e[1], bool(e[2])) for e in entries}
    for rel, (kind, _) in recorded.items():  # top-down: directories first, so all is reachable
        if kind == "dir":
            os.chmod(path / rel, DIR_MODE)
    for rel, (kind, executable) in recorded.items():
        target = path / rel
        if kind == "file":
            os.chmod(target, expected_mode(kind, executable))
        os.utime(target, (MTIME, MTIME), follow_symlinks=False)
    for rel in sorted((r for r, (k, _) in recorded.items() if k == "dir"), key=len, reverse=True):
        os.utime(path / rel, (MTIME, MTIME))  # deepest first: nothing below moves a parent's mtime after
    os.chmod(path / MANIFEST, FILE_MODE)
    os.utime(path / MANIFEST, (MTIME, MTIME))
    os.chmod(path, DIR_MODE)
    os.utime(path, (MTIME, MTIME))
    fsync_dir(path)


class TreeMismatch(LatticeError):
    """What a builder wrote does not hash to the tree it was expected to."""


def _seal(tmp: Path, drv: dict[str, Any], name: str, root: Path, expected: str | None = None,
          written: Mapping[str, str] | None = None) -> None:
    """Normalise, hash, write the manifest, make read-only and durable: everything before the rename.
    `written`: sha256s the unpacker of a signed path computed as it wrote (see `add`)."""
    if os.path.lexists(tmp / MANIFEST):
        raise LatticeError(f"{name}: the builder wrote {MANIFEST}, which the store reserves for itself")
    # What a builder could leak: the directory it was given, or the final path it knows from store_path().
    places = {str(p) for p in (tmp, tmp.resolve(), root / name, root.resolve() / name)}
    needles = tuple(sorted(os.fsencode(p) for p in places))
    entries, _ = scan(tmp, normalise=True, needles=needles, known=written)
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


