"""Garbage collection: what is reachable from a root stays, everything else goes.

Roots are the profile generation links (`<data>/profiles/**/*-link`, Nix layout) and temporary roots
(`<data>/roots/<pid>-<random>`, alive while that process lives) that builds and shells hold while they use
a path. A manifest's `references` are followed. gc holds `<store>/.locks/gc.lock` for its whole run and
`temp_root` takes it to create a root, so a root appears either before gc looks or after gc is done. A
collected path is first renamed aside (`.trash-*`), so no final name is ever half deleted."""
from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import LatticeError
from ..flock import is_locked
from ..fsutil import fsync_dir
from .manifest import references
from .names import HASH_CHARS, STORE_NAME_RE, paths, resolve, root_dir
from .roots import gc_lock, pid_alive, pid_of
from .tree import remove_tree


def gc_roots(root: Path | None = None) -> list[tuple[str, str]]:
    """Every live root as `(link, store name)`, sorted."""
    root = root_dir(root)
    found = []
    links = []
    profiles = root.parent / "profiles"
    if profiles.is_dir():
        links += [p for p in profiles.rglob("*-link") if p.is_symlink()]
    temps = root.parent / "roots"
    if temps.is_dir():
        for link in temps.iterdir():
            pid = pid_of(link.name, 1)
            if link.is_symlink() and pid is not None and pid_alive(pid):
                links.append(link)
    bases = {root.absolute(), root.resolve()}
    for link in links:
        try:
            target = Path(os.path.normpath(link.parent / os.readlink(link)))
        except FileNotFoundError:  # a shell exited, or a generation was deleted, since we listed
            continue
        for candidate in (target, target.resolve()):
            name = _name_under(candidate, bases)
            if name:
                found.append((str(link), name))
                break
    return sorted(set(found))


def _name_under(path: Path, bases: set[Path]) -> str | None:
    for base in bases:
        try:
            first = path.relative_to(base).parts[0]
        except (ValueError, IndexError):
            continue
        if STORE_NAME_RE.fullmatch(first):
            return first
    return None


def _graph(root: Path) -> dict[str, list[str]]:
    return {p.name: references(p) for p in paths(root)}


def live(root: Path | None = None) -> set[str]:
    """Names reachable from a root (including roots whose path is missing)."""
    root = root_dir(root)
    graph = _graph(root)
    seen: set[str] = set()
    queue = deque(name for _, name in gc_roots(root))
    while queue:
        name = queue.popleft()
        if name not in seen:
            seen.add(name)
            queue.extend(graph.get(name, []))
    return seen


@dataclass
class GcResult:
    removed: list[str] = field(default_factory=list)  # store names
    stale: list[str] = field(default_factory=list)  # leftover .tmp-* / .trash-* dirs and dead temp roots
    links: int = 0  # .links entries no path uses any more
    bytes_freed: int = 0
    dry_run: bool = False


def gc(dry_run: bool = False, root: Path | None = None) -> GcResult:
    """Delete every store path no root reaches, stale build dirs and unused `.links` entries."""
    root = root_dir(root)
    result = GcResult(dry_run=dry_run)
    if not root.is_dir():
        return result
    with gc_lock(root):
        keep = live(root)
        doomed = [p for p in paths(root) if p.name not in keep]
        stale = stale_temps(root)
        dead_roots = [p for p in (root.parent / "roots").glob("*") if not _root_alive(p)] \
            if (root.parent / "roots").is_dir() else []
        result.removed = [p.name for p in doomed]
        result.stale = sorted(p.name for p in stale + dead_roots)
        links = root / ".links"
        link_inodes = _inodes(links)
        result.bytes_freed, counted = _freed_bytes(doomed + stale, link_inodes)
        if dry_run:
            return result
        for path in doomed:  # rename first: a final name is never half deleted
            # the hash alone: the whole name (up to 233 characters) and a 7-digit pid overflow 255 bytes
            trash = root / f".trash-{path.name[:HASH_CHARS]}-{os.getpid()}-{secrets.token_hex(4)}"
            os.rename(path, trash)
            stale.append(trash)
        fsync_dir(root)
        for path in stale:
            with contextlib.suppress(FileNotFoundError):  # a builder may have swept its own leftovers
                remove_tree(path)
        for link in dead_roots:
            link.unlink(missing_ok=True)
        for entry in (links.iterdir() if links.is_dir() else []):
            st = os.lstat(entry)
            if st.st_nlink == 1 or entry.name.startswith(".tmp-"):
                entry.unlink()
                result.links += 1
                if st.st_nlink == 1 and (st.st_dev, st.st_ino) not in counted:
                    result.bytes_freed += st.st_size  # orphaned before this run
    return result


