"""The store: immutable, input-addressed directories, built aside and renamed into place.

A path's name is the hash of everything that went into it (its derivation), so the name alone says whether
a build is needed: the no-op path is one stat and imports nothing heavy. A path appears under its final
name only through rename(), after it is complete, read-only and on disk, so a final name *means* complete,
whatever crashed when. The format is documented in store/FORMAT.md; `storegc` collects, `storeopt`
deduplicates, `storetree` hashes and verifies."""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from .errors import LatticeError
from .fsutil import fsync_dir, fsync_path
from .storetree import (DIR_MODE, FILE_MODE, MANIFEST, MTIME, canonical_json, remove_tree, scan,
                        tree_hash, tree_size)

FORMAT = 1
ALPHABET = "0123456789abcdfghijklmnpqrsvwxyz"  # Nix's base32: no e, o, u, t
HASH_CHARS = 32  # 160 bits
_NAME = r"[A-Za-z0-9+_?=][A-Za-z0-9+._?=-]{0,199}"
NAME_RE = re.compile(_NAME)
STORE_NAME_RE = re.compile(rf"[{ALPHABET}]{{{HASH_CHARS}}}-{_NAME}")


def store_root() -> Path:
    from .paths import data_dir

    return data_dir() / "store"


def base32(digest: bytes) -> str:
    """The first 160 bits of `digest`, most significant first, 5 bits per character of ALPHABET."""
    number = int.from_bytes(digest[:20], "big")
    return "".join(ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(HASH_CHARS)))


def derivation(name: str, kind: str, inputs: dict[str, Any], references: Iterable[str | Path] = ()) -> dict[str, Any]:
    """Everything that determines a store path, as data. `references` are the store paths it depends on."""
    if not NAME_RE.fullmatch(name):
        raise LatticeError(f"invalid store path name {name!r}: use letters, digits and + . _ ? = - "
                           "(not first: . or -), at most 200 characters")
    if not kind or not NAME_RE.fullmatch(kind):
        raise LatticeError(f"invalid store path kind {kind!r}")
    refs = sorted({Path(r).name for r in references})
    for ref in refs:
        if not STORE_NAME_RE.fullmatch(ref):
            raise LatticeError(f"{name}: reference {ref!r} is not a store path name")
    drv = {"format": FORMAT, "name": name, "kind": kind, "inputs": inputs, "references": refs}
    try:
        canonical_json(drv)
    except (TypeError, ValueError) as exc:
        raise LatticeError(f"{name}: inputs cannot be hashed: {exc}") from None
    return drv


def store_name(drv: dict[str, Any]) -> str:
    """`<hash>-<name>`: the hash of the derivation's canonical JSON, then its name."""
    return base32(hashlib.sha256(canonical_json(drv)).digest()) + "-" + str(drv["name"])


def store_path(drv: dict[str, Any], root: Path | None = None) -> Path:
    return (root or store_root()) / store_name(drv)


def add(drv: dict[str, Any], builder: Callable[[Path], None], root: Path | None = None) -> Path:
    """The store path of `drv`, built by `builder(tmpdir)` unless it already exists.

    Hold a `storegc.temp_root` for the path while you use it, or a concurrent gc may collect it."""
    root = root or store_root()
    name = store_name(drv)
    final = root / name
    if os.path.lexists(final):  # fast path: a final name is complete by definition
        return final
    from .locks import file_lock

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
            _seal(tmp, drv, name, root)
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


def _seal(tmp: Path, drv: dict[str, Any], name: str, root: Path) -> None:
    """Normalise, hash, write the manifest, make read-only and durable: everything before the rename."""
    if os.path.lexists(tmp / MANIFEST):
        raise LatticeError(f"{name}: the builder wrote {MANIFEST}, which the store reserves for itself")
    # What a builder could leak: the directory it was given, or the final path it knows from store_path().
    places = {str(p) for p in (tmp, tmp.resolve(), root / name, root.resolve() / name)}
    needles = tuple(sorted(os.fsencode(p) for p in places))
    entries, _ = scan(tmp, normalise=True, needles=needles)
    manifest = {"format": FORMAT, "name": name, "derivation": drv, "references": drv["references"],
                "tree": tree_hash(entries), "entries": [list(e) for e in entries]}
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


def paths(root: Path | None = None) -> list[Path]:
    """Every store path (final names only), sorted."""
    root = root or store_root()
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if STORE_NAME_RE.fullmatch(p.name))


