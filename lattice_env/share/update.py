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

Nothing of ours is ever dropped: a binary file both sides changed keeps ours and upstream's is written
beside it as `<file>.upstream`. All files are written in one staged step, and the new commit is recorded
in the origin file only then (a --dry-run writes nothing)."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..errors import FilesystemError, LatticeError
from ..proc import run
from .clone import take
from .git import fetch, git_env
from .origin import ORIGIN_FILE, Origin, read_origin
from .sources import parse_source

MARKER = "<<<<<<< "


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
        base = {rel: f.data for rel, f in take(subdir_of(base_fetch.tree, source), source, name).files.items()}
        theirs = {rel: f.data for rel, f in take(subdir_of(theirs_fetch.tree, source), source, name).files.items()}
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


def _ours(directory: Path, wanted: set[str]) -> dict[str, bytes]:
    """The working copy's versions of the files upstream has (regular files only: a symlink there is
    not the user's text, and is never written through)."""
    from ..config.limits import MAX_SOURCE_BYTES
    from ..fsutil import read_regular

    out: dict[str, bytes] = {}
    for rel in sorted(wanted):
        data = read_regular(directory / rel, MAX_SOURCE_BYTES)
        if isinstance(data, bytes):
            out[rel] = data
        elif data is False:
            raise LatticeError(f"{directory / rel}: not a regular file; move it away, then update again")
    return out


def _name(directory: Path) -> str:
    from .init import default_name

    return default_name(directory)


def _merge_all(base: dict[str, bytes], theirs: dict[str, bytes], ours: dict[str, bytes], scratch: Path
               ) -> tuple[list[dict[str, Any]], dict[str, bytes], list[str], list[dict[str, Any]]]:
    rows: list[dict[str, Any]] = []
    writes: dict[str, bytes] = {}
    removes: list[str] = []
    conflicts: list[dict[str, Any]] = []

    def row(path: str, status: str, detail: str = "") -> None:
        rows.append({"path": path, "status": status, **({"detail": detail} if detail else {})})

    for path in sorted(set(base) | set(theirs)):
        b, t, o = base.get(path), theirs.get(path), ours.get(path)
        if b == t:
            row(path, "unchanged")
        elif o is None and b is not None and t is None:
            row(path, "unchanged", "deleted on both sides")
        elif o is None and b is not None:
            writes[path] = t  # type: ignore[assignment]
            row(path, "restored", "you deleted it, but upstream changed it: upstream's version is back")
        elif o is None:
            writes[path] = t  # type: ignore[assignment]  # new upstream (b is None, so t is not)
            row(path, "added")
        elif t is None:
            if o == b:
                removes.append(path)
                row(path, "removed", "upstream deleted it")
            else:
                row(path, "kept", "upstream deleted it; you changed it, so yours stays")
        elif o == b or o == t:
            if o != t:
                writes[path] = t
                row(path, "updated")
            else:
                row(path, "unchanged")
        elif b"\0" in o or b"\0" in t or (b is not None and b"\0" in b):
            writes[path + ".upstream"] = t
            conflicts.append({"path": path, "line": 0})
            row(path, "conflict", f"binary: yours kept, upstream's written to {path}.upstream")
        else:
            merged, clashes = merge_file(o, b or b"", t, scratch)
            writes[path] = merged
            if clashes:
                conflicts += [{"path": path, "line": line} for line in clashes]
                row(path, "conflict", "lines " + ", ".join(map(str, clashes)))
            else:
                row(path, "merged")
    return rows, writes, removes, conflicts


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


def _write(directory: Path, writes: dict[str, bytes], removes: list[str], origin: Origin) -> None:
    """The merged files, then the origin with the new commit, then the deletions: a failure before the
    origin is written leaves it at the old commit, so `update` can run again."""
    from ..fsutil import Staged
    from .clone import check_no_link

    for rel in [*writes, *removes]:
        check_no_link(directory, rel)
    with Staged() as staged:
        try:
            for rel, data in writes.items():
                staged.write(directory / rel, data, _mode(directory / rel))
            staged.write(directory / ORIGIN_FILE, origin.encoded())
        except FilesystemError as exc:
            raise FilesystemError(f"{exc}; nothing was written") from exc
        staged.commit()
    for rel in removes:
        try:
            os.unlink(directory / rel)
        except FileNotFoundError:
            pass


def _mode(path: Path) -> int:
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        return 0o644