def stale_temps(root: Path | None = None) -> list[Path]:
    """Leftovers of interrupted builds and gc runs: what `lattice store gc` removes."""
    root = root_dir(root)
    try:
        entries = sorted(root.iterdir())
    except FileNotFoundError:
        return []
    return [p for p in entries if _is_stale(p, root)]


def _root_alive(link: Path) -> bool:
    pid = pid_of(link.name, 1)
    return pid is not None and pid_alive(pid)


def _is_stale(path: Path, root: Path) -> bool:
    """A `.trash-*` dir (only gc, which holds the lock, makes them) or a `.tmp-*` build dir whose builder is
    gone: its pid is dead or no one holds its name's build lock."""
    if path.name.startswith(".trash-"):
        return True
    if not path.name.startswith(".tmp-"):
        return False
    pid = pid_of(path.name, 1)
    if pid is None or not pid_alive(pid):
        return True
    name = path.name.removeprefix(".tmp-").rsplit("-", 2)[0]
    return not is_locked(root / ".locks" / f"{name}.lock")


def _inodes(directory: Path) -> set[tuple[int, int]]:
    if not directory.is_dir():
        return set()
    return {(st.st_dev, st.st_ino) for st in (os.lstat(e) for e in directory.iterdir())}


def _freed_bytes(trees: list[Path], link_inodes: set[tuple[int, int]]) -> tuple[int, set[tuple[int, int]]]:
    """Bytes whose every remaining link is inside `trees` (or is the `.links` entry gc then drops)."""
    counts: dict[tuple[int, int], list[int]] = {}
    for tree in trees:
        for dirpath, _dirs, files in os.walk(tree):
            for name in files:
                st = os.lstat(os.path.join(dirpath, name))
                if stat.S_ISREG(st.st_mode):
                    entry = counts.setdefault((st.st_dev, st.st_ino), [0, st.st_nlink, st.st_size])
                    entry[0] += 1
    total, freed = 0, set()
    for key, (seen, nlink, size) in counts.items():
        remaining = nlink - seen
        if remaining == 0 or (remaining == 1 and key in link_inodes):
            total += size
            freed.add(key)
    return total, freed


def why(target: str | Path, root: Path | None = None) -> list[list[str]]:
    """For each root that keeps `target` alive, the shortest chain `[root link, name, …, target]`."""

    root = root_dir(root)
    goal = resolve(target, root).name
    graph = _graph(root)
    chains = []
    for link, start in gc_roots(root):
        parent: dict[str, str | None] = {start: None}
        queue = deque([start])
        while queue and goal not in parent:
            name = queue.popleft()
            for ref in graph.get(name, []):
                if ref not in parent:
                    parent[ref] = name
                    queue.append(ref)
        if goal in parent:
            chain: list[str] = []
            node: str | None = goal
            while node is not None:
                chain.append(node)
                node = parent[node]
            chains.append([link, *reversed(chain)])
    return chains


def describe(path: str | Path, root: Path | None = None) -> str:
    """`why` as text, for the CLI; raises when nothing keeps the path alive."""
    chains = why(path, root)
    if not chains:
        raise LatticeError(f"{Path(path).name} is not reachable from any root; `lattice store gc` would remove it")
    return "\n".join(" → ".join(chain) for chain in chains)
