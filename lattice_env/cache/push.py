"""`lattice cache push`: the given store paths and everything they reference, references first, each
as its archive (uploaded once per content) and then its signed info — so a cache never names an archive
or a reference it does not hold. A path whose info the cache has is not uploaded again: a second push
of an unchanged closure is one existence check per path."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ..errors import LatticeError
from ..store.manifest import read_manifest
from ..store.names import resolve, root_dir
from .archive import write_archive
from .info import PathInfo, info_key
from .keys import SecretKey
from .progress import ByteMeter
from .url import CACHE_INFO, Transport

CACHE_INFO_BYTES = b'{"compression":"zstd","format":1}\n'


def closure(paths: Iterable[Path], root: Path | None = None) -> list[Path]:
    """`paths` and every path they reference, references before the paths that need them."""
    root = root_dir(root)
    order: list[Path] = []
    seen: set[str] = set()

    def visit(path: Path, chain: tuple[str, ...]) -> None:
        if path.name in seen:
            return
        if path.name in chain:
            raise LatticeError(f"{path.name}: its references form a cycle")
        for ref in read_manifest(path).get("references", []):
            if not (root / ref).is_dir():
                raise LatticeError(f"{path.name}: referenced store path {ref} is missing from the store")
            visit(root / ref, (*chain, path.name))
        seen.add(path.name)
        order.append(path)

    for path in paths:
        visit(resolve(path, root), ())
    return order


def describe(path: Path, key: SecretKey) -> tuple[PathInfo, object]:
    """The signed info of store path `path` and an open anonymous file (in the store's filesystem, which
    has room for the path) holding its archive."""
    manifest = read_manifest(path)
    f = tempfile.TemporaryFile(dir=path.parent)
    try:
        sha256, size, tar_size = write_archive(path, f)
        f.seek(0)
    except BaseException:
        f.close()
        raise
    info = PathInfo(name=path.name, derivation=manifest["derivation"], tree=manifest["tree"],
                    references=tuple(manifest.get("references", [])), archive_sha256=sha256,
                    archive_size=size, size=tar_size)
    return info.signed(key), f


@dataclass
class PushResult:
    pushed: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)  # already in the cache
    uploaded_bytes: int = 0


def push(transport: Transport, paths: Iterable[Path], key: SecretKey, root: Path | None = None,
         progress: bool | None = None) -> PushResult:
    if not transport.writable:
        raise transport.read_only()
    result = PushResult()
    todo = closure(paths, root)
    if not transport.exists(CACHE_INFO):
        transport.put(CACHE_INFO, CACHE_INFO_BYTES)
    for path in todo:
        if transport.exists(info_key(path.name)):
            result.present.append(path.name)
            continue
        info, archive = describe(path, key)
        with archive:  # type: ignore[attr-defined]
            if not transport.exists(info.archive):
                meter = ByteMeter(f"uploading {path.name}", info.archive_size, progress)
                transport.upload(info.archive, archive, info.archive_size, meter)  # type: ignore[arg-type]
                meter.done()
                result.uploaded_bytes += info.archive_size
        transport.put(info_key(path.name), info.to_bytes())  # last: the info means the archive is there
        result.pushed.append(path.name)
    return result
