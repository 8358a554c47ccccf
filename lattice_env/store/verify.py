"""`lattice store verify` and `store ls`: a finished path recomputed against its manifest, and the
listing of every path with its size and references."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from ..errors import LatticeError
from .manifest import read_manifest, references
from .names import paths, resolve, root_dir, store_name
from .seal import problems as seal_problems
from .tree import DIR_MODE, FILE_MODE, MANIFEST, scan, tree_hash, tree_size


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
    kind: str  # manifest | modified | added | removed | mode | time | reference | missing
    detail: str

    def __str__(self) -> str:
        return f"{self.name}: {self.kind}: {self.detail}"


def verify(targets: Iterable[str | Path] | None = None, root: Path | None = None) -> list[Problem]:
    """Recompute every given store path (all by default) against its manifest; return what differs.
    Verifying all also reports every profile generation whose store path is gone."""
    root = root_dir(root)
    chosen = paths(root) if targets is None else [resolve(t, root) for t in targets]
    problems: list[Problem] = []
    for path in chosen:
        problems.extend(sorted(_verify_one(path, root)))
    if targets is None:
        problems.extend(missing_generations(root))
    return problems


def missing_generations(root: Path | None = None) -> list[Problem]:
    """A `missing` problem for each profile generation link whose store path does not exist."""
    from .gc import gc_roots

    root = root_dir(root)
    profiles = str(root.parent / "profiles") + os.sep
    return [Problem(os.path.basename(link), "missing", f"{name} is not in the store (deleted outside lattice?)")
            for link, name in gc_roots(root) if link.startswith(profiles) and not (root / name).is_dir()]


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
    changed = recorded.keys() ^ actual.keys()
    for rel in sorted(recorded.keys() - actual.keys()):
        problems.append(Problem(name, "removed", rel))
    for rel in sorted(actual.keys() - recorded.keys()):
        problems.append(Problem(name, "added", rel))
    for rel in sorted(recorded.keys() & actual.keys()):
        (kind, exe, digest), (kind2, exe2, digest2) = recorded[rel], actual[rel]
        if kind != kind2 or digest != digest2:
            changed.add(rel)
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
    # The seal a launch checks (seal.py): an mtime that moved is a change even when the bytes are back
    # (not repeated for what is already reported: a changed file, or the directory of an added one).
    changed |= {rel.rsplit("/", 1)[0] if "/" in rel else "." for rel in changed}
    problems += [Problem(name, "time", detail) for kind, rel, detail in seal_problems(str(path))
                 if kind == "time" and rel not in changed]
    for ref in manifest.get("references", []):
        if not (root / ref).is_dir():
            problems.append(Problem(name, "reference", f"{ref} is missing from the store"))
    return problems
