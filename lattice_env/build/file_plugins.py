"""`file:` plugins — the design's `file:../my-local-plugin`, a plugin under development beside the
project. What such a path may name, and what of it enters the store:

- where: the project or a directory beside it (config/confine.py, `beside=True`); absolute paths,
  `..` above the project's parent and symlinks that lead further are refused;
- what: an npm package, a directory whose package.json has a name and a version, taken as npm would
  publish it — the files real `npm pack --dry-run` lists (its `files`, `.npmignore`, npm's own rules;
  npm packs no symlink) — never a whole directory tree because a path said so;
- how: each listed file is opened without following a symlink at any step (nothing swapped in after
  npm listed it can lead out), and must be a regular file readable by others, in directories readable
  by others: the store is readable by every user of the machine, so a private file copied there would be
  published. The bytes read once serve both the lock's content hash and the copy into the store.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any, NamedTuple

from ..config.confine import PathError, confine, stat_of
from ..errors import LatticeError

MANIFEST = "package.json"


class PackedFile(NamedTuple):
    path: str  # relative to the package, "/"-separated, as npm lists it
    executable: bool
    data: bytes


def locate(root: Path, relpath: str) -> Path:
    """The package directory `file:relpath` names from the project `root`; PathError (one line) for a
    place it may not be or for something that is not an npm package. Reads package.json, nothing else."""
    directory = confine(root, relpath, "the project", beside=True)
    st = stat_of(directory, relpath)
    if st is None:
        raise PathError(f"{relpath} does not exist")
    if not stat.S_ISDIR(st.st_mode):
        raise PathError(f"{relpath} is not a directory (a file: plugin is an npm package directory)")
    if not os.path.lexists(directory / MANIFEST):
        raise PathError(f"{relpath} is not an npm package (it has no {MANIFEST})")
    data = _read(directory, MANIFEST).data
    try:
        manifest = json.loads(data)
    except ValueError as exc:  # UnicodeDecodeError included
        raise PathError(f"{relpath}/{MANIFEST} is not valid JSON ({exc})") from None
    if not (isinstance(manifest, dict) and isinstance(manifest.get("name"), str) and manifest["name"]
            and isinstance(manifest.get("version"), str) and manifest["version"]):
        raise PathError(f"{relpath}/{MANIFEST} needs a name and a version (npm packs nothing without them)")
    return directory


def packed_files(loaded: Any, index: int) -> list[PackedFile]:
    """What npm would pack of `plugins[index]` (a `file:` plugin), sorted by path, each file read once.
    Any problem is a LatticeError located at `plugins[index]`."""
    plugin = loaded.workflow.plugins[index]
    where = f"{loaded.config.where(('plugins', index))}: plugins[{index}]: '{plugin.raw}'"
    try:
        directory = locate(Path(loaded.workflow.root), plugin.name)
        return [_read(directory, rel) for rel in _npm_pack_list(directory)]
    except PathError as exc:
        raise LatticeError(f"{where}: {exc}") from None
    except LatticeError as exc:
        raise LatticeError(f"{where}: {exc}") from None


def locked_files(loaded: Any, lock: dict[str, Any]) -> dict[str, list[PackedFile]]:
    """Each `file:` plugin's packed files by short name, checked against the content hash the lock
    recorded: the same bytes go into the store, or none (it changed since it was locked)."""
    out = {}
    for index, plugin in enumerate(loaded.workflow.plugins):
        if plugin.kind == "file":
            files = packed_files(loaded, index)
            if content_hash(files)[0] != lock["sources"][plugin.raw]["sha256"]:
                raise LatticeError(f"{loaded.config.where(('plugins', index))}: plugins[{index}]: "
                                   f"'{plugin.raw}' changed while it was being built; build again")
            out[plugin.short_name] = files
    return out


def copy_files(directory: Path) -> list[PackedFile]:
    """The files of a plugin's copy inside a store path (regular files only: the store made them)."""
    found = []
    for dirpath, _dirs, names in os.walk(directory):
        for name in names:
            full = Path(dirpath, name)
            st = os.lstat(full)
            if stat.S_ISREG(st.st_mode):
                found.append(PackedFile(full.relative_to(directory).as_posix(), bool(st.st_mode & 0o111),
                                        full.read_bytes()))
    return sorted(found, key=lambda f: f.path)


def content_hash(files: list[PackedFile]) -> tuple[str, int]:
    """sha256 over the sorted (path, kind, content hash) of the packed files, so any edit, rename, new
    file or executable bit gives a new hash; and how many files there are."""
    rows = sorted([f.path, "exec" if f.executable else "file", hashlib.sha256(f.data).hexdigest()]
                  for f in files)
    return hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode()).hexdigest(), len(rows)