def resolve(arg: str | Path, root: Path | None = None) -> Path:
    """A store path given by full path (even through a symlink) or by its `<hash>-<name>` basename."""
    root = root or store_root()
    text = str(arg)
    if "/" in text:
        resolved = Path(text).expanduser().absolute()
        real = resolved.resolve()
        for base in (root.absolute(), root.resolve()):
            for candidate in (resolved, real):
                if candidate.parent == base:
                    text = candidate.name
                    break
            else:
                continue
            break
        else:
            raise LatticeError(f"{arg} is not a store path (store: {root})")
    if not STORE_NAME_RE.fullmatch(text) or not (root / text).is_dir():
        raise LatticeError(f"no store path {text} in {root}")
    return root / text


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        data = json.loads((path / MANIFEST).read_bytes())
    except FileNotFoundError:
        raise LatticeError(f"{path.name}: {MANIFEST} is missing") from None
    except (OSError, ValueError) as exc:
        raise LatticeError(f"{path.name}: {MANIFEST} is unreadable: {exc}") from None
    if not isinstance(data, dict):
        raise LatticeError(f"{path.name}: {MANIFEST} is not an object")
    return data


def references(path: Path) -> list[str]:
    """The store names `path` depends on; none if its manifest is unreadable (verify reports that)."""
    try:
        refs = read_manifest(path).get("references", [])
    except LatticeError:
        return []
    return [r for r in refs if isinstance(r, str) and STORE_NAME_RE.fullmatch(r)]


def ls(root: Path | None = None) -> list[dict[str, Any]]:
    """One row per store path: name, path, kind, apparent size in bytes, references."""
    rows = []
    for path in paths(root):
        try:
            kind = read_manifest(path)["derivation"]["kind"]
        except (LatticeError, KeyError, TypeError):
            kind = None
        rows.append({"name": path.name, "path": str(path), "kind": kind, "size": tree_size(path),
                     "references": references(path)})
    return rows


@dataclass(frozen=True, order=True)
class Problem:
    """One thing `verify` found wrong with a store path."""

    name: str
    kind: str  # manifest | modified | added | removed | mode | reference
    detail: str

    def __str__(self) -> str:
        return f"{self.name}: {self.kind}: {self.detail}"


def verify(targets: Iterable[str | Path] | None = None, root: Path | None = None) -> list[Problem]:
    """Recompute every given store path (all by default) against its manifest; return what differs."""
    root = root or store_root()
    chosen = paths(root) if targets is None else [resolve(t, root) for t in targets]
    problems: list[Problem] = []
    for path in chosen:
        problems.extend(sorted(_verify_one(path, root)))
    return problems


def _verify_one(path: Path, root: Path) -> list[Problem]:
    name = path.name
    try:
        manifest = read_manifest(path)
        drv = manifest["derivation"]
        recorded = {e[0]: (e[1], bool(e[2]), e[3]) for e in manifest["entries"]}
        consistent = tree_hash([(p, *v) for p, v in sorted(recorded.items())]) == manifest["tree"]
        derived = store_name(drv) == name == manifest["name"]
    except (LatticeError, KeyError, TypeError, IndexError, ValueError) as exc:
        return [Problem(name, "manifest", str(exc).removeprefix(f"{name}: ") or "malformed")]
    problems = []
    if not consistent:
        problems.append(Problem(name, "manifest", "entries do not match the recorded tree hash"))
    if not derived:
        problems.append(Problem(name, "manifest", "derivation does not hash to this path's name"))
    entries, modes = scan(path)
    actual = {e[0]: (e[1], e[2], e[3]) for e in entries}
    for rel in sorted(recorded.keys() - actual.keys()):
        problems.append(Problem(name, "removed", rel))
    for rel in sorted(actual.keys() - recorded.keys()):
        problems.append(Problem(name, "added", rel))
    for rel in sorted(recorded.keys() & actual.keys()):
        (kind, exe, digest), (kind2, exe2, digest2) = recorded[rel], actual[rel]
        if kind != kind2 or digest != digest2:
            problems.append(Problem(name, "modified", rel if kind == kind2 else f"{rel} ({kind} → {kind2})"))
        elif exe != exe2:
            problems.append(Problem(name, "mode", f"{rel} executable bit {'removed' if exe else 'added'}"))
    for rel, have, want in modes:
        if actual.get(rel, ("", False, ""))[1] == recorded.get(rel, ("", None, ""))[1]:
            problems.append(Problem(name, "mode", f"{rel} is {have:04o}, expected {want:04o}"))
    for rel, want in ((".", DIR_MODE), (MANIFEST, FILE_MODE)):
        have = os.lstat(path / rel).st_mode & 0o7777
        if have != want:
            problems.append(Problem(name, "mode", f"{rel} is {have:04o}, expected {want:04o}"))
    for ref in manifest.get("references", []):
        if not (root / ref).is_dir():
            problems.append(Problem(name, "reference", f"{ref} is missing from the store"))
    return problems
