"""The builder's identity, an input of every workflow path (store/FORMAT.md, "Builder"): a sha256 over
every file of the lattice_env package and every template, as Nix takes the builder as an input.

Reading and hashing those ~200 files was most of a no-op build's own work, so each file's content hash
is remembered by its stat stamp (stamps.py) in `<data>/cache/builder-<install>.json`, one file per
installed copy of lattice. A no-op build stats the files and reads none; an edited, reinstalled or
freshly written file is hashed again. The cache is only ever an optimisation: an unreadable or
malformed one is ignored, one that cannot be written is not used, and the hash is the same either way."""
from __future__ import annotations

import hashlib
import json
import os
import time

from .. import paths
from ..stamps import settled, stamp

_PACKAGE = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))


def builder_files() -> list[tuple[str, str]]:
    """Every file that can shape what a build writes, as (name, path): the lattice_env package's own
    files (`lattice_env/…`) and the templates (`templates/…`), wherever they are installed (a wheel
    ships the templates inside the package, an editable install beside it). Bytecode is not source."""
    from .. import templates as shipped  # found as the import system finds it (importlib.resources costs 3 ms)

    templates = os.path.realpath(os.path.dirname(shipped.__file__ or ""))
    found: list[tuple[str, str]] = []
    for prefix, top in (("lattice_env", _PACKAGE), ("templates", templates)):
        for directory, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__" and os.path.join(directory, d) != templates)
            rel = os.path.relpath(directory, top).replace(os.sep, "/")
            for name in files:
                if not name.endswith((".pyc", ".pyo")):
                    found.append((f"{prefix}/{name}" if rel == "." else f"{prefix}/{rel}/{name}",
                                  os.path.join(directory, name)))
    return sorted(found)


def builder_hash() -> str:
    """sha256 over the name and content hash of each of `builder_files()`: a change to any of them is a
    new workflow derivation."""
    install = hashlib.sha256(_PACKAGE.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return hash_files(builder_files(), os.path.join(paths.data_root(), "cache", f"builder-{install}.json"))


def hash_files(files: list[tuple[str, str]], cache: str) -> str:
    """sha256 over `name \\0 sha256(content)` of each (name, path) of `files`, in order; each content
    hash is taken from `cache` when the file's stamp is the one remembered there, and remembered there
    once the stamp has settled."""
    known = _read(cache)
    remembered: dict[str, object] = {}
    now = time.time()
    digest = hashlib.sha256()
    for name, path in files:
        st = os.stat(path)
        key = stamp(st)
        entry = known.get(path)
        content = _digest(entry) if type(entry) is list and entry[:4] == key else None
        if content is None:
            with open(path, "rb") as f:
                content = hashlib.sha256(f.read()).digest()
        if settled(st, now):
            remembered[path] = [*key, content.hex()]
        digest.update(name.encode("utf-8", "surrogateescape") + b"\0" + content)
    if remembered != known:
        _write(cache, remembered)
    return digest.hexdigest()


def _read(cache: str) -> dict[str, object]:
    """The remembered entries, `path: [*stamp, sha256 hex]`; each is checked when it is used."""
    try:
        with open(cache, "rb") as f:
            data = json.loads(f.read())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _digest(entry: list[object]) -> bytes | None:
    """The content hash a well-formed entry remembers, else None."""
    if len(entry) != 5 or type(entry[4]) is not str or len(entry[4]) != 64:
        return None
    try:
        digest = bytes.fromhex(entry[4])
    except ValueError:
        return None
    return digest if len(digest) == 32 else None


def _write(cache: str, remembered: dict[str, object]) -> None:
    from pathlib import Path

    from ..fsutil import atomic_write

    try:
        atomic_write(Path(cache), json.dumps(remembered, sort_keys=True).encode())
    except OSError:  # a read-only or full data dir: the next build hashes the files again
        pass
