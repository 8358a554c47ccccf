"""A store path's seal: the layout `add` leaves it in, checked by a launch without reading a byte of it.

Sealing (add.py) makes every entry read-only (files 0444, executables and directories 0555) with the
fixed mtime 1. Any ordinary change breaks that: writing a file needs its write bit (or root), and moves
its mtime; adding, removing or renaming an entry moves its directory's mtime; `chmod u+w` is itself a
change of mode. So one `lstat` per entry tells a launch whether a path is still as it was sealed:
~0.1 ms for a workflow path; ~10 ms for opencode's closure of ~2,700 entries (380 MB: seconds to
hash); ~120 ms for one of ~25,000 with three plugins (launch/activation.py says who checks what). What
this cannot see is a change made to look sealed on purpose (mode and mtime put back by hand): `store
verify` and `doctor` re-hash every file against the manifest, and `lattice run` re-hashes the small
workflow path it executes (launch/run.py).

Only `os` and `stat`, str paths: `print-env` and `shell -c` check a seal on every call (no json, which
imports re; `run` reads the references from the manifest's canonical tail, below, the same way)."""
from __future__ import annotations

import os
import stat

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (hot path)
if TYPE_CHECKING:
    from typing import Iterator

FILE_MODE, EXEC_MODE, DIR_MODE = 0o444, 0o555, 0o555
MTIME = 1  # like Nix: every entry gets the same mtime, so nothing about *when* it was built survives
MANIFEST = "manifest.json"
MTIME_NS = MTIME * 1_000_000_000  # as st_mtime_ns reads it
_HASH_CHARS = frozenset("0123456789abcdfghijklmnpqrsvwxyz")  # names.ALPHABET
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+._?=-")


def _entry_problem(rel: str, st: os.stat_result) -> tuple[str, str, str] | None:
    """`(kind, rel, description)` when one entry is not as sealed: kind `type`, `mode` or `time`."""
    mode = st.st_mode
    if stat.S_ISLNK(mode):
        wanted: tuple[int, ...] = ()
    elif stat.S_ISDIR(mode):
        wanted = (DIR_MODE,)
    elif stat.S_ISREG(mode):
        wanted = (FILE_MODE, EXEC_MODE)
    else:
        return "type", rel, f"{rel} is not a file, directory or symlink"
    if wanted and stat.S_IMODE(mode) not in wanted:
        return "mode", rel, f"{rel} is mode {stat.S_IMODE(mode):04o}, not read-only"
    if st.st_mtime_ns != MTIME_NS:
        return "time", rel, f"{rel} was changed after the path was sealed"
    return None


def problems(path: str) -> Iterator[tuple[str, str, str]]:
    """Every `(kind, relative path, description)` by which the store path `path` is not as sealing left it (kinds:
    `missing`, `type`, `mode`, `time`, `unreadable`), the top directory first."""
    try:
        top = os.lstat(path)
    except OSError:
        yield "missing", ".", "it does not exist"
        return
    if not stat.S_ISDIR(top.st_mode):
        yield "type", ".", "it is not a directory"
        return
    problem = _entry_problem(".", top)
    if problem:
        yield problem
    if not os.path.lexists(os.path.join(path, MANIFEST)):
        yield "missing", MANIFEST, f"{MANIFEST} is missing"
    stack = [(path, "")]
    while stack:
        directory, prefix = stack.pop()
        try:
            with os.scandir(directory) as it:
                children = [(child, child.stat(follow_symlinks=False)) for child in it]
        except OSError as exc:
            yield "unreadable", prefix.rstrip("/") or ".", f"{prefix or '.'} cannot be read ({exc.strerror})"
            continue
        for child, st in children:
            rel = prefix + child.name
            problem = _entry_problem(rel, st)
            if problem:
                yield problem
            if stat.S_ISDIR(st.st_mode):
                stack.append((child.path, rel + "/"))


def tree_problem(path: str) -> str | None:
    """The first way the store path `path` is not as sealing left it; None when it is sealed."""
    for _kind, _rel, description in problems(path):
        return description
    return None


def references(path: str) -> list[str] | None:
    """The store names `path` references, from its manifest without json: canonical JSON sorts the
    top-level keys, so `"references":[…]` is the last list before `"tree"`. None when it cannot be
    read that way (a damaged manifest)."""
    try:
        with open(os.path.join(path, MANIFEST), "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 8192))
            tail = f.read().decode("utf-8", "replace")
    except OSError:
        return None
    start = tail.rfind('"references":[')
    end = tail.find("]", start)
    if start < 0 or end < 0 or '"tree":' not in tail[end:]:
        return None
    names = []
    for item in tail[start + len('"references":['):end].split(","):
        name = item.strip()
        if not name:
            continue
        if len(name) < 2 or name[0] != '"' or name[-1] != '"' or not _is_store_name(name[1:-1]):
            return None
        names.append(name[1:-1])
    return names


def _is_store_name(name: str) -> bool:
    return len(name) > 33 and set(name[:32]) <= _HASH_CHARS and name[32] == "-" \
        and set(name[33:]) <= _NAME_CHARS and name[33] not in ".-"


def broken(path: str, with_references: bool = True) -> tuple[str, str] | None:
    """`(store name, what is wrong)` for the first path whose seal is broken: `path`, then (with
    `with_references`) every store path it references, transitively. None when all are sealed."""
    root = os.path.dirname(path.rstrip(os.sep))
    todo, seen = [os.path.basename(path.rstrip(os.sep))], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        here = os.path.join(root, name)
        problem = tree_problem(here)
        if problem:
            return name, problem
        if with_references:
            refs = references(here)
            if refs is None:
                return name, f"{MANIFEST} is damaged"
            todo.extend(refs)
    return None
