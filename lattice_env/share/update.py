"""`lattice update [--ref REF] [--dry-run]`: upstream's changes merged into the user's customised copy.

A three-way merge per file, by git's own `git merge-file` (the diff3 every git user knows, rather than
one written here): base = the workflow's files at the recorded commit (lattice.origin.json `_commit`),
theirs = upstream at the new ref, ours = the working copy. Per file:

- upstream did not change it → ours stays, whatever it is (deleted included);
- we did not change it → upstream's (a file upstream deleted is deleted);
- both changed it → merged; changes on different lines both survive, a clash is marked inline
  (`<<<<<<< yours` … `>>>>>>> upstream`) and reported by file and line;
- we deleted it: it stays deleted, unless upstream changed it — then upstream's version comes back,
  reported; upstream deleted it and we changed it → ours stays, reported.

A file's executable bit (git's 100755 or 100644) is merged beside its content (files.merge_mode):
upstream's new bit is applied to a mode the user left as it was; a mode the user changed stays theirs,
and when upstream changed the bit otherwise that is a conflict (line 0: the whole file), reported; a
merged file keeps its mode.

Nothing of ours is ever dropped: a binary file both sides changed keeps ours and upstream's is written
beside it as `<file>.upstream`. All files are written in one staged step, and the new commit is recorded
in the origin file only then (a --dry-run writes nothing)."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import FilesystemError, LatticeError
from ..proc import run
from .clone import take
from .files import File, merge_mode
from .git import fetch, git_env
from .origin import ORIGIN_FILE, Origin, read_origin
from .sources import parse_source

MARKER = "<<<<<<< "


class Ours(NamedTuple):
    """A working-copy file: the user's, so its whole mode is theirs to keep."""
    data: bytes
    mode: int


