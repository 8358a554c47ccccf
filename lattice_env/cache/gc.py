"""`lattice cache gc URL --older-than DAYS`: the cache side's collection. A cache cannot know which
machines still need a path, so the rule is by age, like an object-store lifecycle rule that keeps
closures whole:

1. Roots are the info files written in the last DAYS days; everything they reference is kept too.
2. Every other info file is deleted first, so no client is pointed at an archive that is going away.
3. Then every archive no kept info names, once it is more than a day old — a push uploads an archive
   minutes before its info, and a day's grace keeps a running push's archives.

A client that asks for a deleted path builds it locally (and its next push uploads it again); a pull
racing the deletion of its archive is refused and builds locally too. Nothing else is safe to delete."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..errors import LatticeError
from .info import ARCHIVE_SUFFIX, MAX_INFO_BYTES, Refused, parse_info
from .url import CACHE_INFO, Transport

GRACE = 24 * 3600


@dataclass
class CacheGcResult:
    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # store names whose info was deleted
    archives: list[str] = field(default_factory=list)  # archive keys deleted
    dry_run: bool = False


def gc(transport: Transport, older_than_days: float, dry_run: bool = False, now: float | None = None
       ) -> CacheGcResult:
    if not transport.writable:
        raise transport.read_only()
    if transport.get(CACHE_INFO, 4096) is None:
        raise LatticeError(f"cache {transport.url} has no {CACHE_INFO}: not a cache `lattice cache push` made; "
                           f"nothing deleted")
    now = time.time() if now is None else now
    cutoff = now - older_than_days * 86400
    where = f"cache {transport.url}"
    infos: dict[str, tuple[float, tuple[str, ...], str | None]] = {}
    for key, mtime in transport.list():
        if "/" in key or not key.endswith(".info"):
            continue
        name = key.removesuffix(".info")
        data = transport.get(key, MAX_INFO_BYTES + 1)
        try:
            info = parse_info(data or b"", where, name)
            infos[name] = (mtime, info.references, info.archive)
        except Refused:
            infos[name] = (mtime, (), None)  # unreadable: kept only while young, never followed
    keep: set[str] = set()
    todo = [name for name, (mtime, _, _) in infos.items() if mtime >= cutoff]
    while todo:
        name = todo.pop()
        if name not in keep and name in infos:
            keep.add(name)
            todo.extend(infos[name][1])
    result = CacheGcResult(kept=sorted(keep), dry_run=dry_run)
    result.removed = sorted(set(infos) - keep)
    needed = {infos[name][2] for name in keep}
    result.archives = sorted(key for key, mtime in transport.list("archive/")
                             if key.endswith(ARCHIVE_SUFFIX) and key not in needed and mtime < now - GRACE)
    if not dry_run:
        for name in result.removed:
            transport.delete(f"{name}.info")
        for key in result.archives:
            transport.delete(key)
    return result