def write_files(files: list[PackedFile], dest: Path) -> None:
    """The packed files under `dest` (a fresh directory being built into the store)."""
    for f in files:
        target = dest.joinpath(*f.path.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "xb") as out:
            out.write(f.data)
        target.chmod(0o755 if f.executable else 0o644)


def _npm_pack_list(directory: Path) -> list[str]:
    """The paths real npm would pack from `directory` (no script runs, no network): npm's answer for a
    directory whose every entry has the stamps it had when npm last answered (stamps.py) is remembered,
    so a no-op build or `status` of a workflow with a `file:` plugin runs no npm (npm takes ~0.6 s)."""
    from .. import paths
    from ..fsutil import atomic_write

    key, settled = _tree_key(directory)
    cache = Path(paths.data_root(), "cache", "npm-pack",
                 hashlib.sha256(os.fsencode(os.path.abspath(directory))).hexdigest()[:32] + ".json")
    try:
        remembered = json.loads(cache.read_bytes())
        if remembered.get("key") == key and isinstance(remembered.get("files"), list):
            return [str(f) for f in remembered["files"]]
    except (OSError, ValueError, AttributeError):
        pass
    from .npm import npm

    out = npm(["pack", "--dry-run", "--json", "--ignore-scripts"], cwd=directory, offline=True)
    try:
        listed = json.loads(out)[0]["files"]
        files = sorted({str(f["path"]) for f in listed})
    except (ValueError, LookupError, TypeError):
        raise LatticeError("npm pack --dry-run gave no file list") from None
    if settled:
        try:
            atomic_write(cache, json.dumps({"key": key, "files": files}).encode())
        except LatticeError:  # an unwritable data dir: npm runs again next time
            pass
    return files


def _tree_key(directory: Path) -> tuple[str, bool]:
    """A digest of every entry under `directory` (path, kind and stat stamp; symlinks not followed;
    `.git` and, unless package.json bundles dependencies, `node_modules` left out: npm packs neither), and
    whether every stamp has settled — only then may npm's answer be remembered under it."""
    import time

    from ..stamps import settled, stamp

    now = time.time()
    bundles = b"bundle" in (directory / MANIFEST).read_bytes() if (directory / MANIFEST).is_file() else False
    skip = {".git"} if bundles else {".git", "node_modules"}
    rows, all_settled = [], True
    for current, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not (current == str(directory) and d in skip))
        for name in [*dirs, *sorted(names)]:
            full = os.path.join(current, name)
            st = os.lstat(full)
            rows.append([os.path.relpath(full, directory), stat.S_IFMT(st.st_mode), stamp(st)])
            all_settled = all_settled and settled(st, now)
    from .node import system_node  # npm's own rules may change with its version

    rows.append(["npm", system_node()["npm"]])
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest(), all_settled


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


def _read(directory: Path, rel: str) -> PackedFile:
    """`directory/rel`, opened one component at a time without following any symlink; it must be a
    regular file readable by others, in directories readable by others."""
    parts = rel.split("/")
    if rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise PathError(f"'{rel}' is not a path inside the package")
    fd = _open(os.fspath(directory), os.O_RDONLY | os.O_DIRECTORY, None, "the package directory")
    try:
        _check_mode(fd, ".", directory=True)
        for i, part in enumerate(parts[:-1]):
            inner = _open(part, _DIR_FLAGS, fd, "/".join(parts[:i + 1]))
            os.close(fd)
            fd = inner
            _check_mode(fd, "/".join(parts[:i + 1]), directory=True)
        file_fd = _open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, fd, rel)
    finally:
        os.close(fd)
    try:
        mode = _check_mode(file_fd, rel, directory=False)
        with os.fdopen(file_fd, "rb", closefd=False) as f:
            data = f.read()
    except OSError as exc:
        raise PathError(f"{rel} cannot be read: {exc.strerror or exc}") from None
    finally:
        os.close(file_fd)
    return PackedFile(rel, bool(mode & 0o111), data)


def _open(name: str, flags: int, dir_fd: int | None, shown: str) -> int:
    try:
        return os.open(name, flags, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise PathError(f"{shown} is a symlink (Lattice copies none: a symlink could lead out of "
                            f"the package)") from None
        if exc.errno == errno.ENOENT:
            raise PathError(f"{shown} does not exist") from None
        raise PathError(f"{shown} cannot be read: {exc.strerror or exc}") from None


def _check_mode(fd: int, shown: str, directory: bool) -> int:
    st = os.fstat(fd)
    if not directory and not stat.S_ISREG(st.st_mode):
        raise PathError(f"{shown} is not a regular file")
    if not st.st_mode & 0o004:
        what = "the package directory" if shown == "." else shown
        raise PathError(f"{what} is not readable by others (mode {stat.S_IMODE(st.st_mode):04o}); the store "
                        f"is readable by every user of this machine, so Lattice does not copy it there "
                        f"(chmod o+r it, or leave it out of the package)")
    return st.st_mode
