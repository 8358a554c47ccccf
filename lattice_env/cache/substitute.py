"""Substitution: before a path is built, the configured caches are asked for it, in order. A cache's
info must parse, hash to the path's name and carry a signature by a key trusted for that cache; its
archive must have the signed size and sha256; what it unpacks to must have the signed tree hash. Any
failure is one line naming the cache and the path, and the next cache (or a local build) takes over.
A pulled path enters the store through store/add.py like a built one — unpacked aside, sealed,
renamed under the path's lock — so two pulls of one path give one path, and a pull killed at any
moment leaves no final name (only a `.tmp-*` directory, which the next add or `store gc` sweeps)."""
from __future__ import annotations

import hashlib
import sys
from functools import partial
from pathlib import Path
from typing import BinaryIO, Callable, Sequence

from ..errors import LatticeError
from ..store.add import TreeMismatch, add
from ..store.names import root_dir
from .archive import extract
from .config import CacheEntry, trust
from .info import MAX_INFO_BYTES, PathInfo, Refused, info_key, parse_info
from .progress import ByteMeter
from .url import Transport, Unreachable, open_cache


def warn(line: str) -> None:
    sys.stderr.write(f"lattice: {line}\n")
    sys.stderr.flush()


class _Verifying:
    """An archive as it is read from its cache: hashed and counted on the way, refused past its signed
    size, and `finish`ed — the rest read, size and sha256 compared — before anything is renamed into
    the store. Streaming it straight into extraction (no temporary copy) saves writing the archive to
    disk; nothing it unpacks can escape the path being built (archive.py), and nothing reaches a final
    name unless both this hash and the tree hash match what is signed."""

    def __init__(self, src: BinaryIO, info: PathInfo, label: str, meter: Callable[[int], None]) -> None:
        self.src, self.info, self.label, self.meter = src, info, label, meter
        self.sha256, self.size = hashlib.sha256(), 0

    def read(self, n: int = -1) -> bytes:
        data = self.src.read(n)
        self.size += len(data)
        if self.size > self.info.archive_size:
            raise Refused(f"{self.label}: refused: the archive is larger than its signed size")
        self.sha256.update(data)
        self.meter(len(data))
        return data

    def finish(self) -> None:
        while self.read(1 << 20):
            pass
        if self.size != self.info.archive_size or self.sha256.hexdigest() != self.info.archive_sha256:
            raise Refused(f"{self.label}: refused: the archive's sha256 or size does not match its signed info")


def enter(info: PathInfo, where: str, source: Callable[[], BinaryIO | None], root: Path | None = None,
          meter: Callable[[int], None] = lambda n: None) -> Path:
    """Add the (verified) path `info` describes to the store, its archive read from `source()`: unpacked
    aside, then its archive's hash and size and the unpacked tree's hash compared with the signed ones
    before it is renamed into place. Refused (naming `where` and the path) otherwise."""
    label = f"{where}: {info.name}"

    def unpack(tmp: Path) -> dict[str, str]:
        src = source()
        if src is None:
            raise Refused(f"{label}: refused: its archive {info.archive} is missing")
        with src:  # type: ignore[attr-defined]
            checked = _Verifying(src, info, label, meter)
            try:
                written = extract(checked, tmp, info.size, label)  # type: ignore[arg-type]
            except Refused:
                checked.finish()  # an archive that does not unpack is, first of all, not the signed one
                raise
            checked.finish()
            return written

    try:
        return add(info.derivation, unpack, root_dir(root), tree=info.tree)
    except TreeMismatch as exc:
        raise Refused(f"{where}: {exc}") from None


class Substituter:
    """The configured caches, asked in order; a cache that does not answer is not asked again."""

    def __init__(self, caches: Sequence[CacheEntry], report: Callable[[str], None] = warn,
                 root: Path | None = None, progress: bool | None = None) -> None:
        self.caches, self.report, self.root, self.progress = list(caches), report, root_dir(root), progress
        self.down: set[str] = set()
        self.transports: dict[str, Transport] = {}

    @classmethod
    def configured(cls, **kwargs: object) -> Substituter:
        return cls(trust().caches, **kwargs)  # type: ignore[arg-type]

    def substitute(self, name: str) -> str | None:
        """Pull store path `name` (and any missing reference) from the first cache that has it and
        verifies; the cache's URL, or None (build it locally)."""
        if (self.root / name).is_dir():
            return "store"
        live = [c for c in self.caches if c.url not in self.down]
        for i, cache in enumerate(live):
            where = f"cache {cache.url}"
            after = "trying the next cache" if i + 1 < len(live) else "building locally"
            try:
                transport = self.transports.get(cache.url) or self.transports.setdefault(
                    cache.url, open_cache(cache.url))
                data = transport.get(info_key(name), MAX_INFO_BYTES)
                if data is None:
                    continue
                info = parse_info(data, where, name).verified(cache.keys, where)
                for ref in info.references:
                    if self.substitute(ref) is None:
                        raise Refused(f"{where}: {name}: refused: its reference {ref} is in no cache")
                meter = ByteMeter(f"fetching {name} from {cache.url}", info.archive_size, self.progress)
                enter(info, where, partial(transport.open, info.archive), self.root, meter)
                meter.done()
                return cache.url
            except Unreachable as exc:
                self.down.add(cache.url)
                self.report(f"warning: {exc}; {after}")
            except LatticeError as exc:
                self.report(f"{exc}; {after}")
            except OSError as exc:  # this machine's disk (full, read-only): the build will say it again
                self.report(f"{where}: {name}: cannot be unpacked here ({exc.strerror or exc}); {after}")
        return None


def substituter(offline: bool = False) -> Substituter | None:
    """The machine's substituter, or None when there are no caches or the build is offline (as Nix's
    --offline, no cache is asked)."""
    if offline:
        return None
    caches = trust().caches
    return Substituter(caches) if caches else None