def update_workflow(directory: Path, ref: str | None = None, dry_run: bool = False) -> dict[str, Any]:
    origin = read_origin(directory)
    if origin.commit is None:
        raise LatticeError(f"{origin.src}: was copied from a plain directory, which has no commits to merge "
                           f"from; take it again with `lattice init --from {origin.src} --force`")
    source = parse_source(origin.src, ref if ref is not None else origin.ref)._replace(subdir=origin.subdirectory)
    scratch = Path(tempfile.mkdtemp(prefix="lattice-update-"))
    try:
        from .clone import subdir_of

        theirs_fetch = fetch(source, scratch / "theirs")
        if theirs_fetch.commit == origin.commit:
            return {"directory": str(directory), "base": origin.commit, "commit": origin.commit, "files": [],
                    "conflicts": [], "written": False}
        base_fetch = fetch(source, scratch / "base", ref=origin.commit)
        name = _name(directory)
        base = take(subdir_of(base_fetch.tree, source), source, name).files
        theirs = take(subdir_of(theirs_fetch.tree, source), source, name).files
        ours = _ours(directory, set(base) | set(theirs))
        rows, writes, removes, conflicts = _merge_all(base, theirs, ours, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    new_origin = Origin(origin.src, ref if ref is not None else origin.ref, theirs_fetch.commit,
                        origin.subdirectory, origin.kind)
    if not dry_run:
        _write(directory, writes, removes, new_origin)
    return {"directory": str(directory), "base": origin.commit, "commit": theirs_fetch.commit, "files": rows,
            "conflicts": conflicts, "written": not dry_run}


def _ours(directory: Path, wanted: set[str]) -> dict[str, Ours]:
    """The working copy's versions of the files upstream has, with their modes (regular files only: a
    symlink there is not the user's text, and is never written through)."""
    from ..config.limits import MAX_SOURCE_BYTES
    from ..fsutil import read_regular_mode

    out: dict[str, Ours] = {}
    for rel in sorted(wanted):
        found = read_regular_mode(directory / rel, MAX_SOURCE_BYTES)
        if isinstance(found, tuple):
            out[rel] = Ours(found[0], found[1] & 0o777)
        elif found is False:
            raise LatticeError(f"{directory / rel}: not a regular file; move it away, then update again")
    return out


def _name(directory: Path) -> str:
    from .init import default_name

    return default_name(directory)


def _merge_all(base: dict[str, File], theirs: dict[str, File], ours: dict[str, Ours], scratch: Path
               ) -> tuple[list[dict[str, Any]], dict[str, tuple[bytes, int]], list[str], list[dict[str, Any]]]:
    rows: list[dict[str, Any]] = []
    writes: dict[str, tuple[bytes, int]] = {}  # path → content, mode
    removes: list[str] = []
    conflicts: list[dict[str, Any]] = []

    def row(path: str, status: str, detail: str = "") -> None:
        rows.append({"path": path, "status": status, **({"detail": detail} if detail else {})})

    for path in sorted(set(base) | set(theirs)):
        bf, tf, of = base.get(path), theirs.get(path), ours.get(path)
        b = bf.data if bf is not None else None
        if tf is None or of is None:  # a deletion on either side (both absent: not in the union)
            o = of.data if of is not None else None
            t = tf.data if tf is not None else None
            if b == t:
                row(path, "unchanged")
            elif o is None and tf is None:
                row(path, "unchanged", "deleted on both sides")
            elif o is None and tf is not None:
                writes[path] = (tf.data, tf.mode)
                row(path, *(("restored", "you deleted it, but upstream changed it: upstream's version is back")
                            if b is not None else ("added",)))
            elif o == b:
                removes.append(path)
                row(path, "removed", "upstream deleted it")
            else:
                row(path, "kept", "upstream deleted it; you changed it, so yours stays")
            continue
        content, status, detail, lines = _both(path, of.data, b, tf, scratch, writes)
        mode, clash = merge_mode(bf.executable if bf is not None else None, tf.executable, of.mode)
        if mode != of.mode:  # upstream's new bit, on a mode the user left as it was
            status = "updated" if status == "unchanged" else status
            content = of.data if content is None else content
            detail = _joined(detail, f"upstream made it {'' if tf.executable else 'not '}executable")
        if content is not None:
            writes[path] = (content, mode)
        if clash:
            status, detail, lines = "conflict", _joined(detail, clash), lines or [0]
        conflicts += [{"path": path, "line": line} for line in lines]
        row(path, status, detail)
    return rows, writes, removes, conflicts


def _joined(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _both(path: str, o: bytes, b: bytes | None, tf: File, scratch: Path, writes: dict[str, tuple[bytes, int]]
          ) -> tuple[bytes | None, str, str, list[int]]:
    """The content of a file both sides have: what to write (None: ours stays as it is), its row's status
    and detail, and the lines of its clashes (0: the whole file). A binary clash puts upstream's version
    into `writes` beside it."""
    t = tf.data
    if b == t or o == t:
        return None, "unchanged", "", []
    if o == b:
        return t, "updated", "", []
    if b"\0" in o or b"\0" in t or (b is not None and b"\0" in b):
        writes[path + ".upstream"] = (t, tf.mode)
        return None, "conflict", f"binary: yours kept, upstream's written to {path}.upstream", [0]
    merged, clashes = merge_file(o, b or b"", t, scratch)
    if clashes:
        return merged, "conflict", "lines " + ", ".join(map(str, clashes)), clashes
    return merged, "merged", "", []


def merge_file(ours: bytes, base: bytes, theirs: bytes, scratch: Path) -> tuple[bytes, list[int]]:
    """`git merge-file` of the three texts: the merged text and the line of each conflict in it."""
    folder = Path(tempfile.mkdtemp(dir=scratch))
    names = []
    for label, data in (("yours", ours), ("base", base), ("upstream", theirs)):
        (folder / label).write_bytes(data)
        names.append(str(folder / label))
    done = run(["git", "merge-file", "-p", "-L", "yours", "-L", "base", "-L", "upstream", *names],
               env=git_env(), check=False)
    if done.returncode < 0 or done.returncode > 127:
        raise LatticeError(f"git merge-file failed: {(done.stderr or '').strip() or done.returncode}")
    merged = done.stdout.encode()
    lines = [i for i, line in enumerate(done.stdout.splitlines(), 1) if line.startswith(MARKER + "yours")]
    return merged, lines


def _write(directory: Path, writes: dict[str, tuple[bytes, int]], removes: list[str], origin: Origin) -> None:
    """The merged files, then the origin with the new commit, then the deletions: a failure before the
    origin is written leaves it at the old commit, so `update` can run again."""
    from ..fsutil import Staged
    from .clone import check_no_link

    for rel in [*writes, *removes]:
        check_no_link(directory, rel)
    with Staged() as staged:
        try:
            for rel, (data, mode) in writes.items():
                staged.write(directory / rel, data, mode)
            staged.write(directory / ORIGIN_FILE, origin.encoded())
        except FilesystemError as exc:
            raise FilesystemError(f"{exc}; nothing was written") from exc
        staged.commit()
    for rel in removes:
        try:
            os.unlink(directory / rel)
        except FileNotFoundError:
            pass
